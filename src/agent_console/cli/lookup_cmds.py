"""Reference lookups: kb, canned, agents, teams, contacts, me.

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agent_console.cli.options import EPILOG, Settings, command, sub_app

kb_app = sub_app(
    "kb",
    "Search and read the knowledge base.",
    ('agent-console kb search "esim iphone"', "agent-console kb show 12"),
)
canned_app = sub_app(
    "canned",
    "List and show canned responses.",
    ("agent-console canned list --locale en", "agent-console canned show greet"),
)

LocaleOption = Annotated[
    str | None, typer.Option("--locale", metavar="LANG", help="Only this locale, e.g. en, de.")
]


def _run(settings: Settings, fetch, show) -> None:
    from agent_console.cli import output, runtime

    show(output, output.Out(settings), runtime.call(settings, fetch))


def kb_search(
    settings: Settings,
    query: Annotated[str, typer.Argument(help="Words to look for (prefix matches).")],
    locale: LocaleOption = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="At most this many hits.")] = 20,
) -> None:
    """Full-text search of the knowledge base, best match first.

    \b
    Examples:
      agent-console kb search "esim iphone"
      agent-console kb search roaming --locale de -o json
    """
    if not query.strip():
        raise typer.BadParameter("the query is empty", param_hint="QUERY")

    async def fetch(backend):
        return await backend.kb_search(query, locale=locale, limit=limit)

    _run(settings, fetch, lambda o, out, items: o.show_list(out, items, o.KB_HITS))


def kb_show(
    settings: Settings,
    article_id: Annotated[int, typer.Argument(metavar="ID", min=1, help="The article's id.")],
) -> None:
    """Show one knowledge-base article.

    \b
    Example:
      agent-console kb show 12
    """

    async def fetch(backend):
        return await backend.kb_article(article_id)

    _run(settings, fetch, lambda o, out, item: o.show_one(out, item, o.KB_ARTICLES))


def canned_list(
    settings: Settings,
    query: Annotated[
        str | None, typer.Option("--query", help="Only responses whose shortcode, title or body has this.")
    ] = None,
    locale: LocaleOption = None,
) -> None:
    """List canned responses (-q prints shortcodes).

    \b
    Examples:
      agent-console canned list
      agent-console canned list --query refund --locale en -o csv
    """

    async def fetch(backend):
        return await backend.canned_responses(query=query, locale=locale)

    _run(settings, fetch, lambda o, out, items: o.show_list(out, items, o.CANNED))


def canned_show(
    settings: Settings,
    shortcode: Annotated[str, typer.Argument(help="The response's shortcode, e.g. greet.")],
    locale: LocaleOption = None,
) -> None:
    """Show one canned response by shortcode (English first when several locales have it).

    \b
    Examples:
      agent-console canned show greet
      agent-console canned show greet --locale es -o json
    """
    from agent_console.client.errors import NotFound

    code = shortcode.strip().lstrip("/")

    async def fetch(backend):
        found = [
            c
            for c in await backend.canned_responses(query=code, locale=locale)
            if c.shortcode.casefold() == code.casefold()
        ]
        if not found:
            where = f" in locale {locale}" if locale else ""
            raise NotFound(f"no canned response with shortcode {code!r}{where}")
        found.sort(key=lambda c: (c.locale != "en", c.locale))
        return found[0]

    _run(settings, fetch, lambda o, out, item: o.show_one(out, item, o.CANNED))


def agents(
    settings: Settings,
    all_: Annotated[
        bool, typer.Option("--all", help="Deactivated agents too, with languages and whether active.")
    ] = False,
) -> None:
    """List agents with their role, presence and time zone.

    \b
    Examples:
      agent-console agents
      agent-console agents -o csv
      agent-console agents --all
    """

    async def fetch(backend):
        if all_:
            from agent_console.client.admin import require_admin_calls

            return await require_admin_calls(backend).all_agents()
        return await backend.agents()

    def show(o, out, items):  # noqa: ANN001, ANN202
        if all_:
            from agent_console.cli.admin_output import ACCOUNTS

            o.show_list(out, items, ACCOUNTS)
        else:
            o.show_list(out, items, o.AGENTS)

    _run(settings, fetch, show)


def teams(settings: Settings) -> None:
    """List teams.

    \b
    Example:
      agent-console teams -o json
    """

    async def fetch(backend):
        return await backend.teams()

    _run(settings, fetch, lambda o, out, items: o.show_list(out, items, o.TEAMS))


def contacts(
    settings: Settings,
    search: Annotated[
        str | None, typer.Option("--search", help="Match name, email or phone (a part is enough).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
) -> None:
    """List or search contacts (customers).

    \b
    Examples:
      agent-console contacts --search garcia
      agent-console contacts --limit 500 -o csv > contacts.csv
    """

    async def fetch(backend):
        return await backend.contacts(search=search, limit=limit)

    _run(settings, fetch, lambda o, out, items: o.show_list(out, items, o.CONTACTS))


def me(settings: Settings) -> None:
    """Show the agent your token belongs to (name, role, time zone, presence).

    \b
    Example:
      agent-console me -o json
    """

    async def fetch(backend):
        return await backend.me()

    _run(settings, fetch, lambda o, out, item: o.show_one(out, item, o.AGENTS))


def register(app: typer.Typer) -> None:
    command(kb_app, "search", epilog=EPILOG)(kb_search)
    command(kb_app, "show", epilog=EPILOG)(kb_show)
    command(canned_app, "list", epilog=EPILOG)(canned_list)
    command(canned_app, "show", epilog=EPILOG)(canned_show)
    app.add_typer(kb_app, name="kb")
    app.add_typer(canned_app, name="canned")
    command(app, "agents", epilog=EPILOG)(agents)
    command(app, "teams", epilog=EPILOG)(teams)
    command(app, "contacts", epilog=EPILOG)(contacts)
    command(app, "me", epilog=EPILOG)(me)
