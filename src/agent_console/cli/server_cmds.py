"""Commands that run or administer the desk server: serve, server add-agent, server migrate, demo,
simulate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

server_app = typer.Typer(help="Administer a desk server's database.", no_args_is_help=True)


def default_db() -> Path:
    from platformdirs import user_data_path

    return user_data_path("agent-console") / "desk.db"


DB_HELP = (
    "SQLite database file (created if missing), or a PostgreSQL URL postgresql://user@host/dbname "
    "for several server processes on one database; also $AGENT_CONSOLE_DB (keeps a password off "
    "the command line)."
)
DB_ENV = "AGENT_CONSOLE_DB"
EXISTING_DB_HELP = "The desk server's database: its file, or its PostgreSQL URL."


def _database(value: str | None) -> Path | str:
    from agent_console.server.db import target

    return default_db() if value is None else target(value)


def _existing_database(value: str) -> Path | str:
    """The database a server already made, or exit 1 saying there is none (a SQLite path)."""
    db = _database(value)
    if isinstance(db, Path) and not db.exists():
        typer.echo(f"error: no database at {db} (start the server with --db {db} first)", err=True)
        raise typer.Exit(1)
    return db


def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback unless you mean otherwise.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one.", min=0, max=65535)] = 8765,
    db: Annotated[str | None, typer.Option(help=DB_HELP, envvar=DB_ENV, show_default=False)] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed the demo data set into an empty database.")
    ] = False,
    log_level: Annotated[str, typer.Option(help="critical, error, warning, info or debug.")] = "warning",
    event_window: Annotated[
        int, typer.Option(help="How many events the live feed can replay.", min=100)
    ] = 100_000,
    demo_now: Annotated[
        str | None,
        typer.Option(
            help="Seed the demo as of this UTC time, SLA warnings and breaches held there"
            " (reproducible screenshots).",
            hidden=True,
        ),
    ] = None,
    ping_interval: Annotated[
        float,
        typer.Option(help="Seconds of silence before the feed sends a keepalive.", min=0.05, hidden=True),
    ] = 15.0,
    public_url: Annotated[
        str | None,
        typer.Option(
            envvar="AGENT_CONSOLE_PUBLIC_URL",
            metavar="URL",
            help="Base URL customers reach this desk at (KB links in replies); kept in the database.",
        ),
    ] = None,
    smtp_port: Annotated[
        int | None,
        typer.Option(
            help="Receive email on this port (0 picks a free one); off unless given.", min=0, max=65535
        ),
    ] = None,
    smtp_host: Annotated[
        str, typer.Option(help="Address the email listener binds; loopback unless you mean otherwise.")
    ] = "127.0.0.1",
    mail_address: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ADDRESS",
            help="An address the desk receives mail for (repeat for several; the first one sends"
            " replies). Kept in the database.",
        ),
    ] = None,
    smtp_relay: Annotated[
        str | None,
        typer.Option(
            envvar="AGENT_CONSOLE_SMTP_RELAY",
            metavar="HOST[:PORT]",
            help="SMTP relay for email replies (port 587 unless given).",
        ),
    ] = None,
    smtp_relay_tls: Annotated[
        str, typer.Option(metavar="MODE", help="starttls, tls (implicit, port 465) or none (loopback only).")
    ] = "starttls",
    smtp_relay_user: Annotated[
        str | None,
        typer.Option(
            envvar="AGENT_CONSOLE_SMTP_USER",
            help="Relay login; the password is read from AGENT_CONSOLE_SMTP_PASSWORD, never an option.",
        ),
    ] = None,
    smtp_relay_ca: Annotated[
        Path | None,
        typer.Option(help="CA bundle that signs the relay's certificate (default: the system's)."),
    ] = None,
    smtp_retry_base: Annotated[
        float,
        typer.Option(help="Seconds before the relay's second try (doubles per try).", min=0.01, hidden=True),
    ] = 5.0,
    mail_attachment_limit: Annotated[
        int, typer.Option(metavar="BYTES", help="Larger attachments keep only their description.", min=0)
    ] = 10 * 1024 * 1024,
    triage_rules: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="Your triage rules (TOML), added to the shipped ones."),
    ] = None,
    routing: Annotated[
        str,
        typer.Option(
            envvar="AGENT_CONSOLE_ROUTING",
            metavar="MODE",
            help="Route unassigned conversations to agents on shift: off, round_robin or least_loaded.",
        ),
    ] = "off",
    routing_cap: Annotated[
        int,
        typer.Option(
            envvar="AGENT_CONSOLE_ROUTING_CAP",
            help="Open conversations per agent before routing stops.",
            min=1,
        ),
    ] = 5,
    shift_end_offline: Annotated[
        bool,
        typer.Option(
            envvar="AGENT_CONSOLE_SHIFT_END_OFFLINE", help="Set an agent offline when their shift ends."
        ),
    ] = True,
    routing_interval: Annotated[
        float, typer.Option(help="Seconds between routing passes without events.", min=0.05, hidden=True)
    ] = 15.0,
) -> None:
    """Run the desk server: REST under /api/v1 and the live feed at /api/v1/events.

    Example: agent-console serve --db desk.db --demo
    """
    from agent_console.core.clock import from_iso
    from agent_console.server.db import SchemaTooNew
    from agent_console.server.run import serve as run_server

    try:
        seed_time = from_iso(demo_now) if demo_now else None
    except ValueError:
        typer.echo(f"error: --demo-now {demo_now!r} is not an ISO 8601 time", err=True)
        raise typer.Exit(2) from None
    if public_url is not None:
        from agent_console.server.run import check_public_url

        try:
            check_public_url(public_url)
        except ValueError as exc:
            typer.echo(f"error: --public-url: {exc}", err=True)
            raise typer.Exit(2) from None
    relay = _relay_config(smtp_relay, smtp_relay_tls, smtp_relay_user, smtp_relay_ca, smtp_retry_base)
    if triage_rules is not None:
        from agent_console.server.triage_store import TriageRulesError, load_rules

        try:
            load_rules(triage_rules)  # checked here too: the error names the line and key, then we stop
        except TriageRulesError as exc:
            typer.echo(f"error: --triage-rules: {exc}", err=True)
            raise typer.Exit(2) from None
    if routing not in ("off", "round_robin", "least_loaded"):
        typer.echo(f"error: --routing {routing!r} must be off, round_robin or least_loaded", err=True)
        raise typer.Exit(2)
    from agent_console.server.routing import RoutingConfig

    routing_config = RoutingConfig(
        mode=routing, cap=routing_cap, offline_at_shift_end=shift_end_offline, interval=routing_interval
    )
    for address in mail_address or ():
        if "@" not in address or address.count("@") != 1 or "+" in address.partition("@")[0]:
            typer.echo(
                f"error: --mail-address {address!r} must be a plain address like support@example.com",
                err=True,
            )
            raise typer.Exit(2)
    try:
        run_server(
            host=host,
            port=port,
            db_path=_database(db),
            demo=demo,
            demo_now=seed_time,
            ping_interval=ping_interval,
            log_level=log_level,
            event_window=event_window,
            public_url=public_url,
            smtp_host=smtp_host,
            smtp_port=smtp_port,
            mail_addresses=mail_address or (),
            relay=relay,
            attachment_limit=mail_attachment_limit,
            triage_rules=triage_rules,
            routing=routing_config,
        )
    except SchemaTooNew as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None


def _relay_config(relay: str | None, tls: str, user: str | None, ca: Path | None, retry_base: float):
    """The relay settings from the options, or a usage error naming the option."""
    if relay is None:
        return None
    import os

    from agent_console.server.email_outbound import RelayConfig, parse_relay

    if tls not in ("starttls", "tls", "none"):
        typer.echo(f"error: --smtp-relay-tls must be starttls, tls or none, not {tls!r}", err=True)
        raise typer.Exit(2)
    try:
        host, port = parse_relay(relay)
    except ValueError as exc:
        typer.echo(f"error: --smtp-relay: {exc}", err=True)
        raise typer.Exit(2) from None
    return RelayConfig(
        host=host,
        port=port,
        tls=tls,  # type: ignore[arg-type]
        username=user,
        password=os.environ.get("AGENT_CONSOLE_SMTP_PASSWORD"),
        ca_file=str(ca) if ca else None,
        retry_base=retry_base,
        retry_cap=max(retry_base * 64, 1.0),
    )


@server_app.command("add-agent")
def add_agent(
    db: Annotated[
        str, typer.Option(help="The desk server's database: a file or a PostgreSQL URL.", envvar=DB_ENV)
    ],
    name: Annotated[str, typer.Option(help="Display name.")],
    email: Annotated[str, typer.Option(help="Login email; unique.")],
    role: Annotated[str, typer.Option(help="agent, admin or integration.")] = "agent",
    timezone: Annotated[str, typer.Option(help="IANA zone, e.g. Europe/Lisbon.")] = "UTC",
    team: Annotated[list[str] | None, typer.Option(help="Team name; repeat for several.")] = None,
) -> None:
    """Create an agent and print its API token alone on one line (shown only this once).

    Works while the server runs on the same database; the token is accepted at once.

    Example: agent-console server add-agent --db desk.db --name "Ana Ruiz" --email ana@example.com
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from agent_console.server import db as database
    from agent_console.server.store import Invalid, Store

    if role not in ("agent", "admin", "integration"):
        typer.echo(f"error: --role must be agent, admin or integration, not {role!r}", err=True)
        raise typer.Exit(2)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        typer.echo(f"error: --timezone {timezone!r} is not an IANA time zone (e.g. Europe/Lisbon)", err=True)
        raise typer.Exit(2) from None
    if "@" not in email:
        typer.echo(f"error: --email {email!r} is not an email address", err=True)
        raise typer.Exit(2)
    store = Store(database.connect(_existing_database(db)))
    try:
        _, token = store.create_agent(name=name, email=email, role=role, timezone=timezone, teams=team or ())
    except Invalid as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.conn.close()
    print(token)


