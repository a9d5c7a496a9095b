"""What several desk server processes on one PostgreSQL share besides the store's tables.

- `Lease`: a job exactly one process should do (sending the email outbox: a reply must go
  to the relay once) belongs to whichever process holds a session-level advisory lock on a
  connection of its own. When that process dies its connection ends, PostgreSQL releases
  the lock, and another process takes the job over at its next try.
- `PresenceLedger`: an agent is online while they have a live-feed socket on ANY process. Each
  process writes its own sockets per agent (`feed_sockets`) and a heartbeat (`desk_processes`);
  a process that stops beating (killed, its machine gone) is reaped by the others after
  `PROCESS_EXPIRY` seconds, and its agents' presence is worked out again from what is left.
- `SharedRateLimiter`: the web chat's rate limits (server/widget_store.RateLimiter keeps them
  in memory, right for one process) counted in the database, so a visitor cannot multiply
  its allowance by the number of processes behind the proxy.

The rest is shared by construction: agents' and visitors' tokens, idempotency keys, SLA
schedules and routing state are rows, and every write holds the desk's write lock
(server/pg_connection.py), so a job several processes run (the SLA timer, routing) acts once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
import uuid
from typing import Any

import psycopg

from agent_console.server.widget_store import RateLimited
from agent_console.server.write_thread import IN_PLACE, WriteThread

log = logging.getLogger("agent_console.server")

# The email outbox's lease ("agentmai").
OUTBOX_LEASE = 0x6167656E746D6169 - (1 << 63)
_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


class SharedServices:
    """What a process on a shared PostgreSQL desk runs beside the store (server/app.py's
    `create_app` in PostgreSQL mode): the live feed's source, the only path into `publish`
    (server/pg_feed.py); presence counted over every process; the rate limits as rows."""

    def __init__(self, dsn: str, store: Any, publish: Any, endpoint: Any, writes: Any) -> None:
        from agent_console.server.pg_feed import PgFeedSource
        from agent_console.server.store_base import PendingEvent

        def deliver(events: list[Any]) -> None:
            publish([PendingEvent(e.seq, e.type, e.at, e.data) for e in events])

        # From the log's head when the process starts: sockets replay what came before.
        self.feed = PgFeedSource(dsn, deliver, after=store.head_seq())
        self.presence = endpoint.presence_ledger = PresenceLedger(store, writes)
        self.rate_limiter = SharedRateLimiter(store)
        self.start_hooks = [self.feed.start, self.presence.start]
        self.stop_hooks = [self.presence.stop, self.feed.stop]  # presence goes out while the feed runs


class Lease:
    """Held by at most one process at a time; `held()` tries to take it without waiting."""

    def __init__(self, dsn: str, key: int, name: str) -> None:
        self.dsn = dsn
        self.key = key
        self.name = name
        self._conn: psycopg.Connection[Any] | None = None

    def held(self) -> bool:
        """True while this process holds the lease (taking it when it is free)."""
        if self._conn is not None:
            try:
                self._conn.execute("SELECT 1")  # still connected: still ours
                return True
            except psycopg.Error:
                log.warning("lost the %s lease (its connection dropped)", self.name)
                self.release()
        try:
            conn = psycopg.connect(
                self.dsn, autocommit=True, application_name=f"agent-console {self.name}", **_KEEPALIVE
            )
        except psycopg.Error:
            return False
        if conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]:
            self._conn = conn
            log.info("took the %s lease", self.name)
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()  # the lock ends with the session
            except psycopg.Error:
                pass
            self._conn = None


# A process silent this long is gone (its sockets with it); it beats three times as often.
PROCESS_EXPIRY = float(os.environ.get("AGENT_CONSOLE_PROCESS_EXPIRY", "30"))
_NOW = "extract(epoch FROM clock_timestamp())"  # the database's clock: one for every machine


class PresenceLedger:
    """Every process's live-feed sockets per agent, so presence means "connected anywhere"."""

    def __init__(self, store: Any, writes: WriteThread = IN_PLACE) -> None:
        self.store = store
        self.writes = writes  # the heartbeat's write leaves the event loop (server/write_thread.py)
        self.process = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None

    def __call__(self, tx: Any, sockets: dict[int, Any]) -> dict[int, bool]:
        """Inside the presence write: record this process's sockets, answer for all processes."""
        self._beat(tx)
        for agent_id, count in sockets.items():
            if count:
                tx.conn.execute(
                    "INSERT INTO feed_sockets(process, agent_id, sockets) VALUES (?, ?, ?)"
                    " ON CONFLICT (process, agent_id) DO UPDATE SET sockets = excluded.sockets",
                    (self.process, agent_id, int(count)),
                )
            else:
                tx.conn.execute(
                    "DELETE FROM feed_sockets WHERE process = ? AND agent_id = ?", (self.process, agent_id)
                )
        return _online(tx, sockets)

    def _beat(self, tx: Any) -> None:
        tx.conn.execute(
            f"INSERT INTO desk_processes(process, seen_at) VALUES (?, {_NOW})"
            " ON CONFLICT (process) DO UPDATE SET seen_at = excluded.seen_at",
            (self.process,),
        )

    def tick(self) -> None:
        """Beat, and reap processes that stopped beating: their agents' presence is redone."""
        with self.store._write() as tx:  # noqa: SLF001 - one transaction with the store's events
            self._beat(tx)
            dead = [
                row[0]
                for row in tx.conn.execute(
                    f"SELECT process FROM desk_processes WHERE seen_at < {_NOW} - ?", (PROCESS_EXPIRY,)
                )
            ]
            agents = self._forget(tx, dead)
        if agents:
            log.warning("%d server process(es) stopped answering; their agents' presence redone", len(dead))
            self.store.sync_presence(dict.fromkeys(agents, 0), ledger=_online)

    @staticmethod
    def _forget(tx: Any, processes: list[str]) -> list[int]:
        agents: set[int] = set()
        for process in processes:
            rows = tx.conn.execute(
                "DELETE FROM feed_sockets WHERE process = ? RETURNING agent_id", (process,)
            )
            agents.update(row[0] for row in rows)
            tx.conn.execute("DELETE FROM desk_processes WHERE process = ?", (process,))
        return sorted(agents)

    async def start(self, app: Any = None) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="presence-ledger")

    async def _run(self) -> None:
        while True:
            try:
                await self.writes(self.tick)
            except Exception as exc:  # noqa: BLE001 - the heartbeat must outlive a database blip
                log.warning("presence heartbeat failed: %s", exc)
            await asyncio.sleep(PROCESS_EXPIRY / 3)

    async def stop(self, app: Any = None) -> None:
        """A clean stop takes this process's sockets out at once (no wait for the expiry)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            with self.store._write() as tx:  # noqa: SLF001
                agents = self._forget(tx, [self.process])
            if agents:
                self.store.sync_presence(dict.fromkeys(agents, 0), ledger=_online)
        except Exception as exc:  # noqa: BLE001 - stopping anyway; the others reap us later
            log.warning("could not take this process's sockets out of presence: %s", exc)


def _online(tx: Any, agents: Any) -> dict[int, bool]:
    """For each agent id in `agents` (a dict's keys will do): a feed socket on any process.
    Also the ledger for redoing presence once a process's rows are gone."""
    return {
        agent_id: tx.conn.execute(
            "SELECT 1 FROM feed_sockets WHERE agent_id = ? LIMIT 1", (agent_id,)
        ).fetchone()
        is not None
        for agent_id in agents
    }


class SharedRateLimiter:
    """RateLimiter's sliding windows as rows (`rate_hits`), under the desk's write lock."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.calls = 0

    def check(self, rules: list[tuple[str, str, tuple[int, float], str]]) -> None:
        """Each rule: (kind, who, (count, seconds), what to say). All must pass, then all count.

        Called inside a write of the store's (a post with an Idempotency-Key), it is part of
        that transaction: a BEGIN and COMMIT of its own there would end the caller's write
        half-way and let go of the desk's lock before its events were appended."""
        now = time.time()
        self.calls += 1
        conn = self.store.conn  # the calling thread's session (store_base.StoreBase.conn)
        joined = conn.in_transaction
        if not joined:
            conn.execute("BEGIN IMMEDIATE")
        try:
            for kind, who, (count, seconds), what in rules:
                hits, oldest = conn.execute(
                    "SELECT count(*), min(at) FROM rate_hits WHERE kind = ? AND who = ? AND at > ?",
                    (kind, who, now - seconds),
                ).fetchone()
                if hits >= count:
                    retry = max(1, math.ceil(oldest + seconds - now))
                    raise RateLimited(
                        f"too many {what}: at most {count} per {seconds:g} s; try again in {retry} s", retry
                    )
            conn.executemany(
                "INSERT INTO rate_hits(kind, who, at) VALUES (?, ?, ?)", [(k, w, now) for k, w, _, _ in rules]
            )
            if self.calls % 1000 == 0:
                conn.execute("DELETE FROM rate_hits WHERE at < ?", (now - 3600.0,))  # the longest window
            if not joined:
                conn.execute("COMMIT")
        except BaseException:
            if not joined:
                conn.execute("ROLLBACK")
            raise
