"""Starts and stops the desk's mail: the SMTP listener (when asked for) and the relay sender."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent_console.server.email_store import DeskStore
from agent_console.server.write_thread import IN_PLACE, WriteThread

if TYPE_CHECKING:
    from agent_console.server.email_inbound import ListenerConfig, MailListener
    from agent_console.server.email_outbound import MailSender, RelayConfig


class MailService:
    """Runs on the server's event loop (Litestar start-up and shut-down hooks)."""

    def __init__(
        self,
        store: DeskStore,
        *,
        smtp: ListenerConfig | None,
        relay: RelayConfig | None,
        shared_dsn: str | None = None,
        writes: WriteThread = IN_PLACE,
    ) -> None:
        self.store = store
        self.writes = writes  # on PostgreSQL, inbound mail is stored on the write thread
        # On PostgreSQL with several processes, one of them sends the outbox (server/pg_shared.py).
        self.shared_dsn = shared_dsn
        self.smtp = smtp
        self.relay = relay
        self.listener: MailListener | None = None
        self.sender: MailSender | None = None

    async def start(self) -> None:
        if self.relay is not None:
            from agent_console.server.email_outbound import MailSender

            lease = None
            if self.shared_dsn is not None:
                from agent_console.server.pg_shared import OUTBOX_LEASE, Lease

                lease = Lease(self.shared_dsn, OUTBOX_LEASE, "email outbox")
            self.sender = MailSender(self.store, self.relay, lease=lease)
            self.store.on_mail_queued = self.sender.poke
            self.sender.start()  # also sends what an earlier run left queued
        if self.smtp is not None:
            # aiosmtpd is imported only by a desk that listens for mail.
            from agent_console.server.email_inbound import MailListener

            self.listener = MailListener(self.store, self.smtp, self.writes)
            await self.listener.start()

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        if self.sender is not None:
            await self.sender.stop()
