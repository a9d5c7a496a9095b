"""Start and stop a desk server in a child process (used by `demo`, the tests and bench/)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

READY_PREFIX = "agent-console desk server listening on "
# Set by a parent that wants its child to die with it (see `die_with_parent`).
PARENT_ENV = "AGENT_CONSOLE_PARENT_PID"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> bool:
    """If a parent asked for it (PARENT_ENV), get SIGTERM when that parent dies, even by -9.

    Linux only (prctl PR_SET_PDEATHSIG); elsewhere a no-op that returns False. The child
    asks, not the parent in a preexec_fn (unsafe once the parent has threads). If the parent
    died before the request took effect, the child has already been reparented: it exits.
    """
    wanted = os.environ.pop(PARENT_ENV, "")
    if not wanted.isdigit() or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != int(wanted):
        sys.exit(0)  # the parent is already gone: nobody is left to serve
    return True


class ServerProcess:
    """A desk server child on a free loopback port. Use as a context manager.

    The child dies with this process, even by SIGKILL (Linux). The kernel ties it to the
    thread that started it, so start it from a thread that lives as long as you need it.
    """

    def __init__(
        self,
        db_path: Path | str,
        *,
        demo: bool = False,
        port: int = 0,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.db_path = db_path if isinstance(db_path, str) and "://" in db_path else Path(db_path)
        self.demo = demo
        self.port = port
        self.extra_args = extra_args
        self.env = env
        self.startup_timeout = startup_timeout
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self.stderr_lines: list[str] = []
        self.stdout_lines: list[str] = []  # the last 200 (the access log, at --log-level info)

    def start(self) -> str:
        args = [
            sys.executable,
            "-m",
            "agent_console",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db",
            str(self.db_path),
            *(["--demo"] if self.demo else []),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(self.env or {}), PARENT_ENV: str(os.getpid())},
        )
        threading.Thread(target=self._collect_stderr, daemon=True).start()
        line = self._readline_with_timeout()
        if not line.startswith(READY_PREFIX):
            self.stop()
            detail = "".join(self.stderr_lines[-20:]) or line
            raise RuntimeError(f"the desk server did not start:\n{detail}")
        self.url = line[len(READY_PREFIX) :].strip()
        # Keep draining stdout so the child never blocks on a full pipe.
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        return self.url

    def _readline_with_timeout(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        return result[0] if result else ""

    def _collect_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)
            del self.stderr_lines[:-200]

    def _drain_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.append(line)
            del self.stdout_lines[:-200]

    def stop(self, timeout: float = 10.0) -> int | None:
        """Ask the server to shut down cleanly (SIGINT), then insist."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
