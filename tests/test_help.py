"""Keys an agent can trust (issue 17, point 9), against the real server: queue keys work after
`enter`, the thread answers the motion keys, `?` lists only what works where you are,
grouped, with keys named as on the keyboard, and the palette says the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent_console.tui.screens.help import HelpScreen
from tests.conftest import Desk
from tests.test_tui_flows import NARROW, WIDE, console, make_app, new_customer, ready
from tests.test_tui_views import customer_writes, filter_to
from tests.tui_helpers import region_text, screen_text, wait_for

TEXTUAL_INTERNALS = ("Scroll Left", "Page Left", "Focus Next", "Focus Previous", "Copy selected text")


def long_conversation(desk: Desk) -> tuple[int, str]:
    cid, name = new_customer(desk, body="First of many")
    for n in range(25):
        customer_writes(desk, cid, name, f"line {n}\nmore detail about it\nand a little more")
    return cid, name


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "160x48"])
async def test_queue_and_motion_keys_work_after_enter(desk: Desk, tmp_path: Path, size) -> None:  # noqa: ANN001
    cid, name = long_conversation(desk)
    app = make_app(desk, tmp_path)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await filter_to(pilot, name)
        screen = console(app)
        await wait_for(pilot, lambda: screen.queue.rows == [cid], what="the filtered queue")
        await pilot.press("enter")
        thread = screen.pane.thread
        await wait_for(pilot, lambda: screen.open_id == cid and len(thread.shown) > 20, what="the thread")
        await wait_for(pilot, lambda: thread.max_scroll_y > 0 and thread.scroll_y == thread.max_scroll_y)
        assert app.focused is thread
        # In the thread, g and G go to its first and newest message (they move the queue there).
        await pilot.press("g")
        await wait_for(pilot, lambda: thread.scroll_y == 0, what="g: the first message")
        await pilot.press("j")
        await wait_for(pilot, lambda: thread.scroll_y > 0, what="j: scrolled down")
        await pilot.press("G")
        await wait_for(pilot, lambda: thread.scroll_y == thread.max_scroll_y, what="G: the newest message")
        # View keys work from the thread: no escape needed first.
        await pilot.press("2")
        await wait_for(pilot, lambda: screen.view == "unassigned", what="view 2 from the thread")
        assert app.focused is screen.queue
        # Back on the queue, the column titles are whole again (they were cut at 80 columns).
        header = screen.query_one("#queue-header")
        await wait_for(pilot, lambda: "assignee" in region_text(app, header), what="whole column titles")
        await pilot.press("6")
        await wait_for(pilot, lambda: screen.view == "snoozed", what="view 6")


async def test_help_lists_only_what_works_here_grouped_with_key_names(desk: Desk, tmp_path: Path) -> None:
    cid, name = new_customer(desk)
    app = make_app(desk, tmp_path, keymap={"conv.resolve": "ctrl+r"})
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        help_screen = app.screen
        text = screen_text(app)
        assert "Keys in the queue" in text
        assert not any(internal in text for internal in TEXTUAL_INTERNALS), text
        groups = [group for group, _ in help_screen.groups]
        assert groups == ["Queue", "Conversation", "App"]  # no composer keys on the queue
        rows = {ident: keys for keys, _, ident in help_screen.rows}
        assert rows["queue.filter"] == "/"
        assert rows["help"] == "? F1"
        assert rows["kb.search"] == "ctrl+g K"
        assert rows["conv.resolve"] == "ctrl+r"  # as remapped, not x
        order = [ident for _, _, ident in help_screen.rows]
        assert order.index("queue.down") < order.index("queue.open") < order.index("queue.filter")
        assert order.index("view.mine") < order.index("view.resolved") < order.index("conv.reply")
        assert order[-1] == "app.quit"
        assert all(ident for ident in order)  # every row can be remapped by its id
        # The same words on screen, key names as on the keyboard.
        filter_line = next(line for line in text.split("\n") if "queue.filter" in line)
        assert re.search(r"\s/\s+Filter\s", filter_line), filter_line
        await pilot.press("escape")
        # In the composer, letters type text: only the keys that still work are listed.
        await filter_to(pilot, name)
        await pilot.press("enter", "r")
        await wait_for(pilot, lambda: app.focused is console(app).pane.composer.input, what="the composer")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help from the composer")
        help_screen = app.screen
        assert "Keys in the composer" in screen_text(app)
        rows = {ident: keys for keys, _, ident in help_screen.rows}
        assert rows["composer.send"] == "ctrl+enter ctrl+s"
        assert rows["composer.leave"] == "esc"
        assert "conv.reply" not in rows and "view.mine" not in rows and "queue.filter" not in rows
        assert rows["kb.search"] == "ctrl+g"  # K would type a K
        assert [group for group, _ in help_screen.groups][0] == "Composer"


async def test_palette_shows_descriptions_with_key_names(desk: Desk, tmp_path: Path) -> None:
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["Filter"] == "/"
        assert commands["KB search"] == "ctrl+g or K"
        assert "Keys" not in commands  # Textual's own key panel lists its internals
        assert not any("(" in (help or "") for help in commands.values())
        await pilot.press("ctrl+p")
        await pilot.press(*"filter")
        await wait_for(pilot, lambda: "Filter" in screen_text(app), what="the palette")
        assert "queue.filter" not in screen_text(app) and "slash" not in screen_text(app)
