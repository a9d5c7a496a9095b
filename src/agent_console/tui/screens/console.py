"""The console screen: the queue, the open conversation, and every action on it.

Wide terminals (about 140 columns and up) show queue and conversation side by side;
narrower ones show one at a time (enter opens, escape goes back).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from agent_console.client.errors import BackendError
from agent_console.core import clock
from agent_console.core.models import CannedResponse, Conversation
from agent_console.core.queue import server_order
from agent_console.core.reducer import Change
from agent_console.tui.queue_pager import QueuePager
from agent_console.tui.safe_text import untrusted_line
from agent_console.tui.screens.composing import Composing
from agent_console.tui.screens.conversation_actions import ConversationActions
from agent_console.tui.screens.help import HelpScreen
from agent_console.tui.screens.marks import ReadingActions
from agent_console.tui.screens.opening import OpeningConversations
from agent_console.tui.screens.pickers import FilterInput
from agent_console.tui.screens.shift_actions import ShiftActions
from agent_console.tui.screens.triage_actions import TriageActions
from agent_console.tui.store import RESOLVED_PAGE, VIEW_TITLES, VIEWS
from agent_console.tui.widgets.conversation_pane import ConversationPane
from agent_console.tui.widgets.key_bar import KeyBar
from agent_console.tui.widgets.queue_list import QueueList
from agent_console.tui.widgets.queue_list import header as queue_header
from agent_console.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from agent_console.tui.app import ConsoleApp

WIDE = 140
# Tab titles when the full ones do not fit (80 columns, over SSH).
SHORT_TITLES = {
    "mine": "Mine",
    "unassigned": "Unas",
    "all": "All",
    "urgent": "Urg",
    "pending": "Pend",
    "snoozed": "Snz",
    "resolved": "Res",
}
PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def queue_order(conversation: Conversation) -> tuple:
    """Soonest due first; then those nobody waits on, most recently active first. (The first
    item tells the two apart, so their other items are never compared with each other.)"""
    if conversation.due_at is not None:
        return (0, conversation.due_at, PRIORITY_ORDER.get(conversation.priority, 9), conversation.id)
    return (1, -conversation.last_activity_at.timestamp(), conversation.id)


class ConsoleScreen(
    OpeningConversations,
    ShiftActions,
    ReadingActions,
    ConversationActions,
    Composing,
    TriageActions,
    Screen[None],
):
    DEFAULT_CSS = """
    ConsoleScreen #view-tabs { height: 1; padding: 0 1; background: $boost; }
    ConsoleScreen #queue-filter { display: none; height: 3; }
    ConsoleScreen.-filtering #queue-filter { display: block; }
    ConsoleScreen #queue-panel { width: 1fr; }
    ConsoleScreen #queue-header { height: 1; color: $text-muted; text-style: bold; }
    ConsoleScreen #new-marker { height: 1; display: none; background: $accent; color: $text; padding: 0 1; }
    ConsoleScreen #new-marker.-show { display: block; }
    ConsoleScreen.-wide #queue-panel { width: 9fr; max-width: 110; }
    ConsoleScreen.-wide ConversationPane { width: 11fr; border-left: solid $primary 40%; }
    ConsoleScreen.-narrow ConversationPane { display: none; }
    ConsoleScreen.-narrow.-reading ConversationPane { display: block; }
    ConsoleScreen.-narrow.-reading #queue-panel { display: none; }
    """

    BINDINGS = [
        # Undo first, so that at 80 columns it is never the one cut off while it can be used.
        Binding("u", "undo", "Undo", id="conv.undo"),  # in the footer only while undo is possible
        # The view keys are taught by the tab bar ("1 Mine 2 Unassigned ..."), not the footer,
        # which keeps its 80 columns for what acts on the conversation.
        Binding("1", "view('mine')", "Mine", show=False, id="view.mine"),
        Binding("2", "view('unassigned')", "Unassigned", show=False, id="view.unassigned"),
        Binding("3", "view('all')", "All", show=False, id="view.all"),
        Binding("4", "view('urgent')", "Urgent", show=False, id="view.urgent"),
        Binding("5", "view('pending')", "Pending", show=False, id="view.pending"),
        Binding("6", "view('snoozed')", "Snoozed", show=False, id="view.snoozed"),
        Binding("7", "view('resolved')", "Resolved", show=False, id="view.resolved"),
        Binding("slash", "filter", "Filter", id="queue.filter"),
        Binding("r", "reply", "Reply", id="conv.reply"),
        Binding("n", "note", "Note", id="conv.note"),
        Binding("t", "assign_me", "Take", id="conv.assign_me"),
        Binding("A", "assign_agent", "Assign agent", show=False, id="conv.assign_agent"),
        Binding("T", "assign_team", "Assign team", show=False, id="conv.assign_team"),
        Binding("U", "unassign", "Unassign", show=False, id="conv.unassign"),
        Binding("x", "resolve", "Resolve+next", id="conv.resolve"),
        Binding("o", "reopen", "Reopen", show=False, id="conv.reopen"),
        Binding("R", "retry", "Retry failed", show=False, id="conv.retry"),
        Binding("p", "pending", "Pending", show=False, id="conv.pending"),
        Binding("b", "bot", "Back to the bot", show=False, id="conv.bot"),
        Binding("z", "snooze", "Snooze", id="conv.snooze"),
        Binding("P", "priority", "Priority", show=False, id="conv.priority"),
        Binding("L", "labels", "Labels", show=False, id="conv.labels"),
        Binding("ctrl+g,K", "kb", "KB search", id="kb.search"),
        Binding("i", "contact", "Contact panel", show=False, id="conv.contact"),
        Binding("f2", "presence", "Presence", show=False, id="agent.presence"),
        Binding("escape", "back", "Back", show=False, id="conv.back"),
        Binding("question_mark,f1", "help", "Keys where you are", id="help"),
        Binding("m", "toggle_read", "Mark read/unread", show=False, id="conv.mark_read"),
        Binding("M", "quiet", "Quiet notifications (toasts only)", show=False, id="notify.quiet"),
        Binding("D", "dashboard", "Dashboard (KPIs)", show=False, id="stats.dashboard"),
        Binding("w", "roster", "Roster", show=False, id="shift.roster"),
        Binding("H", "handoff", "Hand over (end of shift)", show=False, id="shift.handoff"),
        Binding("a", "accept_triage", "Accept suggested priority", show=False, id="conv.accept_triage"),
        Binding("s", "suggest", "Suggested replies", show=False, id="conv.suggest"),
        Binding("I", "language", "Correct the conversation's language", show=False, id="conv.language"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = "all"
        self.filter_text = ""
        self.canned_cache: list[CannedResponse] | None = None
        self.typing_until: datetime | None = None
        self._draft_timer = None
        self.open_id: int | None = None
        self.viewing: int | None = None  # the conversation others are told this agent views
        self.composer_for: int | None = None  # whose draft the composer holds
        self.reviewing: set[int] = set()  # outbox items whose conflict is on screen
        # Per conversation: the newest message seen when the draft began (kept with the draft).
        self.draft_seen: dict[int, int | None] = {}
        self._resolved_counted = False
        # Held, not queried: state can arrive while the screen is still composing or already
        # closing (and the draft is saved on unmount, after the children are gone).
        self._pane = ConversationPane(id="pane")
        self._queue = QueueList(self._lookup, unread=self._unread, preview=self._preview, id="queue")
        self.pager = QueuePager(self)  # a large desk's views, read from the server as they scroll
        self._follow: int | None = None  # the cursor's conversation the pane opens after this frame
        self._cursor_was: int | None = None  # where the cursor last was (its row may be held)
        self._queue.jump = self.pager.jump
        self._tabs = Static(id="view-tabs")
        self._tabs_text: Text | None = None
        self._header = Static(id="queue-header")
        self._header_width = 0  # the width its column titles were drawn for
        self._new_marker = Static(id="new-marker")
        self._status = StatusBar(id="status")

    @property
    def console(self) -> ConsoleApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield self._tabs
        with Horizontal(id="console-body"):
            with Vertical(id="queue-panel"):
                # Filtered as the value changes: the rows are in the frame that echoes the key.
                yield FilterInput(
                    self._filter_changed,
                    placeholder="filter: customer, subject, label, #id",
                    id="queue-filter",
                )
                yield self._header
                yield self._queue
                yield self._new_marker
            yield self._pane
        yield self._status
        yield KeyBar()

    def _lookup(self, conversation_id: int) -> Conversation | None:
        return self.console.store.desk.conversations.get(conversation_id)

    def _preview(self, conversation: Conversation) -> str:
        return self.console.store.preview(conversation)

    def _unread(self, conversation_id: int) -> int:
        return self.console.store.unread(conversation_id)

    @property
    def queue(self) -> QueueList:
        return self._queue

    @property
    def pane(self) -> ConversationPane:
        return self._pane

    def on_mount(self) -> None:
        self._layout(self.size.width)
        self.queue.focus()
        self.rebuild_queue()  # state may have arrived before this screen was mounted
        self.refresh_tabs()
        self.refresh_status()
        self.set_interval(self.console.clock_interval, self._tick)

    def on_screen_resume(self) -> None:
        self._tick()  # the clock stood still under a modal

    def on_resize(self, event) -> None:  # noqa: ANN001 - textual.events.Resize
        self._layout(event.size.width)
        self.refresh_tabs()
        self.call_after_refresh(self._refresh_header)

    @on(QueueList.Resized)
    def _refresh_header(self) -> None:
        width = self.queue.scrollable_content_region.width
        if width and width != self._header_width:
            # Zero while the queue is hidden (narrow, reading): keep the titles it had. Asked
            # after every rebuild: unchanged titles must cost no layout pass and no bytes.
            self._header_width = width
            self._header.update(Text(queue_header(width), no_wrap=True), layout=False)

    def _layout(self, width: int) -> None:
        wide = width >= WIDE
        self.set_class(wide, "-wide")
        self.set_class(not wide, "-narrow")
        self.pane.set_class(width < 110, "-narrow")

    def _tick(self) -> None:
        now = clock.utcnow()
        if self.app.screen is self:
            # Under a modal (a picker, KB search, help) any redraw of this screen costs two
            # full-screen repaints (Textual's background-screen path: ~35 KB at 160x48, and
            # a keystroke in the picker waits behind them); the clock catches up on resume.
            self.queue.tick(now)
            if self.console.store.advance(now):  # due soon: into the Urgent view
                self.refresh_tabs()
                if self.view == "urgent":
                    self.rebuild_queue()
            self.refresh_status()
            if self.open_id is not None:
                self._show_signals(self.open_id)
                self.pane.thread.tick(now)
                conversation = self.console.store.desk.conversations.get(self.open_id)
                if conversation is not None:
                    self.pane.show_header(conversation)  # its SLA clocks count down too
        if self.typing_until is not None and now > self.typing_until and self.open_id is not None:
            self.typing_until = None
            self.console.signal_typing(self.open_id, False, self.pane.composer.private)

    # --- state → screen --------------------------------------------------------------

    def apply(self, change: Change, *, resynced: bool = False) -> None:
        """Redraw what `change` touched."""
        store = self.console.store
        if resynced:
            self.pager.reset()
        if store.recount_wanted:
            self.pager.recount_later()
        if change.conversations and self.view != "resolved":
            # Only the Resolved view holds resolved conversations: memory stays bounded.
            store.forget_resolved(keep={self.open_id} if self.open_id is not None else set())
        if change.conversations:
            if change.created or self.view == "resolved" or self._reordered(change.conversations):
                self.rebuild_queue(created=change.created)
            self.queue.refresh_conversations(change.conversations)
            self.refresh_tabs()
            self.refresh_status()  # its counts move with the conversations, from the first frame
            if self.open_id in change.conversations:
                conversation = store.desk.conversations.get(self.open_id)
                if conversation is not None:
                    self.pane.update_conversation(conversation)
        if change.messages and self.open_id is not None:
            mine = [m for m in change.messages if m.conversation_id == self.open_id]
            # Drawn from the feed's copy in this same step: no REST call, no worker hop. Read in
            # the same frame too, so the queue row is drawn once, without a count that a second
            # frame would take back (the mark is set in memory; a worker tells the server).
            if mine and self.pane.thread.add(mine):
                self._mark_open_read()
        if change.activity and self.open_id in change.activity:
            self._show_signals(self.open_id)
        if change.presence:
            self.refresh_status()
            self.refresh_tabs()
        if store.loaded and store.resolved_total is None and not self._resolved_counted:
            self._resolved_counted = True
            self.count_resolved()

    def _pane_visible(self) -> bool:
        return self.has_class("-wide") or self.has_class("-reading")

    def _mark_open_read(self) -> None:
        """What is on screen in the open conversation has been read: its count goes out."""
        if self.open_id is None or not self._pane_visible() or self.composer_for != self.open_id:
            return
        self.console.reads.read(self.open_id, self.pane.thread.last_seen_id)

    def _reordered(self, ids: set[int]) -> bool:
        """Whether a changed conversation joined or left this view, or moved past a neighbour.
        If none did, the order of the rest stands and only their rows need a repaint."""
        store = self.console.store
        rows, index = self.queue.rows, self.queue.index
        order = queue_order if store.complete or self.view == "resolved" else server_order
        for conversation_id in ids:
            conversation = store.desk.conversations.get(conversation_id)
            shown = conversation is not None and self._shown(conversation)
            at = index.get(conversation_id)
            if shown != (at is not None):
                return True
            if at is None:
                continue
            key = order(conversation)
            for neighbour, before in ((at - 1, True), (at + 1, False)):
                if 0 <= neighbour < len(rows):
                    other = store.desk.conversations.get(rows[neighbour])
                    if other is None:
                        return True
                    other_key = order(other)
                    if (other_key > key) if before else (other_key < key):
                        return True
        return False

    def _shown(self, conversation: Conversation) -> bool:
        """In this view and filter; on a large desk also inside the window the console holds."""
        store = self.console.store
        needle = self.filter_text.strip().lower()
        if self.view == "resolved" or store.complete:
            return store.in_view(conversation, self.view) and (
                not needle or _matches(conversation, needle, store.preview(conversation))
            )

        def match() -> bool:
            return _matches(conversation, needle, store.preview(conversation))

        return self.pager.shown(conversation, self.view, needle, match)

    def rebuild_queue(self, *, created: set[int] | frozenset[int] = frozenset(), hold: bool = True) -> None:
        """The view's rows again. The row under the cursor stays while the cursor is on it, even
        once it no longer belongs (taken from Unassigned, resolved, a colleague took it): were
        it dropped, the cursor would land on the next conversation and the agent's next key
        (a reply typed right after `t`) would go to another customer. It goes when the cursor
        leaves it; `hold=False` (another view, another filter) drops it at once."""
        store = self.console.store
        held = self.queue.cursor_id if hold else None
        rows = [c for c in store.desk.conversations.values() if c.id == held or self._shown(c)]
        # A large desk's window follows the server's order, so its edges are keyset positions.
        rows.sort(key=queue_order if store.complete or self.view == "resolved" else server_order)
        self.queue.set_rows([c.id for c in rows], created=created)
        if self.view == "resolved":
            self._show_resolved_line()
        # A scrollbar may have come or gone with the rows: keep the titles over the columns.
        self.call_after_refresh(self._refresh_header)

    def _counts(self) -> dict[str, int | None]:
        """Per-view counts, or none known before the first snapshot (not a row of zeros)."""
        store = self.console.store
        return store.counts() if store.loaded else dict.fromkeys(VIEWS)

    def refresh_tabs(self) -> None:
        counts = self._counts()
        width = self.size.width - 2
        text = Text(no_wrap=True, overflow="ellipsis")
        for titles in (VIEW_TITLES, SHORT_TITLES):
            text = Text(no_wrap=True, overflow="ellipsis")
            for number, view in enumerate(VIEWS, start=1):
                style = "bold reverse" if view == self.view else ""
                count = counts[view]
                label = titles[view] if count is None else f"{titles[view]} {count:,}"
                text.append(f" {number} {label} ", style)
                text.append(" " if titles is VIEW_TITLES else "")
            if text.cell_len <= width:
                break
        if self.filter_text:
            text.append(" filter: ")
            text.append_text(untrusted_line(self.filter_text, "italic"))
        waiting = self.console.shifts.waiting_mark()  # routing could not place these (tui/shifts.py)
        if waiting is not None:
            text.append(" ")
            text.append_text(waiting)
        if text != self._tabs_text:
            # One line, always: no layout pass, and nothing written when nothing changed.
            self._tabs_text = text
            self._tabs.update(text, layout=False)

    def refresh_status(self) -> None:
        store = self.console.store
        me = store.me
        self._status.show(
            store.connection,
            agent_name=me.name if me else "…",
            presence=store.presence_of(me) if me else "offline",
            counts=self._counts(),
            low_bandwidth=self.console.low_bandwidth,
            zone=me.timezone if me else None,
        )

    def show_notice(self, text: str, *, severity: str, timeout: float) -> None:
        self._status.show_notice(text, severity=severity, timeout=timeout)

    @on(QueueList.NewBelow)
    def _new_below(self, event: QueueList.NewBelow) -> None:
        if self.view == "resolved":
            return  # the line tells how much of the Resolved view is loaded instead
        marker = self._new_marker
        marker.set_class(event.count > 0, "-show")
        if event.count:
            marker.update(Text(f"↓ {event.count} new below · G to jump"))

    def _show_resolved_line(self) -> None:
        store = self.console.store
        marker = self._new_marker
        marker.set_class(True, "-show")
        if not store.resolved_loaded:
            marker.update(Text("loading resolved conversations…"))
            return
        shown = len(self.queue.rows)
        total = store.resolved_total or 0
        more = " · G or the end of the list loads more" if store.resolved_cursor else ""
        marker.update(Text(f"{shown:,} of {total:,} resolved{more}"))

    @work(group="resolved-count", exit_on_error=False)
    async def count_resolved(self) -> None:
        """Tab 7's count before the view is opened: one row's page carries the server's total."""
        try:
            page = await self.console.backend.conversations(view="all", statuses=("resolved",), limit=1)
        except BackendError:
            self._resolved_counted = False  # asked again with the next change
            return
        store = self.console.store
        if store.resolved_total is None:
            store.resolved_total = page.counts.all
            self.refresh_tabs()

    @work(exclusive=True, group="resolved", exit_on_error=False)
    async def load_resolved(self, *, more: bool = False) -> None:
        """Page resolved conversations in from the server (keyset cursor), on demand."""
        store = self.console.store
        cursor = store.resolved_cursor if more else None
        if more and cursor is None:
            return
        try:
            page = await self.console.backend.conversations(
                view="all", statuses=("resolved",), limit=RESOLVED_PAGE, cursor=cursor
            )
        except BackendError as exc:
            self.console.report(exc, prefix="resolved conversations not loaded")
            return
        if self.view == "resolved":
            store.take_resolved_page(page, first=not more)

    def _show_signals(self, conversation_id: int) -> None:
        store = self.console.store
        me = store.me
        exclude = f"agent:{me.id}" if me else None
        signals = store.desk.signals_for(conversation_id, clock.utcnow(), exclude=exclude)
        if not signals:
            self.pane.show_signals(None)
            return
        text = Text()
        for signal in signals:
            if text:
                text.append(" · ")
            text.append_text(untrusted_line(signal.name or "someone", "bold"))
            if signal.kind == "typing":
                what = (
                    " is typing…"
                    if signal.contact
                    else (" is writing a note…" if signal.private else " is typing a reply…")
                )
            else:
                what = " is viewing this conversation"
            text.append(what)
        self.pane.show_signals(text)

    # --- queue → conversation -------------------------------------------------------------

    @on(QueueList.Opened)
    def _opened(self, event: QueueList.Opened) -> None:
        self.open_conversation(event.conversation_id)

    @on(QueueList.Highlighted)
    def _highlighted(self, event: QueueList.Highlighted) -> None:
        left, self._cursor_was = self._cursor_was, event.conversation_id
        if left is not None and left != event.conversation_id and left in self.queue.index:
            conversation = self.console.store.desk.conversations.get(left)
            if conversation is None or not self._shown(conversation):
                self.call_after_refresh(self.rebuild_queue)  # the row held while the cursor was on it goes
        # Side by side, the pane follows the cursor; one-at-a-time waits for enter. It follows
        # after the frame that moves the cursor: the queue's rows are on screen first, and keys
        # that come faster than frames (a held `j`, PageDown) open only where the cursor stops.
        if self.has_class("-wide") and event.conversation_id is not None:
            if self._follow is None:
                self.call_after_refresh(self._follow_cursor)
            self._follow = event.conversation_id
        store = self.console.store
        near_end = self.queue.cursor_row >= len(self.queue.rows) - 3
        if self.view == "resolved" and store.resolved_cursor and near_end:
            self.load_resolved(more=True)
        elif self.view != "resolved" and not store.complete:
            self.pager.near(self.queue.cursor_row, len(self.queue.rows))

    def target(self) -> int | None:
        """The conversation an action applies to: the open one when reading it, else the cursor's."""
        reading = self.has_class("-reading") and self.has_class("-narrow")
        focus_in_pane = self.focused is not None and self.pane in self.focused.ancestors_with_self
        if self.open_id is not None and (reading or focus_in_pane):
            return self.open_id
        return self.queue.cursor_id or self.open_id

    # --- actions -------------------------------------------------------------------------

    def action_view(self, view: str) -> None:
        store = self.console.store
        leaving_resolved = self.view == "resolved" and view != "resolved"
        self.view = view
        if leaving_resolved:
            store.forget_resolved(keep={self.open_id} if self.open_id is not None else set())
        self._new_marker.set_class(False, "-show")
        if view == "resolved":
            self.load_resolved()
        self.rebuild_queue(hold=False)
        if not store.complete:
            self.pager.let_go()  # the last view's window is not needed now
        self.refresh_tabs()
        self.remove_class("-reading")
        self.queue.focus()

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.remove_class("-reading")
        self.query_one("#queue-filter", Input).focus()

    def _filter_changed(self, value: str) -> None:
        if value == self.filter_text:
            return
        self.filter_text = value
        self.rebuild_queue(hold=False)
        self.refresh_tabs()

    @on(Input.Submitted, "#queue-filter")
    def _filter_done(self) -> None:
        self.queue.focus()
        if not self.filter_text:
            self.remove_class("-filtering")

    def action_back(self) -> None:
        """Escape steps back one level: filter box, then the open conversation, then the filter."""
        in_filter = self.focused is not None and self.focused.id == "queue-filter"
        in_pane = self.focused is not None and self.pane in self.focused.ancestors_with_self
        if in_filter:
            self._clear_filter()
        elif self.has_class("-reading") and self.has_class("-narrow"):
            self.remove_class("-reading")
            self.queue.focus()
        elif in_pane:
            self.queue.focus()
        elif self.filter_text:
            self._clear_filter()
        else:
            self.queue.focus()

    def _clear_filter(self) -> None:
        self.query_one("#queue-filter", Input).value = ""
        self.filter_text = ""
        self.remove_class("-filtering")
        self.rebuild_queue(hold=False)
        self.refresh_tabs()
        self.queue.focus()

    def action_contact(self) -> None:
        self.pane.toggle_class("-contact")

    def action_help(self) -> None:
        focused = self.focused
        if focused is None or focused is self.queue:
            place = "the queue"
        elif focused.id == "queue-filter":
            place = "the queue filter"
        elif self.pane.composer in focused.ancestors_with_self:
            place = "the composer"
        else:
            place = "the conversation"
        self.app.push_screen(HelpScreen(self, f"Keys in {place}"))

    def action_dashboard(self) -> None:
        from agent_console.tui.screens.dashboard import DashboardScreen  # on first use

        app = self.console
        teams = list(app.store.teams or [])
        self.app.push_screen(DashboardScreen(app.backend, teams=teams, low_bandwidth=app.low_bandwidth))


def _matches(conversation: Conversation, needle: str, preview: str) -> bool:
    """The filter matches what the row shows (the preview: never a private note's text)."""
    if needle.startswith("#") and needle[1:].isdigit():
        return conversation.id == int(needle[1:])
    haystack = " ".join(
        [
            conversation.contact.name,
            conversation.contact.email or "",
            conversation.subject or "",
            preview,
            " ".join(conversation.labels),
            conversation.assignee.name if conversation.assignee else "",
            str(conversation.id),
        ]
    ).lower()
    return all(word in haystack for word in needle.split())
