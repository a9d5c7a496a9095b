"""Helpers for driving the real TUI with Textual's pilot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.app import App
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget


def screen_text(app: App) -> str:
    """What the terminal shows right now, as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()  # noqa: SLF001 - read-only view for tests
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def region_rows(app: App, region: Region) -> dict[int, str]:
    """The terminal's rows inside `region` (screen coordinates), cropped by cells, by row number."""
    strips = app.screen._compositor.render_strips()  # noqa: SLF001 - read-only view for tests
    visible = region.intersection(app.screen.region)
    return {
        y: "".join(segment.text for segment in strips[y].crop(visible.x, visible.right))
        for y in range(visible.y, visible.bottom)
    }


def region_text(app: App, widget: Widget) -> str:
    """What the terminal shows inside `widget`'s region (its border included), as plain text."""
    return "\n".join(region_rows(app, widget.region).values())


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


async def wait_async(condition: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def poll(condition: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Block until `condition()` holds (for code outside an event loop)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def wait_steady(pilot: Pilot, timeout: float = 10.0, polls: int = 4) -> None:
    """Let the app run until what it draws stops changing (the same screen `polls` times in a row):
    for snapshots, instead of a fixed pause that may be too short under load."""
    deadline = time.monotonic() + timeout
    last, same = None, 0
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        now = screen_text(pilot.app)
        same = same + 1 if now == last else 0
        if same >= polls:
            return
        last = now
    raise AssertionError(f"the screen never settled; it shows:\n{screen_text(pilot.app)}")
