"""The console's local database (drafts, outbox): one file in the user data directory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agent_console.private_files import private_file


def default_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("agent-console") / "local.db"


def open_local(path: Path | str) -> sqlite3.Connection:
    """Open (creating the folder if needed) in WAL mode, waiting for another process's writes."""
    if str(path) != ":memory:":
        private_file(Path(path))
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn
