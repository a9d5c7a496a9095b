"""The row under the cursor stays put while the agent works on it.

Taking a conversation from the Unassigned view used to drop its row at once: the cursor
landed on the next customer and, side by side, the pane followed, so a reply typed right
after `t` went to someone else. Now the row is held while the cursor is on it and goes when
the cursor leaves. Runs against the desk server and the Chatwoot emulator (`helpdesk`).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.backends import Helpdesk
from tests.test_tui_flows import WIDE, console, make_app, ready
from tests.tui_helpers import wait_for


async def test_a_reply_typed_right_after_taking_goes_to_the_taken_customer(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    tag = f"Held{uuid.uuid4().hex[:6]}"
    first_id, _ = helpdesk.new_customer("First customer here", name=f"{tag} Ann")
    second_id, _ = helpdesk.new_customer("Second customer here", name=f"{tag} Bob")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        screen = console(app)
        await pilot.press("2")  # Unassigned
        await pilot.press("slash", *tag, "enter")
        await wait_for(
            pilot, lambda: set(screen.queue.rows) == {first_id, second_id}, what="both customers listed"
        )
        taken = screen.queue.cursor_id
        other = second_id if taken == first_id else first_id
        await pilot.press("t")
        await wait_for(
            pilot, lambda: helpdesk.conversation(taken)["assignee_id"] is not None, what="taken on the desk"
        )
        await wait_for(
            pilot,
            lambda: (c := app.store.desk.conversations.get(taken)) is not None and c.assignee is not None,
            what="the take reached the console",
        )
        await pilot.pause(0.3)
        assert screen.queue.cursor_id == taken and taken in screen.queue.rows, "the taken row stays"
        await pilot.press("r", *"On it now", "ctrl+s")
        await wait_for(
            pilot,
            lambda: any(m["body"] == "On it now" for m in helpdesk.messages(taken)),
            what="the reply on the taken conversation",
        )
        assert not any(m["body"] == "On it now" for m in helpdesk.messages(other))
        assert helpdesk.conversation(other)["assignee_id"] is None, "the other customer was left alone"
        step = "j" if screen.queue.index[taken] < screen.queue.index[other] else "k"
        await pilot.press("escape", "escape", step)  # back to the queue; the cursor leaves the held row
        await wait_for(pilot, lambda: taken not in screen.queue.rows, what="the taken row to leave")
        assert screen.queue.cursor_id == other
        assert screen.filter_text == tag  # the row went because the cursor left, not the filter
