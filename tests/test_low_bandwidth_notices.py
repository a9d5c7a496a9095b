"""Low-bandwidth mode (over SSH): a notification is one line in the status bar for as long as
a toast would stay, not a toast box (one coming and going lays the screen out twice and
repaints every scrollbar: ~13 KB at 160x48 against a few hundred bytes for the line)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets._toast import Toast

from agent_console.client.config import NotifySettings
from tests.conftest import Desk
from tests.test_notify_tui import mine_in_console
from tests.test_tui_flows import WIDE, console, make_app, ready
from tests.test_tui_views import customer_writes
from tests.tui_helpers import region_text, wait_for


async def test_over_ssh_a_notice_is_a_status_line_not_a_toast(desk: Desk, tmp_path: Path) -> None:
    app = make_app(
        desk, tmp_path, low_bandwidth=True, notify=NotifySettings(new_conversation=False, interval=1)
    )
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await ready(pilot)
        status = console(app).query_one("#status")
        cid, name = await mine_in_console(pilot, desk)
        customer_writes(desk, cid, name, "Hello? The tracking page is blank")
        await wait_for(
            pilot,
            lambda: f"⚑ Reply from #{cid}" in region_text(app, status),
            what="the notice in the status bar",
        )
        line = region_text(app, status)
        assert "tracking page is blank" in line and "LIVE" in line and line.rstrip().endswith("? help")
        assert not app.screen.query(Toast)
        # A notice of the agent's own action goes the same way, and the counts come back after it.
        await pilot.press("R")  # nothing failed to retry: said for 2 seconds
        await wait_for(
            pilot, lambda: "⚑ Nothing to retry here." in region_text(app, status), what="the undo notice"
        )
        await wait_for(
            pilot, lambda: "unassigned" in region_text(app, status), timeout=6, what="the counts again"
        )
        assert not app.screen.query(Toast)


async def test_without_ssh_notices_stay_toasts(desk: Desk, tmp_path: Path) -> None:
    settings = NotifySettings(new_conversation=False, interval=1)
    app = make_app(desk, tmp_path, low_bandwidth=False, notify=settings)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await ready(pilot)
        cid, name = await mine_in_console(pilot, desk)
        customer_writes(desk, cid, name, "Hello? The tracking page is blank")
        await wait_for(pilot, lambda: bool(app.screen.query(Toast)), what="a toast")
        assert "⚑" not in region_text(app, console(app).query_one("#status"))
