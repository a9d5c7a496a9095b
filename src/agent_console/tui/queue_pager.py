"""Large views, paged from the server as the agent scrolls.

On a large desk the console holds the snapshot's first rows in queue order (a prefix of every
view, up to `DeskStore.prefix_end`). The view on screen is a window of the server's order:
the held conversations of that view between two queue positions, `lo` and `hi` (None: the
window reaches that end of the view). Every conversation of the view between them is held
(the pages read them, the feed keeps them current), so the window shows exactly the
server's rows there. Near an edge that has more, the next page is read by keyset cursor;
past `window` rows the far side is let go. The filter runs over what is held at once and on
the server after a pause in typing (a newer key cancels the older request).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent_console.client.errors import BackendError
from agent_console.client.sync import read_counts
from agent_console.core.models import Conversation, ConversationPage
from agent_console.core.queue import END_CURSOR, cursor_for, server_order

if TYPE_CHECKING:
    from agent_console.tui.screens.console import ConsoleScreen

Key = tuple[str, int]
# The server's view and statuses behind each paged view (Resolved pages on its own).
SERVER_VIEWS = {
    "mine": ("mine", ("open",)),
    "unassigned": ("unassigned", ("open",)),
    "all": ("all", ("open",)),
    "urgent": ("urgent", ("open",)),
    "pending": ("all", ("pending",)),
    "snoozed": ("all", ("snoozed",)),
}
FILTER_PAUSE = 0.15  # seconds of no typing before the filter asks the server
FILTER_FIRST = 100  # the filter's first answer: a few screens (a search scans; more as it scrolls)
RECOUNT_PAUSE = 0.5  # seconds: events for conversations not held are counted by the server, batched


@dataclass
class Window:
    view: str
    query: str  # the filter as asked of the server ("" for none)
    lo: Key | None
    hi: Key | None
    hits: set[int] = field(default_factory=set)  # the server's matches for `query`
    asked: bool = False  # the server's first page for `query` is in
    at_prefix: bool = True  # `hi` is the end of the held prefix (which grows as the snapshot loads)


class QueuePager:
    def __init__(self, screen: ConsoleScreen) -> None:
        self.screen = screen
        self.window: Window | None = None
        self.loading: set[str] = set()
        self._filter_timer = None
        self._recount_timer = None

    @property
    def store(self):  # noqa: ANN201 - DeskStore
        return self.screen.console.store

    @property
    def page(self) -> int:
        return self.screen.console.queue_page

    @property
    def limit(self) -> int:
        """Rows of one view held beyond the prefix."""
        return self.screen.console.queue_window

    # --- which rows ------------------------------------------------------------------------

    def current(self, view: str, needle: str) -> Window:
        window = self.window
        if window is None or (window.view, window.query) != (view, needle):
            window = self.window = Window(view, needle, None, None)
            # What was asked for the filter before is stale now: drop it, do not wait for it.
            self.screen.workers.cancel_group(self.screen, "queue-filter")
            if needle:
                self._ask_later()
        if window.at_prefix:
            window.hi = self.store.prefix_end
        return window

    def reset(self) -> None:
        """A new snapshot: the held rows are the prefix again."""
        self.window = None
        self.loading.clear()

    def shown(self, conversation: Conversation, view: str, needle: str, match: Callable[[], bool]) -> bool:
        store = self.store
        if not store.in_view(conversation, view):
            return False
        window = self.current(view, needle)
        if needle and conversation.id not in window.hits and not match():
            return False
        key = server_order(conversation)
        return (window.lo is None or key >= window.lo) and (window.hi is None or key <= window.hi)

    # --- reading more ----------------------------------------------------------------------

    def near(self, row: int, rows: int) -> None:
        """The cursor moved to `row` of `rows`: read ahead before it reaches an edge."""
        window = self.window
        if window is None:
            return
        ahead = max(1, self.page // 2)
        if window.hi is not None and rows - 1 - row < ahead:
            self._read("after")
        if window.lo is not None and row < ahead:
            self._read("before")

    def jump(self, where: str) -> bool:
        """home/end: True when the rows there must be read first (the cursor follows them)."""
        window = self.window
        if window is None or self.store.complete or self.screen.view == "resolved":
            return False  # the whole view is held
        if where == "end" and window.hi is not None:
            self._read("end")
            return True
        if where == "start" and window.lo is not None:
            window.lo, window.at_prefix, window.asked = None, True, False
            if window.query:
                window.hits.clear()
                self._ask_later(0)
            self._settle(trim=None, then="start")
            return True
        return False

    def _read(self, direction: str) -> None:
        if direction in self.loading or (direction != "end" and "end" in self.loading):
            return
        window = self.window
        if window is None:
            return
        self.loading.add(direction)
        self.screen.run_worker(self._page(window, direction), group=f"queue-{direction}", exit_on_error=False)

    async def _page(self, window: Window, direction: str) -> None:
        view, statuses = SERVER_VIEWS[window.view]
        kwargs: dict = {}
        if direction == "after" and window.hi is not None:
            kwargs["cursor"] = cursor_for(*window.hi)
        elif direction == "before" and window.lo is not None:
            kwargs["before"] = cursor_for(*window.lo)
        elif direction == "end":
            kwargs["before"] = END_CURSOR
        try:
            page = await self.screen.console.backend.conversations(
                view=view,
                statuses=statuses,
                query=window.query or None,
                limit=self.page,
                breaching_within=self.store.urgent_seconds if view == "urgent" else None,
                **kwargs,
            )
        except BackendError as exc:
            self.screen.console.report(exc, prefix="more of the queue not loaded")
            return
        finally:
            self.loading.discard(direction)
        if window is not self.window:
            return  # another view or filter since: this page is not for it
        self._take(window, direction, page)

    def _take(self, window: Window, direction: str, page: ConversationPage) -> None:
        items = page.items
        more = page.next_cursor is not None
        if window.query:
            window.hits.update(c.id for c in items)
        window.at_prefix = False
        if direction == "after":
            window.hi = server_order(items[-1]) if more and items else None
        elif direction == "before":
            window.lo = server_order(items[0]) if more and items else None
        elif direction == "end":
            window.lo = server_order(items[0]) if more and items else None
            window.hi = None
        elif direction == "first":
            window.asked = True
            window.lo, window.hi = None, (server_order(items[-1]) if more and items else None)
        self.store.take_page(page)
        trim = {"after": "top", "before": "bottom", "end": "top"}.get(direction)
        self._settle(trim=trim, then="end" if direction == "end" else None)

    def _settle(self, *, trim: str | None, then: str | None) -> None:
        """Rebuild the rows; let go of the far side past the window's size; drop what is held
        for nothing."""
        screen = self.screen
        screen.rebuild_queue()
        window = self.window
        rows = screen.queue.rows
        if window is not None and trim is not None and len(rows) > self.limit:
            conversations = self.store.desk.conversations
            if trim == "top":
                window.lo = server_order(conversations[rows[len(rows) - self.limit]])
            else:
                window.hi, window.at_prefix = server_order(conversations[rows[self.limit - 1]]), False
            screen.rebuild_queue()
            self.let_go()
        if then == "end":
            screen.queue.action_last()
        elif then == "start":
            screen.queue.action_first()

    def let_go(self) -> None:
        """Forget conversations outside the prefix and the window (not the open one)."""
        store = self.store
        keep = set(self.screen.queue.rows)
        if self.screen.open_id is not None:
            keep.add(self.screen.open_id)
        end = store.prefix_end
        drop = [
            c.id
            for c in store.desk.conversations.values()
            if c.id not in keep and c.status != "resolved" and (end is None or server_order(c) > end)
        ]
        store.forget(drop)

    # --- the filter on the server ------------------------------------------------------------

    def _ask_later(self, pause: float = FILTER_PAUSE) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.screen.set_timer(pause, self._ask)

    def _ask(self) -> None:
        self._filter_timer = None
        window = self.window
        if window is None or not window.query:
            return
        # Exclusive: a newer question cancels the one still in flight.
        self.screen.run_worker(self._first(window), group="queue-filter", exclusive=True, exit_on_error=False)

    async def _first(self, window: Window) -> None:
        view, statuses = SERVER_VIEWS[window.view]
        try:
            page = await self.screen.console.backend.conversations(
                view=view,
                statuses=statuses,
                query=window.query,
                limit=min(self.page, FILTER_FIRST),
                breaching_within=self.store.urgent_seconds if view == "urgent" else None,
            )
        except BackendError as exc:
            self.screen.console.report(exc, prefix="filter not run on the server")
            return
        if window is self.window:
            self._take(window, "first", page)

    # --- counts --------------------------------------------------------------------------------

    def recount_later(self) -> None:
        if self._recount_timer is None:
            self._recount_timer = self.screen.set_timer(RECOUNT_PAUSE, self._recount)

    def _recount(self) -> None:
        self._recount_timer = None
        self.store.recount_wanted = False
        self.screen.run_worker(self._count(), group="queue-count", exclusive=True, exit_on_error=False)

    async def _count(self) -> None:
        try:
            counts, seq = await read_counts(self.screen.console.backend, self.store.urgent_seconds)
        except BackendError:
            self.store.recount_wanted = True  # asked again with the next change
            return
        self.store.take_counts(counts, seq)
