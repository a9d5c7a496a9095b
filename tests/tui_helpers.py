"""Helpers for driving the real TUI with Textual's pilot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot


def screen_text(app: App) -> str:
    """What the terminal shows right now, as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()  # noqa: SLF001 - read-only view for tests
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def wait_for(
    pilot: Pilot, condition: Callable[[], object], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Let the app run until `condition()` holds; fail with what is on screen if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{screen_text(pilot.app)}")


async def wait_async(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")
