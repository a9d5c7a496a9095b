"""The console's SLA display against the real desk server, through Textual's pilot: the queue's
countdown cell and its colours, every clock in the conversation header, and the Urgent view's
window."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from agent_console.tui.widgets.queue_list import QueueList
from tests.conftest import Desk
from tests.test_tui_flows import WIDE, console, make_app, new_customer, ready
from tests.tui_helpers import region_text, wait_for


def add_policy(desk: Desk, **fields: object) -> None:
    response = desk.admin.post("/sla/policies", json={"position": 1, **fields})
    assert response.status_code == 201, response.text


def sla_cell(queue: QueueList, conversation_id: int) -> tuple[str, str] | None:
    """The row's SLA cell as drawn: its text and which level's colour it has."""
    if conversation_id not in queue.index:
        return None
    y = queue.index[conversation_id] - int(queue.scroll_y)
    if not 0 <= y < queue.size.height:
        return None
    segments = [s for s in queue.render_line(y) if s.text.strip()]
    first = segments[0]
    for level in ("ok", "soon", "breached"):
        if first.style and first.style.color == queue.get_component_rich_style(f"queue--{level}").color:
            return first.text.strip(), level
    return first.text.strip(), "?"


async def test_the_countdown_names_its_clock_and_changes_colour(fresh_desk: Desk, tmp_path: Path) -> None:
    # Fifteen seconds in each colour: time enough to see each one on a loaded machine.
    add_policy(fresh_desk, name="Blink", channels=["web_chat"], first_response_s=30, warn_share=0.5)
    app = make_app(fresh_desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        cid, _ = new_customer(fresh_desk, body="Hello?")
        queue = console(app).queue
        await wait_for(pilot, lambda: sla_cell(queue, cid) is not None, what="the row")
        text, level = sla_cell(queue, cid)  # type: ignore[misc]
        assert text.startswith("FRT") and level == "ok"
        await wait_for(
            pilot, lambda: (sla_cell(queue, cid) or ("", ""))[1] == "soon", timeout=30, what="under 50 % left"
        )
        await wait_for(
            pilot, lambda: (sla_cell(queue, cid) or ("", ""))[1] == "breached", timeout=30, what="past due"
        )
        assert sla_cell(queue, cid)[0].startswith("FRT")  # type: ignore[index]


async def test_the_header_shows_every_clock_and_the_policy(fresh_desk: Desk, tmp_path: Path) -> None:
    add_policy(
        fresh_desk, name="Chat promise", channels=["web_chat"], first_response_s=120, resolution_s=14400
    )
    app = make_app(fresh_desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        cid, name = new_customer(fresh_desk, body="Where is my QR code?")
        await wait_for(pilot, lambda: cid in app.store.desk.conversations, what="the conversation")
        await pilot.press("slash", *name.split()[0], "enter", "enter")
        header = console(app).pane.query_one("#conversation-header")
        await wait_for(pilot, lambda: "Chat promise" in region_text(app, header), what="the SLA line")
        text = region_text(app, header)
        assert "FRT" in text and "RT" in text.split("FRT", 1)[1] and "active" in text
        reply = fresh_desk.agent.post(f"/conversations/{cid}/messages", json={"body": "Right here"})
        assert reply.status_code == 201
        await wait_for(pilot, lambda: "FRT hit" in region_text(app, header), what="the first response hit")


async def test_urgent_view_takes_what_breaches_within_the_window(fresh_desk: Desk, tmp_path: Path) -> None:
    add_policy(fresh_desk, name="Ten minutes", channels=["web_chat"], first_response_s=600)
    # A window a few seconds short of the target: the conversation is not urgent when it
    # arrives, and joins the view once its due time comes within the window.
    app = make_app(fresh_desk, tmp_path, urgent_window=timedelta(seconds=596))
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await pilot.press("4")
        screen = console(app)
        assert screen.view == "urgent"
        cid, _ = new_customer(fresh_desk, body="normal question")
        await wait_for(pilot, lambda: cid in app.store.desk.conversations, what="the conversation")
        assert app.store.desk.conversations[cid].priority == "normal"
        assert cid not in screen.queue.index
        await wait_for(
            pilot, lambda: cid in screen.queue.index, timeout=20, what="it to join the Urgent view"
        )
        assert app.store.counts()["urgent"] >= 1


async def test_the_default_window_is_fifteen_minutes(fresh_desk: Desk, tmp_path: Path) -> None:
    add_policy(fresh_desk, name="Ten minutes", channels=["web_chat"], first_response_s=600)
    add_policy(fresh_desk, name="An hour", channels=["email"], first_response_s=3600, position=2)
    app = make_app(fresh_desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        soon, _ = new_customer(fresh_desk, body="chat")
        later = fresh_desk.admin.post(
            "/inbound", json={"channel": "email", "contact": {"name": "Mail Person"}, "body": "mail"}
        ).json()["conversation_id"]
        await wait_for(pilot, lambda: {soon, later} <= set(app.store.desk.conversations), what="both")
        await pilot.press("4")
        screen = console(app)
        await wait_for(pilot, lambda: soon in screen.queue.index, what="the chat due in 10 minutes")
        assert later not in screen.queue.index


def test_the_countdown_rounds_away_from_zero_under_an_hour() -> None:
    from agent_console.tui.sla_display import countdown

    assert [countdown(timedelta(seconds=s)) for s in (20, 60, 61, -20, -61, 0)] == [
        "1m",
        "1m",
        "2m",
        "-1m",
        "-2m",
        "0m",
    ]
    assert countdown(timedelta(hours=3, minutes=5)) == "3h" and countdown(timedelta(hours=-2)) == "-2h"
