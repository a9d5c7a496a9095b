"""Every modal keeps its keys in view on an 80x24 terminal (an SSH session's common size),
however long what it shows: the content scrolls, the hint line stays on screen."""

from __future__ import annotations

import uuid
from pathlib import Path

from textual.widget import Widget

from agent_console.tui.screens.help import HelpScreen
from agent_console.tui.screens.labels import LabelsScreen
from agent_console.tui.screens.pickers import PickerScreen
from agent_console.tui.screens.roster import RosterScreen
from tests.conftest import Desk
from tests.test_shifts_tui import customer, make_app
from tests.test_tui_flows import focus_conversation, ready
from tests.tui_helpers import wait_for

SMALL = (80, 24)
WEEK = [
    {"day": d, "start": "00:00", "end": "24:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
]


def on_screen(widget: Widget) -> bool:
    region, size = widget.region, widget.app.size
    return region.height > 0 and region.y >= 0 and region.y + region.height <= size.height


async def test_modals_keep_their_hint_on_an_80x24_screen(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    for n in range(16):  # a roster much taller than the screen
        made = desk.admin.post(
            "/agents",
            json={"name": f"Shift Agent {n:02d}", "email": f"s{n}-{uuid.uuid4().hex[:6]}@t.example"},
        )
        agent_id = made.json()["agent"]["id"]
        assert desk.admin.patch(f"/agents/{agent_id}/schedule", json={"hours": WEEK}).status_code == 200
    name = f"Small{uuid.uuid4().hex[:5]} Terminal"
    conversation = customer(desk, name)
    app = make_app(desk, desk.agent_token, tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, RosterScreen), what="the roster")
        await wait_for(pilot, lambda: "Shift Agent 15" in str(app.screen.query_one("#roster-text").render()),
                       what="the long roster")  # fmt: skip
        await pilot.pause()
        assert on_screen(app.screen.query_one(".modal-hint")), "the roster's keys are off the screen"
        await pilot.press("escape")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        assert on_screen(app.screen.query_one("#help-hint"))
        await pilot.press("escape")
        await focus_conversation(pilot, conversation, name)
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the priority picker")
        await pilot.pause()
        assert on_screen(app.screen.query_one(".modal-hint"))
        await pilot.press("escape")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LabelsScreen), what="the labels picker")
        await pilot.pause()
        assert on_screen(app.screen.query_one(".modal-hint"))
