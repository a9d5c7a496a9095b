"""Undo with one key, and a reply that takes an unassigned conversation (issue 17, points 7
and 12): the real console and outbox against both help desks (`helpdesk`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from agent_console.client.config import ConfigError, parse_config
from agent_console.client.outbox import Outbox, OutboxSender
from agent_console.core.models import ConversationPatch
from agent_console.core.undo import fields_of, reversal
from agent_console.tui.screens.confirm import ConfirmScreen
from agent_console.tui.screens.pickers import PickerScreen
from agent_console.tui.widgets.queue_list import QueueList
from tests.backends import Helpdesk
from tests.test_confirm import focus_colleagues_conversation
from tests.test_tui_flows import WIDE, console, focus_conversation, make_app, ready
from tests.tui_helpers import screen_text, wait_async, wait_for


def footer(app) -> str:  # noqa: ANN001
    return screen_text(app).rstrip("\n").split("\n")[-1]


def toasts(app) -> str:  # noqa: ANN001
    """The notifications on screen now (toasts are drawn on a layer screen_text does not read)."""
    return "\n".join(str(note.message) for note in app._notifications)  # noqa: SLF001


def assignee_id(helpdesk: Helpdesk, cid: int) -> int | None:
    return helpdesk.conversation(cid)["assignee_id"]


async def test_u_takes_an_action_back_and_shows_while_it_can(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        assert "Undo" not in footer(app)
        await pilot.press("p")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "pending", what="pending")
        await wait_for(
            pilot, lambda: f"Set #{cid} to pending · u undo (10 s)" in toasts(app), what="the undo line"
        )
        assert "Undo" in footer(app)
        await pilot.press("u")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "open", what="undone there")
        await wait_for(pilot, lambda: f"Undone: Set #{cid} to pending" in toasts(app), what="undone")
        await wait_for(pilot, lambda: "Undo" not in footer(app), what="u to leave the footer")
        # The console shows the truth: the server's own events brought the state back.
        await wait_for(
            pilot, lambda: app.store.desk.conversations[cid].status == "open", what="the console to follow"
        )


async def test_undo_restores_each_kind_of_action(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        start = helpdesk.conversation(cid)
        KEYS = ("status", "snoozed", "priority", "labels", "assignee", "team")  # noqa: N806
        me = app.store.me
        assert me is not None

        async def undo_and_check() -> None:
            await pilot.press("u")
            await wait_for(
                pilot,
                lambda: {k: helpdesk.conversation(cid)[k] for k in KEYS} == {k: start[k] for k in KEYS},
                what="the conversation as it was",
            )

        await pilot.press("t")
        await wait_for(pilot, lambda: assignee_id(helpdesk, cid) == me.id, what="taken")
        await undo_and_check()
        await pilot.press("z")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the snooze picker")
        await pilot.press("enter")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "snoozed", what="snoozed")
        await undo_and_check()
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the priority picker")
        await pilot.press(*"urgent", "enter")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["priority"] == "urgent", what="urgent")
        await undo_and_check()
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the team picker")
        await pilot.press(*"Billing", "enter")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["team"] is not None, what="team set")
        await undo_and_check()


async def test_undo_refuses_when_someone_changed_it_since(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the priority picker")
        await pilot.press(*"low", "enter")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["priority"] == "low", what="low")
        # A colleague sets it to high meanwhile: undo must not overwrite that.
        helpdesk.colleague_sets(cid, priority="high")
        await pilot.press("u")
        await wait_for(
            pilot,
            lambda: "someone changed it since (priority is now high)" in toasts(app),
            what="the refusal",
        )
        assert helpdesk.conversation(cid)["priority"] == "high"
        assert app.outbox is not None
        [undo] = [item for item in app.outbox.items_for(cid) if item.kind == "undo"]
        assert undo.state == "failed"


async def test_resolve_and_next_moves_on_at_once_and_u_reopens(helpdesk: Helpdesk, tmp_path: Path) -> None:
    tag = f"Und{uuid.uuid4().hex[:5]}"
    first, _ = helpdesk.new_customer(name=f"{tag} One")
    second, _ = helpdesk.new_customer(name=f"{tag} Two")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: second in app.store.desk.conversations, what="both conversations")
        await pilot.press("slash", *tag, "enter")
        queue = app.screen.query_one(QueueList)
        await wait_for(pilot, lambda: set(queue.rows) == {first, second}, what="the filtered queue")
        opened, other = queue.rows
        await pilot.press("enter")
        await wait_for(pilot, lambda: console(app).open_id == opened, what="the first open")
        await pilot.press("x")
        await wait_for(pilot, lambda: console(app).open_id == other, what="the next one open")
        await wait_for(pilot, lambda: helpdesk.conversation(opened)["status"] == "resolved", what="resolved")
        await pilot.press("u")
        await wait_for(
            pilot, lambda: helpdesk.conversation(opened)["status"] == "open", what="reopened by undo"
        )
        assert helpdesk.conversation(other)["status"] == "open"
        await wait_for(pilot, lambda: opened in queue.rows, what="the queue to show it again")


async def test_the_undo_window_closes(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path, undo_seconds=3)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("p")
        await wait_for(pilot, lambda: "u undo (3 s)" in toasts(app), what="a 3 s window")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "pending", what="pending")
        await wait_for(pilot, lambda: "Undo" not in footer(app), timeout=20, what="the window to close")
        await pilot.press("u")
        await pilot.pause()
        assert app.outbox is not None
        assert [item.kind for item in app.outbox.items_for(cid)] == ["patch"]
        assert helpdesk.conversation(cid)["status"] == "pending"


async def test_a_colleagues_change_confirmed_with_y_is_undone_without_asking_again(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    cid, name = helpdesk.new_customer()
    helpdesk.assign_to_colleague(cid)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_colleagues_conversation(pilot, cid, name)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "resolved", what="resolved")
        # Undo only puts back what was there: it restores the colleague's state, no question.
        await pilot.press("u")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "open", what="reopened")
        assert not isinstance(app.screen, ConfirmScreen)


# --- the outbox underneath: withdraw before sending, a guarded undo that survives a kill ---------


async def test_an_unsent_action_is_withdrawn_and_never_reaches_the_server(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    cid, _ = helpdesk.new_customer()
    backend = helpdesk.backend()
    outbox = Outbox(tmp_path / "local.db", helpdesk.url)
    sender = OutboxSender(outbox, backend)
    try:
        item = outbox.enqueue_patch(cid, ConversationPatch(status="pending"))
        assert outbox.withdraw(item.id)
        await sender.drain()
        assert helpdesk.conversation(cid)["status"] == "open"
        # One the sender holds in flight cannot be withdrawn: it may be on the server already.
        item = outbox.enqueue_patch(cid, ConversationPatch(priority="low"))
        assert outbox.claim(item.id) is not None
        assert not outbox.withdraw(item.id)
        outbox.release(item.id)
        await sender.drain()
        # A batch read before the withdrawal does not send it either.
        late = outbox.enqueue_patch(cid, ConversationPatch(status="resolved"))
        [queued] = [i for i in outbox.due() if i.id == late.id]
        assert outbox.withdraw(late.id)
        assert await sender.send_one(queued) == "withdrawn"
        await sender.drain()
        state = helpdesk.conversation(cid)
        assert (state["status"], state["priority"]) == ("open", "low")
    finally:
        sender.close()
        outbox.close()
        await backend.aclose()


async def test_a_queued_undo_survives_a_kill_and_stays_guarded(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, _ = helpdesk.new_customer()
    other, _ = helpdesk.new_customer()
    backend = helpdesk.backend()
    local = tmp_path / "local.db"
    outbox = Outbox(local, helpdesk.url)
    sender = OutboxSender(outbox, backend)
    try:
        for target in (cid, other):
            before = fields_of(await backend.conversation(target))
            outbox.enqueue_patch(target, ConversationPatch(status="pending"))
            await sender.drain()
            outbox.enqueue_undo(target, reversal(before, ConversationPatch(status="pending")))
        # The console dies here, with both undos queued and unsent; a colleague then moves one on.
        sender.close()
        outbox.close()
        helpdesk.colleague_sets(other, status="resolved")
        outbox = Outbox(local, helpdesk.url)
        sender = OutboxSender(outbox, backend)
        await sender.drain()
        assert helpdesk.conversation(cid)["status"] == "open"
        assert helpdesk.conversation(other)["status"] == "resolved"
        [refused] = [i for i in outbox.items_for(other) if i.kind == "undo"]
        assert refused.state == "failed" and "status is now resolved" in (refused.reason or "")
    finally:
        sender.close()
        outbox.close()
        await backend.aclose()


# --- take on reply ------------------------------------------------------------------------------


async def test_a_reply_takes_an_unassigned_conversation_a_note_does_not(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    noted, noted_name = helpdesk.new_customer()
    replied, replied_name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        me = app.store.me
        assert me is not None
        await focus_conversation(pilot, noted, noted_name)
        await pilot.press("n", *"internal only", "ctrl+s")
        await wait_for(
            pilot,
            lambda: any(m["body"] == "internal only" for m in _messages(helpdesk, noted)),
            what="the note",
        )
        await pilot.press("escape", "escape", "escape")
        await focus_conversation(pilot, replied, replied_name)
        await pilot.press("r", *"On it", "ctrl+s")
        await wait_for(pilot, lambda: assignee_id(helpdesk, replied) == me.id, what="taken by the reply")
        assert any(m["body"] == "On it" for m in _messages(helpdesk, replied))
        assert assignee_id(helpdesk, noted) is None
        # It left Unassigned and shows in Mine.
        await pilot.press("escape", "escape", "escape", "1")
        queue = app.screen.query_one(QueueList)
        await wait_for(pilot, lambda: replied in queue.rows, what="the conversation in Mine")
        assert noted not in queue.rows


async def test_the_undo_line_names_the_keys_that_work_from_the_composer(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    """After a reply takes the conversation the composer still has focus, where `u` is text:
    the line says `esc u`, and those keys undo the take without typing into the reply box."""
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        me = app.store.me
        assert me is not None
        await focus_conversation(pilot, cid, name)
        await pilot.press("r", *"Looking now", "ctrl+s")
        await wait_for(pilot, lambda: assignee_id(helpdesk, cid) == me.id, what="taken by the reply")
        await wait_for(pilot, lambda: f"Took #{cid}" in toasts(app), what="the take line")
        assert "· esc u undo" in toasts(app)
        await pilot.press("escape", "u")
        await wait_for(pilot, lambda: assignee_id(helpdesk, cid) is None, what="the take undone")


async def test_a_reply_to_a_colleagues_conversation_does_not_take_it(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    cid, name = helpdesk.new_customer()
    helpdesk.assign_to_colleague(cid)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_colleagues_conversation(pilot, cid, name)
        await pilot.press("r", *"Covering for Avery", "ctrl+s")
        await wait_for(
            pilot,
            lambda: any(m["body"] == "Covering for Avery" for m in _messages(helpdesk, cid)),
            what="the reply",
        )
        assert not isinstance(app.screen, ConfirmScreen)
        assert helpdesk.conversation(cid)["assignee"] == helpdesk.colleague


async def test_take_on_reply_can_be_turned_off(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path, take_on_reply=False)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("r", *"Just a reply", "ctrl+s")
        await wait_for(
            pilot,
            lambda: any(m["body"] == "Just a reply" for m in _messages(helpdesk, cid)),
            what="the reply",
        )
        await wait_async(lambda: app.outbox is not None and app.outbox.counts()["pending"] == 0)
        assert app.outbox is not None
        assert [item.kind for item in app.outbox.items_for(cid)] == ["message"]
        assert assignee_id(helpdesk, cid) is None


def _messages(helpdesk: Helpdesk, cid: int) -> list[dict]:
    return helpdesk.messages(cid)


# --- the settings and the pure part -------------------------------------------------------------


def test_the_tui_settings_are_strict() -> None:
    config = parse_config("[tui]\nundo_seconds = 30\ntake_on_reply = false\n")
    assert config.tui is not None
    assert (config.tui.undo_seconds, config.tui.take_on_reply) == (30, False)
    for text, words in (
        ("[tui]\nundo_seconds = 0\n", "line 2: undo_seconds: expected `int` >= 3 in [tui]"),
        ("[tui]\nundo_seconds = 9000\n", "line 2: undo_seconds: expected `int` <= 600 in [tui]"),
        ('[tui]\nundo_seconds = "10"\n', "undo_seconds: expected `int | null`, got `str`"),
        ("[tui]\ntake_on_reply = 1\n", "take_on_reply: expected `bool | null`, got `int`"),
        ("[tui]\nundo = 10\n", "unknown key 'undo' in [tui]"),
    ):
        with pytest.raises(ConfigError) as caught:
            parse_config(text)
        assert words in caught.value.message


def test_a_reversal_restores_exactly_the_touched_fields() -> None:
    before = {
        "status": "open",
        "snoozed_until": None,
        "priority": "urgent",
        "assignee_id": 7,
        "team_id": None,
        "labels": ["billing"],
    }
    wake = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    snooze = reversal(before, ConversationPatch(snoozed_until=wake))
    # A wake-up time means snoozed (the server's rule): status and snooze go back together.
    assert snooze.expect == {"status": "snoozed", "snoozed_until": "2030-01-01T09:00:00.000000Z"}
    assert msgspec.to_builtins(snooze.inverse) == {"status": "open", "snoozed_until": None}
    labels = reversal(before, ConversationPatch(labels=["vip", "vip", "refund"]))
    assert labels.expect == {"labels": ["vip", "refund"]}
    assert msgspec.to_builtins(labels.inverse) == {"labels": ["billing"]}
    unassign = reversal(before, ConversationPatch(assignee_id=None))
    assert unassign.expect == {"assignee_id": None}
    assert msgspec.to_builtins(unassign.inverse) == {"assignee_id": 7}
