"""`agent-console sla list|show|set|delete`: the desk's SLA policies (admins change them).

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from agent_console.cli.options import EPILOG, Settings, command, sub_app
from agent_console.cli.sla_breach_cmds import sla_breaches

sla_app = sub_app(
    "sla",
    "List, show and change SLA policies (set and delete need an admin token).",
    (
        "agent-console sla list",
        "agent-console sla set Chat --channel web_chat --frt 2m --nrt 10m --rt 4h --position 40",
        "agent-console sla set Billing --team Billing --frt 1h --zone America/New_York"
        " --hours 'mon-fri 08:00-20:00' --holiday 2026-12-25",
        "agent-console sla delete Chat",
        "agent-console sla breaches --since 24h -o csv",
    ),
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_HOURS = re.compile(r"^([a-z]{3})(?:-([a-z]{3}))?\s+(\d{2}:\d{2})-(\d{2}:\d{2})$")


def parse_duration(text: str, option: str) -> int | None:
    """`2m`, `4h`, `1h30m`, `90s`, `1d`, plain seconds, or `none` (no target) as seconds."""
    value = text.strip().lower()
    if value in ("none", "off", "-"):
        return None
    if value.isdigit():
        seconds = int(value)
    else:
        match = _DURATION.match(value)
        if not match or not any(match.groups()):
            raise typer.BadParameter(
                f"{text!r} is not a duration like 2m, 4h, 1h30m or none", param_hint=option
            )
        days, hours, minutes, secs = (int(g or 0) for g in match.groups())
        seconds = days * 86400 + hours * 3600 + minutes * 60 + secs
    if seconds <= 0:
        raise typer.BadParameter("a target must be longer than zero", param_hint=option)
    return seconds


def parse_hours(specs: list[str]) -> list[dict[str, str]]:
    """`mon-fri 09:00-17:00` or `sat 10:00-14:00`, one range per --hours."""
    ranges = []
    for spec in specs:
        match = _HOURS.match(spec.strip().lower())
        if not match or match.group(1) not in DAYS or (match.group(2) and match.group(2) not in DAYS):
            raise typer.BadParameter(
                f"{spec!r} is not like 'mon-fri 09:00-17:00' (days: {', '.join(DAYS)})", param_hint="--hours"
            )
        first, last, start, end = match.groups()
        span = DAYS[DAYS.index(first) : DAYS.index(last or first) + 1]
        if not span:
            raise typer.BadParameter(f"{spec!r}: {first} comes after {last}", param_hint="--hours")
        ranges += [{"day": day, "start": start, "end": end} for day in span]
    return ranges


def _duration_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def _match_text(policy: Any) -> str:
    if policy.is_default:
        return "default"
    parts = [
        ",".join(policy.priorities) if policy.priorities else "",
        ",".join(policy.channels) if policy.channels else "",
        "teams " + ",".join(str(t) for t in policy.team_ids) if policy.team_ids else "",
    ]
    return " · ".join(p for p in parts if p) or "any"


def _hours_text(policy: Any) -> str:
    hours = policy.business_hours
    if hours is None:
        return "24/7"
    days: dict[tuple[str, str], list[str]] = {}
    for r in hours.hours:
        days.setdefault((r.start, r.end), []).append(r.day)
    spans = " ".join(f"{','.join(d)} {s}-{e}" for (s, e), d in days.items())
    holidays = f" (+{len(hours.holidays)} holidays)" if hours.holidays else ""
    return f"{spans} {hours.zone}{holidays}"


def _spec():  # -> output.Spec, built when a command runs
    from agent_console.cli.output import Column, Spec

    return Spec(
        text_columns=[
            Column("ID", lambda p: p.id),
            Column("NAME", lambda p: p.name, max_width=24),
            Column("POS", lambda p: "" if p.is_default else p.position),
            Column("MATCHES", _match_text, max_width=36, drop=1),
            Column("FRT", lambda p: _duration_text(p.first_response_s)),
            Column("NRT", lambda p: _duration_text(p.next_response_s)),
            Column("RT", lambda p: _duration_text(p.resolution_s)),
            Column("HOURS", _hours_text, max_width=40, drop=2),
        ],
        csv_columns=[
            Column("id", lambda p: p.id),
            Column("name", lambda p: p.name),
            Column("position", lambda p: p.position),
            Column("is_default", lambda p: p.is_default),
            Column("priorities", lambda p: p.priorities),
            Column("channels", lambda p: p.channels),
            Column("team_ids", lambda p: p.team_ids),
            Column("first_response_s", lambda p: p.first_response_s),
            Column("next_response_s", lambda p: p.next_response_s),
            Column("resolution_s", lambda p: p.resolution_s),
            Column("warn_share", lambda p: p.warn_share),
            Column("business_hours", _hours_text),
        ],
        title=lambda p: p.name,
        fields=lambda p: [
            ("ID", p.id),
            ("Position", "default (tried last)" if p.is_default else p.position),
            ("Matches", _match_text(p)),
            ("First response", _duration_text(p.first_response_s)),
            ("Next response", _duration_text(p.next_response_s)),
            ("Resolution", _duration_text(p.resolution_s)),
            ("Warn at", f"{round(p.warn_share * 100)} % left"),
            ("Hours", _hours_text(p)),
            (
                "Holidays",
                ", ".join(d.isoformat() for d in p.business_hours.holidays) if p.business_hours else "",
            ),
        ],
    )


async def _find(backend: Any, ref: str) -> Any:
    """A policy by id or by name (case-insensitive)."""
    from agent_console.client.errors import NotFound

    policies = await backend.sla_policies()
    for policy in policies:
        if (ref.isdigit() and policy.id == int(ref)) or policy.name.casefold() == ref.casefold():
            return policy
    raise NotFound(f"no SLA policy {ref!r} (see `agent-console sla list`)")


def _run(settings: Settings, fetch, show) -> None:
    from agent_console.cli import output, runtime

    show(output, output.Out(settings), runtime.call(settings, fetch))


def sla_list(settings: Settings) -> None:
    """List SLA policies in the order they are tried (first match wins; the default last).

    \b
    Examples:
      agent-console sla list
      agent-console sla list -o json
    """

    async def fetch(backend):
        return await backend.sla_policies()

    _run(settings, fetch, lambda o, out, items: o.show_list(out, items, _spec()))


def sla_show(
    settings: Settings,
    policy: Annotated[str, typer.Argument(metavar="ID|NAME", help="The policy's id or name.")],
) -> None:
    """Show one SLA policy: what it matches, its targets and its hours.

    \b
    Example:
      agent-console sla show Chat
    """

    async def fetch(backend):
        return await _find(backend, policy)

    _run(settings, fetch, lambda o, out, item: o.show_one(out, item, _spec()))


def sla_set(
    settings: Settings,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The policy's name: made if new, changed if it exists.")
    ],
    frt: Annotated[
        str | None, typer.Option("--frt", metavar="DURATION", help="First response target: 2m, 1h, none.")
    ] = None,
    nrt: Annotated[
        str | None, typer.Option("--nrt", metavar="DURATION", help="Next response target: 10m, 4h, none.")
    ] = None,
    rt: Annotated[
        str | None, typer.Option("--rt", metavar="DURATION", help="Resolution target: 4h, 1d, none.")
    ] = None,
    priority: Annotated[
        list[str] | None,
        typer.Option("--priority", metavar="PRIORITY", help="Match this priority (repeat for more)."),
    ] = None,
    channel: Annotated[
        list[str] | None, typer.Option("--channel", metavar="CHANNEL", help="Match this channel (repeat).")
    ] = None,
    team: Annotated[
        list[str] | None,
        typer.Option("--team", metavar="TEAM", help="Match this team, by name or id (repeat)."),
    ] = None,
    any_match: Annotated[
        bool, typer.Option("--any", help="Clear priorities, channels and teams: match everything.")
    ] = False,
    position: Annotated[
        int | None, typer.Option("--position", metavar="N", min=0, max=100_000, help="Lower is tried first.")
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="Make this the default policy.")] = False,
    warn: Annotated[
        float | None,
        typer.Option(
            "--warn-share", metavar="SHARE", min=0.01, max=0.99, help="Warn when this share is left."
        ),
    ] = None,
    zone: Annotated[
        str | None, typer.Option("--zone", metavar="ZONE", help="Business hours' IANA zone.")
    ] = None,
    hours: Annotated[
        list[str] | None,
        typer.Option(
            "--hours", metavar="DAYS HH:MM-HH:MM", help="Open hours, e.g. 'mon-fri 09:00-17:00' (repeat)."
        ),
    ] = None,
    holiday: Annotated[
        list[str] | None,
        typer.Option("--holiday", metavar="DATE", help="A closed date, YYYY-MM-DD (repeat)."),
    ] = None,
    always: Annotated[bool, typer.Option("--24-7", help="Count every hour (drop business hours).")] = False,
) -> None:
    """Add an SLA policy, or change the one with this name (admin). Options left out stay.

    \b
    Examples:
      agent-console sla set Chat --channel web_chat --frt 2m --nrt 10m --rt 4h --position 40
      agent-console sla set Urgent --priority urgent --frt 1m --position 10
      agent-console sla set Billing --team Billing --frt 1h --zone America/New_York \\
          --hours 'mon-fri 08:00-20:00' --holiday 2026-12-25
      agent-console sla set Chat --24-7
    """
    import msgspec

    from agent_console.core.models import SlaPolicyInput, SlaPolicyPatch

    fields: dict[str, Any] = {}
    for option, text, key in (
        ("--frt", frt, "first_response_s"),
        ("--nrt", nrt, "next_response_s"),
        ("--rt", rt, "resolution_s"),
    ):
        if text is not None:
            fields[key] = parse_duration(text, option)
    if any_match:
        fields.update(priorities=[], channels=[], team_ids=[])
    if priority:
        fields["priorities"] = list(dict.fromkeys(priority))
    if channel:
        fields["channels"] = list(dict.fromkeys(channel))
    if position is not None:
        fields["position"] = position
    if default:
        fields["is_default"] = True
    if warn is not None:
        fields["warn_share"] = warn
    calendar = None if always else _calendar(zone, hours, holiday)
    if always and (zone or hours or holiday):
        raise typer.BadParameter("--24-7 drops business hours: leave out --zone, --hours and --holiday")

    async def fetch(backend):
        from agent_console.client.errors import NotFound

        if team:
            teams = await backend.teams()
            ids = []
            for ref in team:
                found = [t.id for t in teams if str(t.id) == ref or t.name.casefold() == ref.casefold()]
                if not found:
                    raise NotFound(f"no team {ref!r} (see `agent-console teams`)")
                ids.append(found[0])
            fields["team_ids"] = ids
        try:
            existing = await _find(backend, name)
        except NotFound:
            existing = None
        if always:
            fields["business_hours"] = None
        elif calendar is not None:
            fields["business_hours"] = _merged(calendar, existing)
        try:
            if existing is None:
                return await backend.create_sla_policy(
                    msgspec.convert({"name": name, **fields}, SlaPolicyInput)
                )
            return await backend.update_sla_policy(existing.id, msgspec.convert(fields, SlaPolicyPatch))
        except msgspec.ValidationError as exc:
            raise typer.BadParameter(str(exc)) from None

    _run(
        settings,
        fetch,
        lambda o, out, item: o.show_one(out, item, _spec(), summary=f"SLA policy {item.name} saved"),
    )


def _calendar(zone: str | None, hours: list[str] | None, holidays: list[str] | None) -> dict[str, Any] | None:
    if not (zone or hours or holidays):
        return None
    from datetime import date

    dates = []
    for text in holidays or []:
        try:
            dates.append(date.fromisoformat(text).isoformat())
        except ValueError:
            raise typer.BadParameter(
                f"{text!r} is not a date as YYYY-MM-DD", param_hint="--holiday"
            ) from None
    out: dict[str, Any] = {}
    if zone:
        out["zone"] = zone
    if hours:
        out["hours"] = parse_hours(hours)
    if holidays:
        out["holidays"] = dates
    return out


def _merged(calendar: dict[str, Any], existing: Any) -> dict[str, Any]:
    """New calendar parts over the existing ones; a new calendar needs zone and hours."""
    import msgspec

    base = msgspec.to_builtins(existing.business_hours) if existing and existing.business_hours else {}
    merged = {**base, **calendar}
    missing = [name for name in ("zone", "hours") if name not in merged]
    if missing:
        raise typer.BadParameter(f"business hours need --{missing[0]} as well")
    return merged


def sla_delete(
    settings: Settings,
    policy: Annotated[str, typer.Argument(metavar="ID|NAME", help="The policy's id or name.")],
) -> None:
    """Delete an SLA policy (admin). Conversations it covered move to the next match.

    \b
    Example:
      agent-console sla delete Chat
    """

    async def fetch(backend):
        found = await _find(backend, policy)
        await backend.delete_sla_policy(found.id)
        return found

    _run(
        settings,
        fetch,
        lambda o, out, item: o.show_one(out, item, _spec(), summary=f"SLA policy {item.name} deleted"),
    )


def register(app: typer.Typer) -> None:
    command(sla_app, "list", epilog=EPILOG)(sla_list)
    command(sla_app, "show", epilog=EPILOG)(sla_show)
    command(sla_app, "set", epilog=EPILOG)(sla_set)
    command(sla_app, "delete", epilog=EPILOG)(sla_delete)
    command(sla_app, "breaches", epilog=EPILOG)(sla_breaches)
    app.add_typer(sla_app, name="sla")
