"""The real TUI, driven by Textual's pilot, against both help desks: the real desk server and the
Chatwoot emulator (the `helpdesk` fixture, tests/backends.py). Tests that need the desk server's
own features take `desk` and say why."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from agent_console.client.drafts import Drafts
from agent_console.client.native import NativeBackend
from agent_console.tui.app import ConsoleApp
from agent_console.tui.screens.confirm import ConfirmScreen
from agent_console.tui.screens.console import ConsoleScreen
from agent_console.tui.screens.kb import KbScreen
from agent_console.tui.screens.labels import LabelsScreen
from agent_console.tui.screens.pickers import PickerScreen, PromptScreen, ReviewScreen
from agent_console.tui.widgets.queue_list import QueueList
from tests.backends import Helpdesk
from tests.conftest import Desk
from tests.tui_helpers import region_text, screen_text, wait_for

WIDE = (160, 48)
NARROW = (80, 24)


def new_customer(desk: Desk, body: str = "My eSIM will not activate", **contact: str) -> tuple[int, str]:
    """A conversation of the test's own: returns its id and the customer's unique name."""
    name = contact.pop("name", f"Zed{uuid.uuid4().hex[:6]} Quill")
    payload = {
        "channel": "web_chat",
        "contact": {
            "name": name,
            "email": f"{uuid.uuid4().hex[:8]}@cust.example",
            "timezone": "Asia/Tokyo",
            "language": "en",
            **contact,
        },
        "body": body,
    }
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201
    return response.json()["conversation_id"], name


def make_app(desk: Desk | Helpdesk, tmp_path: Path, **kwargs) -> ConsoleApp:
    backend = desk.backend() if isinstance(desk, Helpdesk) else NativeBackend(desk.url, desk.agent_token)
    local = tmp_path / "local.db"
    return ConsoleApp(backend, drafts=Drafts(local, desk.url), outbox_path=local, **kwargs)


def console(app: ConsoleApp) -> ConsoleScreen:
    screen = app.screen_stack[1] if len(app.screen_stack) > 1 else app.screen
    assert isinstance(screen, ConsoleScreen)
    return screen


async def ready(pilot) -> None:
    app = pilot.app
    await wait_for(
        pilot,
        lambda: app.store.loaded and app.store.me is not None and app.store.connection.kind == "live",
        what="the console to load and go live",
    )


async def focus_conversation(pilot, conversation_id: int, name: str) -> None:
    """Filter the queue down to one customer and open their conversation."""
    app = pilot.app
    await wait_for(
        pilot,
        lambda: conversation_id in app.store.desk.conversations,
        what=f"conversation {conversation_id} to reach the console",
    )
    await pilot.press("slash")
    await pilot.press(*name.split()[0])
    await pilot.press("enter")
    queue = app.screen.query_one(QueueList)
    await wait_for(pilot, lambda: queue.rows == [conversation_id], what="the filter to narrow the queue")
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: console(app).open_id == conversation_id and console(app).pane.thread.shown,
        what="the conversation to open",
    )


def messages(desk: Desk, conversation_id: int) -> list[dict]:
    return desk.agent.get(f"/conversations/{conversation_id}/messages").json()["items"]


def conversation(desk: Desk, conversation_id: int) -> dict:
    return desk.agent.get(f"/conversations/{conversation_id}").json()


async def test_open_conversation_shows_thread_and_contact(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer("The QR code says it was already used")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        text = screen_text(app)
        assert "The QR code says it was already used" in text
        assert name in text
        assert "Asia/Tokyo" in text and "local time" in text
        assert f"#{cid}" in text


async def test_reply_and_private_note_reach_the_server(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("r")
        await pilot.press(*"Try restarting")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: any(m["body"] == "Try restarting" for m in helpdesk.messages(cid)),
            what="the reply on the server",
        )
        # Focus stays in the composer after sending (to keep typing); escape leaves it.
        await pilot.press("escape")
        await pilot.press("n")
        await pilot.press(*"VIP customer")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: any(m["body"] == "VIP customer" for m in helpdesk.messages(cid)),
            what="the note on the server",
        )
        kinds = {m["body"]: m["kind"] for m in helpdesk.messages(cid)}
        assert kinds["Try restarting"] == "outgoing" and kinds["VIP customer"] == "note"
        await wait_for(pilot, lambda: console(app).pane.composer.text == "", what="composer cleared")
        assert "VIP customer" in screen_text(app)


async def test_canned_response_fills_placeholders(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("r")
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the canned picker")
        shortcode, filled = helpdesk.greeting
        await pilot.press(*shortcode)
        picker = app.screen
        await wait_for(
            pilot,
            lambda: picker.shown_choices and shortcode in picker.shown_choices[0].label,
            what=f"the picker to filter down to {shortcode}",
        )
        await pilot.press("enter")
        composer = console(app).pane.composer
        await wait_for(pilot, lambda: name.split()[0] in composer.text, what="the filled response")
        assert "{{" not in composer.text and not composer.text.startswith("/")
        # The seeded greeting names the customer (and on the desk server the agent too).
        assert composer.text.startswith(filled.format(first=name.split()[0], name=name))


async def test_kb_search_and_insert_link(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, KbScreen), what="the KB modal")
        one, other = helpdesk.kb_queries
        await pilot.press(*one)
        kb = app.screen
        await wait_for(pilot, lambda: kb.hits, what="search results")
        assert "article(s)" in screen_text(app)
        first = kb.hits[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: kb.has_class("-reading"), what="the reader")
        await pilot.press("ctrl+l")
        composer = console(app).pane.composer
        link = helpdesk.kb_link(first.id)
        await wait_for(pilot, lambda: link in composer.text, what="the inserted link")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, KbScreen), what="the KB modal again")
        await pilot.press(*other)
        await wait_for(pilot, lambda: app.screen.hits, what="search results")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: "\n> " in composer.text, what="the inserted quote")


async def test_assign_priority_labels_snooze_resolve(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        me = app.store.me
        await pilot.press("t")
        await wait_for(
            pilot,
            lambda: helpdesk.conversation(cid)["assignee_id"] == me.id,
            what="assigned to me",
        )
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="priority picker")
        await pilot.press(*"urgent")
        await pilot.press("enter")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["priority"] == "urgent", what="urgent")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LabelsScreen), what="labels picker")
        await pilot.press(*"vip", "enter", *"billing", "enter", "ctrl+s")
        await wait_for(
            pilot, lambda: helpdesk.conversation(cid)["labels"] == ["vip", "billing"], what="labels"
        )
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="agent picker")
        await pilot.press(*helpdesk.colleague.split()[0])
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: helpdesk.conversation(cid)["assignee"] == helpdesk.colleague,
            what="assigned to the colleague",
        )
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="team picker")
        await pilot.press(*"Billing")
        await pilot.press("enter")
        # The colleague's conversation now: every change asks first, and only `y` confirms.
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: helpdesk.conversation(cid)["team"] == "Billing",
            what="team Billing",
        )
        await pilot.press("z")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="snooze picker")
        await pilot.press("enter")  # first choice: 1 hour
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "snoozed", what="snoozed")
        assert helpdesk.conversation(cid)["snoozed"]
        # The header in the pane follows the live state.
        await wait_for(pilot, lambda: "snoozed" in screen_text(app), what="snoozed in the header")


async def test_custom_snooze_rejects_bad_input(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("z")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="snooze picker")
        await pilot.press(*"custom")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="custom prompt")
        await pilot.press(*"soonish")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "use 30m, 4h" in screen_text(app), what="the error")
        await pilot.press(*["backspace"] * 7)
        await pilot.press(*"2d")
        await pilot.press("enter")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "snoozed", what="snoozed 2d")


async def test_resolve_opens_the_next_conversation(helpdesk: Helpdesk, tmp_path: Path) -> None:
    tag = f"Res{uuid.uuid4().hex[:5]}"
    first, _ = helpdesk.new_customer(name=f"{tag} One")
    second, _ = helpdesk.new_customer(name=f"{tag} Two")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: second in app.store.desk.conversations, what="both conversations")
        await pilot.press("slash", *tag, "enter")
        queue = app.screen.query_one(QueueList)
        await wait_for(pilot, lambda: set(queue.rows) == {first, second}, what="filtered queue")
        opened = queue.rows[0]
        other = queue.rows[1]
        await pilot.press("enter")
        await wait_for(pilot, lambda: console(app).open_id == opened, what="first open")
        await pilot.press("x")
        await wait_for(pilot, lambda: helpdesk.conversation(opened)["status"] == "resolved", what="resolved")
        await wait_for(pilot, lambda: console(app).open_id == other, what="the next conversation opened")
        # The resolved row leaves with the status change's event (on Chatwoot, its refetch).
        await wait_for(pilot, lambda: queue.rows == [other], what="the resolved row to leave the queue")


def outgoing(helpdesk: Helpdesk, conversation_id: int) -> list[str]:
    """The bodies of the agents' replies in a conversation, as the help desk holds them."""
    return helpdesk.bodies(conversation_id, "outgoing")


