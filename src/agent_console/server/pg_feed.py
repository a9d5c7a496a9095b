"""The live feed across server processes on PostgreSQL: one event source per process.

Every process commits events to the shared log (server/pg_eventlog.py: serialised append, so
seqs commit in order, and a `NOTIFY` carrying the seq at commit). `PgFeedSource` is what each
process runs to learn about all of them, its own included: a dedicated autocommit connection
LISTENs on the feed channel; a notification only says "the log grew", and the source then
reads `seq > last_delivered` in order, page by page, and hands each page to `deliver`. So a
burst of notifications costs one read, a lost notification costs nothing but latency (a
read runs at least every `poll_interval` anyway), and `deliver` sees every committed event
exactly once, in seq order, from the `after` seq it was started at.

When the connection drops, the source reconnects with capped backoff, LISTENs again and only
then reads what it missed: an event committed before the new LISTEN is in the table by then,
one committed after it rings again; reading before LISTEN would leave a window where neither
holds. Whatever both paths yield is below `last_delivered` and is not handed on twice.

server/app.py (`shared_feed`) plugs this in where SQLite uses the store's `listener`: in
PostgreSQL mode the store gets no listener, and the source, started at the log's head when
the process starts, is the one path into `hub.publish`, `customers.publish` and
`router.observe`, with each `LoggedEvent` turned into the hub's `PendingEvent(seq, type, at,
data)` (the same four fields). It must be the only path: a process publishing its own commit
at once could send seq 12 before another process's 11 reaches it, and the hub never sends a
seq below one it has sent. Subscribers keep replaying from the store (`events_after`) up to
the database's head and go live on what the source delivers next; the hub drops the overlap.
`deliver` runs on the event loop, like the hub; it must not block.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

import psycopg

from agent_console.server.pg_eventlog import FEED_CHANNEL, LoggedEvent

Deliver = Callable[[list[LoggedEvent]], None]
log = logging.getLogger("agent_console.server")

# A listener that only waits sends nothing: without keepalives a peer that vanished (a
# partitioned network, a dead host) would leave it waiting forever on a dead socket.
_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}

# The same rows and order as pg_eventlog.read_after, on an async cursor.
_READ_AFTER = "SELECT seq, type, at, data FROM events WHERE seq > %s ORDER BY seq LIMIT %s"


class PgFeedSource:
    """Follows the shared event log for one process and hands new events to `deliver`."""

    def __init__(
        self,
        dsn: str,
        deliver: Deliver,
        *,
        after: int = 0,
        poll_interval: float = 3.0,
        page: int = 500,
        backoff_max: float = 5.0,
    ) -> None:
        self.dsn = dsn
        self.deliver = deliver
        self.last_delivered = after
        self.poll_interval = poll_interval
        self.page = page
        self.backoff_max = backoff_max
        self.listening = asyncio.Event()  # set while a LISTEN connection is up and caught up
        self.listener_pid: int | None = None  # the backend serving the LISTEN (for operators, tests)
        self.reads = 0  # queries against the log, to see that bursts coalesce
        self.reconnects = 0
        self.gaps = 0  # times the log had lost events this source had not delivered yet
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_read = 0.0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="pg-feed-source")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def run(self) -> None:
        delay = 0.0
        while not self._stopping:
            try:
                conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, **_KEEPALIVE)
                async with conn:
                    await conn.execute(f"LISTEN {FEED_CHANNEL}")  # before the catch-up read, not after
                    self.listener_pid = conn.info.backend_pid
                    await self._catch_up(conn)
                    self.listening.set()
                    delay = 0.0
                    await self._follow(conn)
            except Exception as exc:  # noqa: BLE001 - a feed that stops silently is the worst outcome
                self.listening.clear()
                if self._stopping:
                    return
                self.reconnects += 1
                delay = min(self.backoff_max, max(0.05, delay * 2))
                if isinstance(exc, psycopg.Error):
                    log.warning("live feed listener lost (%s); reconnecting in %.2f s", exc, delay)
                else:
                    log.exception("live feed listener failed; restarting in %.2f s", delay)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # jitter: processes don't stampede
            finally:
                self.listening.clear()

    async def _follow(self, conn: psycopg.AsyncConnection) -> None:
        while not self._stopping:
            newest = 0
            async for note in conn.notifies(timeout=self.poll_interval, stop_after=1):
                newest = max(newest, _seq_of(note.payload))
            if newest:
                # Coalesce: whatever else has rung meanwhile is covered by the same read.
                async for note in conn.notifies(timeout=0):
                    newest = max(newest, _seq_of(note.payload))
                stale = newest <= self.last_delivered  # already read on an earlier wake-up
                if stale and time.monotonic() - self._last_read < self.poll_interval:
                    continue
            # A wake-up, or `poll_interval` without a read: read either way (the safety net).
            await self._catch_up(conn)

    async def _catch_up(self, conn: psycopg.AsyncConnection) -> None:
        while True:
            async with conn.cursor() as cur:
                await cur.execute(_READ_AFTER, (self.last_delivered, self.page))
                rows = await cur.fetchall()
            self.reads += 1
            self._last_read = time.monotonic()
            if not rows:
                return
            events = [LoggedEvent(*row) for row in rows]
            if events[0].seq != self.last_delivered + 1:
                # Appends leave no holes, so rows were pruned while this process was behind:
                # its live sockets missed them. Say so; the events that remain still go out.
                self.gaps += 1
                log.error(
                    "live feed gap: seq %d..%d are gone from the log",
                    self.last_delivered + 1,
                    events[0].seq - 1,
                )
            self.last_delivered = events[-1].seq  # advanced first: a failing deliver never repeats
            try:
                self.deliver(events)
            except Exception:  # noqa: BLE001 - one bad consumer must not stop the feed
                log.exception("live feed delivery failed for seq %d..%d", events[0].seq, events[-1].seq)
            if len(rows) < self.page:
                return


def _seq_of(payload: str) -> int:
    """The seq a notification announces; an unexpected payload just means "read"."""
    try:
        return int(payload)
    except ValueError:
        return 1 << 62
