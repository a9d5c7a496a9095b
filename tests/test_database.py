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
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 1
    assert "Upgrade agent-console" in result.stderr
    assert "Traceback" not in result.stderr
