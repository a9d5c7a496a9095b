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

from agent_console.core.models import AgentRef, Author, Conversation, Event, Message, ReadState

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


@dataclass(slots=True)
class ReadMark:
    """This agent's read state in one conversation, and how fresh it is.

    `as_of`: the conversation seq the count includes (a message event at or below it is
    counted already); `read_seq`: the seq of the `conversation.read` event that set the mark.
    """

    last_read: int = 0
    unread: int = 0
    read_seq: int = 0
    as_of: int = 0


def counts_as_unread(message: Message, me: int | None) -> bool:
    """The customer's messages and colleagues' replies and notes; never one's own, a bot's or
    an activity line (the server counts the same way: server/reads.py)."""
    if message.kind == "incoming":
        return True
    return message.kind in ("outgoing", "note") and message.author.type == "agent" and message.author.id != me


@dataclass
class DeskState:
    seq: int = 0
    # The agent this state is for: unread counts are theirs (None: nobody's, all zero).
    me: int | None = None
    reads: dict[int, ReadMark] = field(default_factory=dict)
    conversations: dict[int, Conversation] = field(default_factory=dict)
    presence: dict[int, str] = field(default_factory=dict)
    signals: dict[int, dict[str, Signal]] = field(default_factory=dict)
    # Messages of the conversations a client has opened; others are fetched on demand.
    messages: dict[int, dict[int, Message]] = field(default_factory=dict)

    def load_snapshot(self, conversations: Iterable[Conversation], head_seq: int) -> Change:
        """Take a REST snapshot read at `head_seq` (older copies never win)."""
        change = Change()
        for conversation in conversations:
            if self.keep_personal(conversation):
                change.conversations.add(conversation.id)
        self.seq = max(self.seq, head_seq)
        return change

    def replace_snapshot(self, conversations: Iterable[Conversation], head_seq: int) -> Change:
        """After `resync_required`: the snapshot is the truth, whatever was held before."""
        old = set(self.conversations)
        self.conversations = {}
        self.reads = {}
        for conversation in conversations:
            self.keep_personal(conversation)
        self.seq = head_seq
        return Change(conversations=old | set(self.conversations))

    def _keep(self, conversation: Conversation) -> bool:
        held = self.conversations.get(conversation.id)
        if held is not None and held.seq > conversation.seq:
            return False
        self.conversations[conversation.id] = self._overlay(conversation)
        return True

    def keep_personal(self, conversation: Conversation) -> bool:
        """A copy from a REST answer: its unread count and mark are this agent's own. They
        replace what is held unless the held ones are fresher (a later message or mark)."""
        mark = self.reads.get(conversation.id)
        if mark is None or (conversation.seq >= mark.as_of and conversation.read_seq >= mark.read_seq):
            self.reads[conversation.id] = ReadMark(
                last_read=conversation.last_read_message_id,
                unread=conversation.unread_count,
                read_seq=conversation.read_seq,
                as_of=conversation.seq,
            )
        kept = self._keep(conversation)
        if not kept:
            self._restamp(conversation.id)
        return kept

    def _overlay(self, conversation: Conversation) -> Conversation:
        """Feed copies are the same bytes for every agent: put this agent's count on them."""
        mark = self.reads.get(conversation.id) or ReadMark()
        if (conversation.unread_count, conversation.last_read_message_id, conversation.read_seq) == (
            mark.unread,
            mark.last_read,
            mark.read_seq,
        ):
            return conversation
        return msgspec.structs.replace(
            conversation,
            unread_count=mark.unread,
            last_read_message_id=mark.last_read,
            read_seq=mark.read_seq,
        )

    def _restamp(self, conversation_id: int) -> None:
        held = self.conversations.get(conversation_id)
        if held is not None:
            self.conversations[conversation_id] = self._overlay(held)

    def _count_message(self, message: Message, seq: int) -> bool:
        """Count a new message for this agent; True if their count changed."""
        mark = self.reads.setdefault(message.conversation_id, ReadMark())
        if seq <= mark.as_of:
            return False  # the count already includes it
        mark.as_of = seq
        before = mark.unread
        if message.author.type == "agent" and message.author.id == self.me and self.me is not None:
            # Writing there is reading it: the server moved this agent's mark to the message.
            mark.last_read = max(mark.last_read, message.id)
            mark.unread = 0
        elif message.id > mark.last_read and counts_as_unread(message, self.me):
            mark.unread += 1
        self._restamp(message.conversation_id)
        return mark.unread != before

    def mark_locally(self, conversation_id: int, *, read_to: int | None) -> bool:
        """What the agent just did, shown before the server's `conversation.read` confirms it:
        read up to `read_to`, or (None) the newest message unread. True if the count moved."""
        mark = self.reads.setdefault(conversation_id, ReadMark())
        before = mark.unread
        if read_to is not None:
            mark.last_read = max(mark.last_read, read_to)
            mark.unread = 0
        else:
            mark.unread = max(mark.unread, 1)
        self._restamp(conversation_id)
        return mark.unread != before

    def unread(self, conversation_id: int) -> int:
        mark = self.reads.get(conversation_id)
        return mark.unread if mark is not None else 0

    def apply(self, event: Event, now: datetime) -> Change:
        change = Change()
        if event.seq <= self.seq:
            return change  # seen already: applying twice changes nothing
        self.seq = event.seq
        data = event.data
        kind = event.type
        if kind in (
            "conversation.created",
            "conversation.updated",
            "message.created",
            "conversation.triaged",
        ):
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
                # Where the message stands in the conversation's history: the seq its copy
                # was stamped with (the event's own, unless the copy is a late one).
                position = data["conversation"].get("seq", event.seq) if "conversation" in data else event.seq
                if self._count_message(message, position):
                    change.conversations.add(message.conversation_id)
                # A message ends that author's typing.
                self._drop_signal(message.conversation_id, _author_key(message.author), change)
        elif kind == "conversation.read":
            read = msgspec.convert(data, ReadState, strict=False)
            if read.agent_id == self.me and self.me is not None:
                mark = self.reads.setdefault(read.conversation_id, ReadMark())
                if event.seq > mark.read_seq:
                    mark.last_read = read.last_read_message_id
                    mark.unread = read.unread_count
                    mark.read_seq = event.seq
                    mark.as_of = max(mark.as_of, event.seq)
                    self._restamp(read.conversation_id)
                    change.conversations.add(read.conversation_id)
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
