"""The queue keeps the agent's row on screen at every size (found at 80x24 over SSH: moving
down past the last line left the cursor on a row hidden under a sideways scrollbar)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_console.core.sanitize import sanitize_line
from agent_console.tui.widgets.queue_list import QueueList
from tests.conftest import Desk
from tests.test_tui_flows import NARROW, WIDE, make_app, new_customer, ready
from tests.tui_helpers import region_text, wait_for


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "160x48"])
async def test_moving_down_keeps_the_cursor_row_on_screen(desk: Desk, tmp_path: Path, size) -> None:  # noqa: ANN001
    made = [new_customer(desk)[0] for _ in range(60)]
    app = make_app(desk, tmp_path)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("3")
        queue = app.screen.query_one(QueueList)
        await wait_for(pilot, lambda: set(made) <= set(queue.rows), what="every conversation in All")
        assert len(queue.rows) > queue.lines_shown + 5
        assert not queue.show_horizontal_scrollbar
        for step in range(len(queue.rows) + 3):
            await pilot.press("j" if step % 7 else "ctrl+f")
            cursor = queue.cursor_id
            assert cursor is not None
            # As the row shows it: other tests' customers have hostile names (escape codes).
            name = sanitize_line(app.store.desk.conversations[cursor].contact.name)[:9]
            await wait_for(pilot, lambda n=name: n in region_text(app, queue), what=f"row {cursor} on screen")
        await pilot.press("g")
        first = sanitize_line(app.store.desk.conversations[queue.rows[0]].contact.name)[:9]
        await wait_for(pilot, lambda: first in region_text(app, queue), what="the first row again")
