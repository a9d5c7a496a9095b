"""Help desk state as a client sees it, and the one function that changes it: `apply`.

Pure: no I/O, no clocks read implicitly. The TUI's store and the fault tests both drive
this, so "the console's state equals the server's" is checked against the same code the
agent looks at.

Idempotence: every event carries a global `seq`, and every conversation the `seq` of
the event that last changed it. An event at or below the state's `seq` is ignored, and
a conversation copy older than the one held is ignored, so replays, duplicates and a
snapshot racing the feed all converge on the same state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from agent_console.core.models import AgentRef, Author, Conversation, Event, Message

TYPING_TTL = timedelta(seconds=8)  # a typing signal not renewed within this fades


@dataclass(slots=True)
class Change:
    """What one batch of events touched, so views redraw only that."""

    conversations: set[int] = field(default_factory=set)
    created: set[int] = field(default_factory=set)
    messages: list[Message] = field(default_factory=list)
    presence: bool = False
    activity: set[int] = field(default_factory=set)  # typing/viewing changed here

    def merge(self, other: Change) -> None:
        self.conversations |= other.conversations
        self.created |= other.created
        self.messages += other.messages
        self.presence = self.presence or other.presence
        self.activity |= other.activity

    def __bool__(self) -> bool:
        return bool(self.conversations or self.messages or self.presence or self.activity)


@dataclass(slots=True)
class Signal:
    """Someone typing or viewing in a conversation, until `until`."""

    who: str
    name: str
    kind: str  # "typing" | "viewing"
    contact: bool
    private: bool
    until: datetime | None


@dataclass
class DeskState:
    seq: int = 0
    conversations: dict[int, Conversation] = field(default_factory=dict)
    presence: dict[int, str] = field(default_factory=dict)
    signals: dict[int, dict[str, Signal]] = field(default_factory=dict)
    # Messages of the conversations a client has opened; others are fetched on demand.
    messages: dict[int, dict[int, Message]] = field(default_factory=dict)

    def load_snapshot(self, conversations: Iterable[Conversation], head_seq: int) -> Change:
        """Take a REST snapshot read at `head_seq` (older copies never win)."""
        change = Change()
        for conversation in conversations:
            if self._keep(conversation):
                change.conversations.add(conversation.id)
        self.seq = max(self.seq, head_seq)
        return change

    def replace_snapshot(self, conversations: Iterable[Conversation], head_seq: int) -> Change:
        """After `resync_required`: the snapshot is the truth, whatever was held before."""
        old = set(self.conversations)
        self.conversations = {c.id: c for c in conversations}
        self.seq = head_seq
        return Change(conversations=old | set(self.conversations))

    def _keep(self, conversation: Conversation) -> bool:
        held = self.conversations.get(conversation.id)
        if held is not None and held.seq > conversation.seq:
            return False
        self.conversations[conversation.id] = conversation
        return True

    def apply(self, event: Event, now: datetime) -> Change:
        change = Change()
        if event.seq <= self.seq:
            return change  # seen already: applying twice changes nothing
        self.seq = event.seq
        data = event.data
        kind = event.type
        if kind in ("conversation.created", "conversation.updated", "message.created"):
            if "conversation" in data:
                conversation = msgspec.convert(data["conversation"], Conversation, strict=False)
                if self._keep(conversation):
                    change.conversations.add(conversation.id)
                    if kind == "conversation.created":
                        change.created.add(conversation.id)
            if kind == "message.created" and "message" in data:
                message = msgspec.convert(data["message"], Message, strict=False)
                held = self.messages.get(message.conversation_id)
                if held is not None:
                    held[message.id] = message
                change.messages.append(message)
                # A message ends that author's typing.
                self._drop_signal(message.conversation_id, _author_key(message.author), change)
        elif kind == "presence.updated":
            # One agent, or several coalesced into one event: {agents: [{agent_id, presence}]}.
            for item in data.get("agents") or [data]:
                self.presence[int(item["agent_id"])] = str(item["presence"])
            change.presence = True
        elif kind == "typing":
            author = msgspec.convert(data["author"], Author, strict=False)
            self._signal(
                int(data["conversation_id"]),
                _author_key(author),
                Signal(
                    who=_author_key(author),
                    name=author.name,
                    kind="typing",
                    contact=author.type == "contact",
                    private=bool(data.get("private")),
                    until=now + TYPING_TTL,
                ),
                active=bool(data.get("active")),
                change=change,
            )
        elif kind == "viewing":
            agent = msgspec.convert(data["agent"], AgentRef, strict=False)
            key = f"agent:{agent.id}"
            self._signal(
                int(data["conversation_id"]),
                key + ":viewing",
                Signal(who=key, name=agent.name, kind="viewing", contact=False, private=False, until=None),
                active=bool(data.get("active")),
                change=change,
            )
        return change

    def apply_all(self, events: Iterable[Event], now: datetime) -> Change:
        total = Change()
        for event in events:
            total.merge(self.apply(event, now))
        return total

    def _signal(
        self, conversation_id: int, key: str, signal: Signal, *, active: bool, change: Change
    ) -> None:
        bucket = self.signals.setdefault(conversation_id, {})
        if active:
            bucket[key] = signal
        else:
            bucket.pop(key, None)
        change.activity.add(conversation_id)

    def _drop_signal(self, conversation_id: int, key: str, change: Change) -> None:
        bucket = self.signals.get(conversation_id)
        if bucket and bucket.pop(key, None) is not None:
            change.activity.add(conversation_id)

    def signals_for(self, conversation_id: int, now: datetime, *, exclude: str | None = None) -> list[Signal]:
        """Live typing/viewing signals in a conversation, expired ones dropped."""
        bucket = self.signals.get(conversation_id, {})
        for key in [k for k, s in bucket.items() if s.until is not None and s.until < now]:
            del bucket[key]
        return [s for s in bucket.values() if s.who != exclude]

    def track(self, conversation_id: int) -> None:
        """Keep this conversation's messages from now on (before fetching its history, so
        nothing that arrives while the history loads is dropped)."""
        self.messages.setdefault(conversation_id, {})

    def set_messages(self, conversation_id: int, messages: Iterable[Message]) -> None:
        held = self.messages.setdefault(conversation_id, {})
        for message in messages:
            held[message.id] = message

    def thread(self, conversation_id: int) -> list[Message]:
        return [m for _, m in sorted(self.messages.get(conversation_id, {}).items())]

    def forget_messages(self, conversation_id: int) -> None:
        self.messages.pop(conversation_id, None)


def _author_key(author: Author) -> str:
    return f"{author.type}:{author.id}"
