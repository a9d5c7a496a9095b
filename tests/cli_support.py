"""Support for the CLI tests: running `agent-console` (in-process or as a child process) and a
test-only keyring backend.

`FileKeyring` is a real keyring backend that keeps secrets in a JSON file named by
`AGENT_CONSOLE_TEST_KEYRING`, so a child process and the test can share it. Select it with
`PYTHON_KEYRING_BACKEND=tests.cli_support.FileKeyring` (the repo root on PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

REPO = Path(__file__).resolve().parent.parent
KEYRING_ENV = "AGENT_CONSOLE_TEST_KEYRING"
CLI_ENV_NAMES = (
    "AGENT_CONSOLE_SERVER",
    "AGENT_CONSOLE_TOKEN",
    "AGENT_CONSOLE_PROFILE",
    "AGENT_CONSOLE_CONFIG",
    "AGENT_CONSOLE_CA_BUNDLE",
    "PYTHON_KEYRING_BACKEND",
    "AGENT_CONSOLE_BACKEND",
    "AGENT_CONSOLE_ACCOUNT",
    "AGENT_CONSOLE_PORTAL",
    KEYRING_ENV,
)


class FileKeyring(KeyringBackend):
    """A keyring in a JSON file (tests only: the file is plain text)."""

    priority = 1  # type: ignore[assignment]

    @property
    def _path(self) -> Path:
        return Path(os.environ[KEYRING_ENV])

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\n{username}"] = password
        self._path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}\n{username}", None) is None:
            raise PasswordDeleteError("no such password")
        self._path.write_text(json.dumps(data))


def base_env(tmp: Path, **extra: str | None) -> dict[str, str | None]:
    """AGENT_CONSOLE_* cleared, a private config path and keyring, no colour."""
    env: dict[str, str | None] = {name: None for name in CLI_ENV_NAMES}
    env.update(
        AGENT_CONSOLE_CONFIG=str(tmp / "config.toml"),
        PYTHON_KEYRING_BACKEND="tests.cli_support.FileKeyring",
        AGENT_CONSOLE_TEST_KEYRING=str(tmp / "keyring.json"),
        NO_COLOR="1",
        TZ="UTC",
    )
    env.update(extra)
    return env


class Ran:
    """What one CLI run did: exit code, stdout, stderr."""

    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code = code
        self.stdout = stdout
        self.stderr = stderr

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"Ran(code={self.code}, stdout={self.stdout[:300]!r}, stderr={self.stderr[:300]!r})"


def run_cli(*args: str, env: dict[str, str | None], input: str | None = None, timeout: float = 60) -> Ran:
    """`python -m agent_console ARGS` in a child process."""
    child_env = {k: v for k, v in os.environ.items() if k not in CLI_ENV_NAMES}
    child_env.update({k: v for k, v in env.items() if v is not None})
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), child_env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "agent_console", *args],
        input=input,
        capture_output=True,
        text=True,
        env=child_env,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def invoke(*args: str, env: dict[str, str | None], input: str | None = None) -> Ran:
    """The CLI in this process (typer's CliRunner): the same root group, codes and output."""
    from typer.testing import CliRunner

    from agent_console.cli.main import app

    result = CliRunner().invoke(app, list(args), env=env, input=input, catch_exceptions=False)
    return Ran(result.exit_code, result.stdout, result.stderr)
