"""The queue's preview column shows the last message the customer saw, never a private note:
for a note written before the console started (the snapshot's `last_message` is the note)
and for one written while it runs (the feed carries it)."""

from __future__ import annotations

import uuid
from pathlib import Path

from agent_console.client.drafts import Drafts
from agent_console.client.native import NativeBackend
from agent_console.tui.app import ConsoleApp
from tests.conftest import Desk
from tests.tui_helpers import region_text, wait_for


def _customer(desk: Desk, body: str) -> int:
    contact = {"name": f"Prev {uuid.uuid4().hex[:6]}", "email": f"p-{uuid.uuid4().hex[:8]}@x.example"}
    created = desk.admin.post("/inbound", json={"channel": "email", "contact": contact, "body": body})
    assert created.status_code == 201, created.text
    return created.json()["conversation_id"]


def _note(desk: Desk, cid: int, body: str) -> None:
    answer = desk.agent.post(f"/conversations/{cid}/messages", json={"body": body, "private": True})
    assert answer.status_code == 201, answer.text


async def test_the_queue_never_previews_a_private_note(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    before = _customer(desk, "parcel lost VIS1")
    _note(desk, before, "SECRET-NOTE-ONE customer is rude")
    assert desk.agent.get(f"/conversations/{before}").json()["last_message"]["kind"] == "note"
    backend = NativeBackend(desk.url, desk.agent_token)
    app = ConsoleApp(backend, drafts=Drafts(tmp_path / "l.db", desk.url), outbox_path=tmp_path / "l.db")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: before in app.store.desk.conversations, timeout=30, what="the snapshot")
        queue = app.screen.queue
        await wait_for(pilot, lambda: "Prev " in region_text(app, queue), what="the row on screen")
        assert "SECRET-NOTE-ONE" not in region_text(app, queue)

        live = _customer(desk, "app crash VIS2")
        await wait_for(pilot, lambda: "app crash VIS2" in region_text(app, queue), what="the live row")
        _note(desk, live, "SECRET-NOTE-TWO refund them quietly")
        await wait_for(
            pilot,
            lambda: app.store.desk.conversations[live].last_message.kind == "note",
            what="the note to reach the console",
        )
        await pilot.pause()
        rows = region_text(app, queue)
        assert "SECRET-NOTE-TWO" not in rows
        assert "app crash VIS2" in rows  # the customer's words stay
        # The filter goes by what the row shows: a note's words find nothing.
        await pilot.press("slash", *"SECRET")
        await wait_for(pilot, lambda: queue.rows == [], what="the filter to find nothing")
    await backend.aclose()
