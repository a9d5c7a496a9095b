"""Notifications and unread counts in core/ (pure): which events deserve a notice, never one's
own, never the conversation on screen; a burst gives one summary; the exact terminal bytes for
BEL, OSC 9, OSC 777 and tmux; and the reducer's per-agent unread count from the broadcast feed."""

from __future__ import annotations

import msgspec

from agent_console.core.models import Conversation
from agent_console.core.notify import (
    Delivery,
    Me,
    Notice,
    Throttle,
    decide,
    desktop_bytes,
    desktop_protocol,
    mentions,
)
from agent_console.core.reducer import DeskState
from tests.test_reducer import T0, conversation, event, message

ME = Me(id=7, name="Sam Agent", email="sam@test.example", team_ids=frozenset({3}))


def held(
    cid: int, *, assignee: int | None = None, team: int | None = None, name: str = "Ana"
) -> Conversation:
    raw = conversation(cid, 1)
    raw["assignee"] = {"id": assignee, "name": "Someone"} if assignee else None
    raw["team"] = {"id": team, "name": "Team"} if team else None
    raw["contact"]["name"] = name
    return msgspec.convert(raw, Conversation, strict=False)


def run(ev, *held_ones: Conversation, looking_at: int | None = None, kinds=None) -> Notice | None:  # noqa: ANN001
    table = {c.id: c for c in held_ones}
    extra = {} if kinds is None else {"kinds": kinds}
    return decide(
        ev, me=ME, lookup=table.get, looking_at=looking_at, in_views=lambda c: c.status == "open", **extra
    )


def note(mid: int, cid: int, body: str, author_id: int) -> dict:
    return {
        **message(mid, cid, body, contact=False),
        "kind": "note",
        "author": {"type": "agent", "id": author_id, "name": "Avery"},
    }


def test_each_kind_fires_for_what_is_theirs() -> None:
    mine = held(5, assignee=7, name="Ana Ruiz")
    created = run(event(1, "conversation.created", conversation=msgspec.to_builtins(mine)))
    assert created is not None and created.kind == "new_conversation" and "#5 Ana Ruiz" in created.title
    reply = run(event(2, "message.created", message=message(10, 5, "still broken")), mine)
    assert reply is not None and reply.kind == "customer_reply" and reply.body == "still broken"
    # A customer reply in a colleague's conversation, or an unassigned one, is not theirs.
    assert run(event(3, "message.created", message=message(11, 6, "hi")), held(6, assignee=9)) is None
    assert run(event(3, "message.created", message=message(11, 6, "hi")), held(6)) is None
    sla = {
        "conversation_id": 5,
        "clock": "frt",
        "due_at": "2026-11-29T12:30:00Z",
        "policy": "Chat",
        "assignee_id": 7,
        "team_id": None,
    }
    warning = run(event(4, "sla.warning", **sla), mine)
    assert warning is not None and warning.kind == "sla_warning"
    assert "first response due 12:30 UTC" in warning.body and "Chat" in warning.body
    breach = run(event(5, "sla.breached", **sla, breached_by_s=180), mine)
    assert breach is not None and breach.kind == "sla_breached" and "missed by 3m" in breach.body
    # Unassigned in one of their teams is theirs; in another team, or a colleague's, it is not.
    assert run(event(6, "sla.breached", **{**sla, "assignee_id": None, "team_id": 3})) is not None
    assert run(event(6, "sla.breached", **{**sla, "assignee_id": None, "team_id": 4})) is None
    assert run(event(6, "sla.breached", **{**sla, "assignee_id": 9})) is None
    mention = run(
        event(7, "message.created", message=note(12, 6, "@sam can you check?", 9)), held(6, assignee=9)
    )
    assert mention is not None and mention.kind == "mention"


def test_decided_as_the_conversation_was_at_that_event() -> None:
    # One frame applies a customer's first message and then an assignment to this agent: the
    # message came while it was nobody's, so it is no "reply in a conversation of theirs".
    now_mine = held(5, assignee=7)
    then = msgspec.to_builtins(held(5))
    assert run(event(1, "message.created", conversation=then, message=message(10, 5, "hi")), now_mine) is None
    later = run(
        event(3, "message.created", conversation=msgspec.to_builtins(now_mine), message=message(11, 5, "?"))
    )
    assert later is not None and later.kind == "customer_reply"


def test_never_for_ones_own_actions_the_open_conversation_or_a_kind_turned_off() -> None:
    mine = held(5, assignee=7)
    own_reply = {**message(20, 5, "@Sam note to self", contact=False), "kind": "note"}
    assert run(event(1, "message.created", message=own_reply), mine) is None
    assert run(event(2, "message.created", message=message(21, 5, "hello")), mine, looking_at=5) is None
    kinds = {"new_conversation"}
    assert run(event(3, "message.created", message=message(22, 5, "hello")), mine, kinds=kinds) is None


