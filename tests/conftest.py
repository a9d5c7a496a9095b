"""Shared fixtures: the real desk server, started as a child process on a free loopback port
with a temporary database, and tokens made with the real `server add-agent` command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import httpx
import pytest

from agent_console.server.process import ServerProcess

os.environ.setdefault("TZ", "UTC")
PUBLIC_URL = "https://help.test.example"  # the session desk's public base URL (KB links)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run long soak tests at ten times the size")


# A test module that sets DESK_ENGINES runs its desk-server tests on each database engine: the
# `desk`, `fresh_desk` and `database` fixtures follow the `engine` parameter.
ENGINES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    engines = getattr(metafunc.module, "DESK_ENGINES", None)
    if engines and "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", engines, indirect=True, scope="session")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """A failed test shows what its desk server logged (a 500's traceback is only there)."""
    report = yield
    if report.failed and call.when == "call":
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, Desk) and value.server.stderr_lines:
                report.sections.append(("desk server stderr", "".join(value.server.stderr_lines[-80:])))
    return report


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    """A throwaway PostgreSQL server for this session (per xdist worker): tests/pg_cluster.py."""
    from tests.pg_cluster import PgCluster

    cluster = PgCluster().start()
    yield cluster
    cluster.stop()


def new_database(request: pytest.FixtureRequest, engine: str, folder: Path) -> Path | str:
    """A new empty desk database on `engine`: a file in `folder`, or a PostgreSQL database's URL."""
    if engine == "postgresql":
        return request.getfixturevalue("pg_cluster").new_database()
    return folder / "desk.db"


@pytest.fixture
def database(request: pytest.FixtureRequest, engine: str, tmp_path: Path) -> Path | str:
    """An empty desk database of the test's own, on the engine the test runs on."""
    return new_database(request, engine, tmp_path)


def add_agent(db: Path | str, *, name: str, email: str, role: str = "agent", timezone: str = "UTC") -> str:
    """Create an agent with the real CLI and return the token it printed."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent_console",
            "server",
            "add-agent",
            "--db",
            str(db),
            "--name",
            name,
            "--email",
            email,
            "--role",
            role,
            "--timezone",
            timezone,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


def db_rows(db: Path | str, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of a query (SQLite's `?` placeholders) straight from a desk database on either engine."""
    if isinstance(db, Path):
        import sqlite3

        with sqlite3.connect(db) as conn:
            return conn.execute(sql, params).fetchall()
    import psycopg

    from agent_console.server.pg_connection import translate

    with psycopg.connect(db) as conn:
        return [tuple(row) for row in conn.execute(translate(sql), params).fetchall()]


def database_text(db: Path | str) -> str:
    """Everything a desk database holds, as text: the SQLite file's bytes, or every row of every
    table of a PostgreSQL database."""
    if isinstance(db, Path):
        return db.read_bytes().decode("utf-8", "replace")
    import psycopg

    with psycopg.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return "\n".join(
            str(row[0]) for table in tables for row in conn.execute(f'SELECT t::text FROM "{table}" t')
        )


@dataclass
class Desk:
    url: str
    db: Path | str  # a SQLite file, or a PostgreSQL database's URL
    admin_token: str
    agent_token: str
    server: ServerProcess

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.api, headers=headers, timeout=10)

    @cached_property
    def admin(self) -> httpx.Client:
        return self.client(self.admin_token)

    @cached_property
    def agent(self) -> httpx.Client:
        return self.client(self.agent_token)


def start_desk(db: Path | str, *, demo: bool = True, extra_args: tuple[str, ...] = ()) -> Desk:
    server = ServerProcess(db, demo=demo, extra_args=extra_args)
    server.start()
    admin = add_agent(
        db, name="Avery Admin", email="admin@test.example", role="admin", timezone="Europe/Lisbon"
    )
    agent = add_agent(db, name="Sam Agent", email="sam@test.example", timezone="Asia/Manila")
    return Desk(server.url, db, admin, agent, server)


@pytest.fixture(scope="session")
def desk(
    request: pytest.FixtureRequest, engine: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    """One seeded desk server for the whole session (per xdist worker and engine)."""
    db = new_database(request, engine, tmp_path_factory.mktemp("desk"))
    running = start_desk(db, extra_args=("--public-url", PUBLIC_URL))
    yield running
    running.server.stop()


@pytest.fixture
def fresh_desk(database: Path | str) -> Iterator[Desk]:
    """A desk server of the test's own, for tests that need a known, quiet event log."""
    running = start_desk(database, demo=False, extra_args=("--event-window", "100"))
    yield running
    running.server.stop()


@pytest.fixture
def chatwoot() -> Iterator[object]:
    """An emulated Chatwoot account (HTTP + ActionCable) of the test's own; the test fails if
    anything said to or by it broke Chatwoot's published document."""
    from tests.backends import start_chatwoot

    running = start_chatwoot()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(params=["native", "chatwoot"])
def helpdesk(request: pytest.FixtureRequest) -> Iterator[object]:
    """The same test on both help desks: the desk server and the Chatwoot emulator
    (tests/backends.py gives both one face)."""
    from tests.backends import ChatwootHelpdesk, NativeHelpdesk

    if request.param == "native":
        yield NativeHelpdesk(request.getfixturevalue("desk"))
    else:
        yield ChatwootHelpdesk(request.getfixturevalue("chatwoot"))
