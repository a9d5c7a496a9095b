"""Messages, as a mixin of the store: a conversation's thread, an agent's reply or note
(refused as stale when the customer wrote since the agent looked), a customer's message on a
channel (`inbound`: new conversation or reopened one, contact found or created, triage, the
FAQ bot's turn), the typing and viewing signals, and idempotent retries of any write.

All of it through the store's one transaction-and-events helper (`store_base.StoreBase._write`).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from agent_console.core import urgency
from agent_console.core.clock import from_iso, to_iso
from agent_console.core.models import (
    Agent,
    AgentRef,
    Author,
    InboundMessage,
    InboundResult,
    Message,
    NewMessage,
)
from agent_console.core.queue import QUEUE_TAIL
from agent_console.core.visibility import CUSTOMER_VISIBLE
from agent_console.server.store_base import IdempotencyMismatch, Invalid, NotFound, Stale, Transaction

if TYPE_CHECKING:
    from agent_console.server.store import Store

    _Base = Store
else:
    _Base = object


class MessageStoreMixin(_Base):
    # --- messages ------------------------------------------------------------------------

    def list_messages(self, conversation_id: int, *, after: int | None, limit: int) -> list[Message]:
        self._require_conversation(conversation_id)
        rows = self.conn.execute(
            "SELECT * FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?",
            (conversation_id, max(after or 0, 0), limit),
        ).fetchall()
        return [self._message(r) for r in rows]

    def _require_conversation(self, conversation_id: int) -> None:
        if (
            self.conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            is None
        ):
            raise NotFound(f"no conversation with id {conversation_id}")

    @staticmethod
    def _message(row: sqlite3.Row) -> Message:
        return Message(
            id=row["id"],
            conversation_id=row["conversation_id"],
            kind=row["kind"],
            body=row["body"],
            author=Author(type=row["author_type"], id=row["author_id"], name=row["author_name"]),
            created_at=from_iso(row["created_at"]),
        )

    def _insert_message(
        self,
        tx: Transaction,
        conversation_id: int,
        *,
        kind: str,
        body: str,
        author: Author,
        at: datetime | None = None,
    ) -> Message:
        """Insert a message and keep the conversation's derived fields in step."""
        at_text = to_iso(at or tx.now)
        cursor = tx.conn.execute(
            "INSERT INTO messages(conversation_id, kind, body, author_type, author_id, author_name,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (conversation_id, kind, body, author.type, author.id, author.name, at_text),
        )
        message_id = cursor.fetchone()[0]
        updates = ["message_count = message_count + 1", "last_activity_at = ?"]
        params: list[Any] = [at_text]
        if kind != "activity":
            updates.append("last_message_id = ?")
            params.append(message_id)
        if kind in CUSTOMER_VISIBLE:
            updates.append("last_visible_message_id = ?")
            params.append(message_id)
        if kind == "incoming":
            updates += [
                "waiting_since = COALESCE(waiting_since, ?)",
                "unread_count = unread_count + 1",
            ]
            params.append(at_text)
        elif kind == "outgoing":
            updates += [
                "waiting_since = NULL",
                "unread_count = 0",
                "first_response_at = COALESCE(first_response_at, ?)",
            ]
            params.append(at_text)
        tx.conn.execute(
            f"UPDATE conversations SET {', '.join(updates)} WHERE id = ?", [*params, conversation_id]
        )
        if kind in ("incoming", "outgoing"):
            self._refresh_due(tx, conversation_id)
        return Message(
            id=message_id,
            conversation_id=conversation_id,
            kind=kind,  # type: ignore[arg-type]
            body=body,
            author=author,
            created_at=from_iso(at_text),
        )

    def post_message(self, conversation_id: int, new: NewMessage, actor: Agent) -> Message:
        with self._write() as tx:
            self._require_conversation(conversation_id)
            if new.last_seen_message_id is not None and not new.force:
                unseen = [
                    self._message(r)
                    for r in tx.conn.execute(
                        "SELECT * FROM messages WHERE conversation_id = ? AND id > ?"
                        " AND kind != 'activity'"
                        " AND NOT (author_type = 'agent' AND author_id IS ?) ORDER BY id",
                        (conversation_id, new.last_seen_message_id, actor.id),
                    )
                ]
                if unseen:
                    raise Stale(
                        f"{len(unseen)} new message(s) since the one you last saw;"
                        " review them, then send with force",
                        unseen,
                    )
            message = self._insert_message(
                tx,
                conversation_id,
                kind="note" if new.private else "outgoing",
                body=new.body,
                author=Author(type="agent", id=actor.id, name=actor.name),
            )
            self._advance_mark(tx.conn, actor.id, conversation_id, message.id)
            tx.emit(
                "message.created",
                {"message": message, "conversation": self._stamp(tx, conversation_id)},
            )
        return message

    def inbound(
        self, inbound: InboundMessage, *, on_message: Callable[[Transaction, Message], None] | None = None
    ) -> InboundResult:
        """A customer wrote in on a channel: create or continue a conversation.

        `on_message` runs in the same transaction right after the message is written and
        before its event goes out (a channel's extras, e.g. an email's attachments)."""
        with self._write() as tx:
            created = inbound.conversation_id is None
            if created:
                contact = self.get_contact(self._find_or_create_contact(tx, inbound))
                language = inbound.contact.language or contact.language
                priority = "normal"
                stamp = to_iso(tx.now)
                cursor = tx.conn.execute(
                    "INSERT INTO conversations(channel, status, priority, subject, language,"
                    " contact_id, created_at, updated_at, last_activity_at, queue_key)"
                    " VALUES (?, 'open', 'normal', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (
                        inbound.channel,
                        inbound.subject,
                        language,
                        contact.id,
                        stamp,
                        stamp,
                        stamp,
                        QUEUE_TAIL,
                    ),
                )
                conversation_id = cursor.fetchone()[0]
                self._bot_claim(tx, conversation_id, inbound.channel)
            else:
                # Continuing a conversation: its own contact is the author.
                conversation_id = inbound.conversation_id
                row = tx.conn.execute(
                    "SELECT status, contact_id, priority FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()
                if row is None:
                    raise NotFound(f"no conversation with id {conversation_id}")
                contact, priority = self.get_contact(row["contact_id"]), row["priority"]
                if row["status"] != "open" and not self._bot_holds(tx, conversation_id):
                    # A customer writing again reopens the conversation for the team.
                    tx.conn.execute(
                        "UPDATE conversations SET status = 'open', snoozed_until = NULL WHERE id = ?",
                        (conversation_id,),
                    )
            # A customer who says it is urgent is heard (core/urgency.py): before the message
            # goes in, so its due time is computed at the raised priority.
            raised = urgency.raised_priority(priority, inbound.body)
            if raised is not None:
                tx.conn.execute(
                    "UPDATE conversations SET priority = ? WHERE id = ?", (raised, conversation_id)
                )
            message = self._insert_message(
                tx,
                conversation_id,
                kind="incoming",
                body=inbound.body,
                author=Author(type="contact", id=contact.id, name=contact.name),
            )
            if on_message is not None:
                on_message(tx, message)
            triaged = self._triage_incoming(tx, conversation_id)
            conversation = self._stamp(tx, conversation_id)
            if created:
                tx.emit("conversation.created", {"conversation": conversation})
                conversation = self._stamp(tx, conversation_id)
            tx.emit("message.created", {"message": message, "conversation": conversation})
            if triaged:
                self._announce_triage(tx, conversation_id)
            if raised is not None:
                note = self._insert_message(
                    tx,
                    conversation_id,
                    kind="activity",
                    body=f"Priority raised from {priority} to {raised}: the customer wrote that it is urgent",
                    author=Author(type="system", name=""),
                )
                conversation = self._stamp(tx, conversation_id)
                tx.emit("message.created", {"message": note, "conversation": conversation})
                if not created:
                    tx.emit("conversation.updated", {"conversation": conversation, "changed": ["priority"]})
            self._bot_turn(tx, conversation_id, message)  # the FAQ bot answers or hands off (bot_store)
        return InboundResult(conversation_id=conversation_id, message=message, created=created)

    def _find_or_create_contact(self, tx: Transaction, inbound: InboundMessage) -> int:
        person = inbound.contact
        # Blank means unknown: "" must neither match nor claim the one empty address.
        email = (person.email or "").strip() or None
        phone = (person.phone or "").strip() or None
        row = None
        if email:
            row = tx.conn.execute("SELECT id FROM contacts WHERE email = ?", (email,)).fetchone()
        if row is None and phone:
            row = tx.conn.execute("SELECT id FROM contacts WHERE phone = ?", (phone,)).fetchone()
        if row is not None:
            return row[0]
        cursor = tx.conn.execute(
            "INSERT INTO contacts(name, email, phone, language, timezone, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (
                person.name,
                email,
                phone,
                person.language or "en",
                person.timezone,
                to_iso(tx.now),
            ),
        )
        return cursor.fetchone()[0]

    # --- ephemeral signals (still logged, so every event has a seq) ----------------------

    def typing(self, conversation_id: int, author: Author, *, active: bool, private: bool) -> None:
        with self._write() as tx:
            self._require_conversation(conversation_id)
            tx.emit(
                "typing",
                {
                    "conversation_id": conversation_id,
                    "author": author,
                    "active": active,
                    "private": private,
                },
            )

    def viewing(self, conversation_id: int, agent: Agent, *, active: bool) -> None:
        with self._write() as tx:
            self._require_conversation(conversation_id)
            tx.emit(
                "viewing",
                {
                    "conversation_id": conversation_id,
                    "agent": AgentRef(id=agent.id, name=agent.name),
                    "active": active,
                },
            )

    # --- idempotency -----------------------------------------------------------------------

    def idempotent(
        self,
        principal_id: int,
        key: str | None,
        request: bytes,
        action: Callable[[], tuple[int, Any]],
    ) -> tuple[int, bytes]:
        """Run `action` at most once per (principal, key); a retry gets the first answer.

        The stored answer commits in the same transaction as the change it describes,
        so a crash cannot keep one without the other.
        """
        if not key:
            status, body = action()
            return status, msgspec.json.encode(body)
        if len(key) > 200:
            raise Invalid("Idempotency-Key is longer than 200 characters", field="Idempotency-Key")
        request_hash = hashlib.sha256(request).hexdigest()
        with self._write() as tx:
            row = tx.conn.execute(
                "SELECT request_hash, status, response FROM idempotency WHERE principal_id = ? AND key = ?",
                (principal_id, key),
            ).fetchone()
            if row is not None:
                if row["request_hash"] != request_hash:
                    raise IdempotencyMismatch(
                        "this Idempotency-Key was already used for a different request",
                        field="Idempotency-Key",
                    )
                return row["status"], bytes(row["response"])
            status, body = action()
            encoded = msgspec.json.encode(body)
            tx.conn.execute(
                "INSERT INTO idempotency(principal_id, key, request_hash, status, response,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (principal_id, key, request_hash, status, encoded, to_iso(tx.now)),
            )
        return status, encoded
