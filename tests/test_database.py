"""The desk server's database: WAL, a versioned schema migrated on start, refusal of a newer one."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from agent_console.server.db import SCHEMA_VERSION, connect


def test_new_database_is_wal_and_at_the_current_version(tmp_path: Path) -> None:
    conn = connect(tmp_path / "desk.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"conversations", "messages", "events", "kb_fts", "idempotency"} <= tables


def test_reopening_migrates_nothing_twice(tmp_path: Path) -> None:
    connect(tmp_path / "desk.db").close()
    conn = connect(tmp_path / "desk.db")  # would fail on CREATE TABLE if it re-ran
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_server_refuses_a_database_from_a_newer_version(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    connect(db).close()
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    result = subprocess.run(
        [sys.executable, "-m", "agent_console", "serve", "--port", "0", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "Upgrade agent-console" in result.stderr
    assert "Traceback" not in result.stderr


def _article(conn: sqlite3.Connection, slug: str, title: str, body: str) -> None:
    conn.execute(
        "INSERT INTO kb_articles(slug, title, body, tags, locale, updated_at)"
        " VALUES (?, ?, ?, '[]', 'en', ?)",
        (slug, title, body, "2026-11-01T00:00:00.000000Z"),
    )


def test_an_older_database_gets_kb_prefix_indexes_and_keeps_its_articles(tmp_path: Path) -> None:
    """Search as you type asks for prefixes: the KB index is rebuilt with prefix indexes, and the
    articles written before the upgrade, and after it, are still found by a typed prefix."""
    from agent_console.server.db import MIGRATIONS, _split
    from agent_console.server.store import Store

    step = next(n for n, script in enumerate(MIGRATIONS) if "prefix=" in script)
    db = tmp_path / "desk.db"
    raw = sqlite3.connect(db, isolation_level=None)
    for number in range(step):  # the database as the release before the prefix indexes left it
        for statement in _split(MIGRATIONS[number]):
            raw.execute(statement)
    raw.execute(f"PRAGMA user_version = {step}")
    _article(raw, "roaming", "Roaming abroad", "Turn on data roaming before you travel.")
    raw.close()

    conn = connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'kb_fts'").fetchone()[0]
    assert "prefix='1 2 3'" in sql
    _article(conn, "refunds", "Refunds", "A refund reaches your card in five days.")
    store = Store(conn)
    assert [hit.title for hit in store.kb_search("roam", locale=None, limit=10)] == ["Roaming abroad"]
    assert [hit.title for hit in store.kb_search("refu", locale=None, limit=10)] == ["Refunds"]
    assert store.kb_search("travel ro", locale=None, limit=10)[0].title == "Roaming abroad"