async def start_conflict(
    pilot, helpdesk: Helpdesk, cid: int, name: str, customer_says: str, draft: str
) -> None:
    """Open the conversation, stall the feed, let the customer write, then try to send `draft`:
    the help desk refuses it (409 on the desk server; the adapter reads what came since on
    Chatwoot) and the console shows the review."""
    app = pilot.app
    await ready(pilot)
    await focus_conversation(pilot, cid, name)
    # The feed stalls (as on a bad link) while the customer writes again.
    app.workers.cancel_group(app, "sync")
    helpdesk.customer_says(cid, customer_says)
    await pilot.press("r", *draft, "ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), what="the review screen")
    assert customer_says in screen_text(app)
    assert outgoing(helpdesk, cid) == [], "the reply went out before the agent chose"


async def test_conflict_review_then_send_anyway(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer("hello?")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await start_conflict(pilot, helpdesk, cid, name, "never mind, found it", "Here is how")
        await pilot.press("enter")
        await wait_for(pilot, lambda: outgoing(helpdesk, cid) == ["Here is how"], what="the forced reply")
        # Settled: nothing of it is left to send, so the count below is final, not a snapshot.
        await wait_for(
            pilot,
            lambda: app.outbox.counts()["pending"] == 0 and app.outbox.counts().get("failed", 0) == 0,
            what="the outbox to settle",
        )
        assert outgoing(helpdesk, cid) == ["Here is how"]
        assert console(app).pane.composer.text == ""
        bodies = helpdesk.bodies(cid)
        assert bodies.index("never mind, found it") < bodies.index("Here is how")


async def test_conflict_edit_keeps_the_text(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer("hi")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await start_conflict(pilot, helpdesk, cid, name, "are you there", "draft text")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsoleScreen), what="back to editing")
        composer = console(app).pane.composer
        # Back in the composer, on screen, for the agent to rework.
        await wait_for(
            pilot, lambda: "draft text" in region_text(app, composer), what="the text in the composer"
        )
        assert composer.text == "draft text"
        assert "are you there" in screen_text(app)
        # The agent reworks it and sends. The outbox sends a conversation's items in order, so
        # once the new text is on the server, a copy of the old one sent by "edit" would be too.
        await pilot.press("end", *" - yes, here", "ctrl+s")
        await wait_for(
            pilot, lambda: "draft text - yes, here" in outgoing(helpdesk, cid), what="the edited reply"
        )
        await wait_for(pilot, lambda: app.outbox.counts()["pending"] == 0, what="the outbox to settle")
        assert outgoing(helpdesk, cid) == ["draft text - yes, here"], "edit sent the unedited text"


async def test_live_message_while_reading_another(helpdesk: Helpdesk, tmp_path: Path) -> None:
    reading, reading_name = helpdesk.new_customer("first conversation")
    other, other_name = helpdesk.new_customer("second conversation")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, reading, reading_name)
        before = console(app).pane.thread.shown[:]
        helpdesk.customer_says(other, "URGENT follow-up arrives")
        await wait_for(
            pilot,
            lambda: app.store.desk.conversations[other].last_message.body == "URGENT follow-up arrives",
            what="the live update",
        )
        assert console(app).open_id == reading
        assert console(app).pane.thread.shown == before
        # A brand-new conversation appears without a key press.
        fresh, fresh_name = helpdesk.new_customer("brand new")
        await pilot.press("escape", "escape")  # leave the conversation, then clear the filter
        await wait_for(
            pilot, lambda: fresh in console(app).queue.index, what="the new conversation in the queue"
        )
        # And a live message in the open conversation shows up in its thread.
        helpdesk.customer_says(reading, "one more thing")
        await wait_for(
            pilot, lambda: "one more thing" in screen_text(app), what="the live message in the thread"
        )


