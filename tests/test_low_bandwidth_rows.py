"""Low-bandwidth mode (over SSH) draws each queue row in one style: a repainted row is then its
characters and one colour change, not one per column. What the colours said still shows: a
breached or nearly due SLA colours the whole row, and the priority, the SLA time and the unread
mark are characters."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_console.core import clock
from agent_console.tui.sla_display import sla_label
from tests.conftest import Desk
from tests.test_tui_flows import console, make_app, ready
from tests.tui_helpers import wait_for


def _rows(app) -> list[tuple[str, str, set]]:  # noqa: ANN001 - the console app
    """Each visible queue row as drawn: its text, its SLA level, the styles of its cells."""
    queue = console(app).queue
    now = clock.utcnow()
    rows = []
    for y in range(min(queue.size.height, len(queue.rows) - int(queue.scroll_y))):
        conversation = queue.lookup(queue.rows[int(queue.scroll_y) + y])
        strip = queue.render_line(y)
        text = "".join(segment.text for segment in strip)
        styles = {segment.style for segment in strip if segment.text.strip()}
        rows.append((text, sla_label(conversation, now)[1], styles))
    return rows


@pytest.mark.parametrize("low_bandwidth", [True, False], ids=["low-bandwidth", "normal"])
async def test_queue_rows_take_one_style_in_low_bandwidth_mode(
    desk: Desk, tmp_path: Path, low_bandwidth: bool
) -> None:
    app = make_app(desk, tmp_path, low_bandwidth=low_bandwidth)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        queue = console(app).queue
        await wait_for(pilot, lambda: len(queue.rows) > 10, what="the queue")
        await pilot.press("j")  # the cursor off the first row: rows below it are plain rows
        rows = _rows(app)[2:]
        assert rows and all(text.strip() for text, _, _ in rows)
        breached = app.get_css_variables()["error"]
        if low_bandwidth:
            assert all(len(styles) == 1 for _, _, styles in rows), [s for _, _, s in rows]
            urgent = [styles for _, level, styles in rows if level == "breached"]
            assert urgent, "the demo desk has breached conversations on screen"
            for styles in urgent:
                (style,) = styles
                assert style.color.triplet.hex.lower() == breached.lower()  # the whole row says it
        else:
            assert all(len(styles) > 1 for _, _, styles in rows)  # columns in their own colours
