"""The status bar: connection state, the agent's presence, queue counts, low-bandwidth, help.

It must fit the terminal it is drawn in (80 columns over SSH is the common case). The
essentials always stay: the connection state, your presence, a low-bandwidth mark when it
is on, and `? help`. As the width shrinks the least useful parts go first: the counts (the
view tabs show them too), the long low-bandwidth label, your name, then reconnect details.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from agent_console.client.sync import ConnectionState
from agent_console.core.sanitize import sanitize_line
from agent_console.tui.format import local_time
from agent_console.tui.safe_text import untrusted_line

if TYPE_CHECKING:
    from textual.timer import Timer

PRESENCE_STYLES = {"online": "bold green", "busy": "bold yellow", "away": "bold magenta", "offline": "dim"}
NOTICE_STYLES = {"information": "bold", "warning": "bold yellow", "error": "bold red"}


def connection_label(
    state: ConnectionState, now_monotonic: float, *, short: bool = False, zone: str | None = None
) -> tuple[str, str]:
    """The connection's mark and style; a stale view's time in the agent's zone, as the thread's."""
    if state.kind == "live":
        return "● LIVE", "bold green"
    if state.kind == "reconnecting":
        wait = max(0, int((state.retry_at or now_monotonic) - now_monotonic + 0.999))
        stale = ""
        if state.since is not None:
            since = local_time(datetime.fromtimestamp(state.since, UTC), zone)
            stale = f" · stale {since}" if short else f" · STALE since {since}"
        return (f"◌ RETRY {wait}s{stale}" if short else f"◌ RECONNECTING in {wait} s{stale}"), "bold yellow"
    if state.kind == "offline":
        return f"✕ OFFLINE {'' if short else state.detail}".rstrip(), "bold red"
    return "◌ CONNECTING", "yellow"


@dataclass(frozen=True, slots=True)
class StatusParts:
    state: ConnectionState
    agent_name: str
    presence: str
    counts: dict[str, int | None]
    low_bandwidth: bool
    zone: str | None = None  # the agent's time zone (None: UTC, as the thread's times)


def _counts(counts: dict[str, int | None]) -> str:
    """The working views' counts; `…` for one not known yet (before the first snapshot a
    zero would be a wrong answer, not an empty queue)."""

    def count(view: str) -> str:
        value = counts.get(view)
        return "…" if value is None else str(value)

    return (
        f"mine {count('mine')} · unassigned {count('unassigned')}"
        f" · open {count('all')} · urgent {count('urgent')}"
    )


# From the fullest line to the leanest: (counts, your name, short connection label, long low-bw mark).
LEVELS = (
    (True, True, False, True),
    (False, True, False, True),
    (False, True, False, False),
    (False, False, False, False),
    (False, False, True, False),
)


def status_text(parts: StatusParts, width: int, now_monotonic: float) -> Text:
    """The fullest status line that fits `width` cells, `? help` at the right edge."""
    left = right = Text()
    for counts, name, short, long_lbw in LEVELS:
        left, right = _compose(parts, now_monotonic, counts=counts, name=name, short=short, long_lbw=long_lbw)
        gap = width - left.cell_len - right.cell_len
        if gap >= 2:
            return Text.assemble(left, " " * gap, right, no_wrap=True)
    return _fit_right(Text.assemble(left, "  ", right, no_wrap=True), width)


def _compose(
    parts: StatusParts, now_monotonic: float, *, counts: bool, name: bool, short: bool, long_lbw: bool
) -> tuple[Text, Text]:
    label, style = connection_label(parts.state, now_monotonic, short=short, zone=parts.zone)
    left = Text(no_wrap=True)
    left.append(label, style)
    left.append("  ")
    if name:
        left.append_text(untrusted_line(parts.agent_name))
        left.append(" ")
    left.append(parts.presence, PRESENCE_STYLES.get(parts.presence, ""))
    if counts:
        left.append("  " + _counts(parts.counts))
    right = Text(no_wrap=True)
    if parts.low_bandwidth:
        right.append("low-bandwidth" if long_lbw else "low-bw", "dim")
        right.append("  ")
    right.append("? help", "dim")
    return left, right


def notice_text(
    parts: StatusParts | None, notice: str, severity: str, width: int, now_monotonic: float
) -> Text:
    """A notification in the line: the connection state stays at the left, `? help` at the right."""
    left = Text(no_wrap=True)
    if parts is not None:
        label, style = connection_label(parts.state, now_monotonic, short=True, zone=parts.zone)
        left.append(label, style)
        left.append("  ")
    left.append(f"⚑ {notice}", NOTICE_STYLES.get(severity, "bold"))
    right = Text("? help", "dim")
    room = width - right.cell_len - 2
    if left.cell_len > room:
        left.truncate(max(0, room), overflow="ellipsis")
    return Text.assemble(left, " " * max(2, width - left.cell_len - right.cell_len), right, no_wrap=True)


def _fit_right(text: Text, width: int) -> Text:
    """Narrower than the leanest line: keep the start (connection, presence)."""
    text.truncate(width, overflow="ellipsis")
    return text


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.parts: StatusParts | None = None
        self._drawn: Text | None = None
        self.notice: tuple[str, str] | None = None  # (text, severity) shown instead of the counts
        self._notice_timer: Timer | None = None

    def show(
        self,
        state: ConnectionState,
        *,
        agent_name: str,
        presence: str,
        counts: dict[str, int | None],
        low_bandwidth: bool,
        zone: str | None = None,
    ) -> None:
        self.parts = StatusParts(state, agent_name, presence, counts, low_bandwidth, zone)
        # Asked on every clock tick and state change: an unchanged line costs no bytes.
        if self._text() != self._drawn:
            self.refresh()

    def show_notice(self, text: str, *, severity: str = "information", timeout: float = 5.0) -> None:
        """A notification as this one line for `timeout` seconds (low-bandwidth mode: a toast
        lays the screen out as it comes and goes, and repaints every scrollbar twice, ~13 KB
        at 160x48 for one notice; this line costs a few hundred bytes)."""
        self.notice = (sanitize_line(text), severity)
        if self._notice_timer is not None:
            self._notice_timer.stop()
        self._notice_timer = self.set_timer(timeout, self._clear_notice)
        self.refresh()

    def _clear_notice(self) -> None:
        self.notice = None
        self._notice_timer = None
        self.refresh()

    def _text(self) -> Text:
        now = time.monotonic()
        if self.notice is not None:
            return notice_text(self.parts, *self.notice, self.content_size.width, now)
        return status_text(self.parts, self.content_size.width, now) if self.parts is not None else Text("")

    def render(self) -> Text:
        self._drawn = self._text()
        return self._drawn

    def on_resize(self) -> None:
        self.refresh()