def default_demo_db() -> Path:
    """The demo's own file: never the one `serve` uses for a real desk by default."""
    from platformdirs import user_data_path

    return user_data_path("agent-console") / "demo.db"


def demo(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option(help="Database file; default demo.db in your user data directory. Kept between runs."),
    ] = None,
    rate: Annotated[
        float,
        typer.Option(help="Simulated customer messages per minute (a night's pace); 0 for none.", min=0),
    ] = 4.0,
    headless: Annotated[
        bool, typer.Option("--headless", help="Print the URL and token instead of opening the console.")
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Delete the demo database and start from a new seeded one (asks first on a terminal).",
        ),
    ] = False,
) -> None:
    """Start a seeded desk server with live customer traffic, and open the console on it.

    The server runs on a free loopback port and stops when you leave the console. The
    demo database is kept between runs; --fresh starts over. Uses your config file
    (theme, key remaps) like the console does.

    Example: agent-console demo --rate 30
    """
    from agent_console.cli.demo import run_demo

    theme = ctx.find_root().params.get("theme")
    code = run_demo(db or default_demo_db(), rate=rate, headless=headless, fresh=fresh, theme=theme)
    raise typer.Exit(code)


def simulate(
    server: Annotated[str, typer.Option(envvar="AGENT_CONSOLE_SERVER", help="Desk server URL.")],
    token: Annotated[
        str,
        typer.Option(envvar="AGENT_CONSOLE_TOKEN", help="An admin or integration token.", show_default=False),
    ],
    rate: Annotated[float, typer.Option(help="Customer messages per minute.", min=0.1)] = 6.0,
    count: Annotated[
        int, typer.Option(help="Stop after this many messages; 0 runs until ctrl+c.", min=0)
    ] = 0,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable run.")] = None,
) -> None:
    """Play customers writing in (new chats, follow-ups, impatient pings) against a running server.

    With AGENT_CONSOLE_COLLEAGUE_TOKENS (a JSON object of agent email -> token, as `demo` sets it),
    those agents answer their customers too, and take most new conversations.

    Example: AGENT_CONSOLE_TOKEN=... agent-console simulate --server http://127.0.0.1:8765 --rate 30
    """
    import asyncio
    import json
    import os

    from agent_console.client.errors import BackendError
    from agent_console.client.simulator import simulate as run_simulation
    from agent_console.server.process import die_with_parent

    die_with_parent()  # started by `demo`: never outlive it
    try:
        colleagues = json.loads(os.environ.get("AGENT_CONSOLE_COLLEAGUE_TOKENS") or "{}")
    except ValueError:
        typer.echo("error: AGENT_CONSOLE_COLLEAGUE_TOKENS is not a JSON object of email -> token", err=True)
        raise typer.Exit(2) from None
    if not isinstance(colleagues, dict) or not all(isinstance(v, str) for v in colleagues.values()):
        typer.echo("error: AGENT_CONSOLE_COLLEAGUE_TOKENS is not a JSON object of email -> token", err=True)
        raise typer.Exit(2)

    try:
        sent = asyncio.run(
            run_simulation(server, token, rate=rate, count=count, seed=seed, colleagues=colleagues)
        )
    except KeyboardInterrupt:
        return
    except BackendError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(exc.exit_code) from None
    print(f"sent {sent} customer messages", file=sys.stderr)


