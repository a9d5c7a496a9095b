"""The queue's preview is the last message the customer saw, even when a private note (a
handoff note, a colleague's aside) came after it and the console only has the snapshot."""

from __future__ import annotations

import uuid
from pathlib import Path

from agent_console.tui.widgets.queue_list import QueueList
from tests.conftest import Desk
from tests.test_tui_flows import WIDE, make_app, new_customer, ready
from tests.tui_helpers import region_text, wait_for


def _chat_with_a_note_last(desk: Desk) -> tuple[int, str, str, str]:
    marker = uuid.uuid4().hex[:8]
    conv_id, name = new_customer(desk, body=f"roaming {marker} stopped working")
    reply = f"Restart the phone please {marker}"
    note = f"PRIVATE handoff note {marker}"
    for body, private in ((reply, False), (note, True)):
        response = desk.admin.post(
            f"/conversations/{conv_id}/messages", json={"body": body, "private": private}
        )
        assert response.status_code == 201, response.text
    return conv_id, name, reply, note


def test_the_wire_names_the_last_message_the_customer_saw(desk: Desk) -> None:
    conv_id, _, reply, note = _chat_with_a_note_last(desk)
    one = desk.agent.get(f"/conversations/{conv_id}").json()
    assert one["last_message"]["body"] == note  # every kind: unread marks count notes
    assert one["last_visible"]["body"] == reply and one["last_visible"]["kind"] == "outgoing"
    listed = desk.agent.get("/conversations", params={"view": "all", "limit": 200}).json()["items"]
    row = next(c for c in listed if c["id"] == conv_id)
    assert row["last_visible"]["body"] == reply


async def test_a_console_started_after_the_note_previews_the_reply(desk: Desk, tmp_path: Path) -> None:
    conv_id, name, reply, _ = _chat_with_a_note_last(desk)
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await pilot.press("3")  # All: every open conversation
        await pilot.press("slash", *name.split()[0], "enter")
        queue = app.screen.query_one(QueueList)
        await wait_for(pilot, lambda: name[:12] in region_text(app, queue), what="the customer's row")
        row = next(line for line in region_text(app, queue).splitlines() if name[:12] in line)
        assert "Restart" in row and "PRIVATE" not in row, row
