"""Where tokens live: the OS keyring, or (opt-in only) a file readable by its owner alone.

A token is never written to the config file, and never in plain text unless the agent asked
for it with `--token-file PATH`. On a headless box or over SSH there is often no keyring
backend; then `store_token` raises `NoKeyring` and the caller explains the alternatives
(`AGENT_CONSOLE_TOKEN`, or `--token-file`).

Keyring entries: service `agent-console`, user name `PROFILE@SERVER`, so a profile's token is
bound to the server it was issued by.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from agent_console.client.config import ConfigError

SERVICE = "agent-console"


class NoKeyring(Exception):
    """No usable OS keyring backend here (typical over SSH or in a container)."""


def _username(profile: str, server: str) -> str:
    return f"{profile}@{server}"


def _keyring():  # keyring's backend type
    """The active keyring backend, or raise NoKeyring. Imported lazily: it is slow."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise NoKeyring("no OS keyring backend is available")
    try:
        from keyring.backends import chainer

        if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
            raise NoKeyring("no OS keyring backend is available")
    except ImportError:  # pragma: no cover - older keyring
        pass
    if getattr(backend, "priority", 1) <= 0:
        raise NoKeyring(f"the keyring backend {type(backend).__name__} cannot store secrets")
    return backend


def keyring_available() -> bool:
    try:
        _keyring()
    except NoKeyring:
        return False
    return True


def keyring_name() -> str:
    try:
        backend = _keyring()
    except NoKeyring:
        return "none"
    return f"{type(backend).__module__}.{type(backend).__name__}"


def get_token(profile: str, server: str) -> str | None:
    """The profile's token from the keyring; None when there is none (or no keyring)."""
    from keyring.errors import KeyringError

    try:
        value = _keyring().get_password(SERVICE, _username(profile, server))
    except (NoKeyring, KeyringError):
        return None
    return value or None


def store_token(profile: str, server: str, token: str) -> None:
    from keyring.errors import KeyringError

    backend = _keyring()
    try:
        backend.set_password(SERVICE, _username(profile, server), token)
    except KeyringError as exc:
        raise NoKeyring(f"the keyring refused to store the token: {type(exc).__name__}") from None


def delete_token(profile: str, server: str) -> bool:
    """Remove the profile's keyring entry; True when there was one."""
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        _keyring().delete_password(SERVICE, _username(profile, server))
    except PasswordDeleteError:
        return False
    except (NoKeyring, KeyringError):
        return False
    return True


# --- token files (explicit opt-in) ---------------------------------------------------------


def write_token_file(path: Path, token: str) -> Path:
    """Write the token to `path`, mode 0600, replacing what was there."""
    path = path.expanduser().absolute()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # whatever the umask said
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def read_token_file(path: Path) -> str:
    """The token in `path`; refuses a file that others may read (like ssh does with keys)."""
    path = path.expanduser()
    try:
        mode = path.stat().st_mode
        if sys.platform != "win32" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"token file {path} is accessible by other users; run `chmod 600 {path}`")
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(
            f"token file {path} does not exist; log in again with `agent-console auth login`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read token file {path}: {type(exc).__name__}") from None
    if not token:
        raise ConfigError(f"token file {path} is empty")
    return token
