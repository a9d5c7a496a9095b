"""Files only their owner can read: the desk's database and the console's local one.

A leaf module with no project imports, so the server and the client share one rule without
either importing the other (core/ stays free of I/O).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def private_file(path: Path) -> None:
    """Make `path` a file only its owner can read, in folders only the owner can enter.

    Folders this creates are 0700 and the file 0600 whatever the umask; an existing file
    of ours loses any group or world bits. SQLite gives `-wal` and `-shm` the database
    file's own mode, so they follow. (Every message and every token hash is in there.)
    """
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
        os.chmod(folder, 0o700)  # mkdir's mode passes through the umask
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            continue
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            os.chmod(name, stat.S_IMODE(info.st_mode) & 0o700)
