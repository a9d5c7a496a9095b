"""Agents' replies on email conversations, out through an SMTP relay.

The queue is the `email_outbox` table: a reply and its row commit together. One task drains
it: a row is marked sent in its own transaction as soon as the relay accepts the mail, and
every failure that may pass (relay down, 4xx, a timeout) is retried with growing waits, across
server restarts. A 5xx refusal fails the row and says so in the conversation.

Exactly once, as far as SMTP allows: the one window for a second copy is a crash between
the relay's "250" and our commit; the copy then carries the same Message-ID, which mail
clients treat as the same mail.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import random
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Literal

from agent_console.core.clock import utcnow
from agent_console.server.email_store import DeskStore, QueuedMail

log = logging.getLogger("agent_console.server.email")

TlsMode = Literal["starttls", "tls", "none"]
# Seconds between a waiting process's tries for the outbox lease (several processes on PostgreSQL).
LEASE_RETRY = 5.0
LEASE_POLL = 1.0  # how often the process holding the lease looks for what others queued


@dataclass(frozen=True, slots=True)
class RelayConfig:
    host: str
    port: int = 587
    tls: TlsMode = "starttls"
    username: str | None = None
    password: str | None = None  # from the environment, never the command line
    ca_file: str | None = None
    timeout: float = 30.0
    retry_base: float = 5.0  # seconds before the second try; doubles per try up to the cap
    retry_cap: float = 600.0

    def __repr__(self) -> str:  # never show the password
        return f"RelayConfig({self.host}:{self.port}, tls={self.tls}, user={self.username!r})"


def parse_relay(text: str) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port`, or ValueError."""
    text = text.strip()
    host, port = text, 587
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif text.count(":") == 1:
        host, _, digits = text.partition(":")
        port = int(digits)
    if not host or not 0 < port < 65536:
        raise ValueError(f"relay {text!r} must be HOST or HOST:PORT")
    return host, port


class PermanentFailure(Exception):
    """The relay refused this mail for good (5xx)."""


def build_mail(item: QueuedMail, *, sender: str, desk_name: str, reply_to: str | None) -> bytes:
    """The reply as RFC 5322 bytes: the same bytes on every try (Message-ID and Date are stored)."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = Address(display_name=desk_name, addr_spec=sender)
    if reply_to:
        message["Reply-To"] = reply_to
    message["To"] = item.recipient
    message["Subject"] = item.subject
    message["Date"] = format_datetime(item.created_at)
    message["Message-ID"] = f"<{item.header_id}>"
    if item.in_reply_to:
        message["In-Reply-To"] = f"<{item.in_reply_to}>"
    if item.references:
        message["References"] = " ".join(f"<{ref}>" for ref in item.references)
    message.set_content(item.body)
    return message.as_bytes()


def _classify(exc: Exception) -> Exception:
    """PermanentFailure for a 5xx answer about this mail; the error itself otherwise."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            detail = "; ".join(
                f"{code} {msg.decode(errors='replace')}" for code, msg in exc.recipients.values()
            )
            return PermanentFailure(f"the relay refused the recipient: {detail}")
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) and exc.smtp_code >= 500:
        detail = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return PermanentFailure(f"the relay refused the mail: {exc.smtp_code} {detail}")
    return exc


def send_via_relay(relay: RelayConfig, mail_from: str, recipient: str, raw: bytes) -> None:
    """One SMTP session with the relay (blocking: run it in a thread)."""
    context = ssl.create_default_context(cafile=relay.ca_file)
    # The desk's mail domain names us in EHLO: smtplib's default asks DNS for our own name,
    # which can stall for seconds on a host without reverse DNS.
    helo = mail_from.rpartition("@")[2] or "localhost"
    if relay.tls == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            relay.host, relay.port, local_hostname=helo, timeout=relay.timeout, context=context
        )
    else:
        client = smtplib.SMTP(relay.host, relay.port, local_hostname=helo, timeout=relay.timeout)
    with client:
        client.ehlo()
        if relay.tls == "starttls":
            client.starttls(context=context)  # refuses to go on in clear if the relay lacks it
            client.ehlo()
        if relay.username:
            client.login(relay.username, relay.password or "")
        client.sendmail(mail_from, [recipient], raw)


class MailSender:
    """Drains the email outbox through the relay; `poke()` wakes it for a new reply."""

    def __init__(self, store: DeskStore, relay: RelayConfig | None, *, lease: Any = None) -> None:
        self.store = store
        self.relay = relay
        self.lease = lease  # several processes: send only while holding it (server/pg_shared.py)
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()  # clear while a mail is with the relay
        self.idle.set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def poke(self) -> None:
        """A reply was queued. Called from the store, which on PostgreSQL writes on its own
        thread (server/write_thread.py): the event is set on the loop, never from there."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.wake.set)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.task = self._loop.create_task(self.run(), name="email-outbox")

    async def stop(self, grace: float = 2.0) -> None:
        if self.task is not None:
            # A mail the relay is taking now gets the chance to be recorded as sent: stopping
            # in that window is the one way a reply could go out twice.
            try:
                await asyncio.wait_for(self.idle.wait(), grace)
            except TimeoutError:
                pass
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass
            self.task = None
        if self.lease is not None:
            self.lease.release()

    async def run(self) -> None:
        while True:
            self.wake.clear()
            if self.lease is not None and not self.lease.held():
                await asyncio.sleep(LEASE_RETRY)  # another process sends; take over if it goes
                continue
            if self.relay is not None:
                for item in self.store.due_mail():
                    await self._deliver(item)
            due = self.store.next_mail_due() if self.relay is not None else None
            timeout = None if due is None else max(0.0, (due - utcnow()).total_seconds())
            if self.lease is not None:
                # Replies queued by other processes poke only their own sender: look every second.
                timeout = LEASE_POLL if timeout is None else min(timeout, LEASE_POLL)
            if timeout == 0.0:
                continue
            try:
                await asyncio.wait_for(self.wake.wait(), timeout)
            except TimeoutError:
                pass

    def _delay(self, attempts: int) -> float:
        assert self.relay is not None
        ceiling = min(self.relay.retry_cap, self.relay.retry_base * 2 ** min(attempts, 30))
        return random.uniform(ceiling / 2, ceiling)  # jitter, but never a hot loop

    async def _deliver(self, item: QueuedMail) -> None:
        assert self.relay is not None
        addresses = self.store.mail_addresses()
        if not addresses:
            self.store.mail_retry(
                item.id, "no desk address configured (--mail-address)", self._delay(item.attempts)
            )
            return
        try:
            raw = build_mail(
                item,
                sender=addresses[0],
                desk_name=self.store.desk().name,
                reply_to=self.store.reply_address(item.conversation_id),
            )
        except (ValueError, TypeError) as exc:  # an address the mail library cannot write
            self.store.mail_failed(item.id, f"cannot write the mail: {exc}")
            return
        self.idle.clear()
        try:
            await asyncio.to_thread(send_via_relay, self.relay, addresses[0], item.recipient, raw)
        except Exception as exc:  # every failure is retried or failed, never lost
            self.idle.set()
            problem = _classify(exc)
            if isinstance(problem, PermanentFailure):
                log.warning("email reply %s refused for good: %s", item.id, problem)
                self.store.mail_failed(item.id, str(problem))
            else:
                delay = self._delay(item.attempts)
                log.warning("email reply %s not sent (%s); next try in %.1f s", item.id, exc, delay)
                self.store.mail_retry(item.id, f"{type(exc).__name__}: {exc}", delay)
            return
        self.store.mail_sent(item.id)
        self.idle.set()
