"""The console's one owner of state.

Workers (the sync engine, REST calls) never touch widgets. They hand results to this
store; it applies them to `DeskState` and tells the app what changed with one
`StateChanged` message. Feed events are queued and applied together once per frame,
so a burst of a thousand events costs one redraw, not a thousand.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec
from textual.message import Message as TextualMessage

from agent_console.client.outbox import OutboxItem
from agent_console.client.sync import ConnectionState, Snapshot
from agent_console.core import clock
from agent_console.core.models import Agent, Conversation, ConversationPage, Event, Team
from agent_console.core.queue import server_order
from agent_console.core.reducer import Change, DeskState
from agent_console.core.visibility import customer_visible

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


class KbArticlesChanged(TextualMessage):
    """Articles changed on the desk (`kb.article.*` events): an open KB screen refreshes."""

    def __init__(self, articles: list[dict]) -> None:
        super().__init__()
        self.articles = articles  # the events' `article` views: id, title, revision...


class RosterChanged(TextualMessage):
    """Something the roster shows moved (a schedule, presence, an agent, a team, routing's
    waits): an open roster screen reads it again."""


# The events that change what the roster (`w`) shows.
ROSTER_EVENTS = frozenset(
    {
        "agent.shift",
        "agent.created",
        "agent.updated",
        "presence.updated",
        "team.created",
        "team.updated",
        "conversation.routed",
    }
)


class ConnectionChanged(TextualMessage):
    def __init__(self, state: ConnectionState) -> None:
        super().__init__()
        self.state = state


# Keys 1-7. The first four are the working queue (open conversations); the last three show
# what left it, so nothing snoozed, pending or resolved disappears from sight.
VIEWS = ("mine", "unassigned", "all", "urgent", "pending", "snoozed", "resolved")
VIEW_TITLES = {
    "mine": "Mine",
    "unassigned": "Unassigned",
    "all": "All",
    "urgent": "Urgent",
    "pending": "Pending",
    "snoozed": "Snoozed",
    "resolved": "Resolved",
}
STATUS_VIEWS = {"pending": "pending", "snoozed": "snoozed", "resolved": "resolved"}
RESOLVED_PAGE = 100  # resolved conversations fetched per page when the Resolved view asks
MAX_DELTAS = 5_000  # count moves kept since the server last counted
QUIET_BATCH = 2  # a batch this small is no burst: the next event need not wait for the clock
RECENT_RESOLVED = 200  # resolved while this console ran: kept, so "what did I just close" is at hand


@dataclass
class DeskStore:
    app: App
    desk: DeskState = field(default_factory=DeskState)
    me: Agent | None = None
    agents: list[Agent] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    connection: ConnectionState = field(default_factory=lambda: ConnectionState("connecting"))
    pending: list[Event] = field(default_factory=list)
    frame_interval: float = 1 / 30  # least time between two batches in a burst
    quiet_at_once: bool = True  # off in low-bandwidth mode: every batch keeps to the clock
    loaded: bool = False
    # Called with every batch of feed events once applied (the notifications room listens).
    on_applied: Callable[[list[Event]], None] | None = None
    # Newest customer-visible message per conversation (id, body): the queue's preview.
    last_visible: dict[int, tuple[int, str]] = field(default_factory=dict)
    # Resolved conversations are not in the snapshot: the Resolved view pages them in.
    resolved_total: int | None = None
    resolved_cursor: str | None = None
    resolved_loaded: bool = False
    recent_resolved: dict[int, None] = field(default_factory=dict)  # insertion-ordered, oldest first
    _flush_scheduled: bool = False
    last_flush: float = 0.0
    _unpainted: bool = False  # applied events whose frame is not on the screen yet
    _last_batch: int = 0
    # Incremental per-view counts: the views each held conversation counts in, the totals,
    # and what changed since (None: count everything again).
    _members: dict[int, tuple[str, ...]] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)
    _recount: set[int] | None = None
    _counted_for: int | None = None
    # A large desk: the console holds the snapshot's first rows in queue order (a prefix of every
    # view, up to `prefix_end`), the window of the view on screen and what the feed touched.
    # Counts are then the server's, moved by the events since (`_deltas`: seq, view, +1/-1);
    # an event for a conversation not held (its old state unknown) asks the server again.
    complete: bool = True
    prefix_end: tuple[str, int] | None = None
    server_counts: dict[str, int] | None = None
    counts_seq: int = 0
    recount_wanted: bool = False
    _deltas: list[tuple[int, str, int]] = field(default_factory=list)
    # The Urgent view also holds what breaches within this window ([tui] urgent_window).
    urgent_window: timedelta = timedelta(minutes=15)

    @property
    def urgent_seconds(self) -> int:
        """The urgent window as the server takes it (`breaching_within`)."""
        return int(self.urgent_window.total_seconds())

    now: datetime = field(default_factory=clock.utcnow)

    # --- called by workers -----------------------------------------------------------

    def take_snapshot(self, snapshot: Snapshot) -> None:
        """The snapshot, or one part of it (the first page comes before the rest)."""
        if self.me is not None:
            self.desk.me = self.me.id  # unread counts are this agent's
        if snapshot.replace:
            change = self.desk.replace_snapshot(snapshot.conversations, snapshot.head_seq)
            self.resolved_loaded = False  # pages read before the resync may be stale
        else:
            change = self.desk.load_snapshot(snapshot.conversations, snapshot.head_seq)
        self._recount = None
        if snapshot.counts is not None:
            self.server_counts = dict(snapshot.counts)
            self.counts_seq = snapshot.counts_seq
            self._deltas.clear()
            change.presence = True  # the counts in the status bar and tabs moved
        self.complete = snapshot.complete and snapshot.last
        if snapshot.replace or snapshot.counts is not None:
            self.prefix_end = None
        if not self.complete and snapshot.conversations:
            end = server_order(snapshot.conversations[-1])
            self.prefix_end = end if self.prefix_end is None else max(self.prefix_end, end)
        if snapshot.agents is not None:
            self.take_agents(snapshot.agents)
            change.presence = True
        for conversation in snapshot.conversations:
            self._note_customer(conversation)
        self.loaded = True
        self.app.post_message(StateChanged(change, resynced=snapshot.replace))

    def take_page(self, page: ConversationPage) -> None:
        """Rows of a large view read as the agent scrolls or filters: held, not counted as changes."""
        change = Change()
        for conversation in page.items:
            if self.desk.keep_personal(conversation):  # a REST copy: its unread count is ours
                change.conversations.add(conversation.id)
                self._changed((conversation.id,))
                self._note_customer(conversation)
        self.app.post_message(StateChanged(change))

    def take_counts(self, counts: dict[str, int], seq: int) -> None:
        """The server counted again (as of `seq`): events after it still move the counts."""
        self.server_counts = dict(counts)
        self.counts_seq = seq
        self._deltas = [d for d in self._deltas if d[0] > seq]
        self.app.post_message(StateChanged(Change(presence=True)))

    def forget(self, ids: Iterable[int]) -> None:
        """Drop conversations that scrolled out of the window (they are read again when needed)."""
        for conversation_id in ids:
            if self.desk.conversations.pop(conversation_id, None) is not None:
                self.last_visible.pop(conversation_id, None)
                self._members.pop(conversation_id, None)

    def _account(self, conversation_id: int, before: Conversation | None, *, created: bool, seq: int) -> None:
        """Move the server's counts by what a change did to one conversation (a large desk only)."""
        if self.complete or self.server_counts is None or seq <= self.counts_seq:
            return
        if before is None and not created:
            self.recount_wanted = True  # not held: what it counted in before is unknown
            return
        after = self.desk.conversations.get(conversation_id)
        old = set(self._views(before)) if before is not None else set()
        new = set(self._views(after)) if after is not None else set()
        for view in old - new:
            self._deltas.append((seq, view, -1))
        for view in new - old:
            self._deltas.append((seq, view, 1))
        if len(self._deltas) > MAX_DELTAS:
            self.recount_wanted = True  # a long quiet shift: fold them into a fresh count

    def _views(self, conversation: Conversation) -> tuple[str, ...]:
        return tuple(view for view in VIEWS[:-1] if self.in_view(conversation, view))

    def take_identity(self, me: Agent, teams: list[Team]) -> None:
        """Who the agent is (read alongside the snapshot, so it may come after the first
        rows): the Mine view, its count and unread marks are this agent's from now on."""
        self.me, self.teams = me, teams
        self.desk.me = me.id
        self._refresh_me()
        # Their conversations join the Mine view now: redrawn, and counted again.
        mine = {c.id for c in self.desk.conversations.values() if c.assignee and c.assignee.id == me.id}
        change = Change(conversations=mine, presence=True)
        self._recount = None
        self.app.post_message(StateChanged(change))

    def take_agents(self, agents: list[Agent]) -> None:
        """The roster as of a snapshot: presence from here on moves with the feed."""
        self.agents = agents
        self.desk.presence = {agent.id: agent.presence for agent in agents}
        self._refresh_me()

    def take_events(self, events: list[Event]) -> None:
        self.pending.extend(events)
        if self._flush_scheduled:
            return  # coalesced into the frame already due
        wait = self.last_flush + self.frame_interval - time.monotonic()
        small = self.quiet_at_once and self._last_batch <= QUIET_BATCH
        if wait <= 0 or (small and not self._unpainted):
            # The first event of a quiet spell is applied at once (a lone customer message must
            # not wait a frame), and so is one that comes after a small batch already on the
            # screen: at 20 messages a second the echo of the agent's own read mark (~15 ms
            # after each message) used to hold nearly every next message back to the clock.
            self.flush()
            return
        self._flush_scheduled = True
        if small:
            self.app.call_after_refresh(self.flush)  # right after the frame being drawn
        else:
            self.app.set_timer(wait, self.flush)  # a burst: applied together, once a frame

    def take_connection(self, state: ConnectionState) -> None:
        self.connection = state
        self.app.post_message(ConnectionChanged(state))

    def take_conversation(self, conversation: Conversation) -> None:
        """A REST answer (after an action) carries the newest state: keep it if newer."""
        held = self.desk.conversations.get(conversation.id)
        if self.desk.keep_personal(conversation):  # its unread count is this agent's
            self._account(conversation.id, held, created=False, seq=conversation.seq)
            self._changed((conversation.id,))
            self._note_customer(conversation)
            self.app.post_message(StateChanged(Change(conversations={conversation.id})))

    def take_resolved_page(self, page: ConversationPage, *, first: bool) -> None:
        """A page of the Resolved view, read on demand."""
        change = Change()
        for conversation in page.items:
            if self.desk.keep_personal(conversation):
                change.conversations.add(conversation.id)
                self._changed((conversation.id,))
                self._note_customer(conversation)
        self.resolved_total = page.counts.all
        self.resolved_cursor = page.next_cursor
        self.resolved_loaded = True
        if first:
            change.presence = True  # the count in the status bar and tabs moved
        self.app.post_message(StateChanged(change))

    def forget_resolved(self, keep: set[int]) -> None:
        """Leaving the Resolved view: drop what it paged in (it is read again on demand). What
        was resolved while this console ran stays, up to `RECENT_RESOLVED`."""
        keep = keep | self.recent_resolved.keys()
        for conversation_id in [
            c.id for c in self.desk.conversations.values() if c.status == "resolved" and c.id not in keep
        ]:
            del self.desk.conversations[conversation_id]
            self._changed((conversation_id,))
        self.resolved_loaded = False
        self.resolved_cursor = None

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self.pending:
            return
        self.last_flush = time.monotonic()
        events, self.pending = self.pending, []
        self._last_batch = len(events)
        touched = {cid for e in events if (cid := _conversation_id(e)) is not None}
        created = {cid for e in events if e.type == "conversation.created" and (cid := _conversation_id(e))}
        # Held as resolved, or not held at all (the snapshot holds every unresolved one).
        was_resolved = {
            cid
            for cid in touched - created
            if (c := self.desk.conversations.get(cid)) is None or c.status == "resolved"
        }
        before = {cid: self.desk.conversations.get(cid) for cid in touched}
        change = self.desk.apply_all(events, clock.utcnow())
        self._kb_changed(events)
        self._roster_changed(events)
        self._changed(touched | change.conversations)
        if not self.complete:
            last_seq = {cid: e.seq for e in events if (cid := _conversation_id(e)) is not None}
            for cid in touched:
                self._account(cid, before[cid], created=cid in created, seq=last_seq[cid])
        now_resolved = {
            cid for cid in touched if (c := self.desk.conversations.get(cid)) and c.status == "resolved"
        }
        for cid in sorted(now_resolved - was_resolved):
            self.recent_resolved.pop(cid, None)
            self.recent_resolved[cid] = None
        while len(self.recent_resolved) > RECENT_RESOLVED:
            del self.recent_resolved[next(iter(self.recent_resolved))]
        if self.resolved_total is not None:
            # Keep the server's total in step with what the feed resolves and reopens.
            self.resolved_total += len(now_resolved - was_resolved) - len(was_resolved - now_resolved)
        if change.presence:
            self._refresh_me()
        for message in change.messages:
            if customer_visible(message):
                self._note_visible(message.conversation_id, message.id, message.body)
        if change:
            self.app.post_message(StateChanged(change))
            self._unpainted = True
            self.app.call_after_refresh(self._painted)
        if self.on_applied is not None:
            self.on_applied(events)

    def _painted(self) -> None:
        self._unpainted = False

    def _kb_changed(self, events: list[Event]) -> None:
        """Article events go to the screens that show articles (the KB search and reader)."""
        articles = [
            e.data["article"] for e in events if e.type.startswith("kb.article.") and "article" in e.data
        ]
        if articles:
            self._tell_screens("wants_article_events", lambda: KbArticlesChanged(articles))

    def _roster_changed(self, events: list[Event]) -> None:
        if any(e.type in ROSTER_EVENTS for e in events):
            self._tell_screens("wants_roster_events", RosterChanged)

    def _tell_screens(self, wants: str, message: Callable[[], TextualMessage]) -> None:
        """A message of its own to each open screen that says `wants` (a message is posted once)."""
        for screen in self.app.screen_stack:
            if getattr(screen, wants, False):
                screen.post_message(message())

    def _refresh_me(self) -> None:
        if self.me is not None and self.me.id in self.desk.presence:
            self.me = msgspec.structs.replace(self.me, presence=self.desk.presence[self.me.id])

    def preview(self, conversation: Conversation) -> str:
        """The queue's subject column: the subject, else the last message the customer saw
        (a private note is never previewed; before any visible message is known, nothing)."""
        if conversation.subject:
            return conversation.subject
        held = self.last_visible.get(conversation.id)
        return held[1] if held else ""

    def _note_visible(self, conversation_id: int, message_id: int, body: str) -> None:
        held = self.last_visible.get(conversation_id)
        if held is None or held[0] <= message_id:
            self.last_visible[conversation_id] = (message_id, body)

    def _note_customer(self, conversation: Conversation) -> None:
        # The desk's own `last_visible` covers a note that came after the customer's message.
        for last in (conversation.last_visible, conversation.last_message):
            if customer_visible(last):
                self._note_visible(conversation.id, last.id, last.body)  # type: ignore[union-attr]

    # --- read marks (kept on the server: core/reducer.py counts, client/ReadSync sends) -----

    def unread(self, conversation_id: int) -> int:
        """Messages from the customer or colleagues since this agent last read it."""
        return self.desk.unread(conversation_id)

    def mark_locally(self, conversation_id: int, *, read_to: int | None) -> None:
        """Show a mark the agent just set at once; the server's `conversation.read` confirms it."""
        if self.desk.mark_locally(conversation_id, read_to=read_to):
            self._changed((conversation_id,))
            self.app.post_message(StateChanged(Change(conversations={conversation_id})))

    # --- queries for widgets -----------------------------------------------------------

    def presence_of(self, agent: Agent) -> str:
        """An agent's presence now: the feed's word, else the roster's."""
        return self.desk.presence.get(agent.id, agent.presence)

    def in_view(self, conversation: Conversation, view: str) -> bool:
        status = STATUS_VIEWS.get(view)
        if status is not None:
            return conversation.status == status
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
            return conversation.priority == "urgent" or (
                conversation.due_at is not None and conversation.due_at <= self.now + self.urgent_window
            )
        return True

    def advance(self, now: datetime) -> bool:
        """The wall clock moved: conversations whose due time came within the urgent window
        join the Urgent view. True when one did (its counts and rows need a redraw)."""
        before, self.now = self.now + self.urgent_window, now
        after = now + self.urgent_window
        entered = [
            c.id
            for c in self.desk.conversations.values()
            if c.due_at is not None and before < c.due_at <= after
        ]
        self._changed(entered)
        return bool(entered)

    def counts(self) -> dict[str, int | None]:
        """Conversations per view. Resolved: the server's total (None until first asked).

        Kept incrementally: only conversations changed since the last call are looked at
        again (every change asks for the counts; walking thousands each time cost P1 its
        budget). A snapshot, or another agent signed in, counts everything again."""
        if not self.complete and self.server_counts is not None:
            held = dict(self.server_counts)
            for seq, view, step in self._deltas:
                if seq > self.counts_seq:
                    held[view] += step
            server: dict[str, int | None] = dict(held)
            server["resolved"] = self.resolved_total
            return server
        me = self.me.id if self.me is not None else None
        if self._recount is None or me != self._counted_for:
            self._members = {}
            self._counts = dict.fromkeys(VIEWS[:-1], 0)
            self._counted_for = me
            dirty: Iterable[int] = list(self.desk.conversations)
        else:
            dirty = self._recount
        self._recount = set()
        for conversation_id in dirty:
            for view in self._members.pop(conversation_id, ()):
                self._counts[view] -= 1
            conversation = self.desk.conversations.get(conversation_id)
            if conversation is None:
                continue
            views = tuple(view for view in VIEWS[:-1] if self.in_view(conversation, view))
            self._members[conversation_id] = views
            for view in views:
                self._counts[view] += 1
        counts: dict[str, int | None] = dict(self._counts)
        counts["resolved"] = self.resolved_total
        return counts

    def _changed(self, ids: Iterable[int]) -> None:
        if self._recount is not None:
            self._recount.update(ids)


def _conversation_id(event: Event) -> int | None:
    """The id of the conversation an event carries a copy of (None if it carries none)."""
    conversation = event.data.get("conversation")
    if isinstance(conversation, dict) and isinstance(conversation.get("id"), int):
        return conversation["id"]
    return None
