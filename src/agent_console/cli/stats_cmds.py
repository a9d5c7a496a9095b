"""`agent-console stats`: the desk's KPIs over a period, as a report, JSON or CSV.

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import typer

from agent_console.cli.options import EPILOG, OutputOption, Settings, command

_SPAN = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
WHEN_HELP = "7d, 24h, 2w (that long ago), a date (midnight in --tz) or a date-time with an offset"


def parse_when(text: str, option: str, now: datetime | None = None) -> datetime | date:
    """`7d` / `24h` / `2w` / `90m` ago, `2026-11-01`, or `2026-11-01T09:00+01:00`."""
    value = text.strip().lower()
    match = _SPAN.match(value)
    if match and any(match.groups()):
        weeks, days, hours, minutes = (int(g or 0) for g in match.groups())
        try:
            span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
            return (now or datetime.now(UTC)) - span
        except (OverflowError, ValueError):
            raise typer.BadParameter(f"{text!r} is too long ago", param_hint=option) from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a date", param_hint=option) from None
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not {WHEN_HELP}", param_hint=option) from None
    if moment.tzinfo is None:
        raise typer.BadParameter(
            f"{text!r} has no offset: add one (+01:00, Z) or give a date", param_hint=option
        )
    return moment


def stats(
    settings: Settings,
    since: Annotated[str, typer.Option("--since", metavar="WHEN", help=f"Start: {WHEN_HELP}.")] = "7d",
    until: Annotated[
        str | None, typer.Option("--until", metavar="WHEN", help="End (default: now); as --since.")
    ] = None,
    team: Annotated[
        str | None, typer.Option("--team", metavar="T", help="Only this team (id or name).")
    ] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", metavar="A", help="Only this agent's (id, email or name).")
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", metavar="ZONE", help="Time zone for hours and dates (default: yours)."),
    ] = None,
    output: OutputOption = "text",
) -> None:
    """The desk's KPIs: first response, resolution, SLA, CSAT, bot, backlog, by hour, team, agent.

    Volume, first response and hours count conversations created in the period; resolution
    and CSAT those resolved in it; the backlog is now.

    \b
    Examples:
      agent-console stats
      agent-console stats --since 30d --team Billing
      agent-console stats --since 2026-11-01 --until 2026-12-01 --tz Europe/Dublin -o csv
    """
    start = parse_when(since, "--since")
    end = None if until is None else parse_when(until, "--until")

    async def fetch(backend):
        team_id = None if team is None else await _team_id(backend, team)
        agent_id = None if agent is None else await _agent_id(backend, agent)
        return await backend.stats(since=start, until=end, team_id=team_id, agent_id=agent_id, tz=tz)

    from agent_console.cli import output as out_module
    from agent_console.cli import runtime

    result = runtime.call(settings, fetch)
    out = out_module.Out(settings)
    if output == "json":
        out_module.print_json(out, result)
    elif output == "csv":
        write_csv(out, result)
    else:
        out.write(report(result))


async def _team_id(backend: Any, ref: str) -> int:
    from agent_console.client.errors import NotFound

    for found in await backend.teams():
        if (ref.isdigit() and found.id == int(ref)) or found.name.casefold() == ref.casefold():
            return found.id
    raise NotFound(f"no team {ref!r} (see `agent-console teams`)")


async def _agent_id(backend: Any, ref: str) -> int:
    from agent_console.client.errors import NotFound

    for found in await backend.agents():
        if (
            (ref.isdigit() and found.id == int(ref))
            or found.email.casefold() == ref.casefold()
            or found.name.casefold() == ref.casefold()
        ):
            return found.id
    raise NotFound(f"no agent {ref!r} (see `agent-console agents`)")


# --- text ----------------------------------------------------------------------------------


def _local(moment: datetime, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M")


def _columns(kind: str) -> list[Any]:
    from agent_console.cli.output import Column
    from agent_console.core.kpis import duration_text as d
    from agent_console.core.kpis import group_name

    return [
        Column(kind.upper(), lambda g: group_name(g, kind), max_width=24),
        Column("CONVS", lambda g: g.conversations),
        Column("FIRST RESP", lambda g: f"{d(g.first_response.median_s)} / {d(g.first_response.p90_s)}"),
        Column("RESOLVED", lambda g: g.resolved),
        Column("RESOLUTION", lambda g: d(g.resolution.median_s)),
        Column("CSAT", lambda g: "–" if g.csat_average is None else f"{g.csat_average:.2f} ({g.csat_rated})"),
        Column("BACKLOG", lambda g: g.backlog),
    ]


def report(s: Any) -> str:
    import io

    from agent_console.cli.options import Settings as _Settings
    from agent_console.cli.output import Out, plain_table
    from agent_console.core.kpis import chart_lines, group_name, summary_lines

    scope = []
    if s.team_id is not None:
        scope.append(f"team {next((group_name(g, 'team') for g in s.teams if g.id == s.team_id), s.team_id)}")
    if s.agent_id is not None:
        scope.append(
            f"agent {next((group_name(g, 'agent') for g in s.agents if g.id == s.agent_id), s.agent_id)}"
        )
    head = f"KPIs {_local(s.since, s.tz)} to {_local(s.until, s.tz)} ({s.tz})"
    lines = [" · ".join([head, *scope]), ""]
    lines += [f"{label:<16} {text}" for label, text in summary_lines(s)]
    lines += ["", *chart_lines(s), ""]

    for kind, groups in (("team", s.teams), ("agent", s.agents)):
        buffer = io.StringIO()  # not a terminal: plain aligned text, whatever stdout is
        if groups:
            plain_table(Out(_Settings(), stream=buffer), groups, _columns(kind))
        else:
            buffer.write(f"no {kind}s in the period\n")
        lines.append(buffer.getvalue().rstrip("\n"))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


# --- CSV: one figure a row (section, id, name, metric, value), for spreadsheets ----------------


def csv_rows(s: Any) -> list[tuple[Any, ...]]:
    from agent_console.core.kpis import CLOCK_NAMES, group_name

    rows: list[tuple[Any, ...]] = [
        ("period", "", s.tz, "since", s.since.isoformat()),
        ("period", "", s.tz, "until", s.until.isoformat()),
        ("overall", "", "", "conversations", s.conversations),
    ]
    for name, p in (("first_response", s.first_response), ("resolution", s.resolution)):
        rows += [
            ("overall", "", "", f"{name}_count", p.count),
            ("overall", "", "", f"{name}_median_s", p.median_s),
            ("overall", "", "", f"{name}_p90_s", p.p90_s),
        ]
    for clock in s.sla:
        for metric in ("met", "missed", "running", "attainment"):
            rows.append(("sla", clock.clock, CLOCK_NAMES[clock.clock], metric, getattr(clock, metric)))
    for metric in ("resolved", "rated", "response_rate", "average"):
        rows.append(("csat", "", "", metric, getattr(s.csat, metric)))
    rows += [("csat", star, "", "ratings", n) for star, n in s.csat.distribution.items()]
    for metric in ("handled", "resolved", "handed_off", "resolution_rate", "handoff_rate"):
        rows.append(("bot", "", "", metric, getattr(s.bot, metric)))
    rows.append(("backlog", "", "", "total", s.backlog.total))
    rows += [("backlog", status, "", "by_status", n) for status, n in s.backlog.by_status.items()]
    rows += [("backlog", prio, "", "open_by_priority", n) for prio, n in s.backlog.open_by_priority.items()]
    rows.append(("backlog", "", "", "open_unassigned", s.backlog.open_unassigned))
    for h in s.by_hour:
        rows.append(("hour", h.hour, s.tz, "conversations", h.conversations))
        rows.append(("hour", h.hour, s.tz, "first_response_median_s", h.first_response_median_s))
    for kind, groups in (("team", s.teams), ("agent", s.agents)):
        for g in groups:
            key, name = "" if g.id is None else g.id, group_name(g, kind)
            for metric, value in (
                ("conversations", g.conversations),
                ("first_response_median_s", g.first_response.median_s),
                ("first_response_p90_s", g.first_response.p90_s),
                ("resolved", g.resolved),
                ("resolution_median_s", g.resolution.median_s),
                ("csat_average", g.csat_average),
                ("csat_rated", g.csat_rated),
                ("backlog", g.backlog),
            ):
                rows.append((kind, key, name, metric, value))
    return rows


def write_csv(out: Any, s: Any) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "id", "name", "metric", "value"])
    writer.writerows(tuple("" if v is None else v for v in row) for row in csv_rows(s))
    out.write(buffer.getvalue())


def register(app: typer.Typer) -> None:
    command(app, "stats", output=False, epilog=EPILOG)(stats)
