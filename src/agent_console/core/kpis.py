"""How KPIs read: durations, shares and bar charts drawn with block characters, shared by the
`stats` command and the console's dashboard. Pure: no I/O.

Charts are text, not plotext: one character cell per eighth of a row's height ("▁".."█"),
so a chart is a few short lines that fit 80 columns, cost a few hundred bytes over SSH, and
redraw as text like the rest of the screen (no canvas to clear, so nothing flickers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent_console.core.sanitize import sanitize_line

EIGHTHS = " ▁▂▃▄▅▆▇█"
NONE = "–"


def duration_text(seconds: float | None) -> str:
    """`45s`, `5m 30s`, `2h 05m`, `3d 4h`; `–` when there is nothing to say."""
    if seconds is None:
        return NONE
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m" if not secs else f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h" if not minutes else f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d" if not hours else f"{days}d {hours}h"


def percent(ratio: float | None) -> str:
    return NONE if ratio is None else f"{ratio * 100:.1f}%"


def bars(values: Sequence[float | None], *, height: int, width: int = 2, gap: int = 1) -> list[str]:
    """Vertical bars, tallest = `height` rows, top row first; None and 0 draw nothing.

    Each value gets `width` columns and `gap` spaces after it (none after the last)."""
    top = max((v for v in values if v), default=0)
    lines = []
    for row in range(height, 0, -1):
        cells = []
        for value in values:
            eighths = 0 if not value or not top else max(1, round(value / top * height * 8))
            filled = min(max(eighths - (row - 1) * 8, 0), 8)
            cells.append(EIGHTHS[filled] * width)
        lines.append((" " * gap).join(cells).rstrip())
    return lines


def hour_axis(*, width: int = 2, gap: int = 1, every: int = 3) -> str:
    """Hour labels under 24 bars: 0, 3, 6, ... left-aligned under their bar."""
    step = width + gap
    line = [" "] * (24 * step)
    for hour in range(0, 24, every):
        for i, ch in enumerate(str(hour)):
            line[hour * step + i] = ch
    return "".join(line).rstrip()


# --- a Stats answer (core.models.Stats) as lines of text: the report's and the dashboard's ---

CLOCK_NAMES = {"frt": "first response", "nrt": "next response", "rt": "resolution"}


def group_name(group: Any, kind: str) -> str:
    """A team's or agent's name as safe plain text (names come from the server: untrusted)."""
    if group.id is None:
        return "(no team)" if kind == "team" else "(unassigned)"
    return sanitize_line(group.name)


def summary_lines(s: Any) -> list[tuple[str, str]]:
    """The headline figures as (label, text) rows; a label of "" continues the row above."""
    d = duration_text
    fr, rs, csat, bot, backlog = s.first_response, s.resolution, s.csat, s.bot, s.backlog
    clocks = [
        f"{CLOCK_NAMES[c.clock]} {percent(c.attainment)} ({c.met} met, {c.missed} missed"
        + (f", {c.running} running)" if c.running else ")")
        for c in s.sla
        if c.met or c.missed or c.running
    ] or ["no SLA clocks in the period"]
    stars = "  ".join(f"{star}★ {n}" for star, n in csat.distribution.items())
    average = NONE if csat.average is None else f"{csat.average:.2f}/5"
    priorities = " · ".join(f"{name} {n}" for name, n in backlog.open_by_priority.items())
    status = backlog.by_status
    return [
        ("Conversations", f"{s.conversations} created"),
        ("First response", f"median {d(fr.median_s)}, p90 {d(fr.p90_s)} ({fr.count} answered)"),
        ("Resolution", f"median {d(rs.median_s)}, p90 {d(rs.p90_s)} ({rs.count} resolved)"),
        *((("SLA attained" if i == 0 else ""), text) for i, text in enumerate(clocks)),
        (
            "CSAT",
            f"{average} from {csat.rated} of {csat.resolved} resolved ({percent(csat.response_rate)} rated)",
        ),
        ("", stars),
        (
            "Bot",
            f"{bot.handled} finished: {percent(bot.resolution_rate)} resolved,"
            f" {percent(bot.handoff_rate)} handed off",
        ),
        (
            "Backlog",
            f"{backlog.total} waiting: {status['open']} open, {status['pending']} pending,"
            f" {status['snoozed']} snoozed",
        ),
        ("Open", f"{priorities} · unassigned {backlog.open_unassigned}"),
    ]


def chart_lines(s: Any, *, height: int = 6, width: int = 2, gap: int = 1) -> list[str]:
    """Conversations by hour of day, then the median first response by hour (half as tall)."""
    volume = [h.conversations for h in s.by_hour]
    first = [h.first_response_median_s for h in s.by_hour]
    busiest = max(volume, default=0)
    slowest = max((v for v in first if v is not None), default=None)
    axis = hour_axis(width=width, gap=gap, every=3 if width + gap >= 3 else 6)
    return [
        f"Conversations by hour of day ({s.tz}); the tallest is {busiest}",
        *bars(volume, height=height, width=width, gap=gap),
        axis,
        f"Median first response by hour; the tallest is {duration_text(slowest)}",
        *bars(first, height=max(2, height // 2), width=width, gap=gap),
        axis,
    ]
