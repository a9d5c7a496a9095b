"""Pieces the TUI and server benchmarks share: a desk server on generated data, a poster
that plays the customer, the console in a real pty, and what the console should show.

Everything talks to 127.0.0.1 only. Every loop is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.common import REPO, Context
from bench.datagen import NAME_PATTERN, Generated, Spec, generate
from bench.terminal import Terminal, rss_mib

COLS, ROWS = 160, 48
NAME_RE = re.compile(NAME_PATTERN)

_GENERATED: dict[tuple[str, Spec], Generated] = {}


# --- data and server --------------------------------------------------------------------


def generated(ctx: Context, name: str, spec: Spec, *, fresh: bool = False) -> Generated:
    """A database for `spec` in the run's scratch directory; reused across benchmarks of one
    run unless `fresh` (benchmarks that change data ask for a fresh copy)."""
    key = (name, spec)
    if not fresh and key in _GENERATED and _GENERATED[key].path.exists():
        return _GENERATED[key]
    ctx.log(
        f"  generating {name}: {spec.open_conversations:,} open conversations,"
        f" {spec.messages:,} messages, {spec.kb_articles:,} KB articles"
    )
    gen = generate(ctx.workdir / f"{name}.db", spec)
    ctx.log(f"  generated in {gen.seconds:.1f} s: {gen.counts}")
    _GENERATED[key] = gen
    return gen


@dataclass
class LiveDesk:
    gen: Generated
    url: str
    server: Any  # ServerProcess

    @property
    def token(self) -> str:
        return self.gen.token

    @property
    def pid(self) -> int:
        return self.server.proc.pid

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 80)

    def rss_mib(self, field: str = "VmRSS") -> float:
        return rss_mib(self.pid, field)

    def poster(self, token: str | None = None) -> Poster:
        return Poster(self.port, token or self.token)


@contextlib.contextmanager
def live_desk(gen: Generated) -> Iterator[LiveDesk]:
    from agent_console.server.process import ServerProcess

    with ServerProcess(gen.path) as server:
        if not server.url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the desk server is not on loopback: {server.url}")
        desk = LiveDesk(gen, server.url, server)
        # The server prints its address before its startup work (the SLA backfill gives every
        # generated conversation its clocks: ~35 s of CPU at 100,000): until it answers, a
        # console started against it would time that work, not itself.
        poster = desk.poster()
        try:
            poster.conn.timeout = 1800  # minutes on a busy machine
            poster.get_json("/api/v1/me")
        finally:
            poster.close()
        yield desk


class Poster:
    """A keep-alive HTTP/1.1 client for the desk server (stdlib, little overhead)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        payload = None if body is None else json.dumps(body).encode()
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=payload, headers=self.headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def inbound(self, conversation_id: int, body: str) -> float:
        """A customer writes in; returns the monotonic time just before the request went out."""
        sent = time.monotonic()
        status, answer = self.request(
            "POST",
            "/api/v1/inbound",
            {
                "channel": "web_chat",
                "contact": {"name": "x"},
                "conversation_id": conversation_id,
                "body": body,
            },
        )
        if status != 201:
            raise RuntimeError(f"inbound answered {status}: {answer[:200]!r}")
        return sent

    def get_json(self, path: str, **params: Any) -> Any:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        status, answer = self.request("GET", f"{path}?{query}" if query else path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {answer[:200]!r}")
        return json.loads(answer)

    def close(self) -> None:
        self.conn.close()


def paced_inbound(
    desk: LiveDesk,
    messages: Sequence[tuple[int, str]],
    *,
    rate: float,
    connections: int = 4,
    before_send: Any = None,
) -> list[float]:
    """Post customer messages `(conversation_id, body)` at `rate` per second over a few
    keep-alive connections (one request at a time each, so a slow answer on one does not
    hold back the schedule). Returns the monotonic send time of each message, in order.
    `before_send(i)` runs just before message i goes out (to note the terminal offset)."""
    import threading

    sent = [0.0] * len(messages)
    errors: list[BaseException] = []
    start = time.monotonic() + 0.05

    def worker(slot: int) -> None:
        poster = desk.poster()
        try:
            for i in range(slot, len(messages), connections):
                pause = start + i / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                if before_send is not None:
                    before_send(i)
                conversation_id, body = messages[i]
                sent[i] = poster.inbound(conversation_id, body)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
        finally:
            poster.close()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(connections)]
    for thread in threads:
        thread.start()
    budget = len(messages) / rate + 60
    for thread in threads:
        thread.join(budget)
    if errors:
        raise RuntimeError(f"posting failed: {errors[0]!r}")
    return sent


