"""Issue 17, on both help desks where both have the feature (`helpdesk`): views for snoozed,
pending and resolved work (point 10), live presence in the assign picker (8), the status bar
at 80 columns (14), the unread mark (15) and KB hits that say their language (6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent_console.tui.screens.kb import KbScreen
from agent_console.tui.screens.pickers import PickerScreen
from agent_console.tui.widgets.queue_list import QueueList
from tests.backends import Helpdesk
from tests.conftest import Desk
from tests.test_tui_flows import NARROW, WIDE, console, make_app, new_customer, ready
from tests.tui_helpers import region_text, screen_text, wait_for


def patch(desk: Desk, cid: int, **fields: object) -> None:
    response = desk.admin.patch(f"/conversations/{cid}", json=fields)
    assert response.status_code == 200, response.text


def customer_writes(desk: Desk, cid: int, name: str, body: str) -> None:
    payload = {"channel": "web_chat", "contact": {"name": name}, "body": body, "conversation_id": cid}
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201, response.text


def row_of(app, name: str) -> str | None:  # noqa: ANN001
    """The queue row that shows this customer, as on screen (None when it is not shown)."""
    queue = console(app).queue
    first = name.split()[0]
    return next((line for line in region_text(app, queue).split("\n") if first in line), None)


def mark_of(app, name: str) -> str | None:  # noqa: ANN001
    """The unread count the row shows in its `new` column (its last four cells), or a blank."""
    row = row_of(app, name)
    return None if row is None else (row[-4:].strip() or " ")


async def filter_to(pilot, name: str) -> None:  # noqa: ANN001
    await pilot.press("slash", *name.split()[0], "enter")


# --- point 15: the unread mark ---------------------------------------------------------------


async def test_unread_mark_means_the_customer_wrote_since_you_opened_it(desk: Desk, tmp_path: Path) -> None:
    # Desk server only: read marks per message, a colleague's note counted; Chatwoot keeps one
    # "last seen" time and counts the customer's messages after it.
    app = make_app(desk, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        header = region_text(app, console(app).query_one("#queue-header"))
        assert header.rstrip().endswith("new")  # the column says what it is
        cid, name = new_customer(desk, body="Hello, anyone?")
        await wait_for(pilot, lambda: cid in app.store.desk.conversations, what="the new conversation")
        await filter_to(pilot, name)
        await wait_for(pilot, lambda: mark_of(app, name) == "1", what="the count on a new customer message")
        # Opening it reads it: the mark goes out, and stays out back in the queue.
        await pilot.press("enter")
        screen = console(app)
        await wait_for(pilot, lambda: screen.open_id == cid and screen.pane.thread.shown, what="opened")
        await pilot.press("escape")
        await wait_for(pilot, lambda: mark_of(app, name) == " ", what="the mark gone after opening")
        # The customer writes while the agent is on the queue: the mark comes back.
        customer_writes(desk, cid, name, "Still there?")
        await wait_for(pilot, lambda: mark_of(app, name) == "1", what="the count back on a new message")
        # A colleague's note counts too: the agent has not read it.
        desk.admin.post(f"/conversations/{cid}/messages", json={"body": "On it", "private": True})
        await wait_for(pilot, lambda: mark_of(app, name) == "2", what="the colleague's note counted")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.pane.thread.shown and "Still there?" in screen_text(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: mark_of(app, name) == " ", what="read again")
    # Read marks outlive the console.
    app = make_app(desk, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        await filter_to(pilot, name)
        await wait_for(pilot, lambda: row_of(app, name) is not None, what="the row after a restart")
        assert mark_of(app, name) == " "


async def test_open_conversation_stays_read_as_messages_arrive(helpdesk: Helpdesk, tmp_path: Path) -> None:
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        cid, name = helpdesk.new_customer("Roaming question")
        await wait_for(pilot, lambda: cid in app.store.desk.conversations, what="the new conversation")
        await filter_to(pilot, name)
        await pilot.press("enter")
        screen = console(app)
        await wait_for(pilot, lambda: screen.open_id == cid and screen.pane.thread.shown, what="opened")
        helpdesk.customer_says(cid, "Also, is Japan covered?")
        await wait_for(pilot, lambda: "Japan covered" in screen_text(app), what="the message on screen")
        # Side by side the agent is looking at it: it is read as it arrives.
        await wait_for(pilot, lambda: mark_of(app, name) == " ", what="no mark on what is on screen")


# --- point 10: snoozed, pending and resolved views ---------------------------------------------


async def test_snoozed_pending_and_resolved_have_views_with_counts(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    snoozed, snoozed_name = helpdesk.new_customer("Call me tomorrow")
    pending, pending_name = helpdesk.new_customer("Waiting on the carrier")
    resolved, resolved_name = helpdesk.new_customer("Thanks, all good")
    helpdesk.colleague_sets(snoozed, snoozed_until=datetime.now(UTC) + timedelta(days=1))
    helpdesk.colleague_sets(pending, status="pending")
    helpdesk.colleague_sets(resolved, status="resolved")
    total = helpdesk.count("resolved")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        screen = console(app)
        queue = screen.query_one(QueueList)
        tabs = screen.query_one("#view-tabs")
        await pilot.press("6")
        await wait_for(pilot, lambda: snoozed in queue.rows, what="the snoozed conversation in Snoozed")
        counts = app.store.counts()
        assert f"6 Snoozed {counts['snoozed']:,}" in region_text(app, tabs)
        assert all(app.store.desk.conversations[c].status == "snoozed" for c in queue.rows)
        await pilot.press("5")
        await wait_for(pilot, lambda: pending in queue.rows, what="the pending conversation in Pending")
        assert snoozed not in queue.rows
        # Resolved ones are not held: the view pages them in from the server when asked.
        assert resolved not in app.store.desk.conversations
        await pilot.press("7")
        await wait_for(pilot, lambda: app.store.resolved_loaded, what="the first resolved page")
        await wait_for(
            pilot, lambda: f"7 Resolved {total:,}" in region_text(app, tabs), what="the resolved count"
        )
        await filter_to(pilot, resolved_name)
        await wait_for(pilot, lambda: queue.rows == [resolved] or resolved in queue.rows, what="resolved row")
        await pilot.press("escape")  # clear the filter
        # Leaving the view lets go of them again (at most the one that was open is kept).
        before = sum(1 for c in app.store.desk.conversations.values() if c.status == "resolved")
        await pilot.press("3")
        await wait_for(pilot, lambda: not app.store.resolved_loaded, what="resolved pages dropped")
        held = [c for c in app.store.desk.conversations.values() if c.status == "resolved"]
        assert before > 1 and len(held) <= 1


async def test_resolved_view_loads_more_at_the_end(helpdesk: Helpdesk, tmp_path: Path) -> None:
    from agent_console.tui.store import RESOLVED_PAGE

    for _ in range(RESOLVED_PAGE + 5 - helpdesk.count("resolved")):
        cid, _ = helpdesk.new_customer("quick one")
        helpdesk.colleague_sets(cid, status="resolved")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        screen = console(app)
        await pilot.press("7")
        await wait_for(pilot, lambda: len(screen.queue.rows) == RESOLVED_PAGE, what="one page of resolved")
        assert "more" in region_text(app, screen.query_one("#new-marker"))
        await pilot.press("G")
        await wait_for(pilot, lambda: len(screen.queue.rows) > RESOLVED_PAGE, what="the next page")


async def test_what_you_just_resolved_heads_the_resolved_view(helpdesk: Helpdesk, tmp_path: Path) -> None:
    from agent_console.tui.store import RESOLVED_PAGE

    for _ in range(RESOLVED_PAGE + 5 - helpdesk.count("resolved")):  # more than one page of older ones
        older, _ = helpdesk.new_customer("an old one")
        helpdesk.colleague_sets(older, status="resolved")
    cid, name = helpdesk.new_customer("Fixed, thank you!")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        screen = console(app)
        await filter_to(pilot, name)
        await wait_for(pilot, lambda: screen.queue.rows == [cid], what="the conversation")
        await pilot.press("x")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "resolved")
        await pilot.press("escape")  # clear the filter
        await pilot.press("7")
        await wait_for(pilot, lambda: app.store.resolved_loaded, what="the resolved view")
        # The server pages the oldest first; what was resolved here is at hand, on top.
        await wait_for(pilot, lambda: screen.queue.rows[:1] == [cid], what="the just-resolved one on top")


# --- point 8: live presence --------------------------------------------------------------------


async def test_assign_picker_shows_live_presence(desk: Desk, tmp_path: Path) -> None:
    # Desk server only: the colleague's presence is set over the desk server's API (on Chatwoot
    # agents set it in its dashboard).
    assert desk.admin.patch("/me", json={"presence": "away"}).status_code == 200
    cid, name = new_customer(desk)
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: app.store.me.presence == "online", what="signed in and online")
        # A colleague's presence changes while the console runs.
        assert desk.admin.patch("/me", json={"presence": "busy"}).status_code == 200
        admin = next(a for a in app.store.agents if a.name == "Avery Admin")
        await wait_for(pilot, lambda: app.store.desk.presence.get(admin.id) == "busy", what="the feed's word")
        await filter_to(pilot, name)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the assign picker")
        text = screen_text(app)
        avery = next(line for line in text.split("\n") if "Avery Admin" in line)
        sam = next(line for line in text.split("\n") if "Sam Agent" in line)
        assert "busy" in avery, avery
        assert "online" in sam, sam  # the status bar says online: so does the picker
        assert "online" in region_text(app, console(app).query_one("#status"))


# --- point 14: the status bar at 80 columns ----------------------------------------------------


async def test_status_bar_fits_80_columns_over_ssh(helpdesk: Helpdesk, tmp_path: Path) -> None:
    app = make_app(helpdesk, tmp_path, low_bandwidth=True)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        status = console(app).query_one("#status")
        await wait_for(pilot, lambda: "online" in region_text(app, status), what="presence in the bar")
        bar = region_text(app, status)
        assert "LIVE" in bar and "online" in bar
        assert "low-bw" in bar or "low-bandwidth" in bar
        assert bar.rstrip().endswith("? help")
        await pilot.resize_terminal(160, 48)
        await wait_for(pilot, lambda: "unassigned" in region_text(app, status), what="counts when wide")
        assert "low-bandwidth" in region_text(app, status)


# --- point 6: KB hits say their language, the customer's first -----------------------------------


async def test_kb_hits_show_their_language_customers_first(desk: Desk, tmp_path: Path) -> None:
    # Desk server only: its seeded knowledge base is in several languages.
    cid, name = new_customer(desk, body="Wie installiere ich die eSIM?", language="de")
    app = make_app(desk, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: cid in app.store.desk.conversations, what="the conversation")
        await filter_to(pilot, name)  # on the queue, cursor on the German customer, nothing open
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, KbScreen), what="the KB search")
        await pilot.press(*"Hotspot")
        kb = app.screen
        await wait_for(pilot, lambda: len(kb.hits) >= 4, what="KB results")
        locales = [hit.locale for hit in kb.hits]
        assert locales[0] == "de"
        assert "en" in locales  # other languages still there, after
        first_other = next(i for i, locale in enumerate(locales) if locale != "de")
        assert all(locale != "de" for locale in locales[first_other:])
        text = screen_text(app)
        assert "in the customer's language (de)" in text
        for hit in kb.hits[:3]:
            line = next(line for line in text.split("\n") if hit.title[:20] in line)
            assert hit.locale in line
