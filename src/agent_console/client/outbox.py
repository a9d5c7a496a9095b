"""The durable outbox: every write the console makes survives a crash and lands once.

A reply, a private note or a conversation action (PATCH) is first committed to a local
SQLite table, with an `Idempotency-Key` minted at that moment and stored beside it. Only
then does `OutboxSender` send it, and it keeps resending (exponential backoff, full
jitter) until the server gives an answer that settles it:

    pending ──2xx──────────────▶ sent     (message_id = the server's id)
       │  ──4xx (not 408/429)──▶ failed   (reason; 409 keeps the unseen messages)
       │  ──unreachable, timeout, 408, 429, 5xx──▶ pending (tried again later)
    failed ──retry()──▶ pending

Exactly once: the sender may send an item more than once (the answer to the first try
can be lost on the way back, the console can be killed between sending and recording
the answer). The server keeps the first answer per Idempotency-Key and returns it to
every retry, so a reply is created once however often it is sent.

PATCH has no Idempotency-Key on the desk server, and needs none: a PATCH sets fields to
values, so sending it again sets them to the same values (the server makes no change,
writes no event and no activity note when nothing differs). Resending it is safe.

Undo: an action already sent is taken back by an "undo" item, a guarded PATCH: the sender
first reads the conversation and sends the inverse only while the fields still show what
the action left (`core/undo.py`); if anyone changed them since, the item fails with what
changed, and nothing is overwritten. An action not yet sent is simply withdrawn: it never
reaches the server (`withdraw`, refused for the one item the sender has in flight).

Order: items of one conversation go out in the order they were queued (a reply before
the "resolve" that follows it); a later item waits while an earlier one of the same
conversation is pending. A failed item does not hold up the ones behind it: the agent
decides what to do with it.

A 401 (the token no longer works) fails nothing: items stay pending and the sender stops
with `NotAuthenticated`, so everything queued goes out once the agent signs in again.

One table, scoped by server URL and account, in the console's local database (WAL), so
one file serves several desks. The sender runs on the asyncio loop; the SQLite calls are
sub-millisecond single-row writes and are made on the loop thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from agent_console.client.backend import Backend
from agent_console.client.backoff import full_jitter
from agent_console.client.errors import BackendError, Conflict, NotAuthenticated, Unreachable
from agent_console.client.localdb import open_local
from agent_console.core.models import ConversationPatch, Message
from agent_console.core.undo import Fields, Reversal, changed_since

log = logging.getLogger(__name__)

State = Literal["pending", "sent", "failed"]
Kind = Literal["message", "patch", "undo"]

# Statuses worth another try: the server may do it next time.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
KEEP_SENT_SECONDS = 7 * 24 * 3600  # sent items kept this long, so the UI can show "sent"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    server TEXT NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    conversation_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    reason TEXT,
    message_id INTEGER,
    unseen TEXT,
    UNIQUE (server, account, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(server, account, state, conversation_id, id);
"""


# A pending item with no earlier pending item of the same conversation ahead of it.
_FIRST_IN_LINE = (
    "o.server = ? AND o.account = ? AND o.state = 'pending' AND NOT EXISTS (SELECT 1 FROM outbox p"
    " WHERE p.server = o.server AND p.account = o.account AND p.conversation_id = o.conversation_id"
    " AND p.state = 'pending' AND p.id < o.id)"
)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One queued write, as the UI shows it."""

    id: int
    kind: Kind
    conversation_id: int
    payload: dict[str, Any]
    idempotency_key: str
    state: State
    attempts: int
    created_at: float
    updated_at: float
    reason: str | None = None
    message_id: int | None = None
    unseen: list[Message] = field(default_factory=list)
    next_attempt_at: float = 0.0

    @property
    def body(self) -> str:
        return str(self.payload.get("body", ""))

    @property
    def private(self) -> bool:
        return bool(self.payload.get("private", False))

    @property
    def is_conflict(self) -> bool:
        return self.state == "failed" and self.reason == "conflict"

    def patch(self) -> ConversationPatch:
        """The PATCH to send (for an undo item: the inverse)."""
        payload = self.payload["patch"] if self.kind == "undo" else self.payload
        return msgspec.convert(payload, ConversationPatch)

    @property
    def expect(self) -> Fields:
        """An undo item's guard: the fields as the undone action left them."""
        return dict(self.payload.get("expect", {})) if self.kind == "undo" else {}


