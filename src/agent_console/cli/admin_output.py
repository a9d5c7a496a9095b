"""How the admin records print (labels, team details, KB articles, revisions, gaps), in the
formats of `cli/output.py`. Imported when an admin command prints, never at start-up."""

from __future__ import annotations

from agent_console.cli.output import Column, Spec

ACCOUNTS = Spec(
    text_columns=[
        Column("ID", lambda a: a.id),
        Column("NAME", lambda a: a.name, max_width=28),
        Column("EMAIL", lambda a: a.email, max_width=32, drop=1),
        Column("ROLE", lambda a: a.role),
        Column("ACTIVE", lambda a: "yes" if a.active else "no"),
        Column("LANGUAGES", lambda a: a.languages, drop=2),
        Column("TIMEZONE", lambda a: a.timezone, drop=3),
    ],
    csv_columns=[
        Column("id", lambda a: a.id),
        Column("name", lambda a: a.name),
        Column("email", lambda a: a.email),
        Column("role", lambda a: a.role),
        Column("timezone", lambda a: a.timezone),
        Column("languages", lambda a: a.languages),
        Column("team_ids", lambda a: a.team_ids),
        Column("active", lambda a: a.active),
    ],
    title=lambda a: a.name,
    fields=lambda a: [
        ("ID", a.id),
        ("Email", a.email),
        ("Role", a.role),
        ("Active", "yes" if a.active else "no (deactivated)"),
        ("Time zone", a.timezone),
        ("Languages", a.languages),
        ("Teams", a.team_ids),
    ],
)

TEAM_DETAILS = Spec(
    text_columns=[
        Column("ID", lambda t: t.id),
        Column("NAME", lambda t: t.name, max_width=30),
        Column("MEMBERS", lambda t: t.member_ids, max_width=40),
        Column("DESCRIPTION", lambda t: t.description, max_width=60, drop=1),
    ],
    csv_columns=[
        Column("id", lambda t: t.id),
        Column("name", lambda t: t.name),
        Column("description", lambda t: t.description),
        Column("member_ids", lambda t: t.member_ids),
    ],
    title=lambda t: t.name,
    fields=lambda t: [("ID", t.id), ("Members", t.member_ids), ("Description", t.description)],
)


def team_details(names: dict[int, str]) -> Spec:
    """TEAM_DETAILS whose text view names the members ("Ana Ruiz (#4)"); JSON and CSV keep ids."""

    def members(team) -> str:
        return ", ".join(f"{names.get(i, 'unknown agent')} (#{i})" for i in team.member_ids) or "(none)"

    return Spec(
        text_columns=[
            *(
                c if c.header != "MEMBERS" else Column("MEMBERS", members, max_width=40)
                for c in TEAM_DETAILS.text_columns
            ),
        ],
        csv_columns=TEAM_DETAILS.csv_columns,
        title=TEAM_DETAILS.title,
        fields=lambda t: [("ID", t.id), ("Members", members(t)), ("Description", t.description)],
    )


LABELS = Spec(
    text_columns=[
        Column("NAME", lambda lab: lab.name, max_width=50),
        Column("COLOR", lambda lab: lab.color),
        Column("CONVERSATIONS", lambda lab: lab.count),
    ],
    csv_columns=[
        Column("name", lambda lab: lab.name),
        Column("color", lambda lab: lab.color),
        Column("count", lambda lab: lab.count),
    ],
    ident=lambda lab: lab.name,
    title=lambda lab: lab.name,
    fields=lambda lab: [("Color", lab.color), ("Conversations", lab.count)],
)

ARTICLES = Spec(
    text_columns=[
        Column("ID", lambda a: a.id),
        Column("LOCALE", lambda a: a.locale),
        Column("STATUS", lambda a: a.status),
        Column("SLUG", lambda a: a.slug, max_width=36, drop=2),
        Column("TITLE", lambda a: a.title, max_width=50),
        Column("REV", lambda a: a.revision, drop=1),
    ],
    csv_columns=[
        Column("id", lambda a: a.id),
        Column("slug", lambda a: a.slug),
        Column("locale", lambda a: a.locale),
        Column("status", lambda a: a.status),
        Column("translation_key", lambda a: a.translation_key),
        Column("title", lambda a: a.title),
        Column("tags", lambda a: a.tags),
        Column("revision", lambda a: a.revision),
        Column("updated_at", lambda a: a.updated_at),
        Column("updated_by", lambda a: a.updated_by),
    ],
    title=lambda a: a.title,
    fields=lambda a: [
        ("ID", a.id),
        ("Slug", a.slug),
        ("Locale", a.locale),
        ("Status", a.status),
        ("Translations", a.translation_key),
        ("Tags", ", ".join(a.tags)),
        ("Revision", a.revision),
        ("Updated", a.updated_at),
        ("By", a.updated_by),
    ],
    body=lambda a: a.body,
)

REVISIONS = Spec(
    text_columns=[
        Column("REV", lambda r: r.revision),
        Column("AT", lambda r: r.at),
        Column("AUTHOR", lambda r: r.author_name or "(import)", max_width=28),
        Column("STATUS", lambda r: r.status),
        Column("TITLE", lambda r: r.title, max_width=50, drop=1),
    ],
    csv_columns=[
        Column("revision", lambda r: r.revision),
        Column("at", lambda r: r.at),
        Column("author_id", lambda r: r.author_id),
        Column("author_name", lambda r: r.author_name),
        Column("status", lambda r: r.status),
        Column("title", lambda r: r.title),
        Column("tags", lambda r: r.tags),
        Column("body", lambda r: r.body),
    ],
    ident=lambda r: r.revision,
)

GAPS = Spec(
    text_columns=[
        Column("COUNT", lambda g: g.count),
        Column("LANG", lambda g: g.locale or "any"),
        Column("QUESTION", lambda g: g.example, max_width=60),
        Column("WORDS", lambda g: g.key, max_width=40, drop=1),
        Column("LAST", lambda g: g.last_at, drop=2),
    ],
    csv_columns=[
        Column("count", lambda g: g.count),
        Column("locale", lambda g: g.locale),
        Column("key", lambda g: g.key),
        Column("example", lambda g: g.example),
        Column("sources", lambda g: g.sources),
        Column("last_at", lambda g: g.last_at),
    ],
    ident=lambda g: g.key,
)