async def test_narrow_layout_one_pane_at_a_time(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer("narrow screen test")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        screen = console(app)
        # Reading: the conversation has the whole terminal, the queue is not drawn at all.
        assert "narrow screen test" in region_text(app, screen.pane)
        assert screen.queue.region.area == 0
        assert "SLA" not in screen_text(app)  # the queue's column titles
        await pilot.press("escape")
        # Back in the queue: the queue has the terminal and the conversation is not drawn.
        await wait_for(
            pilot,
            lambda: screen.pane.region.area == 0 and name.split()[0] in region_text(app, screen.queue),
            what="the queue in place of the conversation",
        )
        assert "SLA" in screen_text(app)
        assert "(their time" not in screen_text(app)  # the thread's author line


async def test_view_keys_switch_views_and_show_counts(helpdesk: Helpdesk, tmp_path: Path) -> None:
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        counts = app.store.counts()
        assert counts["urgent"] > 0 and counts["unassigned"] > 0  # the seeded desk has both
        assert f"Urgent {counts['urgent']}" in screen_text(app)
        queue = console(app).queue
        conversations = app.store.desk.conversations
        store = app.store

        def urgent(c: int) -> bool:  # urgent priority, or due within the urgent window
            due = conversations[c].due_at
            return conversations[c].priority == "urgent" or (
                due is not None and due <= store.now + store.urgent_window
            )

        await pilot.press("4")
        await wait_for(
            pilot,
            lambda: queue.rows and all(urgent(c) for c in queue.rows),
            what="only urgent conversations",
        )
        assert len(queue.rows) == store.counts()["urgent"]
        await pilot.press("2")
        await wait_for(
            pilot,
            lambda: queue.rows and all(conversations[c].assignee is None for c in queue.rows),
            what="only unassigned conversations",
        )
        assert len(queue.rows) == app.store.counts()["unassigned"]


async def test_help_lists_bindings_with_ids(helpdesk: Helpdesk, tmp_path: Path) -> None:
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await wait_for(
            pilot,
            lambda: all(word in screen_text(app) for word in ("conv.resolve", "Resolve", "queue.filter")),
            what="the keys with their ids",
        )


async def test_key_remap_applies_and_bad_remaps_are_reported(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    keymap = {
        "conv.resolve": "ctrl+r",
        "conv.snooze": "r",
        "no.such.binding": "f5",
        "conv.note": "ctrl+notakey",
    }
    app = make_app(helpdesk, tmp_path, keymap=keymap)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        problems = "\n".join(app.keymap_problems)
        assert "no.such.binding" in problems
        assert "conv.note" in problems
        assert "conv.snooze" in problems and "conv.reply" in problems  # r is taken by reply
        await focus_conversation(pilot, cid, name)
        await pilot.press("ctrl+r")
        await wait_for(
            pilot, lambda: helpdesk.conversation(cid)["status"] == "resolved", what="resolved by remap"
        )


async def test_drafts_survive_a_restart(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("n", *"half-written note")
        # Quit at once: the draft is saved on the way out, not only after a pause.
    saved = Drafts(tmp_path / "local.db", app.local_key()).load(cid)  # filed under the desk's id
    assert saved == ("half-written note", True), saved
    again = make_app(helpdesk, tmp_path)
    async with again.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        composer = console(again).pane.composer
        await wait_for(pilot, lambda: composer.text == "half-written note", what="the restored draft")
        assert composer.private is True


async def test_bad_token_is_reported_not_crashed(helpdesk: Helpdesk, tmp_path: Path) -> None:
    app = ConsoleApp(helpdesk.backend(token="acd_wrong"), drafts=Drafts(tmp_path / "l.db", helpdesk.url))
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: app.store.connection.kind == "offline", what="offline state")
        assert "OFFLINE" in screen_text(app)


@pytest.mark.parametrize("theme", ["night-shift", "day-shift", "high-contrast", "terminal"])
async def test_every_theme_loads(helpdesk: Helpdesk, tmp_path: Path, theme: str) -> None:
    app = make_app(helpdesk, tmp_path, theme=theme)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        assert app.theme == theme


async def test_server_unreachable_shows_reconnecting(tmp_path: Path) -> None:
    app = ConsoleApp(NativeBackend("http://127.0.0.1:9", "acd_x"), drafts=Drafts(tmp_path / "l.db", "x"))
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(
            pilot,
            lambda: "RECONNECTING in" in screen_text(app),
            what="the reconnecting state",
        )


async def test_a_reply_queued_but_never_sent_goes_out_once_at_the_next_start(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    """A reply that was queued and never sent (the console closed first) goes out when the console
    starts again, and a further start does not send it again. (A console killed while a reply is
    on the wire is the fault test's case: tests/test_faults.py.)"""
    from agent_console.client.outbox import Outbox

    cid, name = helpdesk.new_customer()
    left = Outbox(tmp_path / "local.db", helpdesk.url, account=str(helpdesk.me["id"]))
    left.enqueue_message(cid, "queued before closing")
    left.close()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(
            pilot,
            lambda: "queued before closing" in helpdesk.bodies(cid),
            what="the leftover reply on the server",
        )
        await wait_for(pilot, lambda: app.outbox.counts()["pending"] == 0, what="the outbox drained")
    again = make_app(helpdesk, tmp_path)
    async with again.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: again.outbox is not None, what="the outbox to open")
        # The outbox sends a conversation's items in order: once this later reply is on the
        # server, a resend of the old one would have gone out before it.
        again.outbox.enqueue_message(cid, "after the restart")
        await wait_for(
            pilot,
            lambda: "after the restart" in helpdesk.bodies(cid),
            what="the later reply on the server",
        )
    bodies = helpdesk.bodies(cid)
    assert bodies.count("queued before closing") == 1
    assert bodies.index("queued before closing") < bodies.index("after the restart")


async def test_failed_reply_shows_the_reason_and_retries(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        # Queue a reply to a conversation that does not exist: the server refuses it (404).
        item = app.outbox.enqueue_message(999999, "to nowhere")
        await wait_for(pilot, lambda: app.outbox.get(item.id).state == "failed", what="the refusal")
        assert "not found" in app.outbox.get(item.id).reason
        # A reply that is refused in the open conversation shows in its thread with the reason.
        bad = app.outbox.enqueue_message(cid, "x" * (helpdesk.max_body + 1))  # one over the desk's limit
        await wait_for(pilot, lambda: app.outbox.get(bad.id).state == "failed", what="the 422")
        await wait_for(
            pilot,
            lambda: "not sent" in screen_text(app) and "R to retry" in screen_text(app),
            what="the failed line in the thread",
        )
        await pilot.press("R")
        await wait_for(pilot, lambda: app.outbox.get(bad.id).attempts >= 2, what="the retry")


async def test_links_open_only_after_the_agent_sees_the_real_target(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    from textual.widgets import Markdown

    app = make_app(helpdesk, tmp_path)
    opened: list[str] = []
    app.open_url = lambda url, **kw: opened.append(url)  # the browser is not ours to start here
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+g", *helpdesk.kb_queries[0])
        kb = app.screen
        await wait_for(pilot, lambda: isinstance(kb, KbScreen) and kb.hits, what="KB results")
        await pilot.press("enter")
        await wait_for(pilot, lambda: kb.has_class("-reading"), what="the reader")
        reader = kb.query_one(Markdown)
        tricky = "https://lumo.example/\u202egpj.exe"  # a right-to-left override hides the real end
        reader.post_message(Markdown.LinkClicked(reader, tricky))
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="the confirmation")
        await wait_for(pilot, lambda: "⟨U+202E⟩" in screen_text(app), what="the link's real end, drawn")
        assert "\u202e" not in screen_text(app)
        await pilot.press("n", "enter")
        await wait_for(pilot, lambda: app.screen is kb, what="back in the reader")
        assert opened == []
        reader.post_message(Markdown.LinkClicked(reader, "https://lumo.example/help"))
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="the confirmation")
        await pilot.press("y", "enter")
        await wait_for(pilot, lambda: opened == ["https://lumo.example/help"], what="the link opened")


async def test_hostile_text_from_either_desk_is_shown_inert(helpdesk: Helpdesk, tmp_path: Path) -> None:
    """A customer's escape sequences and markup arrive through Chatwoot's API and feed too: the
    console shows them as visible, inert text, never as terminal commands or markup."""
    hostile = "pay here \x1b]52;c;SGVsbG8=\x07 [@click=app.quit]now[/] \u202eevil"
    cid, name = helpdesk.new_customer("first line")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        helpdesk.customer_says(cid, hostile)
        # Markup shown as typed (not run), the escape and the bidi override as placeholders;
        # waited for together, as a toast may cover part of the thread for a moment.
        shown = ("␛]52;c;SGVsbG8=␇", "[@click=app.quit]now[/]", "⟨U+202E⟩")
        await wait_for(
            pilot, lambda: all(part in screen_text(app) for part in shown), timeout=30, what="the inert text"
        )
        assert app.is_running  # the click action never ran
        for _ in range(20):  # and no frame ever carries the raw controls
            text = screen_text(app)
            assert "\x1b" not in text and "\u202e" not in text
            await pilot.pause(0.02)