Listener = Callable[[OutboxItem], None]


class Outbox:
    """The persistent queue. All methods are synchronous and cheap."""

    def __init__(
        self,
        path: Path | str,
        server: str,
        *,
        account: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.conn = open_local(path)
        self.conn.row_factory = sqlite3.Row
        # An acknowledged enqueue must survive a power cut, not only a crash: one fsync per
        # queued write is cheap at the rate an agent types.
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(_SCHEMA)
        self.server = server.rstrip("/")
        self.account = account
        self.clock = clock
        self._listeners: list[Listener] = []
        self._in_flight: set[int] = set()  # items a sender is sending right now

    # --- listening -----------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(item)` after every state change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _changed(self, item: OutboxItem | None) -> OutboxItem | None:
        if item is not None:
            for listener in list(self._listeners):
                try:
                    listener(item)
                except Exception:  # a UI callback must never break delivery
                    log.exception("outbox listener failed")
        return item

    # --- queueing ------------------------------------------------------------------------

    def enqueue_message(
        self,
        conversation_id: int,
        body: str,
        *,
        private: bool = False,
        last_seen_message_id: int | None = None,
        force: bool = False,
        key: str | None = None,
    ) -> OutboxItem:
        """Queue a reply (or a note with `private`). Durable when this returns.

        `key` lets a caller that may repeat itself (a script resending a command it got no
        answer to) name the item: queueing the same key twice returns the first item.
        """
        payload: dict[str, Any] = {"body": body, "private": private, "force": force}
        if last_seen_message_id is not None:
            payload["last_seen_message_id"] = last_seen_message_id
        return self._enqueue("message", conversation_id, payload, key)

    def enqueue_patch(
        self, conversation_id: int, patch: ConversationPatch, *, key: str | None = None
    ) -> OutboxItem:
        """Queue a conversation action (status, priority, assignee, team, labels, snooze)."""
        payload = msgspec.to_builtins(patch)
        if not payload:
            raise ValueError("an empty patch changes nothing")
        return self._enqueue("patch", conversation_id, payload, key)

    def enqueue_undo(
        self, conversation_id: int, reversal: Reversal, *, undoes: int | None = None
    ) -> OutboxItem:
        """Queue the inverse of a sent action, sent only while the server still shows `expect`."""
        payload = {
            "patch": msgspec.to_builtins(reversal.inverse),
            "expect": reversal.expect,
            "undoes": undoes,
        }
        return self._enqueue("undo", conversation_id, payload, None)

    def _enqueue(
        self, kind: Kind, conversation_id: int, payload: dict[str, Any], key: str | None
    ) -> OutboxItem:
        key = key or f"ac-{uuid.uuid4()}"
        now = self.clock()
        cursor = self.conn.execute(
            "INSERT INTO outbox(server, account, kind, conversation_id, payload, idempotency_key, state,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)"
            " ON CONFLICT(server, account, idempotency_key) DO NOTHING",
            (self.server, self.account, kind, conversation_id, json.dumps(payload), key, now, now),
        )
        if cursor.rowcount == 0:  # this key is queued already: the same item, not a second one
            existing = self._one("idempotency_key = ?", (key,))
            assert existing is not None
            return existing
        item = self.get(cursor.lastrowid)
        assert item is not None
        self._changed(item)
        return item

    # --- reading -------------------------------------------------------------------------

    def get(self, item_id: int) -> OutboxItem | None:
        return self._one("id = ?", (item_id,))

    def items_for(self, conversation_id: int, *, states: Iterable[State] | None = None) -> list[OutboxItem]:
        """Everything queued for one conversation, oldest first (what its thread shows)."""
        return self._many("conversation_id = ?", (conversation_id,), states)

    def items(self, *, states: Iterable[State] | None = None) -> list[OutboxItem]:
        return self._many("1", (), states)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("pending", "sent", "failed"), 0)
        for row in self.conn.execute(
            "SELECT state, count(*) FROM outbox WHERE server = ? AND account = ? GROUP BY state",
            (self.server, self.account),
        ):
            counts[row[0]] = row[1]
        return counts

    def due(self, now: float | None = None, *, limit: int = 100) -> list[OutboxItem]:
        """Pending items whose turn it is: due now, and first in line in their conversation."""
        now = self.clock() if now is None else now
        rows = self.conn.execute(
            f"SELECT * FROM outbox o WHERE {_FIRST_IN_LINE} AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (self.server, self.account, now, limit),
        ).fetchall()
        return [_item(row) for row in rows]

    def next_due_at(self) -> float | None:
        """When the next item first in line in its conversation is due (None: nothing pending)."""
        row = self.conn.execute(
            f"SELECT min(next_attempt_at) FROM outbox o WHERE {_FIRST_IN_LINE}",
            (self.server, self.account),
        ).fetchone()
        return row[0]

    def _one(self, where: str, params: tuple[Any, ...]) -> OutboxItem | None:
        row = self.conn.execute(
            f"SELECT * FROM outbox WHERE server = ? AND account = ? AND {where}",
            (self.server, self.account, *params),
        ).fetchone()
        return None if row is None else _item(row)

    def _many(self, where: str, params: tuple[Any, ...], states: Iterable[State] | None) -> list[OutboxItem]:
        sql = f"SELECT * FROM outbox WHERE server = ? AND account = ? AND {where}"
        args: list[Any] = [self.server, self.account, *params]
        if states is not None:
            wanted = list(states)
            sql += f" AND state IN ({','.join('?' * len(wanted))})"
            args += wanted
        return [_item(row) for row in self.conn.execute(sql + " ORDER BY id", args)]

    # --- state changes (the sender's, and the agent's) ---------------------------------------

    def mark_sent(self, item_id: int, *, message_id: int | None = None) -> OutboxItem | None:
        return self._update(
            item_id,
            "state = 'sent', attempts = attempts + 1, reason = NULL, unseen = NULL, message_id = ?",
            (message_id,),
            only_pending=True,
        )

    def mark_failed(self, item_id: int, reason: str, *, unseen: Iterable[Message] = ()) -> OutboxItem | None:
        unseen_json = msgspec.json.encode(list(unseen)).decode() if unseen else None
        return self._update(
            item_id,
            "state = 'failed', attempts = attempts + 1, reason = ?, unseen = ?",
            (reason, unseen_json),
            only_pending=True,
        )

    def defer(self, item_id: int, *, until: float, reason: str) -> OutboxItem | None:
        """Still pending: tried and not settled; try again at `until`."""
        return self._update(
            item_id,
            "attempts = attempts + 1, next_attempt_at = ?, reason = ?",
            (until, reason),
            only_pending=True,
        )

    def note_attempt(self, item_id: int, reason: str) -> OutboxItem | None:
        """Still pending and due again as soon as the sender may try (the server was away)."""
        return self._update(item_id, "attempts = attempts + 1, reason = ?", (reason,), only_pending=True)

    def retry(
        self, item_id: int, *, force: bool = False, last_seen_message_id: int | None = None
    ) -> OutboxItem:
        """Queue a failed item again (the agent's retry key).

        After a conflict the agent has reviewed the unseen messages: `force=True` sends the
        reply anyway, or `last_seen_message_id` moves what they have seen forward. The
        Idempotency-Key stays the same: a refused (409/4xx) request stored nothing under
        it on the server, and keeping it means no retry can ever create a second copy.
        """
        item = self.get(item_id)
        if item is None:
            raise KeyError(item_id)
        if item.state != "failed":
            raise ValueError(f"outbox item {item_id} is {item.state}, not failed")
        payload = dict(item.payload)
        if item.kind == "message":
            if force:
                payload["force"] = True
            if last_seen_message_id is not None:
                payload["last_seen_message_id"] = last_seen_message_id
        now = self.clock()
        self.conn.execute(
            "UPDATE outbox SET state = 'pending', payload = ?, next_attempt_at = 0, reason = NULL,"
            " unseen = NULL, updated_at = ? WHERE id = ? AND state = 'failed'",
            (json.dumps(payload), now, item_id),
        )
        fresh = self.get(item_id)
        assert fresh is not None
        self._changed(fresh)
        return fresh

    def withdraw(self, item_id: int) -> bool:
        """Take back a pending item that has not gone out: True when it is gone for good.

        False when the sender has it in flight (it may already be on the server) or it is
        no longer pending; then the caller must undo it the other way.
        """
        if item_id in self._in_flight:
            return False
        cursor = self.conn.execute(
            "DELETE FROM outbox WHERE server = ? AND account = ? AND id = ? AND state = 'pending'",
            (self.server, self.account, item_id),
        )
        return cursor.rowcount == 1

    def claim(self, item_id: int) -> OutboxItem | None:
        """The sender is about to send `item_id`: the item, if it is still pending (not withdrawn)."""
        item = self.get(item_id)
        if item is None or item.state != "pending":
            return None
        self._in_flight.add(item_id)
        return item

    def release(self, item_id: int) -> None:
        self._in_flight.discard(item_id)

    def discard(self, item_id: int) -> None:
        """The agent gives up on a failed item (a pending one may be in flight: not that)."""
        self.conn.execute(
            "DELETE FROM outbox WHERE server = ? AND account = ? AND id = ? AND state = 'failed'",
            (self.server, self.account, item_id),
        )

    def carry_over(self, old_server: str) -> int:
        """Take the items filed under `old_server` (a URL, before desks had a stable id).

        Every account's items move: they were written for the same desk. Returns how many.
        """
        old = old_server.rstrip("/")
        if old == self.server:
            return 0
        cursor = self.conn.execute(
            "UPDATE OR IGNORE outbox SET server = ? WHERE server = ?", (self.server, old)
        )
        return cursor.rowcount

    def prune(self, *, older_than: float = KEEP_SENT_SECONDS) -> int:
        """Forget sent items older than `older_than` seconds."""
        cursor = self.conn.execute(
            "DELETE FROM outbox WHERE server = ? AND account = ? AND state = 'sent' AND updated_at < ?",
            (self.server, self.account, self.clock() - older_than),
        )
        return cursor.rowcount

    def _update(
        self, item_id: int, assignments: str, params: tuple[Any, ...], *, only_pending: bool
    ) -> OutboxItem | None:
        guard = " AND state = 'pending'" if only_pending else ""
        cursor = self.conn.execute(
            f"UPDATE outbox SET {assignments}, updated_at = ? WHERE server = ? AND account = ?"
            f" AND id = ?{guard}",
            (*params, self.clock(), self.server, self.account, item_id),
        )
        if cursor.rowcount == 0:
            return None
        return self._changed(self.get(item_id))

    def close(self) -> None:
        self.conn.close()


