"""The inbound SMTP listener: aiosmtpd on the server's own event loop.

It runs on the loop that serves HTTP, so the store keeps its one writer thread: a mail's
conversation, message and events commit like any other write. Only parsing (pure, and
possibly megabytes) runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from agent_console.server.email_parse import Unreadable, parse
from agent_console.server.email_store import DeskStore
from agent_console.server.write_thread import IN_PLACE, WriteThread

log = logging.getLogger("agent_console.server.email")

MAX_RECIPIENTS = 50


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    sock: socket.socket  # bound before the server announces itself, so no client races it
    max_message: int = 25 * 1024 * 1024
    max_attachment: int = 10 * 1024 * 1024
    hostname: str | None = None


class DeskMailHandler:
    """aiosmtpd handler: refuse mail for addresses that are not the desk's, store the rest."""

    def __init__(self, store: DeskStore, max_attachment: int, writes: WriteThread = IN_PLACE) -> None:
        self.store = store
        self.max_attachment = max_attachment
        self.writes = writes  # on PostgreSQL, the store's write thread (server/write_thread.py)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        if not self.store.accepts_recipient(address):
            # Never an open relay: only the desk's own addresses (and their plus-addresses).
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            mail = await asyncio.to_thread(parse, raw, max_attachment=self.max_attachment)
            outcome = await self.writes(
                self.store.receive_mail,
                mail,
                recipients=list(envelope.rcpt_tos),
                null_sender=not (envelope.mail_from or "").strip("<>"),
            )
        except Unreadable as exc:
            # Permanent: the sending server returns it to its author instead of retrying.
            log.info("inbound mail refused: %s", exc)
            return f"554 5.6.0 {exc}"
        except Exception:
            log.exception("could not store an inbound mail; the sender will retry")
            return "451 4.3.0 Temporary failure, please try again later"
        if outcome.dropped:
            # Accepted and dropped: refusing an auto-reply or a bounce would only make another.
            log.info("inbound mail dropped: %s", outcome.dropped)
        return "250 2.0.0 Message accepted"


class MailListener:
    def __init__(self, store: DeskStore, config: ListenerConfig, writes: WriteThread = IN_PLACE) -> None:
        self.store = store
        self.config = config
        self.writes = writes
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        handler = DeskMailHandler(self.store, self.config.max_attachment, self.writes)
        loop = asyncio.get_running_loop()

        def factory() -> Any:
            return SMTP(
                handler,
                data_size_limit=self.config.max_message,
                enable_SMTPUTF8=True,
                hostname=self.config.hostname,
                ident="agent-console desk",
                timeout=120,
            )

        self.server = await loop.create_server(factory, sock=self.config.sock)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