def test_mentions_match_the_agents_handles_only() -> None:
    for body in ("@Sam look", "ping @sam.agent", "@SamAgent?", "@Sam Agent, please", "cc @sam", "(@SAM)"):
        assert mentions(body, ME), body
    for body in ("@Samantha look", "sam@test.example", "Sam, look", "@sam2 look"):
        assert not mentions(body, ME), body


def test_a_burst_gives_one_summary() -> None:
    throttle = Throttle(interval=10)
    first = Notice("new_conversation", 1, "New conversation #1", "hi")
    assert throttle.offer([first], now=100.0) == Delivery("New conversation #1", "hi", 1, (1,))
    burst = [Notice("new_conversation", n, f"New #{n}", "") for n in range(2, 60)]
    burst.append(Notice("customer_reply", 1, "Reply", ""))
    for notice in burst:
        assert throttle.offer([notice], now=101.0) is None  # held
    assert throttle.due(now=105.0) is None  # not yet
    summary = throttle.due(now=110.0)
    assert summary is not None and summary.count == 59
    assert summary.body.startswith("58 new conversations, 1 customer reply: #2, #3")
    assert throttle.due(now=200.0) is None  # nothing left
    # One frame's worth of events together is one summary at once.
    together = Throttle(interval=10).offer(burst[:3], now=0.0)
    assert together is not None and together.count == 3 and together.title == "3 things need you"


def test_terminal_bytes() -> None:
    delivery = Delivery("Reply from #5 Ana", "my \x1b]52;c;aGk=\x07 card; again", 1, (5,))
    osc9 = desktop_bytes(delivery, "osc9", tmux=False)
    assert osc9.startswith("\x1b]9;Reply from #5 Ana: my ") and osc9.endswith("\x07")
    assert osc9.count("\x1b") == 1 and osc9.count("\x07") == 1  # the customer's ESC and BEL are inert
    osc777 = desktop_bytes(delivery, "osc777", tmux=False)
    assert osc777.startswith("\x1b]777;notify;Reply from #5 Ana;my ")
    assert osc777.count(";") == 3  # a `;` in the text cannot split the title from the body
    wrapped = desktop_bytes(delivery, "osc9", tmux=True)
    assert wrapped == "\x1bPtmux;" + osc9.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    assert desktop_bytes(delivery, None, tmux=False) == ""


def test_terminal_detection() -> None:
    assert desktop_protocol({"TERM_PROGRAM": "iTerm.app"}) == "osc9"
    assert desktop_protocol({"TERM_PROGRAM": "WezTerm"}) == "osc9"
    assert desktop_protocol({"TERM_PROGRAM": "tmux", "LC_TERMINAL": "iTerm2"}) == "osc9"
    assert desktop_protocol({"TERM": "rxvt-unicode-256color"}) == "osc777"
    assert desktop_protocol({"TERM": "foot"}) == "osc777"
    assert desktop_protocol({"TERM": "xterm-256color"}) is None
    assert desktop_protocol({"TERM": "xterm-256color"}, "osc777") == "osc777"
    assert desktop_protocol({"TERM_PROGRAM": "iTerm.app"}, "off") is None


def test_reducer_counts_unread_per_agent_from_the_broadcast_feed() -> None:
    state = DeskState(me=7)
    snap = msgspec.convert(
        {**conversation(5, 10), "unread_count": 2, "last_read_message_id": 3}, Conversation
    )
    state.load_snapshot([snap], head_seq=10)
    assert state.conversations[5].unread_count == 2
    # The feed's copy carries someone else's number: this agent's count is kept and moves on.
    copy = {**conversation(5, 11), "unread_count": 0}
    state.apply(
        event(11, "message.created", conversation=copy, message=message(20, 5, "hello?")),
        T0,
    )
    assert state.conversations[5].unread_count == 3
    # A colleague's note counts; one's own reply clears the count (writing there is reading it).
    colleague = {**note(21, 5, "fyi", 9)}
    state.apply(event(12, "message.created", conversation=conversation(5, 12), message=colleague), T0)
    assert state.conversations[5].unread_count == 4
    own = message(22, 5, "on it", contact=False)
    state.apply(event(13, "message.created", conversation=conversation(5, 13), message=own), T0)
    assert state.conversations[5].unread_count == 0
    # conversation.read for this agent sets the count; another agent's is not ours.
    read = {"conversation_id": 5, "agent_id": 7, "last_read_message_id": 19, "unread_count": 1}
    state.apply(event(14, "conversation.read", **{**read, "agent_id": 9, "unread_count": 5}), T0)
    assert state.conversations[5].unread_count == 0
    state.apply(event(15, "conversation.read", **read), T0)
    assert state.conversations[5].unread_count == 1 and state.conversations[5].last_read_message_id == 19
    # A REST copy read before that mark does not undo it.
    stale = msgspec.convert({**conversation(5, 13), "unread_count": 0, "read_seq": 0}, Conversation)
    state.keep_personal(stale)
    assert state.conversations[5].unread_count == 1
