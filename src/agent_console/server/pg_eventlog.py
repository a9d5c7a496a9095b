"""The event log on PostgreSQL, shared by several server processes.

The feed promises a strictly increasing `seq` and that a reader who has seen `seq = N` never
later finds an event with a lower seq. A PostgreSQL sequence hands out numbers in call order,
not commit order: writer A takes 7, writer B takes 8 and commits first, a reader sees 8, then
A commits 7 behind the reader's back and the reader skips it forever.

So appending is serialised: the first event of a transaction takes a transaction-scoped
advisory lock, and the seq is the log's maximum plus one, read under that lock. The lock is
held until commit, so events commit in seq order and a reader's `seq > last` query never
jumps a gap that fills later. Writers still run their other work in parallel; only the short
tail from the first event to commit is one at a time. After commit, `NOTIFY` wakes the other
processes' feeds with the seq alone (NOTIFY payloads are limited to 8,000 bytes, and the
readers read the rows anyway).

The desk's store appends the same way through its own write transaction (every write holds
the desk's write lock, server/pg_connection.py, so its events take `max(seq) + 1` and commit in
order) and announces the seq with `NOTIFY` on FEED_CHANNEL at commit; `append` and
`read_after` are the bare primitives the feed's own tests drive from several processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# An arbitrary constant naming "the event log" among advisory locks (ASCII "agentlog").
EVENT_LOG_LOCK = 0x6167656E746C6F67 - (1 << 63)
FEED_CHANNEL = "agent_console_feed"

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq BIGINT PRIMARY KEY,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    seq: int
    type: str
    at: str
    data: str


def append(cur: Any, type_: str, at: str, data: str) -> int:
    """Append one event inside the caller's transaction; returns its seq.

    The caller commits. `pg_advisory_xact_lock` is re-entrant within a transaction, so a
    transaction that emits several events takes it once in effect.
    """
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (EVENT_LOG_LOCK,))
    cur.execute(
        "INSERT INTO events(seq, type, at, data) "
        "SELECT coalesce(max(seq), 0) + 1, %s, %s, %s FROM events RETURNING seq",
        (type_, at, data),
    )
    seq = cur.fetchone()[0]
    # Delivered at commit, and only then: a rolled-back event wakes nobody.
    cur.execute("SELECT pg_notify(%s, %s)", (FEED_CHANNEL, str(seq)))
    return seq


def read_after(cur: Any, seq: int, limit: int = 500) -> list[LoggedEvent]:
    cur.execute("SELECT seq, type, at, data FROM events WHERE seq > %s ORDER BY seq LIMIT %s", (seq, limit))
    return [LoggedEvent(*row) for row in cur.fetchall()]
