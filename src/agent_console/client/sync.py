"""The sync engine: the one component that owns the live feed.

It reads a snapshot over REST, then follows the feed from the snapshot's `seq`. When the
feed drops it reconnects with exponential backoff and full jitter (so a hundred consoles
do not reconnect in step), resuming from the last applied `seq`. A socket that goes quiet
for longer than the heartbeat window counts as dead. `resync_required` makes it re-read
the snapshot. Front ends see only `on_snapshot`, `on_events` and `on_state` callbacks.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agent_console.client.backend import Backend
from agent_console.client.backoff import full_jitter
from agent_console.client.errors import NotAuthenticated, Unreachable
from agent_console.core.models import Agent, Conversation, Event

# What a console reads at start: everything still in play, or with `hold` the first rows of it in
# queue order (a prefix of every view); views reach past that by paging from the server (keyset
# cursors), as do views of resolved conversations.
SNAPSHOT_STATUSES = ("open", "pending", "snoozed")
SNAPSHOT_PAGE = 500
FIRST_PAGE = 100  # rows in the part handed over first (a few screens)


@dataclass(frozen=True, slots=True)
class ConnectionState:
    kind: str  # "connecting" | "live" | "reconnecting" | "offline"
    retry_at: float | None = None  # monotonic time of the next attempt
    since: float | None = None  # wall-clock time the data went stale (epoch seconds)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Snapshot:
    conversations: list[Conversation]
    head_seq: int
    replace: bool  # True after resync_required: drop what was held
    # The roster as of the snapshot (presence included), read after the pages so the feed's
    # replay from `head_seq` can only move it forward. None: the backend could not say.
    agents: list[Agent] | None = None
    # Handed over in parts (the first page at once): False until the last part.
    last: bool = True
    # Every conversation in play is in the snapshot's parts; False: only the first `hold` of them.
    complete: bool = True
    # The server's per-view counts as of `counts_seq` (read with the first part when holding a
    # prefix): "mine", "unassigned", "all", "urgent" (open), "pending", "snoozed".
    counts: dict[str, int] | None = None
    counts_seq: int = 0


class SyncEngine:
    def __init__(
        self,
        backend: Backend,
        *,
        on_snapshot: Callable[[Snapshot], Awaitable[None] | None],
        on_events: Callable[[list[Event]], Awaitable[None] | None],
        on_state: Callable[[ConnectionState], Awaitable[None] | None],
        heartbeat: float = 30.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        rng: random.Random | None = None,
        page_size: int = SNAPSHOT_PAGE,
        hold: int | None = None,
        early_first_page: bool = False,
        urgent_window: int | None = None,
        before_feed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.backend = backend
        # Awaited once, between the first snapshot and the feed: the console reads who the
        # agent is alongside the snapshot, and live events (whose unread marks depend on it)
        # wait for the answer; the first rows do not.
        self.before_feed = before_feed
        self.on_snapshot = on_snapshot
        self.on_events = on_events
        self.on_state = on_state
        self.heartbeat = heartbeat
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.rng = rng or random.Random()
        self.page_size = page_size
        self.hold = hold  # None: hold every conversation in play (the headless client)
        self.early_first_page = early_first_page  # hand the first page over before the rest
        self.urgent_window = urgent_window  # seconds; the server's urgent count uses it too
        self.seq = 0
        self.failures = 0
        self.stale_since: float | None = None
        self.reconnects = 0

    def backoff(self) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^failures)]."""
        return full_jitter(self.failures, self.rng, base=self.backoff_base, cap=self.backoff_cap)

    async def _emit(self, result: Awaitable[None] | None) -> None:
        if result is not None:
            await result

    async def snapshot(self, *, replace: bool) -> None:
        conversations: list[Conversation] = []
        cursor = None
        head = None
        counts: dict[str, int] | None = None
        counts_seq = 0
        handed = False  # the first part went out already
        early_agents: list[Agent] | None = None
        held = 0
        while True:
            # The first page painted early is a few screens: it is on screen sooner.
            first = self.early_first_page and cursor is None
            reading = self.backend.conversations(
                view="all",
                statuses=SNAPSHOT_STATUSES,
                limit=min(self.page_size, FIRST_PAGE) if first else self.page_size,
                cursor=cursor,
            )
            if first and self.hold is not None:
                # The roster and the counts are read alongside the first page, not after it.
                page, early_agents, (counts, counts_seq) = await asyncio.gather(
                    reading, self.backend.agents(), read_counts(self.backend, self.urgent_window)
                )
                if counts_seq < page.head_seq:
                    # Counted before an event the page already shows: the feed resumes after it,
                    # so it would never move the counts. Count again (now after the page).
                    counts, counts_seq = await read_counts(self.backend, self.urgent_window)
            else:
                page = await reading
            head = page.head_seq if head is None else min(head, page.head_seq)
            conversations += page.items
            held += len(page.items)
            cursor = page.next_cursor
            full = self.hold is not None and held >= self.hold
            if cursor is None:
                break
            if self.early_first_page and not handed:
                # The first page paints while the rest loads. Resume from its head: anything
                # after it is replayed, and the per-conversation seq keeps an older copy out.
                agents = early_agents if self.hold is not None else await self.backend.agents()
                self.seq = head
                await self._emit(
                    self.on_snapshot(
                        Snapshot(
                            conversations,
                            head,
                            replace,
                            agents,
                            last=False,
                            complete=False,
                            counts=counts,
                            counts_seq=counts_seq,
                        )
                    )
                )
                handed, conversations = True, []
            elif counts is None and self.hold is not None:
                counts, counts_seq = await read_counts(self.backend, self.urgent_window)
            if full:
                break
        agents = None if handed else await self.backend.agents()
        # Resume from the first page's head: anything after it is replayed, and the
        # per-conversation seq keeps an older copy from overwriting a newer one.
        self.seq = head or 0
        snapshot = Snapshot(
            conversations,
            self.seq,
            replace and not handed,
            agents,
            complete=cursor is None,
            counts=counts,
            counts_seq=counts_seq,
        )
        await self._emit(self.on_snapshot(snapshot))

    async def run(self) -> None:
        """Snapshot, then follow the feed forever (until cancelled)."""
        await self._emit(self.on_state(ConnectionState("connecting")))
        first = True
        while True:
            try:
                if first:
                    await self.snapshot(replace=False)
                    first = False
                    if self.before_feed is not None:
                        await self.before_feed()
                await self._follow()
            except NotAuthenticated as exc:
                await self._emit(self.on_state(ConnectionState("offline", detail=exc.message)))
                raise
            except (Unreachable, TimeoutError, OSError) as exc:
                detail = getattr(exc, "message", None) or type(exc).__name__
                await self._lost(detail)

    async def _lost(self, detail: str) -> None:
        if self.stale_since is None:
            self.stale_since = time.time()
        delay = self.backoff()
        self.failures += 1
        self.reconnects += 1
        await self._emit(
            self.on_state(
                ConnectionState(
                    "reconnecting",
                    retry_at=time.monotonic() + delay,
                    since=self.stale_since,
                    detail=detail,
                )
            )
        )
        await asyncio.sleep(delay)

    async def _follow(self) -> None:
        stream = self.backend.feed(self.seq).__aiter__()
        live = False
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
                # lands as the read completes, and a cancelled feed would keep applying events.
                async with asyncio.timeout(self.heartbeat):
                    item = await stream.__anext__()
            except StopAsyncIteration:
                raise Unreachable("the live feed closed") from None
            except TimeoutError:
                await _close(stream)
                raise Unreachable(f"no heartbeat for {self.heartbeat:.0f} s") from None
            if not live:
                live = True
                self.failures = 0
                self.stale_since = None
                await self._emit(self.on_state(ConnectionState("live")))
            if item.kind == "open":
                continue
            if item.kind == "resync_required":
                await self.snapshot(replace=True)
                # Continue on this socket: it streams live from `item.seq` onwards.
                self.seq = max(self.seq, item.seq)
            elif item.kind == "event" and item.event is not None:
                if item.event.seq <= self.seq:
                    continue
                batch = [item.event]
                self.seq = item.event.seq
                await self._emit(self.on_events(batch))


async def read_counts(backend: Backend, urgent_window: int | None = None) -> tuple[dict[str, int], int]:
    """Per-view counts from the server, and the seq they are as of (a large desk's console
    holds only part of it, so it cannot count for itself). `urgent_window` (seconds): the
    urgent count includes what is due within it, as the console's Urgent view does."""
    pages = await asyncio.gather(
        *(
            backend.conversations(
                view="all", statuses=(s,), limit=1, breaching_within=urgent_window if s == "open" else None
            )
            for s in SNAPSHOT_STATUSES
        )
    )
    open_, pending, snoozed = pages
    counts = {
        "mine": open_.counts.mine,
        "unassigned": open_.counts.unassigned,
        "all": open_.counts.all,
        "urgent": open_.counts.urgent,
        "pending": pending.counts.all,
        "snoozed": snoozed.counts.all,
    }
    return counts, min(page.head_seq for page in pages)


async def _close(stream: object) -> None:
    closer = getattr(stream, "aclose", None)
    if closer is not None:
        try:
            await closer()
        except Exception:  # noqa: BLE001 - closing a dead socket may fail in many ways
            pass
