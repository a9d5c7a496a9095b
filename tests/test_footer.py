"""The footer at 80 columns (the SSH case) keeps what acts on the conversation: the view keys
are taught by the tab bar, and undo, while it can be used, comes first so it is never cut."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Desk
from tests.test_tui_flows import NARROW, conversation, focus_conversation, make_app, new_customer, ready
from tests.tui_helpers import screen_text, wait_for


def footer(app) -> str:  # noqa: ANN001
    return screen_text(app).rstrip("\n").split("\n")[-1]


async def test_the_narrow_footer_shows_the_conversation_keys_and_undo(desk: Desk, tmp_path: Path) -> None:
    cid, name = new_customer(desk)
    app = make_app(desk, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        tabs = screen_text(app).split("\n")[0]
        assert "1 Mine" in tabs and "2 Unas" in tabs  # where the view keys are taught
        await focus_conversation(pilot, cid, name)
        await wait_for(pilot, lambda: "r Reply" in footer(app), what="the reply key in the footer")
        for shown in ("n Note", "t Take", "x Resolve"):
            assert shown in footer(app), footer(app)
        await pilot.press("p")
        await wait_for(pilot, lambda: conversation(desk, cid)["status"] == "pending", what="pending")
        await wait_for(pilot, lambda: "u Undo" in footer(app), what="undo in the narrow footer")
