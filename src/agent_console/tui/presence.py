"""Auto-away: after `away_after` seconds without a key, an online agent becomes away; the next
key brings them back online, but only if the console made them away (a presence the agent
chose stays as chosen). The clock is injectable, so tests move time instead of waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent_console.tui.app import ConsoleApp


class AutoAway:
    def __init__(
        self, app: ConsoleApp, away_after: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.away_after = away_after  # seconds; 0 turns it off
        self.clock = clock
        self.last_key = clock()
        self.auto = False  # the console set "away", not the agent

    @property
    def enabled(self) -> bool:
        return self.away_after > 0

    def touch(self) -> None:
        self.last_key = self.clock()
        if self.auto:
            self.auto = False
            me = self.app.store.me
            if me is not None and me.presence == "away":
                self.app.set_presence("online")

    def check(self) -> None:
        if not self.enabled:
            return
        me = self.app.store.me
        if me is None or me.presence != "online":
            return
        if self.clock() - self.last_key >= self.away_after:
            self.auto = True
            self.app.set_presence("away")


def parse_span(text: str | int | None) -> float:
    """`10m`, `90s`, `1h`, `0` (off) or plain seconds, as seconds; ValueError otherwise."""
    if text is None:
        return 600.0
    if isinstance(text, int):
        value = str(text)
    else:
        value = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    if value and value[-1] in units and value[:-1].isdigit():
        return float(int(value[:-1]) * units[value[-1]])
    if value.isdigit():
        return float(value)
    raise ValueError(f"{text!r} is not a time like 10m, 90s, 1h or 0 (off)")
