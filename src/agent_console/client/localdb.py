"""The console's local database (drafts, outbox): one file in the user data directory."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path


def default_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("agent-console") / "local.db"


def open_local(path: Path | str) -> sqlite3.Connection:
    """Open (creating the folder if needed) in WAL mode, waiting for another process's writes."""
    if str(path) != ":memory:":
        _private_file(Path(path))
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def _private_file(path: Path) -> None:
    """Drafts and queued replies are customer data: folders this creates are 0700 and the
    file 0600 whatever the umask (SQLite gives -wal and -shm the file's mode); an existing
    file of ours loses any group or world bits."""
    missing: list[Path] = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            continue
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            os.chmod(name, stat.S_IMODE(info.st_mode) & 0o700)
