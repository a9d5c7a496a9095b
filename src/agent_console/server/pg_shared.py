"""What several desk server processes on one PostgreSQL share besides the store's tables.

- `Lease`: a job exactly one process should do (sending the email outbox: a reply must go
  to the relay once) belongs to whichever process holds a session-level advisory lock on a
  connection of its own. When that process dies its connection ends, PostgreSQL releases
  the lock, and another process takes the job over at its next try.
- `SharedRateLimiter`: the web chat's rate limits (server/widget_store.RateLimiter keeps them
  in memory, right for one process) counted in the database, so a visitor cannot multiply
  its allowance by the number of processes behind the proxy.

The rest is shared by construction: agents' and visitors' tokens, idempotency keys, SLA
schedules and routing state are rows, and every write holds the desk's write lock
(server/pg_connection.py), so a job several processes run (the SLA timer, routing) acts once.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import psycopg

from agent_console.server.widget_store import RateLimited

log = logging.getLogger("agent_console.server")

# The email outbox's lease ("agentmai").
OUTBOX_LEASE = 0x6167656E746D6169 - (1 << 63)
_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


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


class SharedRateLimiter:
    """RateLimiter's sliding windows as rows (`rate_hits`), under the desk's write lock."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.calls = 0

    def check(self, rules: list[tuple[str, str, tuple[int, float], str]]) -> None:
        """Each rule: (kind, who, (count, seconds), what to say). All must pass, then all count."""
        now = time.time()
        self.calls += 1
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for kind, who, (count, seconds), what in rules:
                hits, oldest = self.conn.execute(
                    "SELECT count(*), min(at) FROM rate_hits WHERE kind = ? AND who = ? AND at > ?",
                    (kind, who, now - seconds),
                ).fetchone()
                if hits >= count:
                    retry = max(1, math.ceil(oldest + seconds - now))
                    raise RateLimited(
                        f"too many {what}: at most {count} per {seconds:g} s; try again in {retry} s", retry
                    )
            self.conn.executemany(
                "INSERT INTO rate_hits(kind, who, at) VALUES (?, ?, ?)", [(k, w, now) for k, w, _, _ in rules]
            )
            if self.calls % 1000 == 0:
                self.conn.execute("DELETE FROM rate_hits WHERE at < ?", (now - 3600.0,))  # the longest window
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
