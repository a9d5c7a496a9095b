"""The open thread, live: a customer message the feed carries is drawn from the feed (the server
answers no request for it), the newest message stays in view while the agent is at the end, and an
agent reading older messages keeps their place until they go back to the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Desk, start_desk
from tests.test_tui_flows import console, make_app, ready
from tests.tui_helpers import region_rows, region_text, wait_for


@pytest.fixture
def logged_desk(tmp_path: Path) -> Iterator[Desk]:
    """A desk server of this test's own that writes an access-log line for every request."""
    running = start_desk(tmp_path / "desk.db", extra_args=("--log-level", "info"))
    yield running
    running.server.stop()


def _requests(desk: Desk) -> list[str]:
    lines = desk.server.stdout_lines + desk.server.stderr_lines
    return [line for line in lines if '"GET ' in line or '"POST ' in line]


def _customer(desk: Desk, messages: int) -> tuple[int, dict]:
    contact = {"name": f"Live{uuid.uuid4().hex[:6]} Reader", "email": f"{uuid.uuid4().hex[:8]}@cust.example"}
    created = desk.admin.post(
        "/inbound", json={"channel": "email", "contact": contact, "subject": "live thread", "body": "first"}
    )
    assert created.status_code == 201, created.text
    cid = created.json()["conversation_id"]
    for n in range(messages):
        _write(desk, cid, contact, f"earlier message {n}\nwith a second line")
    return cid, contact


def _write(desk: Desk, cid: int, contact: dict, body: str) -> None:
    answer = desk.admin.post(
        "/inbound", json={"channel": "email", "contact": contact, "conversation_id": cid, "body": body}
    )
    assert answer.status_code == 201, answer.text


async def _open(pilot, cid: int, name: str) -> None:  # noqa: ANN001
    screen = console(pilot.app)
    await pilot.press("slash", *name.split()[0], "enter")
    await wait_for(pilot, lambda: screen.queue.rows == [cid], what="the filtered queue")
    await pilot.press("enter")
    thread = screen.pane.thread
    await wait_for(
        pilot,
        lambda: screen.open_id == cid and thread.conversation is not None and thread.conversation.id == cid,
        what="the thread",
    )


async def test_a_feed_message_is_drawn_without_asking_the_server(logged_desk: Desk, tmp_path: Path) -> None:
    desk = logged_desk
    cid, contact = _customer(desk, 2)
    app = make_app(desk, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await _open(pilot, cid, contact["name"])
        thread = console(app).pane.thread
        await wait_for(pilot, lambda: "earlier message 1" in region_text(app, thread), what="the history")
        await pilot.pause(0.5)  # the open's own requests (history, viewing signal) are done
        before = len(_requests(desk))
        assert before < 150  # the server keeps its last 200 lines: the new ones are all still there
        for n in range(3):
            _write(desk, cid, contact, f"LIVE-{n} is anyone there?")
        await wait_for(
            pilot,
            lambda: all(f"LIVE-{n}" in region_text(app, thread) for n in range(3)),
            what="the live messages on screen",
        )
        await pilot.pause(0.3)
        since = _requests(desk)[before:]
        assert sum("/inbound" in line for line in since) == 3  # the log sees this test's posts ...
        # ... and the console asked for nothing it draws: no conversation, no messages. (It
        # tells the server how far the agent has read: a write, not a read.)
        reads = [line for line in since if '"GET ' in line]
        assert reads == []


async def test_reading_older_messages_keeps_the_place_and_the_end_follows(desk: Desk, tmp_path: Path) -> None:
    cid, contact = _customer(desk, 30)
    app = make_app(desk, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await _open(pilot, cid, contact["name"])
        thread = console(app).pane.thread
        await wait_for(pilot, lambda: len(thread.shown) == 31 and thread.max_scroll_y > 0, what="the history")
        await wait_for(
            pilot, lambda: thread.scroll_y == thread.max_scroll_y, what="the newest message in view"
        )
        # At the end, a new message is drawn in view.
        _write(desk, cid, contact, "AT-THE-END new words")
        await wait_for(pilot, lambda: "AT-THE-END" in region_text(app, thread), what="the new message shown")
        assert thread.scroll_y == thread.max_scroll_y
        # Reading older messages: a new one does not move the view.
        await pilot.press("g")
        await wait_for(pilot, lambda: thread.scroll_y == 0, what="the first message")
        shown = region_rows(app, thread.scrollable_content_region)  # the lines, not the scrollbar
        assert "first" in "".join(shown.values())
        _write(desk, cid, contact, "WHILE-READING more words")
        await wait_for(pilot, lambda: len(thread.shown) == 33, what="the message in the thread")
        await pilot.pause(0.2)
        assert thread.scroll_y == 0
        assert region_rows(app, thread.scrollable_content_region) == shown  # not a line moved
        # Back at the end, it follows again.
        await pilot.press("G")
        await wait_for(pilot, lambda: "WHILE-READING" in region_text(app, thread), what="the end again")
        _write(desk, cid, contact, "FOLLOWS-AGAIN last words")
        await wait_for(pilot, lambda: "FOLLOWS-AGAIN" in region_text(app, thread), what="followed")


async def test_at_the_end_new_messages_go_into_room_below_without_moving_the_lines_above(
    desk: Desk, tmp_path: Path
) -> None:
    """A full thread that follows its end jumps once, leaving room below the newest message; the
    messages after it are drawn into that room, and the lines already on screen stay where they
    are (each message costs its own lines on the terminal, not a repaint of the thread)."""
    cid, contact = _customer(desk, 30)
    app = make_app(desk, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await _open(pilot, cid, contact["name"])
        thread = console(app).pane.thread
        await wait_for(pilot, lambda: len(thread.shown) == 31 and thread.max_scroll_y > 0, what="the history")
        tops: list[int] = []
        previous: list[int] = []
        for n in range(8):
            _write(desk, cid, contact, f"ROOM-{n} still waiting")
            await wait_for(pilot, lambda n=n: f"ROOM-{n}" in region_text(app, thread), what=f"ROOM-{n} shown")
            rows = region_rows(app, thread.scrollable_content_region)
            if n:
                # The message before this one is still on the same screen line, unless the room
                # ran out and the thread jumped (then the new one sits near the top).
                at = [y for y, text in rows.items() if f"ROOM-{n - 1}" in text]
                assert at == previous or tops[-1] != int(thread.scroll_y)
            previous = [y for y, text in rows.items() if f"ROOM-{n}" in text]
            tops.append(int(thread.scroll_y))
            assert thread.scroll_y == thread.max_scroll_y  # still following the end
        # Eight 3-line messages in a 39-line thread: at most two jumps, not one scroll each.
        assert len(set(tops)) <= 3, tops
