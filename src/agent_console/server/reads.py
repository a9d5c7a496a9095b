"""Read marks: each agent's newest read message per conversation, and the unread counts
that follow from them. A mixin of the store (same connection, same transactions).

Unread, for agent A in conversation C: the messages in C after A's mark that came from the
customer (`incoming`) or from a colleague (a reply or a private note by another agent). A's
own messages never count, nor bot messages or activity lines. Without a mark, A's horizon
(the newest message when A joined the desk) stands in, so a new agent does not start with
every old conversation unread.

The feed is encoded once for every socket, so conversation copies in feed events cannot
carry a per-agent count. REST answers are personal (`personal`); on the feed, a change of
mark is its own event, `conversation.read`, with the agent, the mark and that agent's count,
and clients count new messages after their mark themselves (core/reducer.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import msgspec

from agent_console.core.models import Conversation, ConversationPage, ReadState, ReadUpdate, ReadUpTo
from agent_console.server.store_base import Conflict, NotFound

# Messages that count as unread for agent :me (their own never do).
_COUNTS = (
    "(m.kind = 'incoming' OR (m.kind IN ('outgoing', 'note') AND m.author_type = 'agent'"
    " AND m.author_id IS NOT :me))"
)


class ReadsMixin:
    conn: sqlite3.Connection

    # --- reading -------------------------------------------------------------------------

    def read_marks(self, agent_id: int, conversation_ids: Iterable[int]) -> dict[int, tuple[int, int, int]]:
        """Per conversation: (effective mark, unread count, seq of the event that set the mark)."""
        ids = list(dict.fromkeys(conversation_ids))
        out: dict[int, tuple[int, int, int]] = {}
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT c.id, coalesce(rm.message_id, a.read_horizon) AS mark, coalesce(rm.seq, 0) AS seq"
                f" FROM conversations c JOIN agents a ON a.id = ?"
                f" LEFT JOIN read_marks rm ON rm.agent_id = a.id AND rm.conversation_id = c.id"
                f" WHERE c.id IN ({marks})",
                [agent_id, *chunk],
            ).fetchall()
            for conversation_id, mark, seq in rows:
                out[conversation_id] = (mark, self._unread(agent_id, conversation_id, mark), seq)
        return out

    def _unread(self, agent_id: int, conversation_id: int, mark: int) -> int:
        return self.conn.execute(
            f"SELECT count(*) FROM messages m WHERE m.conversation_id = :c AND m.id > :mark AND {_COUNTS}",
            {"c": conversation_id, "mark": mark, "me": agent_id},
        ).fetchone()[0]

    def personal(self, agent_id: int, conversation: Conversation) -> Conversation:
        """The conversation as `agent_id` should see it: their mark and unread count."""
        mark, unread, seq = self.read_marks(agent_id, [conversation.id])[conversation.id]
        return msgspec.structs.replace(
            conversation, unread_count=unread, last_read_message_id=mark, read_seq=seq
        )

    def personal_page(self, agent_id: int, page: ConversationPage) -> ConversationPage:
        marks = self.read_marks(agent_id, [c.id for c in page.items])
        page.items = [
            msgspec.structs.replace(c, unread_count=m[1], last_read_message_id=m[0], read_seq=m[2])
            for c in page.items
            if (m := marks.get(c.id)) is not None
        ]
        return page

    def read_state(self, agent_id: int, conversation_id: int) -> ReadState:
        self._require_conversation(conversation_id)  # type: ignore[attr-defined]
        mark, unread, _ = self.read_marks(agent_id, [conversation_id])[conversation_id]
        return ReadState(
            conversation_id=conversation_id, agent_id=agent_id, last_read_message_id=mark, unread_count=unread
        )

    # --- writing -------------------------------------------------------------------------

    def set_read(self, agent_id: int, conversation_id: int, update: ReadUpdate) -> ReadState:
        """Move the agent's mark; emits `conversation.read` when it moved (a repeat is quiet)."""
        with self._write() as tx:  # type: ignore[attr-defined]
            current = self.read_state(agent_id, conversation_id)
            if isinstance(update, ReadUpTo):
                found = tx.conn.execute(
                    "SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?",
                    (update.message_id, conversation_id),
                ).fetchone()
                if found is None:
                    raise NotFound(
                        f"no message {update.message_id} in conversation {conversation_id}",
                        field="message_id",
                    )
                mark = max(current.last_read_message_id, update.message_id)  # never backwards by accident
            else:
                newest = tx.conn.execute(
                    f"SELECT max(m.id) FROM messages m WHERE m.conversation_id = :c AND {_COUNTS}",
                    {"c": conversation_id, "me": agent_id},
                ).fetchone()[0]
                if newest is None:
                    raise Conflict(
                        "nothing to mark unread: no message from the customer or a colleague yet",
                        field="mark",
                    )
                # Just below the newest counted message: it (and only what follows) is unread.
                mark = min(current.last_read_message_id, newest - 1)
            if mark == current.last_read_message_id:
                return current
            state = ReadState(
                conversation_id=conversation_id,
                agent_id=agent_id,
                last_read_message_id=mark,
                unread_count=self._unread(agent_id, conversation_id, mark),
            )
            seq = tx.emit("conversation.read", state)
            tx.conn.execute(
                "INSERT INTO read_marks(agent_id, conversation_id, message_id, seq) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(agent_id, conversation_id) DO UPDATE SET"
                " message_id = excluded.message_id, seq = excluded.seq",
                (agent_id, conversation_id, mark, seq),
            )
        return state

    def _advance_mark(
        self, conn: sqlite3.Connection, agent_id: int, conversation_id: int, message_id: int
    ) -> None:
        """An agent who writes in a conversation has read it up to what they wrote (no event:
        every client sees the message and clears that agent's count itself)."""
        conn.execute(
            "INSERT INTO read_marks(agent_id, conversation_id, message_id) VALUES (?, ?, ?)"
            " ON CONFLICT(agent_id, conversation_id) DO UPDATE SET"
            " message_id = CASE WHEN excluded.message_id > read_marks.message_id"
            " THEN excluded.message_id ELSE read_marks.message_id END",
            (agent_id, conversation_id, message_id),
        )
