"""Drafts the agent is typing, kept per conversation across restarts (local SQLite).

Rows are filed under a key: the desk's stable identity once it is known (`adopt`), the
server URL before that (and in databases written before desks had an id). Adopting the
desk key carries the URL's rows over, so an upgrade or a new port loses no draft.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from agent_console.client.localdb import open_local


class Drafts:
    def __init__(self, path: Path | str, server: str) -> None:
        self.conn = open_local(path)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS drafts (server TEXT NOT NULL, conversation_id INTEGER NOT NULL,"
            " private INTEGER NOT NULL, body TEXT NOT NULL, updated_at REAL NOT NULL,"
            " PRIMARY KEY (server, conversation_id))"
        )
        _add_seen_column(self.conn)
        self.server = server  # the key rows are filed under (the column keeps its old name)

    def adopt(self, key: str) -> int:
        """File drafts under `key` from now on, carrying over the rows of the current key.

        Where both hold a draft of one conversation, the newer text wins. Returns how
        many drafts were carried over.
        """
        old = self.server
        if key == old:
            return 0
        with self.conn:  # one transaction: a crash leaves either key, never half of each
            self.conn.execute("BEGIN IMMEDIATE")
            moved = self.conn.execute(
                "INSERT INTO drafts(server, conversation_id, private, body, updated_at, seen_message_id)"
                " SELECT ?, conversation_id, private, body, updated_at, seen_message_id FROM drafts"
                " WHERE server = ?"
                " ON CONFLICT(server, conversation_id) DO UPDATE SET private = excluded.private,"
                " body = excluded.body, updated_at = excluded.updated_at,"
                " seen_message_id = excluded.seen_message_id"
                " WHERE excluded.updated_at > drafts.updated_at",
                (key, old),
            ).rowcount
            self.conn.execute("DELETE FROM drafts WHERE server = ?", (old,))
        self.server = key
        return max(moved, 0)

    def save(
        self, conversation_id: int, body: str, *, private: bool, seen_message_id: int | None = None
    ) -> None:
        """`seen_message_id`: the newest message the agent had seen when this draft began, so
        sending it later still shows what arrived while it was being written."""
        if not body.strip():
            self.discard(conversation_id)
            return
        self.conn.execute(
            "INSERT INTO drafts(server, conversation_id, private, body, updated_at, seen_message_id)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(server, conversation_id) DO UPDATE SET private = excluded.private,"
            " body = excluded.body, updated_at = excluded.updated_at,"
            " seen_message_id = excluded.seen_message_id",
            (self.server, conversation_id, int(private), body, time.time(), seen_message_id),
        )

    def load(self, conversation_id: int) -> tuple[str, bool] | None:
        row = self.conn.execute(
            "SELECT body, private FROM drafts WHERE server = ? AND conversation_id = ?",
            (self.server, conversation_id),
        ).fetchone()
        return None if row is None else (row[0], bool(row[1]))

    def seen(self, conversation_id: int) -> int | None:
        """The newest message the agent had seen when the draft began (None: no draft, or a
        draft written before this was kept)."""
        row = self.conn.execute(
            "SELECT seen_message_id FROM drafts WHERE server = ? AND conversation_id = ?",
            (self.server, conversation_id),
        ).fetchone()
        return None if row is None else row[0]

    def discard(self, conversation_id: int) -> None:
        self.conn.execute(
            "DELETE FROM drafts WHERE server = ? AND conversation_id = ?", (self.server, conversation_id)
        )

    def close(self) -> None:
        self.conn.close()


def _add_seen_column(conn: sqlite3.Connection) -> None:
    """Migration: databases from before drafts kept their seen mark gain the column (NULL)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(drafts)")}
    if "seen_message_id" not in columns:
        try:
            conn.execute("ALTER TABLE drafts ADD COLUMN seen_message_id INTEGER")
        except sqlite3.OperationalError as exc:  # another console migrated it just now
            if "duplicate column" not in str(exc):
                raise
