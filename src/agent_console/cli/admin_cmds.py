"""Running the desk from the command line: `agent`, `team` and `label` (singular noun, verb,
then what it acts on, as `kb show 12`), and `labels` (plural: lists). The admin verbs on
`kb` and `canned` live in `kb_admin_cmds.py`. The server decides who may: an agent's token
gets "needs role admin" (exit 3).

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from agent_console.cli.options import EPILOG, Settings, command, sub_app

agent_app = sub_app(
    "agent",
    "Manage agents (admin): invite, change, deactivate, rotate a token.",
    (
        "agent-console agent new 'Kim Lee' kim@example.com --timezone Europe/Berlin --language de",
        "agent-console agent deactivate kim@example.com",
        "agent-console agent rotate-token 12",
    ),
)
team_app = sub_app(
    "team",
    "Manage teams (admin): create, rename, members.",
    (
        "agent-console team new 'Night shift' --member kim@example.com",
        "agent-console team members 3 --add 12",
    ),
)
label_app = sub_app(
    "label",
    "Manage the label list (admin): add with a colour, recolour, rename (renaming onto a label merges).",
    ("agent-console label new vip --color '#d4a017'", "agent-console label rename refunds refund"),
)

LanguagesOption = Annotated[
    list[str] | None,
    typer.Option("--language", metavar="LANG", help="A language the agent answers in (repeat for more)."),
]
TeamsOption = Annotated[
    list[str] | None, typer.Option("--team", metavar="TEAM", help="A team, by id or name (repeat for more).")
]


def _run(settings: Settings, work, show) -> None:
    from agent_console.cli import admin_output, output, runtime

    show(output, admin_output, output.Out(settings), runtime.call(settings, work))


async def _with_names(backend: Any, team: Any) -> tuple[Any, dict[int, str]]:
    """A team and its members' names (a person reads names; JSON and CSV keep the ids)."""
    return team, {agent.id: agent.name for agent in await _admin(backend).all_agents()}


def _show_team(o: Any, a: Any, out: Any, item: tuple[Any, dict[int, str]]) -> None:
    team, names = item
    o.show_one(out, team, a.team_details(names))


def _admin(backend: Any):  # -> AdminCalls
    from agent_console.client.admin import require_admin_calls

    return require_admin_calls(backend)


async def _agent_id(backend: Any, ref: str) -> int:
    """An agent by id or email."""
    from agent_console.client.errors import NotFound

    if ref.isdigit():
        return int(ref)
    for agent in await _admin(backend).all_agents():
        if agent.email.casefold() == ref.strip().casefold():
            return agent.id
    raise NotFound(f"no agent with email {ref}")


async def _team_id(backend: Any, ref: str) -> int:
    """A team by id or name."""
    from agent_console.client.errors import NotFound

    if ref.isdigit():
        return int(ref)
    for team in await backend.teams():
        if team.name.casefold() == ref.strip().casefold():
            return team.id
    raise NotFound(f"no team named {ref!r}")


def _token_out(o: Any, a: Any, out: Any, made: Any, what: str) -> None:
    """The token goes to stdout alone (for a script or a password manager); what happened goes
    to stderr. It is shown this once: the desk keeps only its hash."""
    fmt = out.settings.output
    if out.settings.quiet:
        out.write(f"{made.agent.id}\n")
    elif fmt == "json":
        o.print_json(out, made)
    elif fmt == "csv":
        columns = [o.Column(c.header, lambda m, get=c.get: get(m.agent)) for c in a.ACCOUNTS.csv_columns]
        o.write_csv(out, [made], [*columns, o.Column("token", lambda m: m.token)])
    else:
        print(
            f"{what} #{made.agent.id} {made.agent.email}: its token is below, shown this once.",
            file=sys.stderr,
        )
        out.write(made.token + "\n")


# --- agent ----------------------------------------------------------------------------------


def agent_new(
    settings: Settings,
    name: Annotated[str, typer.Argument(help="Full name, as colleagues and customers see it.")],
    email: Annotated[str, typer.Argument(help="Email address (the agent's unique login name).")],
    role: Annotated[str, typer.Option(help="agent or admin.")] = "agent",
    timezone: Annotated[
        str, typer.Option(metavar="ZONE", help="IANA time zone, e.g. Europe/Lisbon.")
    ] = "UTC",
    language: LanguagesOption = None,
    team: TeamsOption = None,
) -> None:
    """Invite an agent; prints its API token, once.

    \b
    Examples:
      agent-console agent new 'Kim Lee' kim@example.com --language de --team Billing
      agent-console agent new 'Ana Ruiz' ana@example.com --role admin -o json
    """
    from agent_console.core.models import NewAgent

    if role not in ("agent", "admin"):
        raise typer.BadParameter("must be agent or admin", param_hint="--role")

    async def work(backend):
        team_ids = [await _team_id(backend, ref) for ref in team or []]
        new = NewAgent(
            name=name, email=email, role=role, timezone=timezone, languages=language or [], team_ids=team_ids
        )
        return await _admin(backend).create_agent(new)

    _run(settings, work, lambda o, a, out, made: _token_out(o, a, out, made, "created agent"))


