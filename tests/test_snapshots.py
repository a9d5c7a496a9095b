"""Screens as SVG snapshots: queue, conversation, KB search and help, at 80x24 and 160x48,
in the dark and light themes. The desk server is seeded as of a fixed instant and the
console's clock is frozen at that instant, so every run draws the same pixels.

Update after an intended change with: pytest tests/test_snapshots.py --snapshot-update
(then look at the SVGs in tests/__snapshots__/ before committing them).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_console.client.drafts import Drafts
from agent_console.client.native import NativeBackend
from agent_console.core import clock
from agent_console.server.process import ServerProcess
from agent_console.tui.app import ConsoleApp
from agent_console.tui.screens.console import ConsoleScreen
from agent_console.tui.screens.help import HelpScreen
from agent_console.tui.screens.kb import KbScreen
from tests.conftest import add_agent
from tests.tui_helpers import wait_for, wait_steady

FROZEN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SIZES = {"80x24": (80, 24), "160x48": (160, 48)}
THEMES = {"dark": "night-shift", "light": "day-shift"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    db = tmp_path_factory.mktemp("snapshots") / "desk.db"
    server = ServerProcess(db, demo=True, extra_args=("--demo-now", FROZEN.isoformat()))
    server.start()
    token = add_agent(db, name="Rosa Night", email="rosa@lumo.example", timezone="Europe/Lisbon")
    yield server.url, token
    server.stop()


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "utcnow", lambda: FROZEN)


def console_app(seeded: tuple[str, str], tmp_path: Path, theme: str) -> ConsoleApp:
    url, token = seeded
    return ConsoleApp(
        NativeBackend(url, token), theme=theme, drafts=Drafts(tmp_path / "l.db", url), low_bandwidth=False
    )


async def settled(pilot) -> None:
    """Loaded, live, and the agent's own presence event applied."""
    app = pilot.app
    await wait_for(
        pilot,
        lambda: (
            app.store.loaded
            and app.store.connection.kind == "live"
            and app.store.me is not None
            and app.store.me.presence == "online"
        ),
        what="a settled console",
    )
    await wait_steady(pilot)


def _console(app: ConsoleApp) -> ConsoleScreen:
    return next(s for s in app.screen_stack if isinstance(s, ConsoleScreen))


async def open_first(pilot) -> None:
    await settled(pilot)
    await pilot.press("enter")
    console = _console(pilot.app)
    await wait_for(
        pilot,
        lambda: console.open_id is not None and console.pane.thread.shown,
        what="the first conversation",
    )
    await wait_steady(pilot)


async def kb_search(pilot) -> None:
    await settled(pilot)
    await pilot.press("ctrl+g")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, KbScreen), what="the KB modal")
    await pilot.press(*"esim install")
    # Every keystroke starts a search: wait for the last one's results, not an earlier one's.
    await wait_for(
        pilot,
        lambda: (
            pilot.app.screen.hits
            and not any(w.group == "kb-search" and not w.is_finished for w in pilot.app.workers)
        ),
        what="the KB results for the whole query",
    )
    await wait_steady(pilot)


async def help_screen(pilot) -> None:
    await settled(pilot)
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="the help screen")
    await wait_steady(pilot)


SCREENS = {"queue": settled, "conversation": open_first, "kb": kb_search, "help": help_screen}


@pytest.mark.parametrize("theme", list(THEMES))
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(
    snap_compare, seeded, tmp_path: Path, frozen_clock: None, screen: str, size: str, theme: str
) -> None:
    app = console_app(seeded, tmp_path, THEMES[theme])
    assert snap_compare(app, terminal_size=SIZES[size], run_before=SCREENS[screen])
