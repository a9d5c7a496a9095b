"""The reducer on its own: what one event, a replayed event, a late copy or a resync does to the
state a console shows. (The fault test drives the same code through real faults; these pin the
rules it relies on, one at a time.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_console.core.models import Conversation, Event
from agent_console.core.reducer import TYPING_TTL, DeskState

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def conversation(cid: int, seq: int, *, status: str = "open", priority: str = "normal") -> dict:
    return {
        "id": cid,
        "channel": "web_chat",
        "status": status,
        "priority": priority,
        "subject": None,
        "language": "en",
        "contact": {"id": 100 + cid, "name": f"Customer {cid}"},
        "assignee": None,
        "team": None,
        "labels": [],
        "created_at": T0.isoformat(),
        "updated_at": T0.isoformat(),
        "last_activity_at": T0.isoformat(),
        "first_response_at": None,
        "waiting_since": None,
        "snoozed_until": None,
        "due_at": None,
        "unread_count": 0,
        "message_count": 1,
        "last_message": None,
        "seq": seq,
    }


def model(cid: int, seq: int, **fields: str) -> Conversation:
    import msgspec

    return msgspec.convert(conversation(cid, seq, **fields), Conversation, strict=False)


def message(mid: int, cid: int, body: str, *, contact: bool = True) -> dict:
    author = (
        {"type": "contact", "id": 100 + cid, "name": f"Customer {cid}"}
        if contact
        else {
            "type": "agent",
            "id": 7,
            "name": "Sam Agent",
        }
    )
    return {
        "id": mid,
        "conversation_id": cid,
        "kind": "incoming" if contact else "outgoing",
        "body": body,
        "author": author,
        "created_at": T0.isoformat(),
    }


def event(seq: int, kind: str, **data: object) -> Event:
    return Event(seq=seq, type=kind, at=T0, data=dict(data))


def typing(seq: int, cid: int, active: bool, *, private: bool = False) -> Event:
    author = {"type": "contact", "id": 100 + cid, "name": f"Customer {cid}"}
    return event(seq, "typing", conversation_id=cid, author=author, active=active, private=private)


def test_created_then_updated_then_a_replay_changes_nothing() -> None:
    state = DeskState()
    change = state.apply(event(1, "conversation.created", conversation=conversation(5, 1)), T0)
    assert change.created == {5} and change.conversations == {5} and bool(change)
    assert state.seq == 1 and state.conversations[5].status == "open"
    change = state.apply(
        event(2, "conversation.updated", conversation=conversation(5, 2, status="pending")), T0
    )
    assert change.conversations == {5} and change.created == set()
    assert state.conversations[5].status == "pending" and state.seq == 2
    # The same event again, or an older one, is ignored: nothing changes, nothing to redraw.
    for old in (2, 1):
        again = state.apply(event(old, "conversation.updated", conversation=conversation(5, old)), T0)
        assert not again and state.conversations[5].status == "pending" and state.seq == 2


def test_a_late_copy_never_overwrites_a_newer_one() -> None:
    state = DeskState()
    state.load_snapshot([model(5, 10, status="resolved")], head_seq=10)
    # An event with a newer global seq carrying an older copy of the conversation.
    change = state.apply(
        event(11, "message.created", conversation=conversation(5, 9), message=message(1, 5, "x")), T0
    )
    assert state.conversations[5].status == "resolved" and 5 not in change.conversations
    assert state.seq == 11
    # A copy with the same seq is taken (it is the same version).
    state.apply(event(12, "conversation.updated", conversation=conversation(5, 10, status="open")), T0)
    assert state.conversations[5].status == "open"


def test_snapshot_load_keeps_newer_copies_and_moves_seq_forward_only() -> None:
    state = DeskState()
    state.apply(event(20, "conversation.updated", conversation=conversation(5, 20, priority="urgent")), T0)
    change = state.load_snapshot([model(5, 15), model(6, 15)], head_seq=15)
    assert state.conversations[5].priority == "urgent"  # the snapshot's copy is older
    assert change.conversations == {6} and state.seq == 20


def test_resync_replaces_everything() -> None:
    state = DeskState()
    state.load_snapshot([model(5, 3), model(6, 3)], head_seq=3)
    state.apply(event(30, "conversation.updated", conversation=conversation(6, 30, status="pending")), T0)
    change = state.replace_snapshot([model(6, 12), model(7, 12)], head_seq=12)
    assert set(state.conversations) == {6, 7} and state.conversations[6].seq == 12
    assert state.seq == 12  # back to the snapshot's head: the feed resumes from there
    assert change.conversations == {5, 6, 7}


def test_messages_land_only_in_tracked_threads_in_order() -> None:
    state = DeskState()
    state.track(5)
    state.apply(event(1, "message.created", message=message(3, 5, "third")), T0)
    change = state.apply(event(2, "message.created", message=message(9, 6, "elsewhere")), T0)
    assert [m.body for m in change.messages] == ["elsewhere"]
    assert 6 not in state.messages  # not tracked: not held
    state.set_messages(5, [_msg(1, 5, "first")])  # a REST read: a union with what the feed gave
    assert [m.body for m in state.thread(5)] == ["first", "third"]
    state.forget_messages(5)
    assert state.thread(5) == []


def _msg(mid: int, cid: int, body: str):  # noqa: ANN202 - a Message
    import msgspec

    from agent_console.core.models import Message

    return msgspec.convert(message(mid, cid, body), Message, strict=False)


def test_typing_starts_stops_expires_and_a_message_ends_it() -> None:
    state = DeskState()
    change = state.apply(typing(1, 5, True), T0)
    assert change.activity == {5}
    [signal] = state.signals_for(5, T0)
    assert signal.kind == "typing" and signal.contact and signal.name == "Customer 5"
    assert signal.until == T0 + TYPING_TTL
    state.apply(typing(2, 5, False), T0)
    assert state.signals_for(5, T0) == []
    state.apply(typing(3, 5, True), T0)
    assert len(state.signals_for(5, T0 + TYPING_TTL - timedelta(seconds=1))) == 1
    assert state.signals_for(5, T0 + TYPING_TTL + timedelta(seconds=1)) == []  # faded
    state.apply(typing(4, 5, True), T0)
    change = state.apply(event(5, "message.created", message=message(1, 5, "hi")), T0)
    assert state.signals_for(5, T0) == [] and change.activity == {5}
    # An agent's message does not end the customer's typing.
    state.apply(typing(6, 5, True), T0)
    state.apply(event(7, "message.created", message=message(2, 5, "hello", contact=False)), T0)
    assert len(state.signals_for(5, T0)) == 1


def test_viewing_and_presence() -> None:
    state = DeskState()
    change = state.apply(
        event(1, "viewing", conversation_id=5, agent={"id": 7, "name": "Sam"}, active=True), T0
    )
    assert change.activity == {5}
    [signal] = state.signals_for(5, T0 + timedelta(days=1))  # viewing does not fade by itself
    assert signal.kind == "viewing" and not signal.contact and signal.until is None
    assert state.signals_for(5, T0, exclude="agent:7") == []
    state.apply(event(2, "viewing", conversation_id=5, agent={"id": 7, "name": "Sam"}, active=False), T0)
    assert state.signals_for(5, T0) == []
    change = state.apply(event(3, "presence.updated", agent_id=7, presence="away"), T0)
    assert change.presence and state.presence == {7: "away"}


def test_apply_all_merges_what_changed() -> None:
    state = DeskState()
    change = state.apply_all(
        [
            event(1, "conversation.created", conversation=conversation(5, 1)),
            typing(2, 6, True),
            event(3, "presence.updated", agent_id=7, presence="busy"),
            event(3, "presence.updated", agent_id=7, presence="away"),  # a repeat seq: ignored
        ],
        T0,
    )
    assert change.conversations == {5} and change.created == {5}
    assert change.activity == {6} and change.presence
    assert state.presence == {7: "busy"} and state.seq == 3


def test_a_colleague_typing_is_not_the_customer() -> None:
    state = DeskState()
    for seq, kind in enumerate(("agent", "bot", "system"), start=1):
        author = {"type": kind, "id": seq, "name": f"{kind} {seq}"}
        state.apply(event(seq, "typing", conversation_id=5, author=author, active=True, private=True), T0)
    signals = state.signals_for(5, T0)
    assert len(signals) == 3
    assert not any(s.contact for s in signals) and all(s.private for s in signals)


def test_a_message_event_without_its_message_still_updates_the_conversation() -> None:
    state = DeskState()
    state.track(5)
    change = state.apply(event(1, "message.created", conversation=conversation(5, 1, priority="high")), T0)
    assert change.conversations == {5} and change.messages == []
    assert state.conversations[5].priority == "high" and state.thread(5) == []
    # And a conversation event never adds a message, whatever it carries.
    change = state.apply(
        event(2, "conversation.updated", conversation=conversation(5, 2), message=message(4, 5, "x")), T0
    )
    assert change.messages == [] and state.thread(5) == []


def test_any_one_kind_of_change_is_a_change() -> None:
    """The console redraws only for a truthy change: each kind on its own must count."""
    from agent_console.core.reducer import Change

    assert not Change()
    assert Change(conversations={1}) and Change(activity={1}) and Change(presence=True)
    assert Change(messages=[_msg(1, 5, "x")])
    state = DeskState()
    assert state.apply(event(1, "presence.updated", agent_id=7, presence="away"), T0)  # presence only
    assert state.apply(typing(2, 5, True), T0)  # activity only
