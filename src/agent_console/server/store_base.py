"""The store's one transaction-and-events helper, and what every domain of the store shares.

Every write of the desk server goes through `StoreBase._write`: one `BEGIN IMMEDIATE`
transaction that also appends the events it causes to the event log (`Transaction.emit`),
so the live feed can never report a change that did not commit, nor miss one that did.
After commit, the events go to `listener` (the live-feed hub) for fan-out. The domain
mixins (people, conversations, messages, knowledge, SLA, ...) only ever write through it.

Also here: the errors the HTTP layer maps to statuses, and the agents' API tokens.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from agent_console.core.clock import to_iso
from agent_console.core.models import Message

TOKEN_PREFIX = "acd_"


# --- errors the HTTP layer maps to statuses ------------------------------------------


class StoreError(Exception):
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(StoreError):
    code = "not_found"


class Invalid(StoreError):
    code = "validation_failed"


class Forbidden(StoreError):
    code = "forbidden"


class Conflict(StoreError):
    """Well formed, but not possible in the resource's state or at this time (a snooze
    without a wake-up time, or one that has already passed)."""

    code = "state_conflict"


class Stale(StoreError):
    """A reply was written against an old view of the conversation."""

    code = "conflict"

    def __init__(self, message: str, unseen: list[Message]) -> None:
        super().__init__(message)
        self.unseen = unseen


class Unavailable(StoreError):
    """The database cannot be reached now (PostgreSQL restarting, the network): try again."""

    code = "unavailable"


class IdempotencyMismatch(StoreError):
    code = "idempotency_key_reused"


# --- tokens ----------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


# --- the transaction and its events ----------------------------------------------------


@dataclass(slots=True)
class PendingEvent:
    seq: int
    type: str
    at: str
    data: str  # JSON text

    def frame(self) -> str:
        """The event as sent on the live feed, without re-encoding its data."""
        return f'{{"seq":{self.seq},"type":{json.dumps(self.type)},"at":"{self.at}","data":{self.data}}}'


@dataclass(slots=True)
class Transaction:
    """One open write transaction: its connection, its time, and the events it appends."""

    conn: sqlite3.Connection
    next_seq: int
    now: datetime
    events: list[PendingEvent] = field(default_factory=list)

    def emit(self, type_: str, data: Any) -> int:
        seq = self.next_seq
        self.next_seq += 1
        payload = msgspec.json.encode(data).decode()
        at = to_iso(self.now)
        self.conn.execute(
            "INSERT INTO events(seq, type, at, data) VALUES (?, ?, ?, ?)", (seq, type_, at, payload)
        )
        self.events.append(PendingEvent(seq, type_, at, payload))
        return seq

    def peek_seq(self) -> int:
        return self.next_seq


class StoreBase:
    """The connection, the write transaction and the event log every store domain shares."""

    listener: Callable[[list[PendingEvent]], None] | None
    clock: Callable[[], datetime]
    event_window: int
    _thread: threading.local  # per thread: its own session (`bind_thread`) and its write

    # --- the session -------------------------------------------------------------------

    @property
    def conn(self) -> Any:
        """The session of the calling thread: the process's own, or the one `bind_thread` gave
        a thread of its own (on PostgreSQL, the write thread: server/write_thread.py)."""
        own = getattr(self._thread, "conn", None)
        return self._conn if own is None else own

    @conn.setter
    def conn(self, value: Any) -> None:
        self._conn = value

    def bind_thread(self, conn: Any) -> None:
        """From now on the calling thread works on `conn`, a session of its own."""
        self._thread.conn = conn

    # --- transactions ------------------------------------------------------------------

    @property
    def _tx(self) -> Transaction | None:
        """The write in progress on the calling thread (a nested `_write` joins it)."""
        return getattr(self._thread, "tx", None)

    @_tx.setter
    def _tx(self, value: Transaction | None) -> None:
        self._thread.tx = value

    @contextmanager
    def _write(self) -> Iterator[Transaction]:
        """One write transaction; a nested call joins the outer one."""
        if self._tx is not None:
            yield self._tx
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            # Read inside the write lock (both engines), so the seqs this transaction hands out
            # follow the last commit's.
            tx = self._tx = Transaction(self.conn, self.conn.head_seq() + 1, self.clock())
            yield tx
            if tx.events and tx.events[-1].seq % 1000 < len(tx.events):
                self._prune_events(tx.events[-1].seq)
            if tx.events:
                self.conn.announce(tx.events[-1].seq)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        finally:
            self._tx = None
        if tx.events and self.listener is not None:
            self.listener(tx.events)

    def _prune_events(self, head: int) -> None:
        self.conn.execute("DELETE FROM events WHERE seq <= ?", (head - self.event_window,))

    # --- the event log -----------------------------------------------------------------------

    def head_seq(self) -> int:
        return self.conn.head_seq()

    def oldest_seq(self) -> int | None:
        row = self.conn.execute("SELECT min(seq) FROM events").fetchone()
        return row[0]

    def events_after(self, since: int, limit: int = 1000) -> list[PendingEvent]:
        rows = self.conn.execute(
            "SELECT seq, type, at, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (since, limit)
        ).fetchall()
        return [PendingEvent(r[0], r[1], r[2], r[3]) for r in rows]
