"""Run the desk server: open (and migrate, and maybe seed) the database, then serve."""

from __future__ import annotations

import dataclasses
import socket
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from agent_console.server import db

if TYPE_CHECKING:
    from agent_console.server.email_outbound import RelayConfig
    from agent_console.server.routing import RoutingConfig

PUBLIC_URL_ENV = "AGENT_CONSOLE_PUBLIC_URL"
SMTP_READY_PREFIX = "agent-console smtp listening on "  # on stderr: stdout's first line is the URL's


def check_public_url(url: str) -> str:
    """The desk's public base URL, or ValueError saying what is wrong with it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"public URL {url!r} must be an absolute http:// or https:// URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"public URL {url!r} must be a plain base URL (no query, fragment or credentials)")
    return url.strip().rstrip("/")


def prepare_database(
    path: Path | str,
    *,
    demo: bool,
    demo_now: datetime | None = None,
    public_url: str | None = None,
    mail_addresses: Sequence[str] = (),
) -> bool:
    """Migrate the schema; with `demo`, seed an empty database. True when it seeded."""
    conn = db.connect(path)
    try:
        if mail_addresses:
            # Kept in the database (a desk setting): replies and threading read them there.
            from agent_console.server.email_store import DeskStore

            DeskStore(conn).set_mail_addresses(mail_addresses)
        if public_url is not None:
            # Stored, so every process on this database (and /api/v1/desk) agrees on it.
            from agent_console.server.store import Store

            Store(conn).configure_desk(public_url=check_public_url(public_url))
        if not demo:
            return False
        from agent_console.server.seed import is_empty, seed_demo

        if demo and is_empty(conn):
            seed_demo(conn, now=demo_now)
            return True
        from agent_console.server.seed import is_demo_desk, rebase_demo

        if is_demo_desk(conn):  # never move the clock of a real desk's data
            shift = rebase_demo(conn, now=demo_now)
            if shift:
                hours = shift.total_seconds() / 3600
                print(f"demo desk moved {hours:.1f} h forward: as it was when last used", file=sys.stderr)
        return False
    finally:
        conn.close()


def bind(host: str, port: int) -> socket.socket:
    """Bind and listen before announcing the address, so no client ever races the server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY itself only on sockets it knows are TCP, and
    # accepted sockets inherit the option. Without it an answer written in two parts (head, then
    # body) waits for the client's delayed ACK: ~40 ms on every REST call.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(4096)  # the kernel caps this at somaxconn; a thousand agents may connect at once
    sock.set_inheritable(True)
    return sock


def serve(
    *,
    host: str,
    port: int,
    db_path: Path | str,
    demo: bool,
    demo_now: datetime | None = None,
    log_level: str = "warning",
    event_window: int = 100_000,
    ping_interval: float = 15.0,
    public_url: str | None = None,
    smtp_host: str = "127.0.0.1",
    smtp_port: int | None = None,
    mail_addresses: Sequence[str] = (),
    relay: RelayConfig | None = None,
    attachment_limit: int = 10 * 1024 * 1024,
    triage_rules: Path | None = None,
    routing: RoutingConfig | None = None,  # None: from the environment
) -> None:
    import uvicorn

    from agent_console.server.app import create_app
    from agent_console.server.guard import (
        BodyGuard,
        ConnectionGuard,
        FeedWebSocketProtocol,
        GuardedH11Protocol,
        Limits,
        raise_fd_limit,
    )
    from agent_console.server.logs import log_config
    from agent_console.server.process import die_with_parent

    die_with_parent()  # started by `demo` or a test: never outlive it

    limits = Limits.from_env()
    limits = dataclasses.replace(limits, max_connections=raise_fd_limit(limits.max_connections))
    seeded = prepare_database(
        db_path, demo=demo, demo_now=demo_now, public_url=public_url, mail_addresses=mail_addresses
    )
    smtp = None
    if smtp_port is not None:
        from agent_console.server.email_inbound import ListenerConfig

        smtp_sock = bind(smtp_host, smtp_port)
        smtp = ListenerConfig(sock=smtp_sock, max_attachment=attachment_limit)
        shown_smtp = f"[{smtp_host}]" if ":" in smtp_host else smtp_host
        print(f"{SMTP_READY_PREFIX}{shown_smtp}:{smtp_sock.getsockname()[1]}", file=sys.stderr, flush=True)
    app = create_app(
        db_path,
        event_window=event_window,
        ping_interval=ping_interval,
        limits=limits,
        # A demo seeded as of a fixed time keeps its SLA clocks there too (reproducible screens).
        sla_interval=None if demo_now is not None else 1.0,
        smtp=smtp,
        relay=relay,
        triage_rules=triage_rules,
        routing=routing,
    )
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    if seeded:
        print(f"seeded the demo data set into {db.describe(db_path)}", file=sys.stderr, flush=True)
    # The first stdout line is a contract: tools that start the server read the URL from it.
    print(f"agent-console desk server listening on http://{shown}:{actual}", flush=True)
    guard = ConnectionGuard(limits)
    config = uvicorn.Config(
        BodyGuard(app, limits),
        log_level=log_level,
        log_config=log_config(log_level),
        access_log=log_level in ("debug", "info"),
        lifespan="on",
        # The connection guard lives in the protocol classes (see server/guard.py).
        http=type("DeskHttpProtocol", (GuardedH11Protocol,), {"guard": guard}),
        ws=FeedWebSocketProtocol,
        # Compression is per socket; without it one encoded frame serves every subscriber.
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        timeout_graceful_shutdown=3,
    )
    uvicorn.Server(config).run(sockets=[sock])