def burst_inbound(
    desk: LiveDesk, messages: Sequence[tuple[int, str]], *, connections: int = 64, timeout: float = 120.0
) -> list[float]:
    """Post customer messages as fast as `connections` keep-alive connections allow, from
    one asyncio loop writing pre-built requests (so the load generator itself takes little
    CPU from the console and the server on a small machine). Returns each message's send
    time (monotonic). Runs in the calling thread; start it in a thread to do other things."""
    import asyncio

    host = "127.0.0.1"
    sent = [0.0] * len(messages)

    def request(conversation_id: int, body: str) -> bytes:
        payload = json.dumps(
            {
                "channel": "web_chat",
                "contact": {"name": "x"},
                "conversation_id": conversation_id,
                "body": body,
            }
        ).encode()
        head = (
            f"POST /api/v1/inbound HTTP/1.1\r\nHost: {host}:{desk.port}\r\n"
            f"Authorization: Bearer {desk.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        return head + payload

    prepared = [request(c, b) for c, b in messages]

    async def connection(slot: int) -> None:
        reader, writer = await asyncio.open_connection(host, desk.port)
        try:
            for i in range(slot, len(prepared), connections):
                sent[i] = time.monotonic()
                writer.write(prepared[i])
                status = await reader.readline()
                if b" 201 " not in status:
                    raise RuntimeError(f"inbound answered {status!r}")
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
        finally:
            writer.close()

    async def main() -> None:
        await asyncio.wait_for(asyncio.gather(*(connection(k) for k in range(connections))), timeout)

    asyncio.run(main())
    return sent


# --- the console in a pty ---------------------------------------------------------------------

CONSOLE_CODE = (
    "import os, sys\n"
    "from agent_console.tui.app import run_console\n"
    "sys.exit(run_console(server=os.environ['BENCH_SERVER'], token=os.environ['BENCH_TOKEN']))\n"
)


def console_env(ctx: Context, desk: LiveDesk | None = None, **extra: str) -> dict[str, str]:
    """A clean environment: a modern true-colour terminal, not SSH, scratch data dirs."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AGENT_CONSOLE_", "BENCH_", "TEXTUAL")) and k != "SSH_CONNECTION"
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        XDG_DATA_HOME=str(ctx.workdir / "xdg-data"),
        XDG_CONFIG_HOME=str(ctx.workdir / "xdg-config"),
        XDG_STATE_HOME=str(ctx.workdir / "xdg-state"),
        XDG_CACHE_HOME=str(ctx.workdir / "xdg-cache"),
    )
    if desk is not None:
        env.update(BENCH_SERVER=desk.url, BENCH_TOKEN=desk.token)
    env.update(extra)
    return env


_PROFILES = iter(range(1, 10_000))


def spawn_console(
    ctx: Context, desk: LiveDesk, *, cols: int = COLS, rows: int = ROWS, **extra_env: str
) -> Terminal:
    """The real console (`run_console`) in a real pty of `cols` x `rows`.

    With BENCH_PROFILE_DIR set, the console runs under pyinstrument and leaves a session
    per console there (console-<n>.pyisession; read it with `pyinstrument --load FILE`)
    when it quits: the numbers of such a run are slower than normal and only good for
    finding where the time goes."""
    argv = [sys.executable, "-c", CONSOLE_CODE]
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    if profile_dir:
        Path(profile_dir).mkdir(parents=True, exist_ok=True)
        out = Path(profile_dir) / f"console-{next(_PROFILES)}.pyisession"
        argv = [sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", str(out), "-c", CONSOLE_CODE]
        ctx.log(f"  profiling the console into {out}")
    term = Terminal(argv, env=console_env(ctx, desk, **extra_env), cols=cols, rows=rows)
    if profile_dir:
        term.close_timeout = 120.0  # pyinstrument writes its session on the way out
    return term


def wait_ready(term: Terminal, first_name: str, timeout: float = 60.0) -> float:
    """Wait until the console is live and shows its first queue row, then quiet."""
    if term.wait_for(b"LIVE", timeout=timeout) is None:
        raise RuntimeError(f"the console never went live:\n{_tail(term)}")
    if term.wait_for(first_name.encode(), timeout=timeout) is None:
        raise RuntimeError(f"the console never showed {first_name!r}:\n{_tail(term)}")
    term.wait_quiet(0.5, timeout=15)
    return time.monotonic()


def _tail(term: Terminal) -> str:
    from bench.terminal import strip_escapes

    return strip_escapes(term.text()[-3000:]).decode(errors="replace")


def cursor_pattern(term: Terminal, name: str, max_column: int = 3) -> bytes:
    """The background colour of the queue's cursor row, read off the screen: the SGR in
    force where `name` (the cursor row's customer) was last drawn at the left edge (the
    queue; the conversation pane on the right shows the same name)."""
    data = term.text()
    for match in reversed(list(re.finditer(re.escape(name.encode()), data))):
        line_start = data.rfind(b"\x1b[", 0, match.start())
        moves = list(re.finditer(rb"\x1b\[(\d+);(\d+)H", data[max(0, match.start() - 400) : match.start()]))
        if not moves or int(moves[-1].group(2)) > max_column:
            continue
        sgr = re.match(rb"\x1b\[([0-9;]*)m", data[line_start : match.start()])
        if sgr is None:
            continue
        bg = re.search(rb"48;2;\d+;\d+;\d+|48;5;\d+", sgr.group(1))
        if bg is not None:
            return bg.group(0)
    raise RuntimeError(f"{name!r} is not on screen in the queue")


def cursor_row_regex(background: bytes, name: bytes = NAME_PATTERN) -> re.Pattern[bytes]:
    """A row drawn with the cursor's background, showing a customer `name`."""
    return re.compile(rb"\x1b\[[0-9;]*" + re.escape(background) + rb"[0-9;]*m[^\x1b]{0,40}?(" + name + rb")")


# --- what the console holds -------------------------------------------------------------------


def console_queue(db_path: Path, view: str = "all") -> list[Any]:
    """The conversations the console's queue shows in `view` at start, in its order: the sync
    engine's snapshot (its statuses, in the server's order, the first `queue_hold` of them),
    filtered and sorted as the console does (a desk larger than that keeps the server's order:
    its views page from there)."""
    from agent_console.client.sync import SNAPSHOT_STATUSES
    from agent_console.core.queue import server_order
    from agent_console.server import db
    from agent_console.server.store import _CONVERSATION_SELECT, Store
    from agent_console.tui.app import ConsoleApp
    from agent_console.tui.screens.console import queue_order

    held = ConsoleApp.queue_hold
    conn = db.connect(db_path)
    try:
        marks = ",".join("?" * len(SNAPSHOT_STATUSES))
        rows = conn.execute(
            f"{_CONVERSATION_SELECT} WHERE c.status IN ({marks}) ORDER BY c.queue_key, c.id LIMIT ?",
            [*SNAPSHOT_STATUSES, held + 1],
        ).fetchall()
        conversations = [Store._conversation(row) for row in rows[:held]]
    finally:
        conn.close()
    assert view == "all"
    shown = [c for c in conversations if c.status == "open"]
    shown.sort(key=queue_order if len(rows) <= held else server_order)
    return shown


def visible_rows(term_rows: int = ROWS) -> int:
    """Queue rows on screen at `term_rows`: minus tabs, header, status bar, footer, and a
    spare line (a horizontal scrollbar or the "N new" marker)."""
    return term_rows - 5


# --- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def marker(prefix: str, number: int) -> str:
    """A short token that occurs nowhere else on screen: letters the generator never
    capitalises this way, then a serial."""
    return f"{prefix}Qx{number:05d}"


def start_fanout_clients(
    ctx: Context, name: str, urls: str, tokens: list[str], count: int, extra: Sequence[str] = ()
) -> tuple[list[subprocess.Popen[str]], list[Path], float]:
    """`count` bench/fanout_client processes holding `tokens` between them (client k takes every
    count-th), each writing what it received to a file of its own. Returns once every socket
    is open: the processes, their output files, and the slowest client's connect seconds."""
    clients: list[subprocess.Popen[str]] = []
    outs: list[Path] = []
    for k in range(count):
        tokens_file = ctx.workdir / f"{name}-tokens-{k}.txt"
        tokens_file.write_text("\n".join(tokens[k::count]) + "\n")
        out = ctx.workdir / f"{name}-received-{k}.json"
        out.unlink(missing_ok=True)
        outs.append(out)
        clients.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.fanout_client",
                    urls,
                    str(tokens_file),
                    str(out),
                    *(extra or []),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=str(REPO),
            )
        )
    connect = 0.0
    for client in clients:
        ready = client.stdout.readline() if client.stdout else ""
        if not ready.startswith("READY"):
            for started in clients:
                started.kill()
            raise RuntimeError(f"{name}: a socket client did not start: {ready!r}")
        connect = max(connect, float(ready.split()[1]))
    return clients, outs, connect


def stop_fanout_clients(clients: list[subprocess.Popen[str]]) -> None:
    """Ask each client to write what it received ("STOP") and wait for them to finish."""
    for client in clients:
        assert client.stdin is not None
        client.stdin.write("STOP\n")
        client.stdin.flush()
    for client in clients:
        client.wait(120)


def kill_fanout_clients(clients: list[subprocess.Popen[str]]) -> None:
    """Whatever is still running after a failed run (for a `finally`)."""
    for client in clients:
        if client.poll() is None:
            client.kill()
            client.wait()
