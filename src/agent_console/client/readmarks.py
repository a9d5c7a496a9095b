"""What each agent has read: the newest message they saw per conversation (local SQLite).

The queue's `●` means "the customer wrote since you last opened this conversation". The
mark is the newest message id the agent has had on screen there; message ids only grow, so
one integer per conversation answers the question. A desk this agent has never opened here
starts with a horizon: everything already there counts as read, so the first run does not
light up every row (a mark then means something changed, which is what an agent scans for).
Rows are filed under the desk's key and the agent, like drafts and the outbox.
"""

from __future__ import annotations

from pathlib import Path

from agent_console.client.localdb import open_local

HORIZON = 0  # conversation id 0 holds the horizon: ids at or below it count as read everywhere


class ReadMarks:
    def __init__(self, path: Path | str, desk: str, account: str) -> None:
        self.conn = open_local(path)
        # A mark moves with every message the agent watches arrive: no fsync per mark (WAL keeps
        # the file whole; a power cut can only bring back a `●` the agent had already seen).
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS read_marks (desk TEXT NOT NULL, account TEXT NOT NULL,"
            " conversation_id INTEGER NOT NULL, message_id INTEGER NOT NULL,"
            " PRIMARY KEY (desk, account, conversation_id))"
        )
        self.desk = desk
        self.account = account
        self.marks: dict[int, int] = dict(
            self.conn.execute(
                "SELECT conversation_id, message_id FROM read_marks WHERE desk = ? AND account = ?",
                (desk, account),
            ).fetchall()
        )

    @property
    def horizon(self) -> int | None:
        return self.marks.get(HORIZON)

    def start_horizon(self, newest_message_id: int) -> None:
        """First run on this desk: what exists now counts as read (kept once set)."""
        if HORIZON not in self.marks:
            self._write(HORIZON, newest_message_id)

    def seen(self, conversation_id: int) -> int:
        return max(self.marks.get(conversation_id, 0), self.marks.get(HORIZON, 0))

    def mark(self, conversation_id: int, message_id: int) -> bool:
        """The agent had `message_id` on screen. True if that moved the mark forward."""
        if message_id <= self.seen(conversation_id):
            return False
        self._write(conversation_id, message_id)
        return True

    def _write(self, conversation_id: int, message_id: int) -> None:
        self.marks[conversation_id] = message_id
        self.conn.execute(
            "INSERT INTO read_marks(desk, account, conversation_id, message_id) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(desk, account, conversation_id) DO UPDATE SET"
            " message_id = max(message_id, excluded.message_id)",
            (self.desk, self.account, conversation_id, message_id),
        )

    def close(self) -> None:
        self.conn.close()
