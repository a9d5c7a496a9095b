"""The console's garbage-collection policy (tui/collector.py): long-lived objects are frozen
once the queue is in, and the full collection that unfreezes and frees cycles runs only when
the agent is idle, or when it is long overdue."""

from __future__ import annotations

import gc

from agent_console.tui.collector import MAINTAIN_EVERY, OVERDUE, QuietCollector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_frozen_once_loaded_and_collected_in_full_only_when_idle_or_overdue() -> None:
    clock = Clock()
    idle = {"now": False}
    collector = QuietCollector(lambda: idle["now"], clock=clock)
    try:
        collector.tick()
        assert gc.get_freeze_count() == 0, "nothing is frozen before the queue is loaded"
        collector.settle()
        assert gc.get_freeze_count() > 0
        clock.now += MAINTAIN_EVERY + 1
        collector.tick()
        assert collector.maintained == 0, "the agent is busy: no pause now"
        idle["now"] = True
        collector.tick()
        assert collector.maintained == 1
        assert gc.get_freeze_count() > 0, "frozen again after the full collection"
        collector.tick()
        assert collector.maintained == 1, "not again until it is due"
        idle["now"] = False
        clock.now += OVERDUE
        collector.tick()
        assert collector.maintained == 2, "busy for half an hour: collected anyway"
    finally:
        collector.release()
    assert gc.get_freeze_count() == 0, "released at exit"