def agent_set(
    settings: Settings,
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="The agent's id or email.")],
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    role: Annotated[str | None, typer.Option(help="agent or admin.")] = None,
    timezone: Annotated[str | None, typer.Option(metavar="ZONE", help="IANA time zone.")] = None,
    language: LanguagesOption = None,
    team: TeamsOption = None,
) -> None:
    """Change an agent: name, role, time zone, languages (replaced), teams (replaced).

    \b
    Example:
      agent-console agent set kim@example.com --role admin --language de --language en
    """
    import msgspec

    from agent_console.core.models import AgentUpdate

    if role is not None and role not in ("agent", "admin"):
        raise typer.BadParameter("must be agent or admin", param_hint="--role")

    async def work(backend):
        agent_id = await _agent_id(backend, agent)
        team_ids = msgspec.UNSET if team is None else [await _team_id(backend, ref) for ref in team]
        update = AgentUpdate(
            name=msgspec.UNSET if name is None else name,
            role=msgspec.UNSET if role is None else role,
            timezone=msgspec.UNSET if timezone is None else timezone,
            languages=msgspec.UNSET if language is None else language,
            team_ids=team_ids,
        )
        return await _admin(backend).update_agent(agent_id, update)

    _run(settings, work, lambda o, a, out, item: o.show_one(out, item, a.ACCOUNTS))


def _set_active(settings: Settings, agent: str, active: bool) -> None:
    from agent_console.core.models import AgentUpdate

    async def work(backend):
        agent_id = await _agent_id(backend, agent)
        return await _admin(backend).update_agent(agent_id, AgentUpdate(active=active))

    verb = "activated" if active else "deactivated (its token no longer works; its history stays)"
    _run(
        settings,
        work,
        lambda o, a, out, item: o.show_one(out, item, a.ACCOUNTS, summary=f"#{item.id} {item.email} {verb}"),
    )


def agent_deactivate(
    settings: Settings,
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="The agent's id or email.")],
) -> None:
    """Deactivate an agent: its token stops working at once (open consoles are cut off); its
    conversations and messages stay. Agents are never deleted.

    \b
    Example:
      agent-console agent deactivate kim@example.com
    """
    _set_active(settings, agent, False)


def agent_activate(
    settings: Settings,
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="The agent's id or email.")],
) -> None:
    """Activate a deactivated agent again (hand it a token with `agent rotate-token`).

    \b
    Example:
      agent-console agent activate 12
    """
    _set_active(settings, agent, True)


def agent_rotate_token(
    settings: Settings,
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="The agent's id or email.")],
) -> None:
    """Give an agent a new token, shown once; the old one stops working at once.

    \b
    Example:
      agent-console agent rotate-token kim@example.com > kim.token
    """

    async def work(backend):
        return await _admin(backend).rotate_token(await _agent_id(backend, agent))

    _run(settings, work, lambda o, a, out, made: _token_out(o, a, out, made, "new token for agent"))


# --- team -------------------------------------------------------------------------------------


def team_new(
    settings: Settings,
    name: Annotated[str, typer.Argument(help="The team's name (unique).")],
    description: Annotated[str, typer.Option(help="What the team does.")] = "",
    member: Annotated[
        list[str] | None, typer.Option("--member", metavar="AGENT", help="A member, by id or email (repeat).")
    ] = None,
) -> None:
    """Create a team.

    \b
    Example:
      agent-console team new 'Night shift' --member kim@example.com --member 7
    """
    from agent_console.core.models import NewTeam

    async def work(backend):
        members = [await _agent_id(backend, ref) for ref in member or []]
        made = await _admin(backend).create_team(
            NewTeam(name=name, description=description, member_ids=members)
        )
        return await _with_names(backend, made)

    _run(settings, work, _show_team)


def team_show(
    settings: Settings, team: Annotated[str, typer.Argument(metavar="TEAM", help="The team's id or name.")]
) -> None:
    """Show a team with its members (names and ids).

    \b
    Example:
      agent-console team show Billing
    """

    async def work(backend):
        return await _with_names(backend, await _admin(backend).team(await _team_id(backend, team)))

    _run(settings, work, _show_team)


def team_rename(
    settings: Settings,
    team: Annotated[str, typer.Argument(metavar="TEAM", help="The team's id or name.")],
    new_name: Annotated[str, typer.Argument(metavar="NEW_NAME", help="Its new name.")],
) -> None:
    """Rename a team.

    \b
    Example:
      agent-console team rename 'Night shift' 'Nights'
    """
    from agent_console.core.models import TeamUpdate

    async def work(backend):
        renamed = await _admin(backend).update_team(await _team_id(backend, team), TeamUpdate(name=new_name))
        return await _with_names(backend, renamed)

    _run(settings, work, _show_team)


