"""`agent-console sla breaches`: the SLA breaches the desk recorded (which clock, when, how late).

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import typer

from agent_console.cli.options import Settings

ClockName = Literal["frt", "nrt", "rt"]
CLOCK_NAMES = {"frt": "first response", "nrt": "next response", "rt": "resolution"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`24h`, `7d`, `90m` (that long ago) or an ISO 8601 date-time with an offset."""
    from agent_console.cli.sla_cmds import parse_duration

    value = text.strip()
    if value[:1].isdigit() and ("-" in value or ":" in value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise typer.BadParameter(
                f"{text!r} is not a duration like 24h or a date-time with an offset"
                " (2026-11-24T09:00:00+00:00)",
                param_hint="--since",
            )
        return moment.astimezone(UTC)
    seconds = parse_duration(value, "--since")
    if seconds is None:
        raise typer.BadParameter("--since needs a duration or a date-time, not none", param_hint="--since")
    return (now or datetime.now(UTC)) - timedelta(seconds=seconds)


def _late(seconds: int) -> str:
    if seconds <= 0:
        return "at due time"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) + " late"


def _spec():  # -> output.Spec, built when the command runs
    from agent_console.cli.output import Column, Spec
    from agent_console.core.clock import to_iso

    return Spec(
        text_columns=[
            Column("BREACHED", lambda b: to_iso(b.breached_at)[:19].replace("T", " ")),
            Column("CONV", lambda b: b.conversation_id),
            Column("CLOCK", lambda b: b.clock.upper()),
            Column("LATE", lambda b: _late(b.breached_by_s)),
            Column("POLICY", lambda b: b.policy, max_width=24, drop=2),
            Column("TEAM", lambda b: b.team.name if b.team else "", max_width=16, drop=3),
            Column("ASSIGNEE", lambda b: b.assignee.name if b.assignee else "", max_width=20, drop=1),
        ],
        csv_columns=[
            Column("id", lambda b: b.id),
            Column("conversation_id", lambda b: b.conversation_id),
            Column("clock", lambda b: b.clock),
            Column("policy_id", lambda b: b.policy_id),
            Column("policy", lambda b: b.policy),
            Column("started_at", lambda b: b.started_at),
            Column("due_at", lambda b: b.due_at),
            Column("breached_at", lambda b: b.breached_at),
            Column("breached_by_s", lambda b: b.breached_by_s),
            Column("team_id", lambda b: b.team.id if b.team else None),
            Column("team", lambda b: b.team.name if b.team else None),
            Column("assignee_id", lambda b: b.assignee.id if b.assignee else None),
            Column("assignee", lambda b: b.assignee.name if b.assignee else None),
        ],
        title=lambda b: f"Breach {b.id}",
        fields=lambda b: [
            ("Conversation", b.conversation_id),
            ("Clock", CLOCK_NAMES.get(b.clock, b.clock)),
            ("Policy", b.policy),
            ("Due", b.due_at),
            ("Breached", b.breached_at),
            ("Late", _late(b.breached_by_s)),
        ],
    )


async def _team_id(backend: Any, ref: str) -> int:
    from agent_console.client.errors import NotFound

    if ref.isdigit():
        return int(ref)
    for team in await backend.teams():
        if team.name.casefold() == ref.strip().casefold():
            return team.id
    raise NotFound(f"no team named {ref!r}")


async def _agent_id(backend: Any, ref: str) -> int:
    from agent_console.client.errors import NotFound

    if ref.isdigit():
        return int(ref)
    if ref.strip().lower() == "me":
        return (await backend.me()).id
    for agent in await backend.agents():
        if agent.email.casefold() == ref.strip().casefold():
            return agent.id
    raise NotFound(f"no agent with email {ref}")


def sla_breaches(
    settings: Settings,
    since: Annotated[
        str,
        typer.Option(metavar="WHEN", help="Since that long ago (24h, 7d), or a date-time with an offset."),
    ] = "24h",
    conversation: Annotated[
        int | None, typer.Option("--conversation", metavar="ID", min=1, help="Only this conversation.")
    ] = None,
    team: Annotated[
        str | None, typer.Option(metavar="TEAM", help="Conversations of this team now (id or name).")
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option(metavar="AGENT", help="Conversations assigned to this agent now (id, email or me)."),
    ] = None,
    clock: Annotated[ClockName | None, typer.Option(help="Only this clock: frt, nrt or rt.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many breaches.")] = 100,
    all_pages: Annotated[
        bool, typer.Option("--all-pages", help="Every matching breach (ignores --limit).")
    ] = False,
) -> None:
    """List recorded SLA breaches, newest first: which clock, when, how late.

    LATE is how late the clock stopped; "at due time" while it still runs unanswered (the
    breach was recorded when it fell due). Team and assignee are the conversation's now.

    \b
    Examples:
      agent-console sla breaches
      agent-console sla breaches --since 7d --team Billing -o csv
      agent-console sla breaches --agent me --clock frt -o json
    """
    start = parse_since(since)
    from agent_console.cli import output, runtime

    async def fetch(backend):
        team_id = None if team is None else await _team_id(backend, team)
        agent_id = None if agent is None else await _agent_id(backend, agent)
        return await runtime.collect_pages(
            lambda want, cursor: backend.sla_breaches(
                since=start,
                conversation_id=conversation,
                team_id=team_id,
                agent_id=agent_id,
                clock=clock,
                limit=want,
                cursor=cursor,
            ),
            limit=limit,
            all_pages=all_pages,
        )

    items = runtime.call(settings, fetch)
    output.show_list(output.Out(settings), items, _spec())