@server_app.command("add-site-key")
def add_site_key(
    db: Annotated[
        str, typer.Option(help="The desk server's database: a file or a PostgreSQL URL.", envvar=DB_ENV)
    ],
    origin: Annotated[
        list[str] | None,
        typer.Option(help="A site allowed to embed the chat widget, e.g. https://shop.example; repeat."),
    ] = None,
    name: Annotated[str, typer.Option(help="What the key is for (shown to admins).")] = "web chat",
) -> None:
    """Create a web chat site key and print it alone on one line.

    Embed the widget with `<script src="DESK/widget.js" data-site-key="KEY" async></script>` on
    a page of one of these origins; the desk's own /widget?key=KEY page works with any key,
    so a key without origins serves that page alone.

    Example: agent-console server add-site-key --db desk.db --origin https://shop.example
    """
    from agent_console.server import db as database
    from agent_console.server.store import Invalid, Store
    from agent_console.server.widget_store import WidgetStore

    store = Store(database.connect(_existing_database(db)))
    try:
        key = WidgetStore(store).create_site_key(name, origin or ())
    except Invalid as exc:
        typer.echo(f"error: --origin: {exc.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        store.conn.close()
    print(key.key)


@server_app.command("migrate")
def migrate(
    db: Annotated[
        str | None,
        typer.Option(
            help="SQLite database file (serve's default; created if missing, unless --check), or a "
            "PostgreSQL URL.",
            envvar=DB_ENV,
            show_default=False,
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Change nothing: exit 1 (saying how many) when migrations are pending, 0 when up to date.",
        ),
    ] = False,
) -> None:
    """Run the database's pending schema migrations.

    `serve` runs them at start too; this runs them on their own, e.g. before a deploy. Prints
    `schema version N -> M (K migrations applied)`, or `schema version N: up to date`. A
    missing file is created only without --check; --check (for deploy scripts) creates and
    writes nothing.

    \b
    Exit codes:
      0  migrated, or up to date
      1  --check: migrations are pending (for a missing file, all of them)
      2  refused, nothing changed (a newer release's schema, or not a database)

    Example: agent-console server migrate --db desk.db --check
    """
    import sqlite3

    from agent_console.server import db as database

    path = _database(db)
    if not isinstance(path, Path):
        _migrate_postgres(path, check=check)
        return
    if path.exists() and not path.is_file():
        typer.echo(f"error: {path} is not a file", err=True)
        raise typer.Exit(2)
    try:
        # Read-only first: a newer schema, or --check, must leave the file exactly as it is.
        before = database.peek_version(path)
        database.refuse_newer(before or 0)
    except database.SchemaTooNew as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except sqlite3.DatabaseError as exc:
        typer.echo(f"error: {path} is not a desk database ({exc})", err=True)
        raise typer.Exit(2) from None
    known = database.SCHEMA_VERSION
    if check:
        if before is None:
            print(f"no database at {path}: {_migrations(known)} pending (run without --check to create it)")
            raise typer.Exit(1)
        if before < known:
            print(
                f"schema version {before}: {_migrations(known - before)} pending (this release is at {known})"
            )
            raise typer.Exit(1)
        print(f"schema version {before}: up to date")
        return
    try:
        conn = database.open_unmigrated(path)
    except (OSError, sqlite3.Error) as exc:
        typer.echo(f"error: cannot open {path}: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        # Read again on the open connection: another process may have migrated since the peek.
        start = conn.execute("PRAGMA user_version").fetchone()[0]
        database.migrate(conn)
        end = conn.execute("PRAGMA user_version").fetchone()[0]
    except database.SchemaTooNew as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except sqlite3.Error as exc:
        # Each step is its own transaction: the ones before the failure stay applied.
        done = conn.execute("PRAGMA user_version").fetchone()[0]
        typer.echo(f"error: migration to version {done + 1} failed: {exc} (schema is at {done})", err=True)
        raise typer.Exit(2) from None
    finally:
        conn.close()
    _migrated(start, end)


def _migrated(start: int, end: int) -> None:
    if start == end:
        print(f"schema version {end}: up to date")
    else:
        print(f"schema version {start} -> {end} ({_migrations(end - start)} applied)")


def _migrations(count: int) -> str:
    return f"{count} migration" if count == 1 else f"{count} migrations"


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(demo)
    app.command()(simulate)
    app.add_typer(server_app, name="server")


def _migrate_postgres(url: str, *, check: bool) -> None:
    """`server migrate` on PostgreSQL: the same messages and exit codes as on a SQLite file."""
    import psycopg

    from agent_console.server import db as database
    from agent_console.server import pg_schema
    from agent_console.server.pg_connection import PgConnection

    try:
        conn = PgConnection(url, application_name="agent-console migrate")
    except psycopg.Error as exc:
        typer.echo(f"error: cannot connect to {database.describe(url)}: {str(exc).strip()}", err=True)
        raise typer.Exit(2) from None
    known = pg_schema.SCHEMA_VERSION
    try:
        before = pg_schema.version(conn)
        database.refuse_newer_than(before, known)
        if check:
            if before < known:
                print(
                    f"schema version {before}: {_migrations(known - before)} pending"
                    f" (this release is at {known})"
                )
                raise typer.Exit(1)
            print(f"schema version {before}: up to date")
            return
        start, end = pg_schema.migrate(conn)
    except database.SchemaTooNew as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except psycopg.Error as exc:
        done = pg_schema.version(conn)
        typer.echo(f"error: migration to version {done + 1} failed: {exc} (schema is at {done})", err=True)
        raise typer.Exit(2) from None
    finally:
        conn.close()
    _migrated(start, end)
