"""The console's one owner of state.

Workers (the sync engine, REST calls) never touch widgets. They hand results to this
store; it applies them to `DeskState` and tells the app what changed with one
`StateChanged` message. Feed events are queued and applied together once per frame,
so a burst of a thousand events costs one redraw, not a thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec
from textual.message import Message as TextualMessage

from agent_console.client.outbox import OutboxItem
from agent_console.client.sync import ConnectionState, Snapshot
from agent_console.core import clock
from agent_console.core.models import Agent, Conversation, Event, Team
from agent_console.core.reducer import Change, DeskState

if TYPE_CHECKING:
    from textual.app import App


class StateChanged(TextualMessage):
    """State changed; `change` says what, so widgets redraw only that."""

    def __init__(self, change: Change, *, resynced: bool = False) -> None:
        super().__init__()
        self.change = change
        self.resynced = resynced  # a fresh snapshot replaced everything: threads need a re-read


class OutboxChanged(TextualMessage):
    """A queued reply, note or action moved: pending, sent or failed."""

    def __init__(self, item: OutboxItem) -> None:
        super().__init__()
        self.item = item


class ConnectionChanged(TextualMessage):
    def __init__(self, state: ConnectionState) -> None:
        super().__init__()
        self.state = state


VIEWS = ("mine", "unassigned", "all", "urgent")
VIEW_TITLES = {"mine": "Mine", "unassigned": "Unassigned", "all": "All", "urgent": "Urgent"}


@dataclass
class DeskStore:
    app: App
    desk: DeskState = field(default_factory=DeskState)
    me: Agent | None = None
    agents: list[Agent] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    connection: ConnectionState = field(default_factory=lambda: ConnectionState("connecting"))
    pending: list[Event] = field(default_factory=list)
    frame_interval: float = 1 / 30
    loaded: bool = False
    _flush_scheduled: bool = False

    # --- called by workers -----------------------------------------------------------

    def take_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.replace:
            change = self.desk.replace_snapshot(snapshot.conversations, snapshot.head_seq)
        else:
            change = self.desk.load_snapshot(snapshot.conversations, snapshot.head_seq)
        self.loaded = True
        self.app.post_message(StateChanged(change, resynced=snapshot.replace))

    def take_events(self, events: list[Event]) -> None:
        self.pending.extend(events)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.app.set_timer(self.frame_interval, self.flush)

    def take_connection(self, state: ConnectionState) -> None:
        self.connection = state
        self.app.post_message(ConnectionChanged(state))

    def take_conversation(self, conversation: Conversation) -> None:
        """A REST answer (after an action) carries the newest state: keep it if newer."""
        held = self.desk.conversations.get(conversation.id)
        if held is None or held.seq <= conversation.seq:
            self.desk.conversations[conversation.id] = conversation
            self.app.post_message(StateChanged(Change(conversations={conversation.id})))

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self.pending:
            return
        events, self.pending = self.pending, []
        change = self.desk.apply_all(events, clock.utcnow())
        if self.me is not None and change.presence and self.me.id in self.desk.presence:
            self.me = msgspec.structs.replace(self.me, presence=self.desk.presence[self.me.id])
        if change:
            self.app.post_message(StateChanged(change))

    # --- queries for widgets -----------------------------------------------------------

    def in_view(self, conversation: Conversation, view: str) -> bool:
        if conversation.status != "open":
            return False
        if view == "mine":
            return (
                conversation.assignee is not None
                and self.me is not None
                and (conversation.assignee.id == self.me.id)
            )
        if view == "unassigned":
            return conversation.assignee is None
        if view == "urgent":
            return conversation.priority == "urgent"
        return True

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(VIEWS, 0)
        for conversation in self.desk.conversations.values():
            for view in VIEWS:
                if self.in_view(conversation, view):
                    counts[view] += 1
        return counts

