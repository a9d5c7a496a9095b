"""Sending shows what arrived while the agent typed (issue 17, point 5), on both help desks.

The seen mark is what the agent had seen when the draft began, not the thread at send
time: messages that arrive while typing are drawn above the composer, but nobody has
read them yet.
"""

from __future__ import annotations

from pathlib import Path

from agent_console.client.drafts import Drafts
from agent_console.tui.screens.pickers import ReviewScreen
from tests.backends import Helpdesk
from tests.test_tui_flows import WIDE, console, focus_conversation, make_app, ready
from tests.tui_helpers import screen_text, wait_for


def colleague_writes(helpdesk: Helpdesk, cid: int, reply: str, note: str) -> None:
    """A colleague replies and adds a private note, from another session."""
    helpdesk.colleague_writes(cid, reply)
    helpdesk.colleague_writes(cid, note, private=True)


async def test_send_reviews_what_arrived_while_typing(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer("Is my order shipped?")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("r")
        await pilot.press(*"It ships today")
        colleague_writes(helpdesk, cid, "Shipped this morning, tracking sent", "Careful: VIP, refund pending")
        screen = console(app)
        # Both arrive live and are drawn in the thread above the composer while the agent types.
        await wait_for(
            pilot, lambda: "Careful: VIP" in screen_text(app), what="the colleague's messages in the thread"
        )
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), what="the review of what is new")
        review = screen_text(app)
        assert "Shipped this morning" in review and "Careful: VIP" in review
        assert "2 new message(s)" in review
        # Held back until the agent decides.
        assert not any(m["body"] == "It ships today" for m in helpdesk.messages(cid))
        # Escape puts the text back to rework it; nothing was sent.
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.pane.composer.text == "It ships today", what="the text back")
        assert not any(m["body"] == "It ships today" for m in helpdesk.messages(cid))
        # Reviewed now: the same reply goes out without asking again.
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: any(m["body"] == "It ships today" for m in helpdesk.messages(cid)),
            what="the reviewed reply on the server",
        )
        assert not isinstance(app.screen, ReviewScreen)


async def test_send_anyway_from_the_review(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer("Can I change my plan?")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("r")
        await pilot.press(*"Yes you can")
        colleague_writes(helpdesk, cid, "You can, from the app", "Upsell premium?")
        await wait_for(pilot, lambda: "Upsell premium?" in screen_text(app), what="the colleague's note")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), what="the review")
        assert not any(m["body"] == "Yes you can" for m in helpdesk.messages(cid))
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any(m["body"] == "Yes you can" for m in helpdesk.messages(cid)),
            what="the reply sent anyway",
        )


async def test_the_seen_mark_travels_with_the_draft_across_restarts(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    cid, name = helpdesk.new_customer("My SIM is blocked")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("r")
        await pilot.press(*"Let me check")
        await pilot.press("escape")  # leaving the composer saves the draft
    # While the console is closed, a colleague answers and leaves a note.
    colleague_writes(helpdesk, cid, "Unblocked it for you", "Done via the carrier portal")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        screen = console(app)
        await wait_for(pilot, lambda: screen.pane.composer.text == "Let me check", what="the draft back")
        screen.pane.composer.input.focus()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), what="the review after a restart")
        assert "Unblocked it for you" in screen_text(app)
        assert not any(m["body"] == "Let me check" for m in helpdesk.messages(cid))


def test_drafts_table_from_before_seen_marks_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE drafts (server TEXT NOT NULL, conversation_id INTEGER NOT NULL,"
        " private INTEGER NOT NULL, body TEXT NOT NULL, updated_at REAL NOT NULL,"
        " PRIMARY KEY (server, conversation_id))"
    )
    conn.execute("INSERT INTO drafts VALUES ('http://x', 7, 0, 'old draft', 1.0)")
    conn.commit()
    conn.close()
    drafts = Drafts(path, "http://x")
    assert drafts.load(7) == ("old draft", False)
    assert drafts.seen(7) is None
    drafts.save(7, "old draft, edited", private=False, seen_message_id=41)
    assert drafts.seen(7) == 41
    drafts.close()
    assert Drafts(path, "http://x").seen(7) == 41
