"""Shifts from the command line: `roster`, `handoff`, `agent schedule`, `team coverage` and
`routing` (verbs on the nouns, as in admin_cmds.py). Times print in the viewer's zone (their
agent's time zone, or `--zone`).

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from agent_console.cli.options import EPILOG, Settings, command

_EXTRA = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(\d{2}:\d{2})-(\d{2}:\d{2})$")


def _shifts(backend: Any):  # -> ShiftCalls
    from agent_console.client.shifts import require_shift_calls

    return require_shift_calls(backend)


def _zone(name: str | None, fallback: str) -> tuple[Any, str]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    chosen = name or fallback
    try:
        return ZoneInfo(chosen), chosen
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"{chosen!r} is not a known IANA time zone", param_hint="--zone") from None


def _print_lines(out: Any, lines: list[tuple[str, str]]) -> None:
    from agent_console.core.sanitize import sanitize_line

    out.write("".join(sanitize_line(text) + "\n" for _, text in lines))


def roster(
    settings: Settings,
    at: Annotated[
        str | None, typer.Option(metavar="WHEN", help="ISO 8601 time (default: now); no offset: your zone.")
    ] = None,
    zone: Annotated[str | None, typer.Option(metavar="ZONE", help="Show times in this zone.")] = None,
) -> None:
    """Who is on shift now, who is next, and coverage gaps over the next 24 hours (warnings).

    \b
    Examples:
      agent-console roster
      agent-console roster --at 2026-03-10T08:00 --zone Asia/Tokyo -o json
    """
    from datetime import datetime

    from agent_console.cli import output, runtime
    from agent_console.core.roster_text import roster_lines

    async def work(backend):
        me = await backend.me()
        tz, name = _zone(zone, me.timezone)
        moment = None
        if at is not None:
            try:
                moment = datetime.fromisoformat(at)
            except ValueError:
                raise typer.BadParameter(f"{at!r} is not an ISO 8601 time", param_hint="--at") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
        return await _shifts(backend).roster(moment), tz, name

    view, tz, name = runtime.call(settings, work)
    out = output.Out(settings)
    if settings.output == "json":
        output.print_json(out, view)
        return
    _print_lines(out, roster_lines(view, tz, name))


def handoff(
    settings: Settings,
    to: Annotated[
        list[str],
        typer.Option(
            metavar="TEAM|AGENT",
            help="A team (name or team:ID) or an agent (email or agent:ID); repeat for several agents.",
        ),
    ],
    note: Annotated[
        str, typer.Option(metavar="TEXT", help="The handoff note, pinned on every conversation.")
    ] = "",
    conv: Annotated[
        list[int] | None,
        typer.Option(metavar="ID", help="Only these conversations (default: all your open ones)."),
    ] = None,
) -> None:
    """End your shift: hand your open conversations to a team or to named agents, with a note.

    \b
    Examples:
      agent-console handoff --to Billing --note 'Two refunds wait on the bank'
      agent-console handoff --to kim@example.com --to lee@example.com
    """
    from agent_console.cli import output, runtime
    from agent_console.core.models import NewHandoff

    async def work(backend):
        team_id = None
        agent_ids: list[int] = []
        teams = {t.name.casefold(): t.id for t in await backend.teams()}
        agents = await backend.agents()
        for ref in to:
            key = ref.strip()
            if key.startswith("team:") and key[5:].isdigit():
                team_id = int(key[5:])
            elif key.startswith("agent:") and key[6:].isdigit():
                agent_ids.append(int(key[6:]))
            elif key.casefold() in teams:
                team_id = teams[key.casefold()]
            else:
                found = [a.id for a in agents if key.casefold() in (a.email.casefold(), a.name.casefold())]
                if not found:
                    raise typer.BadParameter(f"no team or agent named {ref!r}", param_hint="--to")
                agent_ids.append(found[0])
        request = NewHandoff(to_team_id=team_id, to_agent_ids=agent_ids, note=note, conversation_ids=conv)
        return await _shifts(backend).hand_over(request)

    made = runtime.call(settings, work)
    out = output.Out(settings)
    if settings.output == "json":
        output.print_json(out, made)
        return
    to_text = ", ".join(
        [*(a.name for a in made.to_agents), *([f"team {made.to_team.name}"] if made.to_team else [])]
    )
    ids = " ".join(f"#{i.conversation_id}" for i in made.items) or "no open conversations"
    _print_lines(out, [("", f"handed over to {to_text}: {ids}")])


def agent_schedule(
    settings: Settings,
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="The agent's id or email.")],
    zone: Annotated[str | None, typer.Option(metavar="ZONE", help="The agent's IANA time zone.")] = None,
    hours: Annotated[
        list[str] | None, typer.Option(metavar="'DAYS HH:MM-HH:MM'", help="Weekly hours (repeat; replaces).")
    ] = None,
    off: Annotated[list[str] | None, typer.Option(metavar="DATE", help="A day off (repeat).")] = None,
    extra: Annotated[
        list[str] | None, typer.Option(metavar="'DATE HH:MM-HH:MM'", help="An extra shift (repeat).")
    ] = None,
    clear: Annotated[bool, typer.Option(help="Remove the schedule.")] = False,
) -> None:
    """Show or set an agent's working pattern (set needs an admin token). --off and --extra
    together replace the exceptions.

    \b
    Examples:
      agent-console agent schedule kim@example.com
      agent-console agent schedule kim@example.com --zone Asia/Tokyo --hours 'mon-fri 09:00-18:00'
      agent-console agent schedule 12 --off 2026-12-24 --extra '2026-12-27 10:00-14:00'
    """
    import msgspec

    from agent_console.cli.admin_cmds import _agent_id
    from agent_console.cli.sla_cmds import parse_hours
    from agent_console.core.models import ScheduleInput

    ranges = parse_hours(hours) if hours else None
    exceptions: list[dict[str, Any]] | None = None
    if off is not None or extra is not None:
        exceptions = [{"date": day, "kind": "off"} for day in off or []]
        for spec in extra or []:
            match = _EXTRA.match(spec.strip())
            if not match:
                raise typer.BadParameter(
                    f"{spec!r} is not like '2026-12-27 10:00-14:00'", param_hint="--extra"
                )
            exceptions.append({"date": match[1], "kind": "extra", "start": match[2], "end": match[3]})
    changing = clear or zone is not None or ranges is not None or exceptions is not None

    async def work(backend):
        agent_id = await _agent_id(backend, agent)
        calls = _shifts(backend)
        if not changing:
            return await calls.schedule(agent_id)
        try:
            update = msgspec.convert(
                {
                    **({"timezone": zone} if zone else {}),
                    **({"hours": [], "exceptions": []} if clear else {}),
                    **({"hours": ranges} if ranges is not None else {}),
                    **({"exceptions": exceptions} if exceptions is not None else {}),
                },
                ScheduleInput,
            )
        except msgspec.ValidationError as exc:
            raise typer.BadParameter(str(exc)) from None
        return await calls.set_schedule(agent_id, update)

    _show_schedule(settings, runtime_call(settings, work))


def runtime_call(settings: Settings, work: Any) -> Any:
    from agent_console.cli import runtime

    return runtime.call(settings, work)


def _show_schedule(settings: Settings, item: Any) -> None:
    from agent_console.cli import output

    out = output.Out(settings)
    if settings.output == "json":
        output.print_json(out, item)
        return
    lines = [("", f"agent {item.agent_id} ({item.timezone})")]
    lines += [("", f"  {r.day} {r.start}-{r.end}") for r in item.hours] or [("", "  no weekly hours")]
    for e in item.exceptions:
        lines.append(("", f"  {e.date} off" if e.kind == "off" else f"  {e.date} extra {e.start}-{e.end}"))
    _print_lines(out, lines)


def team_coverage(
    settings: Settings,
    team: Annotated[str, typer.Argument(metavar="TEAM", help="The team's id or name.")],
    zone: Annotated[str | None, typer.Option(metavar="ZONE", help="The window's IANA time zone.")] = None,
    hours: Annotated[
        list[str] | None, typer.Option(metavar="'DAYS HH:MM-HH:MM'", help="Covered hours.")
    ] = None,
    need: Annotated[int, typer.Option("--min", help="Agents needed on at once.", min=1)] = 1,
    clear: Annotated[bool, typer.Option(help="Remove the coverage window.")] = False,
) -> None:
    """Show or set when a team wants agents on (set needs an admin token); the roster warns of gaps.

    \b
    Example:
      agent-console team coverage Billing --zone Europe/Lisbon --hours 'mon-sun 00:00-24:00' --min 2
    """
    from agent_console.cli import output
    from agent_console.cli.admin_cmds import _team_id
    from agent_console.cli.sla_cmds import parse_hours
    from agent_console.core.models import CoverageInput, SlaHoursRange

    if hours and not zone:
        raise typer.BadParameter("give the window's zone with --hours", param_hint="--zone")
    ranges = parse_hours(hours) if hours else None

    async def work(backend):
        team_id = await _team_id(backend, team)
        calls = _shifts(backend)
        if clear:
            await calls.clear_coverage(team_id)
            return None
        if ranges is None:
            return await calls.coverage(team_id)
        window = CoverageInput(zone=zone, hours=[SlaHoursRange(**r) for r in ranges], min_agents=need)
        return await calls.set_coverage(team_id, window)

    item = runtime_call(settings, work)
    out = output.Out(settings)
    if item is None:
        _print_lines(out, [("", "coverage window removed")])
    elif settings.output == "json":
        output.print_json(out, item)
    else:
        lines = [("", f"team {item.team_id}: {item.min_agents} on at once ({item.zone})")]
        _print_lines(out, lines + [("", f"  {r.day} {r.start}-{r.end}") for r in item.hours])


def routing(settings: Settings) -> None:
    """Routing's mode and cap, and the conversations waiting in team queues (and why).

    \b
    Example:
      agent-console routing -o json
    """
    from agent_console.cli import output

    async def work(backend):
        return await _shifts(backend).routing()

    status = runtime_call(settings, work)
    out = output.Out(settings)
    if settings.output == "json":
        output.print_json(out, status)
        return
    lines = [("", f"routing: {status.mode}, cap {status.cap}; {len(status.waiting)} waiting")]
    lines += [("", f"  #{w.conversation_id} {w.outcome}: {w.reason}") for w in status.waiting]
    _print_lines(out, lines)


def register(app: typer.Typer) -> None:
    from agent_console.cli.admin_cmds import agent_app, team_app

    command(app, "roster", epilog=EPILOG)(roster)
    command(app, "handoff", epilog=EPILOG)(handoff)
    command(app, "routing", epilog=EPILOG)(routing)
    command(agent_app, "schedule", epilog=EPILOG)(agent_schedule)
    command(team_app, "coverage", epilog=EPILOG)(team_coverage)
