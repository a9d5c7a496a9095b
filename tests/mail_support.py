"""Support for the email tests: a desk server listening for mail, a relay sink (aiosmtpd)
standing in for the SMTP relay, and mail written and sent with smtplib like a mail server would."""

from __future__ import annotations

import email
import email.policy
import email.utils
import smtplib
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from agent_console.server.process import ServerProcess
from agent_console.server.run import SMTP_READY_PREFIX
from tests.conftest import Desk, start_desk

DESK_ADDRESS = "support@desk.test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check: Callable[[], Any], *, timeout: float = 30.0, what: str = "the condition") -> Any:
    """Poll `check` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class RelaySink:
    """An SMTP server standing in for the desk's relay: keeps every mail it accepts.

    `refuse` holds recipients it answers 550 for (a permanent refusal)."""

    def __init__(self, port: int | None = None, refuse: tuple[str, ...] = (), **smtp: Any) -> None:
        self.port = port or free_port()
        self.refuse = {r.lower() for r in refuse}
        self.smtp = smtp  # aiosmtpd SMTP options: STARTTLS, authentication
        self.received: list[Received] = []
        self.sessions: list[tuple[bool, bool]] = []  # (over TLS, logged in) for each mail
        self.controller: Controller | None = None
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            over_tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
            self.sessions.append((over_tls, bool(session.authenticated)))
        return "250 2.0.0 Queued"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **self.smtp)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [r.message for r in self.received]


@dataclass
class MailDesk:
    """A desk server that receives mail on `smtp_port` and relays replies to `sink`."""

    desk: Desk
    smtp_port: int
    sink: RelaySink
    args: tuple[str, ...]
    extra: list[ServerProcess] = field(default_factory=list)

    def send(
        self, message: EmailMessage, *, mail_from: str | None = None, to: list[str] | None = None
    ) -> dict:
        """Deliver like a mail server would; returns smtplib's refused-recipients dict."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as client:
            if mail_from is None and to is None:
                return client.send_message(message)
            return client.sendmail(
                message["From"] if mail_from is None else mail_from,
                to or [DESK_ADDRESS],
                message.as_bytes(),
            )

    def outbox(self) -> list[dict]:
        """The server's queue of email replies, read-only (what the sender has tried)."""
        if not isinstance(self.desk.db, Path):  # PostgreSQL
            import psycopg
            from psycopg.rows import dict_row

            with psycopg.connect(self.desk.db, row_factory=dict_row) as pg:
                return pg.execute("SELECT * FROM email_outbox ORDER BY id").fetchall()
        conn = sqlite3.connect(f"file:{self.desk.db}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute("SELECT * FROM email_outbox ORDER BY id")]
        finally:
            conn.close()

    def restart(self) -> None:
        """Stop the server (as an operator would) and start it again on the same database."""
        self.desk.server.stop()
        server = ServerProcess(self.desk.db, extra_args=self.args)
        server.start()
        self.desk.server = server
        self.desk.url = server.url
        for name in ("admin", "agent"):
            self.desk.__dict__.pop(name, None)  # clients of the old URL
        self.smtp_port = smtp_port(server)


def smtp_port(server: ServerProcess) -> int:
    def found() -> int | None:
        for line in list(server.stderr_lines):
            if line.startswith(SMTP_READY_PREFIX):
                return int(line.strip().rpartition(":")[2])
        return None

    return wait_for(found, what="the desk's SMTP listener line")


def start_mail_desk(
    db: Path | str,
    sink: RelaySink,
    *,
    attachment_limit: int = 1000,
    relay_args: tuple[str, ...] = ("--smtp-relay-tls", "none"),
) -> MailDesk:
    args = (
        "--smtp-port", "0",
        "--mail-address", DESK_ADDRESS,
        "--mail-address", "help@desk.test",
        "--smtp-relay", f"127.0.0.1:{sink.port}",
        *relay_args,
        "--smtp-retry-base", "0.1",
        "--mail-attachment-limit", str(attachment_limit),
    )  # fmt: skip
    desk = start_desk(db, demo=False, extra_args=args)
    return MailDesk(desk, smtp_port(desk.server), sink, args)


def customer_mail(
    *,
    sender: str = "Rita Customer <rita@cust.test>",
    subject: str = "Invoice question",
    text: str | None = "Hello, where is my invoice?",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    to: str = DESK_ADDRESS,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or email.utils.make_msgid(domain="cust.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    return message