def team_members(
    settings: Settings,
    team: Annotated[str, typer.Argument(metavar="TEAM", help="The team's id or name.")],
    add: Annotated[
        list[str] | None,
        typer.Option("--add", metavar="AGENT", help="Add this agent, by id or email (repeat)."),
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", metavar="AGENT", help="Remove this agent (repeat).")
    ] = None,
) -> None:
    """Add and remove team members in one change (no option: list them).

    \b
    Example:
      agent-console team members Billing --add kim@example.com --remove 7
    """
    from agent_console.core.models import TeamUpdate

    async def work(backend):
        admin = _admin(backend)
        team_id = await _team_id(backend, team)
        current = await admin.team(team_id)
        if not add and not remove:
            return await _with_names(backend, current)
        adding = [await _agent_id(backend, ref) for ref in add or []]
        removing = {await _agent_id(backend, ref) for ref in remove or []}
        members = [m for m in dict.fromkeys([*current.member_ids, *adding]) if m not in removing]
        return await _with_names(backend, await admin.update_team(team_id, TeamUpdate(member_ids=members)))

    _run(settings, work, _show_team)


# --- labels -------------------------------------------------------------------------------------


def labels(settings: Settings) -> None:
    """List labels: the managed list with colours, and every label in use, with counts.

    \b
    Example:
      agent-console labels -o csv
    """

    async def work(backend):
        return await backend.labels()

    _run(settings, work, lambda o, a, out, items: o.show_list(out, items, a.LABELS))


ColourArgument = Annotated[str, typer.Argument(metavar="COLOR", help="#rrggbb, e.g. '#d4a017'.")]


def _colour(text: str, hint: str) -> str:
    import re

    value = text.strip().lower()
    if not re.fullmatch(r"#[0-9a-f]{6}", value):
        raise typer.BadParameter(f"{text!r} is not a colour: use #rrggbb, e.g. '#d4a017'", param_hint=hint)
    return value


def label_new(
    settings: Settings,
    name: Annotated[str, typer.Argument(help="One word (use - to join words); stored lowercase.")],
    color: Annotated[str, typer.Option("--color", metavar="COLOR", help="#rrggbb.")] = "#808080",
) -> None:
    """Add a label to the managed list.

    \b
    Example:
      agent-console label new vip --color '#d4a017'
    """
    from agent_console.core.models import NewLabel

    colour = _colour(color, "--color")

    async def work(backend):
        return await _admin(backend).create_label(NewLabel(name=name, color=colour))

    _run(settings, work, lambda o, a, out, item: o.show_one(out, item, a.LABELS))


def label_rename(
    settings: Settings,
    name: Annotated[str, typer.Argument(help="The label now.")],
    new_name: Annotated[
        str, typer.Argument(metavar="NEW_NAME", help="Its new name (an existing one merges).")
    ],
) -> None:
    """Rename a label on every conversation that carries it; onto an existing label, merge.

    \b
    Example:
      agent-console label rename refunds refund
    """
    from agent_console.core.models import LabelUpdate

    async def work(backend):
        return await _admin(backend).update_label(name, LabelUpdate(name=new_name))

    _run(settings, work, lambda o, a, out, item: o.show_one(out, item, a.LABELS))


def label_color(
    settings: Settings, name: Annotated[str, typer.Argument(help="The label.")], color: ColourArgument
) -> None:
    """Give a label a colour (adds it to the managed list if it is only in use).

    \b
    Example:
      agent-console label color vip '#d4a017'
    """
    from agent_console.core.models import LabelUpdate

    colour = _colour(color, "COLOR")

    async def work(backend):
        return await _admin(backend).update_label(name, LabelUpdate(color=colour))

    _run(settings, work, lambda o, a, out, item: o.show_one(out, item, a.LABELS))


def register(app: typer.Typer) -> None:
    command(agent_app, "new", epilog=EPILOG)(agent_new)
    command(agent_app, "set", epilog=EPILOG)(agent_set)
    command(agent_app, "deactivate", epilog=EPILOG)(agent_deactivate)
    command(agent_app, "activate", epilog=EPILOG)(agent_activate)
    command(agent_app, "rotate-token", epilog=EPILOG)(agent_rotate_token)
    command(team_app, "new", epilog=EPILOG)(team_new)
    command(team_app, "show", epilog=EPILOG)(team_show)
    command(team_app, "rename", epilog=EPILOG)(team_rename)
    command(team_app, "members", epilog=EPILOG)(team_members)
    command(label_app, "new", epilog=EPILOG)(label_new)
    command(label_app, "rename", epilog=EPILOG)(label_rename)
    command(label_app, "color", epilog=EPILOG)(label_color)
    app.add_typer(agent_app, name="agent")
    app.add_typer(team_app, name="team")
    app.add_typer(label_app, name="label")
    command(app, "labels", epilog=EPILOG)(labels)
