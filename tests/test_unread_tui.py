"""Unread in the real console: the row's count, `m` to mark read/unread, opening reads, the `?`
legend, and counts that survive a restart of the server and of the console (a new local
database too: the marks live on the server, so another machine shows the same)."""

from __future__ import annotations

from pathlib import Path

from agent_console.client.native import NativeBackend
from agent_console.server.process import ServerProcess
from agent_console.tui.app import ConsoleApp
from agent_console.tui.screens.help import HelpScreen
from tests.conftest import Desk
from tests.test_tui_flows import NARROW, console, make_app, new_customer, ready
from tests.test_tui_views import customer_writes, filter_to, mark_of
from tests.tui_helpers import screen_text, wait_for


def server_unread(desk: Desk, cid: int) -> int:
    return desk.agent.get(f"/conversations/{cid}").json()["unread_count"]


async def test_m_marks_read_and_unread_and_the_server_agrees(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    cid, name = new_customer(desk, body="First")
    customer_writes(desk, cid, name, "Second")
    customer_writes(desk, cid, name, "Third")
    app = make_app(desk, tmp_path)
    async with app.run_test(size=(120, 70)) as pilot:  # tall: the whole of `?` on one screen
        await ready(pilot)
        await filter_to(pilot, name)
        await wait_for(pilot, lambda: mark_of(app, name) == "3", what="three unread")
        await pilot.press("m")
        await wait_for(pilot, lambda: mark_of(app, name) == " ", what="marked read")
        await wait_for(pilot, lambda: server_unread(desk, cid) == 0, what="the server's mark read")
        await pilot.press("m")
        await wait_for(pilot, lambda: mark_of(app, name) == "1", what="marked unread")
        await wait_for(pilot, lambda: server_unread(desk, cid) == 1, what="the server's mark unread")
        # The legend in `?` says what the count means.
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = screen_text(app)
        assert "Mark read/unread" in text and "since you last read" in text


async def test_unread_counts_survive_a_server_and_console_restart(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    read_id, read_name = new_customer(desk, body="I will be read")
    left_id, left_name = new_customer(desk, body="I stay unread")
    customer_writes(desk, left_id, left_name, "Twice unread")
    app = make_app(desk, tmp_path / "first")
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        await filter_to(pilot, read_name)
        await wait_for(pilot, lambda: mark_of(app, read_name) == "1", what="one unread")
        await pilot.press("enter")  # opening reads it
        screen = console(app)
        await wait_for(pilot, lambda: screen.open_id == read_id and screen.pane.thread.shown, what="opened")
        await wait_for(pilot, lambda: server_unread(desk, read_id) == 0, what="the read mark on the server")
    desk.server.stop()
    restarted = ServerProcess(desk.db, demo=False)
    restarted.start()
    try:
        # Another machine: a new local database, the same agent.
        second = tmp_path / "second"
        second.mkdir()
        app = ConsoleApp(NativeBackend(restarted.url, desk.agent_token), outbox_path=second / "local.db")
        async with app.run_test(size=NARROW) as pilot:
            await ready(pilot)
            await filter_to(pilot, left_name)
            await wait_for(pilot, lambda: mark_of(app, left_name) == "2", what="two unread after the restart")
            await pilot.press("escape", "escape")
            await filter_to(pilot, read_name)
            await wait_for(pilot, lambda: mark_of(app, read_name) == " ", what="still read after the restart")
    finally:
        restarted.stop()
