"""How KPIs read: durations, shares and bar charts drawn with block characters, shared by the
`stats` command and the console's dashboard. Pure: no I/O.

Charts are text, not plotext: one character cell per eighth of a row's height ("▁".."█"),
so a chart is a few short lines that fit 80 columns, cost a few hundred bytes over SSH, and
redraw as text like the rest of the screen (no canvas to clear, so nothing flickers).
"""

from __future__ import annotations

from collections.abc import Sequence

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
