"""A real pseudo-terminal for driving the TUI the way a terminal emulator does.

`Terminal` spawns a program on the slave side of a pty sized with TIOCSWINSZ, and a
reader thread stamps every chunk the program writes with `time.monotonic()` the moment
`os.read` returns it. "Text on screen" is found by scanning that byte stream for a unique
string (a marker in a customer message, a contact name, ...): the time is the stamp of
the chunk that completed the string.

CLOCK_MONOTONIC is system-wide on Linux, so stamps compare with times taken in other
processes (the websocket fan-out clients, for instance).

Every wait is bounded by a timeout; nothing here loops forever.
"""

from __future__ import annotations

import bisect
import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence

# Synchronized-output brackets Textual puts around each frame (when it uses them).
FRAME_END = b"\x1b[?2026l"


class Terminal:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        cols: int = 160,
        rows: int = 48,
        cwd: str | None = None,
    ) -> None:
        self.cols = cols
        self.rows = rows
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.master = master
        self.spawned_at = time.monotonic()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_make_controlling_tty,  # noqa: PLW1509 - runs before exec, touches only fd 0
            close_fds=True,
        )
        os.close(slave)
        self.buffer = bytearray()
        self.ends: list[int] = []  # end offset of each chunk in `buffer`
        self.stamps: list[float] = []  # monotonic time each chunk arrived
        self.cond = threading.Condition()
        self.closed = False
        self.close_timeout = 5.0  # how long a program may take to quit before it is killed
        self.last_input = 0.0  # monotonic time of the last key written
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    # --- output ---------------------------------------------------------------------------

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:
                data = b""
            stamp = time.monotonic()
            if b"$p" in data:
                self._answer_queries(data)
            with self.cond:
                if not data:
                    self.closed = True
                    self.cond.notify_all()
                    return
                self.buffer += data
                self.ends.append(len(self.buffer))
                self.stamps.append(stamp)
                self.cond.notify_all()

    def _answer_queries(self, data: bytes) -> None:
        """Answer mode queries (DECRQM) as a current terminal emulator does: synchronized
        output (2026) supported, in-band resize (2048) not."""
        for mode in re.findall(rb"\x1b\[\?(\d+)\$p", data):
            state = b"2" if mode == b"2026" else b"0"
            try:
                os.write(self.master, b"\x1b[?" + mode + b";" + state + b"$y")
            except OSError:
                pass

    @property
    def offset(self) -> int:
        with self.cond:
            return len(self.buffer)

    def time_at(self, end_offset: int) -> float:
        """When the byte just before `end_offset` arrived."""
        with self.cond:
            index = bisect.bisect_left(self.ends, end_offset)
            return self.stamps[min(index, len(self.stamps) - 1)]

    def find(self, needle: bytes, start: int = 0) -> tuple[int, float] | None:
        """First occurrence of `needle` at or after byte `start`: (end offset, time)."""
        with self.cond:
            at = self.buffer.find(needle, start)
            if at < 0:
                return None
            end = at + len(needle)
            index = bisect.bisect_left(self.ends, end)
            return end, self.stamps[index]

    def find_regex(self, pattern: re.Pattern[bytes], start: int = 0) -> tuple[int, float] | None:
        with self.cond:
            match = pattern.search(self.buffer, start)
            if match is None:
                return None
            return match.end(), self.stamps[bisect.bisect_left(self.ends, match.end())]

    def wait_for(self, needle: bytes, start: int = 0, timeout: float = 10.0) -> tuple[int, float] | None:
        """Block until `needle` shows up after `start` (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        scan = start
        with self.cond:
            while True:
                at = self.buffer.find(needle, scan)
                if at >= 0:
                    end = at + len(needle)
                    return end, self.stamps[bisect.bisect_left(self.ends, end)]
                scan = max(start, len(self.buffer) - len(needle) + 1)
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cond.wait(min(left, 0.5))

    def wait_for_regex(
        self, pattern: re.Pattern[bytes], start: int = 0, timeout: float = 10.0, overlap: int = 4096
    ) -> tuple[int, float] | None:
        deadline = time.monotonic() + timeout
        scan = start
        with self.cond:
            while True:
                match = pattern.search(self.buffer, scan)
                if match is not None:
                    end = match.end()
                    return end, self.stamps[bisect.bisect_left(self.ends, end)]
                scan = max(start, len(self.buffer) - overlap)
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cond.wait(min(left, 0.5))

    def wait_quiet(self, quiet: float = 0.3, timeout: float = 10.0, since: float | None = None) -> bool:
        """Wait until nothing has been written for `quiet` seconds, counting from the last
        key sent too (and from `since`, when given), so a wait right after a key waits for
        its answer."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                last = max(self.stamps[-1] if self.stamps else self.spawned_at, self.last_input)
                if since is not None:
                    last = max(last, since)
                now = time.monotonic()
                if now - last >= quiet:
                    return True
                if now >= deadline or self.closed:
                    return False
                self.cond.wait(min(quiet - (now - last), deadline - now))

    def bytes_between(self, start: float, end: float) -> int:
        """Bytes that arrived in the monotonic interval [start, end)."""
        with self.cond:
            lo = bisect.bisect_left(self.stamps, start)
            hi = bisect.bisect_left(self.stamps, end)
            before = self.ends[lo - 1] if lo > 0 else 0
            upto = self.ends[hi - 1] if hi > 0 else 0
            return max(0, upto - before)

    def text(self, start: int = 0) -> bytes:
        with self.cond:
            return bytes(self.buffer[start:])

    # --- input ----------------------------------------------------------------------------

    def send(self, data: bytes) -> tuple[int, float]:
        """Type `data`; returns the output offset and the time just before writing."""
        offset = self.offset
        stamp = time.monotonic()
        os.write(self.master, data)
        self.last_input = stamp
        return offset, stamp

    # --- process ----------------------------------------------------------------------------

    def rss_mib(self) -> float:
        return rss_mib(self.proc.pid)

    def close(self, quit_keys: bytes = b"\x11", timeout: float | None = None) -> int | None:
        """Ask the program to quit (ctrl+q), then insist; always reaps it."""
        timeout = self.close_timeout if timeout is None else timeout
        if self.proc.poll() is None:
            # A key right after ESC reads as alt+key: leave the last key alone for a moment.
            time.sleep(max(0.0, self.last_input + 0.25 - time.monotonic()))
            try:
                os.write(self.master, quit_keys)
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                    self.proc.wait(3)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    try:
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    self.proc.wait(3)
        self.reader.join(2)
        try:
            os.close(self.master)
        except OSError:
            pass
        return self.proc.returncode

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _make_controlling_tty() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident set size (or `VmHWM`, its peak) of a process in MiB, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for pid {pid}")


_CSI = re.compile(
    rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>]"
)


def strip_escapes(data: bytes) -> bytes:
    return _CSI.sub(b"", data)
