"""The desk server's store: every read and write of help desk state, over SQLite.

`Store` is the store interface the HTTP layer programs against. It is composed of one mixin
per domain, all over one transaction-and-events helper (`store_base.StoreBase`): every write
is one `BEGIN IMMEDIATE` transaction that also appends the events it causes to the event
log, so the live feed can never report a change that did not commit, nor miss one that did.

    people_store        agents, teams, presence, contacts
    conversation_store  the queue's pages, one conversation, patches
    message_store       threads, replies and notes, inbound messages, signals, idempotency
    knowledge_store     labels, canned responses, knowledge-base search
    sla_store, reads, admin_store, triage_store, bot_store   (as their modules say)

This module keeps the desk itself and re-exports the names other modules import from here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime

from agent_console.core.clock import utcnow
from agent_console.core.models import Desk
from agent_console.core.queue import QUEUE_TAIL
from agent_console.server.admin_store import AdminStore
from agent_console.server.bot_store import BotStoreMixin
from agent_console.server.conversation_store import (
    _CONVERSATION_SELECT,
    CURSOR_PATTERN,
    PREVIEW_CHARS,
    ConversationStoreMixin,
    decode_cursor,
    encode_cursor,
)
from agent_console.server.kb_admin_store import KbAdminStore
from agent_console.server.knowledge_store import KnowledgeStoreMixin, fts_query
from agent_console.server.message_store import MessageStoreMixin
from agent_console.server.people_store import PeopleStoreMixin, ensure_agent
from agent_console.server.reads import ReadsMixin
from agent_console.server.sla_store import SlaStoreMixin
from agent_console.server.store_base import (
    TOKEN_PREFIX,
    Conflict,
    Forbidden,
    IdempotencyMismatch,
    Invalid,
    NotFound,
    PendingEvent,
    Stale,
    StoreBase,
    StoreError,
    Transaction,
    hash_token,
    new_token,
)
from agent_console.server.triage_store import TriageStoreMixin

# The old name of `Transaction`, for modules written against it.
_Tx = Transaction

__all__ = [
    "_CONVERSATION_SELECT",
    "CURSOR_PATTERN",
    "PREVIEW_CHARS",
    "QUEUE_TAIL",
    "TOKEN_PREFIX",
    "Conflict",
    "Forbidden",
    "IdempotencyMismatch",
    "Invalid",
    "NotFound",
    "PendingEvent",
    "Stale",
    "Store",
    "StoreError",
    "Transaction",
    "_Tx",
    "decode_cursor",
    "encode_cursor",
    "ensure_agent",
    "fts_query",
    "hash_token",
    "new_token",
]


class Store(
    # The domains first: they keep the precedence the methods had when they were this class's own.
    ConversationStoreMixin,
    MessageStoreMixin,
    PeopleStoreMixin,
    KnowledgeStoreMixin,
    SlaStoreMixin,
    ReadsMixin,
    AdminStore,
    KbAdminStore,
    TriageStoreMixin,
    BotStoreMixin,
    StoreBase,
):
    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        listener: Callable[[list[PendingEvent]], None] | None = None,
        event_window: int = 100_000,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._thread = threading.local()
        self.conn = conn
        self.listener = listener
        # Where every write reads the time (a test may drive a desk through simulated minutes).
        self.clock = clock
        # How many events the log keeps; older `since` values get `resync_required`.
        self.event_window = event_window

    # --- the desk itself --------------------------------------------------------------

    def desk(self) -> Desk:
        row = self.conn.execute("SELECT id, name, public_url FROM desk").fetchone()
        return Desk(id=row[0], name=row[1], public_url=row[2])

    def configure_desk(self, *, public_url: str) -> Desk:
        """Set the desk's public base URL (the caller validated it)."""
        with self._write() as tx:
            tx.conn.execute("UPDATE desk SET public_url = ?", (public_url.rstrip("/"),))
        return self.desk()