def _item(row: sqlite3.Row) -> OutboxItem:
    unseen = msgspec.json.decode(row["unseen"], type=list[Message]) if row["unseen"] else []
    return OutboxItem(
        id=row["id"],
        kind=row["kind"],
        conversation_id=row["conversation_id"],
        payload=json.loads(row["payload"]),
        idempotency_key=row["idempotency_key"],
        state=row["state"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        reason=row["reason"],
        message_id=row["message_id"],
        unseen=unseen,
        next_attempt_at=row["next_attempt_at"],
    )


class OutboxSender:
    """Drains an `Outbox` through a `Backend`, forever, until cancelled.

    `on_change(item)` hears every state change (queued, tried, sent, failed, retried).
    Items queued (or retried) on the same outbox wake it at once.

    Backoff: when the server cannot be reached at all, the whole sender waits (full
    jitter, `uniform(0, min(cap, base * 2^failures))`) before trying anything again, so
    an outage costs one request per wait, not one per item. When the server answers but
    not yet (5xx, 408, 429), only that item waits, on its own attempts count, so one
    item the server keeps choking on cannot hold up the rest.
    """

    def __init__(
        self,
        outbox: Outbox,
        backend: Backend,
        *,
        on_change: Listener | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        idle_poll: float = 5.0,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self.backend = backend
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.idle_poll = idle_poll
        self.rng = rng or random.Random()
        self.failures = 0  # consecutive "could not reach the server at all"
        self.sent = 0
        self.attempts = 0
        self._wake = asyncio.Event()
        self._listener = on_change
        self._unsubscribe = outbox.add_listener(self._heard)

    def _heard(self, item: OutboxItem) -> None:
        # Newly queued or retried by the agent (no reason recorded yet): send it now.
        if item.state == "pending" and item.reason is None:
            self._wake.set()
        if self._listener is not None:
            self._listener(item)

    def backoff(self, attempts: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempts)]."""
        return full_jitter(attempts, self.rng, base=self.backoff_base, cap=self.backoff_cap)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Send what is due, sleep until something is due or `wake()`, repeat."""
        while True:
            self._wake.clear()
            await self.drain()
            await self._sleep()

    def close(self) -> None:
        """Stop listening to the outbox (the sender is done)."""
        self._unsubscribe()

    async def _sleep(self) -> None:
        next_at = self.outbox.next_due_at()
        now = self.outbox.clock()
        timeout = self.idle_poll if next_at is None else max(0.0, min(self.idle_poll, next_at - now))
        if timeout <= 0:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass

    async def drain(self) -> int:
        """Try every item that is due now, once; returns how many were settled.

        Stops early (after a backoff wait) when the server cannot be reached.
        """
        settled = 0
        while True:
            batch = self.outbox.due(self.outbox.clock(), limit=50)
            if not batch:
                return settled
            for item in batch:
                outcome = await self.send_one(item)
                if outcome == "unreachable":
                    await asyncio.sleep(self.backoff(self.failures - 1))
                    return settled
                if outcome in ("sent", "failed"):
                    settled += 1

    async def send_one(self, item: OutboxItem) -> str:
        """Send one item and record the outcome: "sent", "failed", "later", "unreachable" or
        "withdrawn" (taken back by the agent since it was read from the queue)."""
        claimed = self.outbox.claim(item.id)
        if claimed is None:
            return "withdrawn"
        try:
            return await self._send_claimed(claimed)
        finally:
            self.outbox.release(item.id)

    async def _send_claimed(self, item: OutboxItem) -> str:
        self.attempts += 1
        try:
            message_id = await self._deliver(item)
        except ChangedSince as exc:
            self.failures = 0
            self.outbox.mark_failed(item.id, exc.message)
            return "failed"
        except Unreachable as exc:
            self.failures += 1
            self.outbox.note_attempt(item.id, exc.message)
            return "unreachable"
        except NotAuthenticated:
            raise  # nothing is failed: it all goes out once the agent signs in again
        except Conflict as exc:
            self.failures = 0
            self.outbox.mark_failed(item.id, "conflict", unseen=exc.unseen)
            return "failed"
        except BackendError as exc:
            self.failures = 0
            if _retryable(exc):
                delay = self.backoff(item.attempts)
                self.outbox.defer(item.id, until=self.outbox.clock() + delay, reason=exc.message)
                return "later"
            self.outbox.mark_failed(item.id, _reason(exc))
            return "failed"
        self.failures = 0
        self.sent += 1
        self.outbox.mark_sent(item.id, message_id=message_id)
        return "sent"

    async def _deliver(self, item: OutboxItem) -> int | None:
        if item.kind == "message":
            payload = item.payload
            message = await self.backend.send_message(
                item.conversation_id,
                payload["body"],
                private=bool(payload.get("private", False)),
                last_seen_message_id=payload.get("last_seen_message_id"),
                force=bool(payload.get("force", False)),
                idempotency_key=item.idempotency_key,
                # Tried before with no settled answer: it may be there already.
                retry_since=item.created_at if item.attempts else None,
            )
            return message.id
        if item.kind == "patch":
            # Safe to resend: PATCH sets fields, so a second copy changes nothing.
            await self.backend.update_conversation(item.conversation_id, item.patch())
            return None
        if item.kind == "undo":
            # Read, compare, then restore: a colleague's change since is never overwritten. (The
            # gap between the read and the PATCH is one round trip.)
            current = await self.backend.conversation(item.conversation_id)
            problems = changed_since(current, item.expect)
            if problems:
                raise ChangedSince("not undone: someone changed it since (" + "; ".join(problems) + ")")
            await self.backend.update_conversation(item.conversation_id, item.patch())
            return None
        raise BackendError(f"unknown outbox item kind {item.kind!r}")  # failed, not retried


class ChangedSince(BackendError):
    """An undo found the conversation changed by someone else since the action: not sent."""


def _retryable(exc: BackendError) -> bool:
    status = exc.status
    if status is None:
        return True  # an answer we could not read: the write may or may not have happened
    return status in RETRYABLE_STATUSES or status >= 500


def _reason(exc: BackendError) -> str:
    if exc.status == 404:
        return f"not found: {exc.message}"
    if exc.status == 403:
        return f"not allowed: {exc.message}"
    return exc.message or f"refused (HTTP {exc.status})"
