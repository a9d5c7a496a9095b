"""The store's email domain: mail in (threading, attachments, noise), replies out (the queue
the relay sender drains), the desk's addresses and its reply-address tokens.

A mixin over `Store`: every write joins the store's one transaction-and-events helper, so an
agent's reply and its queued email commit together or not at all (nothing lost), and the
sender marks a row sent in its own transaction right after the relay accepted it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent_console.core.clock import from_iso, to_iso, utcnow
from agent_console.core.models import (
    Agent,
    Attachment,
    Author,
    InboundContact,
    InboundMessage,
    Message,
    NewMessage,
)
from agent_console.server.email_parse import ParsedAttachment, ParsedMail, address_parts
from agent_console.server.routing import RoutingMixin
from agent_console.server.shift_store import ShiftStoreMixin
from agent_console.server.store import NotFound, Store
from agent_console.server.store_base import Transaction

log = logging.getLogger("agent_console.server.email")

FALLBACK_DOMAIN = "agent-console.invalid"  # Message-IDs before any address is configured
MAX_REFERENCES = 20
_TOKEN = re.compile(r"^c([0-9]{1,16})-([0-9a-f]{12})$")


@dataclass(slots=True)
class MailOutcome:
    """What became of one inbound mail: the conversation it went to, or why it was dropped."""

    conversation_id: int | None
    created: bool = False
    dropped: str | None = None


@dataclass(slots=True)
class QueuedMail:
    id: int
    conversation_id: int
    recipient: str
    subject: str
    header_id: str
    in_reply_to: str | None
    references: list[str]
    body: str
    created_at: datetime
    attempts: int


class EmailStoreMixin:
    """Mixed into `Store` (see `DeskStore`); uses its `_write`, `inbound` and `_message`."""

    # Called after a commit that queued a reply, so the sender wakes at once.
    on_mail_queued: Callable[[], None] | None = None

    # --- the desk's addresses and reply tokens ---------------------------------------------

    def mail_addresses(self: Store) -> list[str]:
        rows = self.conn.execute("SELECT address FROM mail_addresses ORDER BY position").fetchall()
        return [row[0] for row in rows]

    def set_mail_addresses(self: Store, addresses: Sequence[str]) -> None:
        with self._write() as tx:
            tx.conn.execute("DELETE FROM mail_addresses")
            for position, address in enumerate(dict.fromkeys(a.strip().lower() for a in addresses)):
                tx.conn.execute(
                    "INSERT INTO mail_addresses(address, position) VALUES (?, ?)", (address, position)
                )

    def _token(self: Store, conversation_id: int) -> str:
        secret = self.conn.execute("SELECT secret FROM mail_secret").fetchone()[0]
        digest = hmac.new(secret.encode(), f"c{conversation_id}".encode(), hashlib.sha256).hexdigest()
        return f"c{conversation_id}-{digest[:12]}"

    def reply_address(self, conversation_id: int) -> str | None:
        """`support+c42-<mac>@example.com`: the address a customer's reply comes back to. The
        mac (keyed by a secret kept in the database) makes the token unguessable."""
        addresses = self.mail_addresses()
        if not addresses:
            return None
        local, _, domain = addresses[0].partition("@")
        return f"{local}+{self._token(conversation_id)}@{domain}"

    def accepts_recipient(self, address: str) -> bool:
        """Mail for one of the desk's addresses, or a plus-address of one, is ours."""
        parts = address_parts(address)
        if parts is None:
            return False
        base, _, domain = parts
        return f"{base}@{domain}" in self.mail_addresses()

    def _token_conversation(self, recipients: Sequence[str]) -> int | None:
        for address in recipients:
            parts = address_parts(address)
            if parts is None or not parts[1]:
                continue
            match = _TOKEN.match(parts[1])
            if match and hmac.compare_digest(self._token(int(match[1])), parts[1]):
                return int(match[1])
        return None

    # --- mail in ------------------------------------------------------------------------------

    def receive_mail(
        self: DeskStore, mail: ParsedMail, *, recipients: Sequence[str], null_sender: bool
    ) -> MailOutcome:
        """Thread one accepted mail into a conversation, or drop it (loops and noise)."""
        own = self.mail_addresses()
        sender_parts = address_parts(mail.sender) if mail.sender else None
        if sender_parts is None:
            return MailOutcome(None, dropped="no readable From address")
        if f"{sender_parts[0]}@{sender_parts[2]}" in own:
            return MailOutcome(None, dropped="sent from the desk's own address (a loop)")
        if mail.bounce_of:
            self._note_bounce(mail)  # a note for the agent; never a reopen, never an answer
        if null_sender:
            return MailOutcome(None, dropped="null return path (a bounce or an automatic reply)")
        if mail.noise:
            return MailOutcome(None, dropped=mail.noise)
        if (
            mail.header_id
            and self.conn.execute(
                "SELECT 1 FROM email_threads WHERE header_id = ?", (mail.header_id,)
            ).fetchone()
        ):
            return MailOutcome(None, dropped="already received (same Message-ID)")
        target = self._thread_target(mail, recipients)
        with self._write() as tx:
            body = mail.text or (
                f"(no text; {len(mail.attachments)} attachment(s))" if mail.attachments else "(no text)"
            )
            result = self.inbound(
                InboundMessage(
                    channel="email",
                    contact=InboundContact(name=(mail.sender_name or mail.sender)[:200], email=mail.sender),
                    body=body,
                    subject=mail.subject or None,
                    conversation_id=target,
                ),
                on_message=lambda tx, message: self._keep_attachments(tx, message, mail.attachments),
            )
            # A mail without a Message-ID gets one of ours: the row also marks the conversation
            # as one that came in by mail (only those are answered by mail).
            header_id = mail.header_id or f"{secrets.token_hex(12)}.no-message-id@{FALLBACK_DOMAIN}"
            tx.conn.execute(
                "INSERT INTO email_threads(header_id, conversation_id, message_id, direction)"
                " VALUES (?, ?, ?, 'in')",
                (header_id, result.conversation_id, result.message.id),
            )
        return MailOutcome(result.conversation_id, created=result.created)

    def _note_bounce(self: DeskStore, mail: ParsedMail) -> None:
        """A delivery report about a reply we sent: say so in its conversation (activity only)."""
        row = self.conn.execute(
            "SELECT t.conversation_id, o.recipient FROM email_threads t"
            " LEFT JOIN email_outbox o ON o.header_id = t.header_id"
            " WHERE t.header_id = ? AND t.direction = 'out'",
            (mail.bounce_of,),
        ).fetchone()
        if row is None:
            return
        reason = f": {mail.bounce_reason}" if mail.bounce_reason else ""
        with self._write() as tx:
            note = self._insert_message(
                tx,
                row["conversation_id"],
                kind="activity",
                body=f"The email reply to {row['recipient'] or 'the customer'} came back undelivered{reason}",
                author=Author(type="system", name=""),
            )
            tx.emit(
                "message.created",
                {"message": note, "conversation": self._stamp(tx, row["conversation_id"])},
            )

    def _thread_target(self: DeskStore, mail: ParsedMail, recipients: Sequence[str]) -> int | None:
        """The conversation this mail continues: by reply token, then In-Reply-To, then
        References (newest first). Only when the sender is that conversation's own contact:
        a stranger who learns a Message-ID cannot write into someone else's conversation."""
        candidates: list[int] = []
        token = self._token_conversation(recipients)
        if token is not None:
            candidates.append(token)
        for header_id in [*mail.in_reply_to, *reversed(mail.references)]:
            row = self.conn.execute(
                "SELECT conversation_id FROM email_threads WHERE header_id = ?", (header_id,)
            ).fetchone()
            if row is not None:
                candidates.append(row[0])
        for conversation_id in dict.fromkeys(candidates):
            row = self.conn.execute(
                "SELECT ct.email FROM conversations c JOIN contacts ct ON ct.id = c.contact_id"
                " WHERE c.id = ?",
                (conversation_id,),
            ).fetchone()
            if row is not None and (row[0] or "").lower() == mail.sender:
                return conversation_id
        return None

    def _keep_attachments(self, tx: Transaction, message: Message, files: Sequence[ParsedAttachment]) -> None:
        kept: list[Attachment] = []
        for file in files:
            cursor = tx.conn.execute(
                "INSERT INTO attachments(message_id, filename, content_type, size, content)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (message.id, file.filename, file.content_type, file.size, file.content),
            )
            kept.append(
                Attachment(
                    id=cursor.fetchone()[0],
                    message_id=message.id,
                    filename=file.filename,
                    content_type=file.content_type,
                    size=file.size,
                    stored=file.content is not None,
                )
            )
        message.attachments = kept  # the event that announces the message carries them

    # --- attachments ----------------------------------------------------------------------------

    _ATTACHMENT_COLUMNS = "id, message_id, filename, content_type, size, content IS NOT NULL AS stored"

    @staticmethod
    def _attachment(row: sqlite3.Row) -> Attachment:
        return Attachment(
            id=row["id"],
            message_id=row["message_id"],
            filename=row["filename"],
            content_type=row["content_type"],
            size=row["size"],
            stored=bool(row["stored"]),
        )

    def list_attachments(self: DeskStore, conversation_id: int) -> list[Attachment]:
        self._require_conversation(conversation_id)
        rows = self.conn.execute(
            f"SELECT {self._ATTACHMENT_COLUMNS} FROM attachments WHERE message_id IN"
            " (SELECT id FROM messages WHERE conversation_id = ?) ORDER BY id",
            (conversation_id,),
        ).fetchall()
        return [self._attachment(row) for row in rows]

    def get_attachment(self: DeskStore, attachment_id: int) -> tuple[Attachment, int]:
        """The attachment and the conversation it belongs to."""
        row = self.conn.execute(
            "SELECT a.id, a.message_id, a.filename, a.content_type, a.size,"
            " a.content IS NOT NULL AS stored, m.conversation_id"
            " FROM attachments a JOIN messages m ON m.id = a.message_id WHERE a.id = ?",
            (attachment_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no attachment with id {attachment_id}")
        return self._attachment(row), row["conversation_id"]

    def attachment_content(self: DeskStore, attachment_id: int) -> bytes | None:
        row = self.conn.execute("SELECT content FROM attachments WHERE id = ?", (attachment_id,)).fetchone()
        if row is None:
            raise NotFound(f"no attachment with id {attachment_id}")
        return None if row[0] is None else bytes(row[0])

    def list_messages(self, conversation_id: int, *, after: int | None, limit: int) -> list[Message]:
        messages = super().list_messages(conversation_id, after=after, limit=limit)  # type: ignore[misc]
        if messages:
            by_id = {m.id: m for m in messages}
            rows = self.conn.execute(  # type: ignore[attr-defined]
                "SELECT a.id, a.message_id, a.filename, a.content_type, a.size,"
                " a.content IS NOT NULL AS stored FROM messages m JOIN attachments a ON a.message_id = m.id"
                " WHERE m.conversation_id = ? AND m.id BETWEEN ? AND ? ORDER BY a.id",
                (conversation_id, messages[0].id, messages[-1].id),
            ).fetchall()
            for row in rows:
                if row["message_id"] in by_id:
                    by_id[row["message_id"]].attachments.append(self._attachment(row))
        return messages

    # --- mail out -----------------------------------------------------------------------------

    def post_message(self, conversation_id: int, new: NewMessage, actor: Agent) -> Message:
        queued = False
        with self._write() as tx:  # type: ignore[attr-defined]
            message = super().post_message(conversation_id, new, actor)  # type: ignore[misc]
            if message.kind == "outgoing":
                queued = self._queue_mail(tx, conversation_id, message)
        if queued and self.on_mail_queued is not None:
            self.on_mail_queued()
        return message

    def _queue_mail(self: DeskStore, tx: Transaction, conversation_id: int, message: Message) -> bool:
        """An agent's reply on an email conversation: queue it for the relay, in the reply's
        own transaction. Its Message-ID and Date are fixed now, so every try sends the same mail."""
        conversation = self.get_conversation(conversation_id)
        if conversation.channel != "email" or not conversation.contact.email:
            return False
        # Only conversations that came in through the listener: an email-channel conversation
        # an integration posted (POST /inbound: a gateway of its own, the simulator, the demo)
        # is answered by that integration, never by mail to whatever address it carries.
        if not tx.conn.execute(
            "SELECT 1 FROM email_threads WHERE conversation_id = ? AND direction = 'in' LIMIT 1",
            (conversation_id,),
        ).fetchone():
            return False
        addresses = self.mail_addresses()
        domain = addresses[0].partition("@")[2] if addresses else FALLBACK_DOMAIN
        header_id = f"{secrets.token_hex(12)}.c{conversation_id}@{domain}"
        known = [
            row[0]
            for row in tx.conn.execute(
                "SELECT header_id, direction FROM email_threads WHERE conversation_id = ? ORDER BY rowid",
                (conversation_id,),
            )
        ]
        last_in = tx.conn.execute(
            "SELECT header_id FROM email_threads WHERE conversation_id = ? AND direction = 'in'"
            " ORDER BY rowid DESC LIMIT 1",
            (conversation_id,),
        ).fetchone()
        subject = conversation.subject or "Your message"
        if not re.match(r"^re:", subject, re.IGNORECASE):
            subject = f"Re: {subject}"
        tx.conn.execute(
            "INSERT INTO email_outbox(message_id, conversation_id, recipient, subject, header_id,"
            " in_reply_to, refs, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message.id,
                conversation_id,
                conversation.contact.email,
                subject,
                header_id,
                last_in[0] if last_in else None,
                " ".join(known[-MAX_REFERENCES:]),
                message.body,
                to_iso(tx.now),
                to_iso(tx.now),
            ),
        )
        tx.conn.execute(
            "INSERT INTO email_threads(header_id, conversation_id, message_id, direction)"
            " VALUES (?, ?, ?, 'out')",
            (header_id, conversation_id, message.id),
        )
        return True

    def due_mail(self: Store, *, limit: int = 20) -> list[QueuedMail]:
        rows = self.conn.execute(
            "SELECT * FROM email_outbox WHERE state = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (to_iso(utcnow()), limit),
        ).fetchall()
        return [
            QueuedMail(
                id=row["id"],
                conversation_id=row["conversation_id"],
                recipient=row["recipient"],
                subject=row["subject"],
                header_id=row["header_id"],
                in_reply_to=row["in_reply_to"],
                references=row["refs"].split(),
                body=row["body"],
                created_at=from_iso(row["created_at"]),
                attempts=row["attempts"],
            )
            for row in rows
        ]

    def next_mail_due(self: Store) -> datetime | None:
        row = self.conn.execute(
            "SELECT min(next_attempt_at) FROM email_outbox WHERE state = 'pending'"
        ).fetchone()
        return None if row[0] is None else from_iso(row[0])

    def mail_sent(self: Store, outbox_id: int) -> None:
        with self._write() as tx:
            tx.conn.execute(
                "UPDATE email_outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1,"
                " last_error = NULL WHERE id = ?",
                (to_iso(tx.now), outbox_id),
            )

    def mail_retry(self: Store, outbox_id: int, error: str, delay: float) -> None:
        with self._write() as tx:
            tx.conn.execute(
                "UPDATE email_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
                " WHERE id = ?",
                (error[:500], to_iso(tx.now + timedelta(seconds=delay)), outbox_id),
            )

    def mail_failed(self: DeskStore, outbox_id: int, error: str) -> None:
        """The relay refused the reply for good: say so in the conversation, for the agent."""
        with self._write() as tx:
            row = tx.conn.execute(
                "SELECT conversation_id, recipient FROM email_outbox WHERE id = ?", (outbox_id,)
            ).fetchone()
            tx.conn.execute(
                "UPDATE email_outbox SET state = 'failed', attempts = attempts + 1, last_error = ?"
                " WHERE id = ?",
                (error[:500], outbox_id),
            )
            note = self._insert_message(
                tx,
                row["conversation_id"],
                kind="activity",
                body=f"The email reply to {row['recipient']} was not delivered: {error[:300]}",
                author=Author(type="system", name=""),
            )
            tx.emit(
                "message.created",
                {"message": note, "conversation": self._stamp(tx, row["conversation_id"])},
            )


class DeskStore(ShiftStoreMixin, RoutingMixin, EmailStoreMixin, Store):
    """The desk server's store: the core domains plus email, shifts and routing."""
