"""Garbage collection that does not hold a frame back.

With a thousand conversations in memory the console holds ~140,000 objects the cyclic
collector tracks. A full (oldest-generation) collection walks all of them: 50-145 ms measured
in P1, every few seconds under a steady stream of messages, and each one lands on a frame as a
p99 spike. Almost all of those objects live as long as the console (the queue's conversations,
the widgets, the loaded modules), so walking them finds nothing.

So once the queue is loaded the long-lived objects are moved out of the collector's sight
(`gc.freeze`), and a full collection walks only what was made since. Reference counting frees
objects as always; only cycles among frozen objects (a closed picker's widgets, say) would
wait forever, so every few minutes, in a moment when the agent types nothing and no event
arrives, everything is unfrozen, collected in full and frozen again: one pause nobody waits
on, instead of many on the frames they wait for.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

MAINTAIN_EVERY = 300.0  # seconds between full collections of everything
OVERDUE = 1800.0  # busy for this long: collect anyway (one pause in half an hour)
YOUNG_THRESHOLD = 20_000  # allocations between young collections (Python's default: 700)


class QuietCollector:
    def __init__(
        self,
        is_idle: Callable[[], bool],
        every: float = MAINTAIN_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.is_idle = is_idle
        self.every = every
        self.clock = clock
        self.settled = False
        self.maintained = 0
        self._last = 0.0
        self._threshold = gc.get_threshold()

    def settle(self) -> None:
        """The long-lived state is in (the queue loaded): out of the collector's walk."""
        if not self.settled:
            self.settled = True
            gc.freeze()
            # Every frame leaves strips that refer to themselves (Textual caches a strip that
            # needs no cut as its own cut), garbage only the cyclic collector frees. With the
            # default 700 allocations between young collections they live just long enough to
            # be promoted, and fill the oldest generation; a larger young generation lets them
            # die young, where collecting them is cheap.
            gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
            self._last = self.clock()

    def tick(self) -> None:
        """Called now and then (a timer): the full collection, when it is due and quiet."""
        if not self.settled:
            return
        since = self.clock() - self._last
        if since >= OVERDUE or (since >= self.every and self.is_idle()):
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.maintained += 1
            self._last = self.clock()

    def release(self) -> None:
        if self.settled:
            gc.set_threshold(*self._threshold)
        gc.unfreeze()  # frozen cycles become collectable again
