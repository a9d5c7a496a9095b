"""The roster as lines of text in the viewer's zone: one wording for the CLI and the console.

Pure. Names come from the server and are untrusted: callers sanitize (`core/sanitize`) and
render these lines as plain text, never as markup.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from agent_console.core.models import RosterView

Line = tuple[str, str]  # (kind: "head" | "on" | "next" | "gap" | "none", text)


def _at(moment: datetime, zone: tzinfo, ref: datetime) -> str:
    local = moment.astimezone(zone)
    if local.date() == ref.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%a %H:%M")


def roster_lines(view: RosterView, zone: tzinfo, zone_name: str) -> list[Line]:
    ref = view.at
    lines: list[Line] = [
        ("head", f"Roster at {view.at.astimezone(zone).strftime('%a %d %b %H:%M')} ({zone_name})")
    ]
    lines.append(("head", "On now"))
    for s in view.on:
        lines.append(("on", f"  {s.name}  until {_at(s.end, zone, ref)}  ({s.presence})"))
    if not view.on:
        lines.append(("none", "  nobody"))
    lines.append(("head", "Next"))
    for s in view.next:
        lines.append(("next", f"  {s.name}  {_at(s.start, zone, ref)}-{_at(s.end, zone, ref)}"))
    if not view.next:
        lines.append(("none", "  nobody within 24 h"))
    lines.append(("head", "Coverage gaps (next 24 h)"))
    for g in view.gaps:
        have = "nobody" if g.have == 0 else f"{g.have} of {g.need}"
        lines.append(
            ("gap", f"  warning: {g.team} {_at(g.start, zone, ref)}-{_at(g.end, zone, ref)}: {have} on")
        )
    if not view.gaps:
        lines.append(("none", "  none"))
    return lines
