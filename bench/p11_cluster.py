"""P11 several desk server processes on one PostgreSQL (issue 14's "Bench P10").

A throwaway PostgreSQL 15 cluster (tests/pg_cluster.py: fsync off) holds one desk: the demo
data set (`seed_demo`, as `serve --demo` seeds it) plus 400 agents. Four desk server
processes (`agent-console serve --db postgresql://...`) run on it; each follows the shared
event log by LISTEN/NOTIFY. Two client processes (bench/fanout_client.py, reconnect mode)
hold one live-feed socket per agent, spread evenly over the four processes, each from
`since=<head>`. This process posts customer messages (body `FO<serial> ...`) to open
conversations at 50 a second for 60 s, round-robin over the processes, each with an
Idempotency-Key; a post that fails is retried on the next process with the same key.

Half-way through, one process is SIGKILLed. Its sockets reconnect to the next process with
`since=<the last seq they saw>`; the time from losing the connection to the new socket being
open is their reconnect time. Every socket checks the seqs it sees: one at or below the last
is a duplicate (its message is not counted twice), one past the last plus one is a gap.

Per message, "every socket has it" = the latest arrival over all sockets minus the time just
before the first try of its post; p99 per 10 s window, as P7. Lost = messages x sockets -
distinct messages received. Per process: RSS per socket (RSS with the sockets open minus RSS
before them, after a warm-up message has made each process load what it loads lazily, over
its sockets) and CPU per message (utime + stime from /proc/<pid>/stat over the posting, over
the messages: each process fans out every message). PostgreSQL's own CPU: the postmaster and
all its children (backends, background workers; reaped children's CPU included). The CPU one
socket adds per message: after the kill the next process carries its own sockets and the
moved ones, the others only their own, at the same share of the posts. Also: each post's
time to its 201 and from the 201 to the last socket, the CPU the whole run used (servers,
PostgreSQL, socket clients, posters) and the load average, since the clients share the cores.

The write lock: every write transaction on PostgreSQL holds one advisory lock from BEGIN to
COMMIT (server/pg_connection.py). After the run, this process writes 200 more inbound
messages through the store on the same database (one at a time, as a server process does)
and times the lock hold of each write: 1 / hold is the most writes a second the lock allows.
During the run, pg_locks is sampled 20 times a second: the share of the time the lock is held.

With BENCH_PROFILE_DIR set the desk servers run under pyinstrument (see `start_server`).

Then the same load on one process on SQLite (the same desk, 400 sockets, 50 msg/s, no kill).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import Context, Result
from bench.harness import kill_fanout_clients, percentile, start_fanout_clients, stop_fanout_clients
from bench.terminal import rss_mib

PROCESSES, CLIENTS = 4, 2
SOCKETS, RATE, DURATION = 400, 50.0, 60.0
TARGET, LOST_TARGET = 200.0, 0.0
WINDOW = 10.0
POSTERS = 8
LOCK_SAMPLES = 200
TICK = os.sysconf("SC_CLK_TCK")


# --- the desk --------------------------------------------------------------------------------


@dataclass
class Prepared:
    target: str | Path
    admin: str
    tokens: list[str]
    conversations: list[int]
    seconds: float


def prepare(target: str | Path, agents: int) -> Prepared:
    """The demo desk, an admin who posts as the customers' channel, and `agents` agents."""
    from agent_console.server import db
    from agent_console.server.seed import seed_demo
    from agent_console.server.store import Store, ensure_agent

    started = time.monotonic()
    conn = db.connect(target)
    try:
        seed_demo(conn)
        store = Store(conn)
        _, admin = ensure_agent(
            store, email="bench@bench.example", name="Bench", role="admin", timezone="UTC"
        )
        tokens = [
            ensure_agent(
                store, email=f"p11-{i}@bench.example", name=f"Agent {i}", role="agent", timezone="UTC"
            )[1]
            for i in range(agents)
        ]
        rows = conn.execute("SELECT id FROM conversations WHERE status = 'open' ORDER BY id").fetchall()
    finally:
        conn.close()
    return Prepared(target, admin, tokens, [row[0] for row in rows], time.monotonic() - started)


def stored(target: str | Path) -> tuple[int, int]:
    """How many of the run's messages the desk holds, and how many distinct ones."""
    sql = "SELECT count(*), count(DISTINCT body) FROM messages WHERE body LIKE 'FO%'"
    if isinstance(target, Path):
        import sqlite3

        with sqlite3.connect(target) as conn:
            rows, distinct = conn.execute(sql).fetchone()
    else:
        import psycopg

        with psycopg.connect(target) as conn:
            rows, distinct = conn.execute(sql).fetchone()
    return int(rows), int(distinct)


# --- /proc -----------------------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rpartition(")")[2].split()  # fields from `state` on


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """utime + stime of a process (and of its reaped children with `reaped`), in seconds."""
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def cluster_cpu(postmaster: int) -> float:
    """PostgreSQL's CPU: the postmaster with its reaped children, plus its live children."""
    total = cpu_seconds(postmaster, reaped=True)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _stat(int(entry))
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def settle(pids: list[int], limit: float) -> dict[int, float]:
    """RSS of each process once none has moved by a MiB in half a second."""
    last = {pid: rss_mib(pid) for pid in pids}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = {pid: rss_mib(pid) for pid in pids}
        if all(abs(now[pid] - last[pid]) < 1.0 for pid in pids):
            return now
        last = now
    return last


class LockSampler(threading.Thread):
    """How busy the write lock is during the run: 20 times a second, is it held, and how many
    transactions wait for it (pg_locks). Its own backend's CPU is kept apart from PostgreSQL's."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        import psycopg

        from agent_console.server.pg_connection import WRITE_LOCK

        key = WRITE_LOCK & ((1 << 64) - 1)  # pg_locks shows a bigint key as two 32-bit oids
        self.key = (key >> 32, key & 0xFFFFFFFF)
        self.conn = psycopg.connect(dsn, autocommit=True, application_name="agent-console-bench")
        self.backend = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.held: list[int] = []
        self.waiting: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            held, waiting = self.conn.execute(
                "SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) FROM pg_locks"
                " WHERE locktype = 'advisory' AND classid::bigint = %s AND objid::bigint = %s"
                " AND objsubid = 1",
                self.key,
            ).fetchone()
            self.held.append(held)
            self.waiting.append(waiting)

    def finish(self) -> float:
        """Stop; returns the CPU seconds its own backend spent (to leave out of PostgreSQL's)."""
        self.stop.set()
        self.join(10)
        spent = cpu_seconds(self.backend)
        self.conn.close()
        return spent


# --- posting ---------------------------------------------------------------------------------


class Posting:
    """Customer messages at a fixed rate, round-robin over the processes; a failed post goes
    to the next process with the same Idempotency-Key (stored once whoever takes it)."""

    def __init__(self, urls: list[str], token: str) -> None:
        self.ports = [int(urlsplit(url).port or 80) for url in urls]
        self.token = token
        self.retries = 0
        self.down: dict[int, float] = {}  # port -> until when it is skipped
        self.lock = threading.Lock()

    def post(
        self, conns: dict[int, http.client.HTTPConnection], i: int, conversation: int, body: str
    ) -> None:
        payload = json.dumps(
            {"channel": "web_chat", "contact": {"name": "x"}, "conversation_id": conversation, "body": body}
        ).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"p11-{i}-{uuid.uuid4().hex}",
        }
        deadline = time.monotonic() + 30
        turn = i
        while True:
            port = self.ports[turn % len(self.ports)]
            turn += 1
            if turn - i <= len(self.ports) and self.down.get(port, 0.0) > time.monotonic():
                continue  # skipped on the first round only: if every one is down, try them anyway
            try:
                conn = conns.get(port) or conns.setdefault(
                    port, http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                )
                conn.request("POST", "/api/v1/inbound", body=payload, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status == 201:
                    return
                if response.status < 500:
                    raise RuntimeError(f"inbound answered {response.status}: {answer[:200]!r}")
            except (http.client.HTTPException, OSError):
                conns.pop(port).close()
                with self.lock:
                    self.down[port] = time.monotonic() + 5.0
            with self.lock:
                self.retries += 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"message {i} could not be posted to any process")

    def paced(self, messages: list[tuple[int, str]], rate: float) -> tuple[list[float], list[float]]:
        """Returns when each message's first try went out and when its 201 came back."""
        sent = [0.0] * len(messages)
        done = [0.0] * len(messages)
        errors: list[BaseException] = []
        start = time.monotonic() + 0.05

        def worker(slot: int) -> None:
            conns: dict[int, http.client.HTTPConnection] = {}
            try:
                for i in range(slot, len(messages), POSTERS):
                    pause = start + i / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    sent[i] = time.monotonic()
                    self.post(conns, i, *messages[i])
                    done[i] = time.monotonic()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)
            finally:
                for conn in conns.values():
                    conn.close()

        threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(POSTERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(len(messages) / rate + 90)
        if errors:
            raise RuntimeError(f"posting failed: {errors[0]!r}")
        return sent, done


# --- one run ---------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    pids: list[int]
    sockets_per: list[int]
    count: int
    sent: list[float]
    done: list[float]
    rss_before: dict[int, float]
    rss_with: dict[int, float]
    cpu: dict[int, float]  # seconds over the posting (the killed process: up to its death)
    pg_cpu: float | None
    cpu_phases: tuple[dict[int, float], dict[int, float]] | None = None  # before / after the kill
    data: dict[str, list] = field(default_factory=dict)
    killed: int | None = None
    wall: float = 0.0  # seconds from the first post to the end of the last deliveries
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after
    clients_cpu: float = 0.0  # the socket client processes over that time
    own_cpu: float = 0.0  # this process (the posters, the lock sampler) over that time
    kill_at: float | None = None
    retries: int = 0
    events: int = 0
    stored: tuple[int, int] = (0, 0)
    lock_held: float | None = None  # share of samples with the write lock held
    lock_waiting: float | None = None  # mean transactions waiting for it


def _head(port: int, token: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/api/v1/conversations?limit=1", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET /conversations answered {response.status}: {body[:200]!r}")
        return int(json.loads(body)["head_seq"])
    finally:
        conn.close()


def drive(
    ctx: Context,
    label: str,
    servers: list[Any],
    desk: Prepared,
    *,
    sockets: int,
    duration: float,
    kill: bool,
    postmaster: int | None,
) -> Run:
    urls = [server.url for server in servers]
    pids = [server.proc.pid for server in servers]
    ports = [int(urlsplit(url).port or 80) for url in urls]
    posting = Posting(urls, desk.admin)
    # Warm-up: one message through each process makes it load what it loads lazily (the triage
    # language model, ~90 MiB), which is not what a socket costs.
    for k, port in enumerate(ports):
        single = Posting([urls[k]], desk.admin)
        single.post({}, k, desk.conversations[0], "warm-up: where is my order?")
        _head(port, desk.admin)
    rss_before = settle(pids, 10.0 if ctx.quick else 30.0)
    head = _head(ports[0], desk.admin)

    tokens = desk.tokens[:sockets]
    clients: list[subprocess.Popen[str]] = []
    outs: list[Path] = []
    try:
        clients, outs, connect = start_fanout_clients(
            ctx, f"p11-{label}", ",".join(urls), tokens, CLIENTS, ["--since", str(head)]
        )
        time.sleep(1.0)  # the last presence events settle
        rss_with = settle(pids, 5.0)
        # Socket j of client k is on process j mod n: count them as the clients place them.
        per = [0] * len(urls)
        for k in range(CLIENTS):
            for j in range(len(tokens[k::CLIENTS])):
                per[j % len(urls)] += 1

        rng = random.Random(11)
        count = int(duration * RATE)
        messages = [(rng.choice(desk.conversations), f"FO{i:06d} is anyone there?") for i in range(count)]
        ctx.log(f"P11: {label}: {sockets} sockets open in {connect:.2f} s; {count} messages at {RATE:g}/s")
        cpu_start = {pid: cpu_seconds(pid) for pid in pids}
        others_start = [cpu_seconds(client.pid) for client in clients], _own_cpu()
        load = [os.getloadavg()[0]]
        wall = time.monotonic()
        cpu_end: dict[int, float] = {}
        cpu_mid: dict[int, float] = {}  # at the kill: the phases before and after it
        sampler = LockSampler(str(desk.target)) if postmaster else None
        pg_start = cluster_cpu(postmaster) if postmaster else None
        if sampler is not None:
            sampler.start()
        head_start = _head(ports[-1], desk.admin)
        killed: list[float] = []

        def killer() -> None:
            time.sleep(duration / 2)
            victim = servers[0]
            cpu_mid.update({pid: cpu_seconds(pid) for pid in pids})
            cpu_end[victim.proc.pid] = cpu_mid[victim.proc.pid]
            killed.append(time.monotonic())
            victim.proc.kill()
            victim.proc.wait(10)
            ctx.log(f"P11: {label}: killed process {victim.proc.pid} ({victim.url}) at {duration / 2:g} s")

        thread = threading.Thread(target=killer, daemon=True) if kill else None
        if thread is not None:
            thread.start()
        sent, done = posting.paced(messages, RATE)
        if thread is not None:
            thread.join(30)
        time.sleep(3.0)  # the last deliveries (and replays to moved sockets) arrive
        wall = time.monotonic() - wall
        load.append(os.getloadavg()[0])
        clients_cpu = sum(cpu_seconds(c.pid) for c in clients) - sum(others_start[0])
        own_cpu = _own_cpu() - others_start[1]
        for pid in pids:
            if pid not in cpu_end:  # the killed one was read just before it died
                cpu_end[pid] = cpu_seconds(pid)
        pg_cpu = None
        if sampler is not None and postmaster and pg_start is not None:
            sampler_cpu = sampler.finish()  # before the cluster is read: its backend is a child too
            pg_cpu = cluster_cpu(postmaster) - pg_start - sampler_cpu
        events = _head(ports[-1], desk.admin) - head_start
        stop_fanout_clients(clients)
    finally:
        kill_fanout_clients(clients)
    kept = stored(desk.target)
    data: dict[str, list] = {}
    for out in outs:
        for key, values in json.loads(out.read_text()).items():
            data.setdefault(key, []).extend(values)
    return Run(
        label=label,
        pids=pids,
        sockets_per=per,
        count=count,
        sent=sent,
        done=done,
        wall=wall,
        load=(load[0], load[1]),
        clients_cpu=clients_cpu,
        own_cpu=own_cpu,
        rss_before=rss_before,
        rss_with=rss_with,
        cpu={pid: cpu_end[pid] - cpu_start[pid] for pid in pids},
        cpu_phases=(
            (
                {pid: cpu_mid[pid] - cpu_start[pid] for pid in pids},
                {pid: cpu_end[pid] - cpu_mid[pid] for pid in pids},
            )
            if cpu_mid
            else None
        ),
        pg_cpu=pg_cpu,
        data=data,
        killed=pids[0] if kill else None,
        kill_at=killed[0] if killed else None,
        retries=posting.retries,
        events=events,
        stored=kept,
        lock_held=statistics.mean(sampler.held) if sampler and sampler.held else None,
        lock_waiting=statistics.mean(sampler.waiting) if sampler and sampler.waiting else None,
    )


# --- the figures -----------------------------------------------------------------------------


def results(run: Run, name: str, *, engine_note: str) -> list[Result]:
    sockets = len(run.data["sockets"])
    latest: dict[int, float] = {}
    reached: dict[int, int] = {}
    delivered = 0
    for received in run.data["sockets"]:
        seen: set[int] = set()
        for serial, stamp in received:
            if serial >= run.count or serial in seen:
                continue
            seen.add(serial)
            reached[serial] = reached.get(serial, 0) + 1
            latest[serial] = max(latest.get(serial, 0.0), stamp)
        delivered += len(seen)
    lost = run.count * sockets - delivered
    start = min(run.sent)
    windows: dict[int, list[float]] = {}
    for serial, count in reached.items():
        if count == sockets:
            windows.setdefault(int((run.sent[serial] - start) // WINDOW), []).append(
                (latest[serial] - run.sent[serial]) * 1000
            )
    if not windows:
        raise RuntimeError(f"P11: {name}: no message reached every socket")
    by_window = {w: percentile(values, 99) for w, values in sorted(windows.items())}
    p99 = list(by_window.values())
    kill_window = int((run.kill_at - start) // WINDOW) if run.kill_at is not None else None
    gaps, dups = sum(run.data["gaps"]), sum(run.data["dups"])
    moves = [(opened - lost_at) * 1000 for socket in run.data["reconnects"] for lost_at, opened in socket]
    moved = sum(1 for socket in run.data["reconnects"] if socket)
    closed = sorted({c for c in run.data["closed"] if c and not c.startswith("lost")} - {""})
    alive = [pid for pid in run.pids if pid != run.killed]
    per_socket = {
        pid: (run.rss_with[pid] - run.rss_before[pid]) * 1024 / n
        for pid, n in zip(run.pids, run.sockets_per, strict=True)
        if n
    }
    cpu_ms = {pid: run.cpu[pid] * 1000 / run.count for pid in run.pids}
    windows_note = ", ".join(f"{v:.0f}" for v in p99)
    achieved = (run.count - 1) / (max(run.sent) - start) if run.count > 1 else 0.0
    answered = [(d - s) * 1000 for s, d in zip(run.sent, run.done, strict=True)]
    after_answer = [(latest[i] - run.done[i]) * 1000 for i in latest if reached[i] == sockets]
    demand = (sum(run.cpu.values()) + (run.pg_cpu or 0.0) + run.clients_cpu + run.own_cpu) / run.wall
    out = [
        Result(
            "P11",
            f"{name}: post to every socket p99",
            p99,
            target=TARGET,
            note=f"{run.count} messages x {sockets} sockets, {RATE:g}/s; p99 per {WINDOW:g} s window:"
            f" {windows_note} ms"
            + (
                f"; the window with the kill (#{kill_window + 1}): {by_window[kill_window]:.0f} ms"
                if kill_window in by_window
                else ""
            )
            + f"; {engine_note}; posted at {achieved:.1f}/s;"
            f" load average {run.load[0]:.1f} -> {run.load[1]:.1f}",
        ),
        Result(
            "P11",
            f"{name}: post answered p99",
            [percentile(answered, 99)],
            note=f"first try -> 201 (the write committed); median {statistics.median(answered):.0f} ms."
            f" From the 201 to the last socket: p99 {percentile(after_answer, 99):.0f} ms,"
            f" median {statistics.median(after_answer):.0f} ms",
        ),
        Result(
            "P11",
            f"{name}: CPU the whole run used",
            [demand],
            unit="cores",
            note=f"over {run.wall:.0f} s: server processes {sum(run.cpu.values()):.1f} s"
            + (f", PostgreSQL {run.pg_cpu:.1f} s" if run.pg_cpu is not None else "")
            + f", socket clients {run.clients_cpu:.1f} s, posters {run.own_cpu:.1f} s, on"
            f" {os.cpu_count()} cores shared with whatever else runs (load average above)",
        ),
        Result(
            "P11",
            f"{name}: frames lost",
            [float(lost)],
            unit="frames",
            target=LOST_TARGET,
            note=f"{delivered} of {run.count * sockets} delivered; {run.retries} posts retried on another"
            f" process; the desk holds {run.stored[0]} of the {run.count} messages"
            f" ({run.stored[1]} distinct);"
            f" {run.events} events in the log over the run"
            + (f"; sockets closed: {closed}" if closed else ""),
        ),
        Result(
            "P11",
            f"{name}: seq gaps and duplicates seen",
            [float(gaps + dups)],
            unit="events",
            target=0.0,
            note=f"{gaps} gaps, {dups} duplicates over {sockets} sockets",
        ),
        Result(
            "P11",
            f"{name}: RSS per socket",
            [per_socket[pid] for pid in per_socket],
            unit="KiB",
            note="per process: "
            + ", ".join(
                f"{run.rss_before[pid]:.0f} -> {run.rss_with[pid]:.0f} MiB with {n} sockets"
                for pid, n in zip(run.pids, run.sockets_per, strict=True)
            ),
        ),
        Result(
            "P11",
            f"{name}: server CPU per message, per process",
            [cpu_ms[pid] for pid in alive],
            unit="ms",
            note="CPU time over the posting / messages, each process fanning every message out to its"
            " sockets: "
            + ", ".join(
                f"{cpu_ms[pid]:.1f}" + (" (killed half-way)" if pid == run.killed else "") for pid in run.pids
            )
            + f"; all processes together {sum(run.cpu.values()) * 1000 / run.count:.1f} ms",
        ),
    ]
    if run.cpu_phases is not None and run.kill_at is not None and len(alive) >= 3:
        out.append(socket_cost(run, alive))
    if run.pg_cpu is not None:
        out.append(
            Result(
                "P11",
                f"{name}: PostgreSQL CPU per message",
                [run.pg_cpu * 1000 / run.count],
                unit="ms",
                note=f"postmaster and its children over the posting: {run.pg_cpu:.1f} s for"
                f" {run.count} messages",
            )
        )
    if run.lock_held is not None and run.lock_waiting is not None:
        out.append(
            Result(
                "P11",
                f"{name}: write lock busy",
                [run.lock_held * 100],
                unit="%",
                note=f"share of pg_locks samples (20/s) with the write lock held at {RATE:g} msg/s;"
                f" {run.lock_waiting:.2f} transactions waiting for it on average",
            )
        )
    if run.killed is not None:
        out.append(
            Result(
                "P11",
                f"{name}: moved sockets reconnect p99",
                [percentile(moves, 99)] if moves else [0.0],
                note=f"{moved} sockets moved off the killed process ({len(moves)} reconnects),"
                " connection lost -> new socket open on the next process;"
                f" median {statistics.median(moves or [0]):.0f}, max {max(moves or [0]):.0f} ms",
            )
        )
    return out


def socket_cost(run: Run, alive: list[int]) -> Result:
    """What one socket adds to a process's CPU per message, from the two phases of the run:
    after the kill the next process carries its own sockets and the killed one's, the others
    only their own, and all of them take the same share of the posts."""
    before, after = run.cpu_phases or ({}, {})
    n1 = sum(1 for stamp in run.sent if stamp < (run.kill_at or 0.0))
    n2 = run.count - n1
    heir, others = alive[0], alive[1:]  # sockets on process 0 reconnect to process 1
    own = run.sockets_per[run.pids.index(heir)]
    moved = run.sockets_per[0]
    per1 = {pid: before[pid] * 1000 / n1 for pid in run.pids}
    per2 = {pid: after[pid] * 1000 / n2 for pid in alive}
    rest = statistics.mean(per2[pid] for pid in others)
    per_socket_us = (per2[heir] - rest) * 1000 / moved
    fixed = statistics.mean(per1[pid] for pid in run.pids) - per_socket_us * own / 1000
    return Result(
        "P11",
        "PostgreSQL process CPU per socket per message",
        [per_socket_us],
        unit="us",
        note=f"before the kill ({n1} messages, {len(run.pids)} processes of ~{own} sockets) each process"
        " spent"
        f" {', '.join(f'{v:.2f}' for v in per1.values())} ms a message; after it ({n2} messages) the process"
        f" that took the {moved} moved sockets {per2[heir]:.2f} ms, the others"
        f" {', '.join(f'{per2[p]:.2f}' for p in others)} ms: {per_socket_us:.1f} us per socket per message,"
        f" and {fixed:.2f} ms per message with no socket (its share of the posts, reading the shared log)",
    )


# --- the write lock ----------------------------------------------------------------------------


def lock_hold(dsn: str, admin_email: str, conversations: list[int], samples: int) -> tuple[list[float], int]:
    """Milliseconds the write lock is held per inbound message (BEGIN IMMEDIATE, which takes it,
    to COMMIT, which lets it go), written through the store one at a time as a server process
    writes; and the write transactions it took."""
    from agent_console.core.models import InboundMessage
    from agent_console.server.email_store import DeskStore
    from agent_console.server.pg_connection import PgConnection

    class TimedConnection(PgConnection):
        def __init__(self, target: str) -> None:
            super().__init__(target, application_name="agent-console-bench")
            self.began = 0.0
            self.holds: list[float] = []

        def execute(self, sql: str, params: Any = ()) -> Any:
            verb = sql.lstrip()[:15].upper()
            cursor = super().execute(sql, params)
            if verb.startswith("BEGIN IMMEDIATE"):
                self.began = time.perf_counter()  # the lock is held from here
            elif verb.startswith(("COMMIT", "ROLLBACK")):
                self.holds.append((time.perf_counter() - self.began) * 1000)
            return cursor

    conn = TimedConnection(dsn)
    try:
        store = DeskStore(conn)
        admin = store.find_agent_by_email(admin_email)
        assert admin is not None
        rng = random.Random(13)
        per_message: list[float] = []
        transactions = 0
        for i in range(-1, samples):  # -1: a warm-up (the first loads the triage model)
            before = len(conn.holds)
            body = json.dumps({"body": f"lock {i}"}).encode()
            message = InboundMessage(
                channel="web_chat",
                contact={"name": "x"},
                body=f"lock {i}",
                conversation_id=rng.choice(conversations),
            )
            store.idempotent(admin.id, uuid.uuid4().hex, body, lambda m=message: (201, store.inbound(m)))
            if i >= 0:
                per_message.append(sum(conn.holds[before:]))
                transactions += len(conn.holds) - before
        return per_message, transactions
    finally:
        conn.close()


# --- profiling ------------------------------------------------------------------------------

_PROFILED = iter(range(1, 1000))


def start_server(ctx: Context, target: str | Path) -> Any:
    """A desk server child; with BENCH_PROFILE_DIR set, under pyinstrument, leaving
    server-<n>.pyisession there when it stops (read it with bench/profile_summary.py; the
    killed process leaves none). Such a run is slower and only good for finding where the
    time goes."""
    from agent_console.server.process import ServerProcess

    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    if not profile_dir:
        server = ServerProcess(target)
        server.start()
        return server
    Path(profile_dir).mkdir(parents=True, exist_ok=True)
    out = Path(profile_dir) / f"server-{next(_PROFILED)}.pyisession"
    wrapper = ctx.workdir / "python-under-pyinstrument"
    wrapper.write_text(
        f'#!/bin/sh\nexec {sys.executable} -m pyinstrument -r pyisession -o "$BENCH_PROFILE_OUT" "$@"\n'
    )
    wrapper.chmod(0o755)
    server = ServerProcess(target, env={"BENCH_PROFILE_OUT": str(out)})
    real = sys.executable
    sys.executable = str(wrapper)  # ServerProcess starts `sys.executable -m agent_console serve`
    try:
        server.start()
    finally:
        sys.executable = real
    ctx.log(f"  profiling desk server {server.proc.pid} into {out}")
    return server


def stop_server(server: Any) -> None:
    server.stop(120 if os.environ.get("BENCH_PROFILE_DIR") else 10)  # pyinstrument writes on the way out


# --- the bench ---------------------------------------------------------------------------------


def run(ctx: Context) -> list[Result]:
    from tests.pg_cluster import PgCluster

    sockets = 100 if ctx.quick else SOCKETS
    duration = 10.0 if ctx.quick else DURATION
    out: list[Result] = []

    cluster = PgCluster().start()
    servers: list[Any] = []
    try:
        dsn = cluster.new_database()
        desk = prepare(dsn, sockets)
        ctx.log(f"P11: PostgreSQL desk: demo data set and {sockets} agents in {desk.seconds:.1f} s")
        for _ in range(PROCESSES):
            servers.append(start_server(ctx, dsn))
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        label = f"{PROCESSES} processes on PostgreSQL, {sockets} sockets x {RATE:g}/s"
        pg_run = drive(
            ctx, "pg", servers, desk, sockets=sockets, duration=duration, kill=True, postmaster=postmaster
        )
        for server in servers:
            stop_server(server)
        out += results(pg_run, label, engine_note="one process SIGKILLed half-way")
        holds, transactions = lock_hold(
            dsn, "bench@bench.example", desk.conversations, 40 if ctx.quick else LOCK_SAMPLES
        )
        mean = statistics.mean(holds)
        out.append(
            Result(
                "P11",
                "PostgreSQL write lock held per inbound message",
                holds,
                note=f"{transactions} write transactions for {len(holds)} messages, one at a time;"
                f" mean {mean:.2f} ms, p99 {percentile(holds, 99):.2f} ms: at most {1000 / mean:.0f}"
                " inbound messages/s across all processes (the lock's ceiling)",
            )
        )
    finally:
        for server in servers:
            server.stop()
        cluster.stop()

    path = ctx.workdir / "p11-sqlite.db"
    for stale in ctx.workdir.glob(f"{path.name}*"):
        stale.unlink()
    desk = prepare(path, sockets)
    ctx.log(f"P11: SQLite desk: demo data set and {sockets} agents in {desk.seconds:.1f} s")
    server = start_server(ctx, path)
    try:
        lite = drive(
            ctx, "sqlite", [server], desk, sockets=sockets, duration=duration, kill=False, postmaster=None
        )
    finally:
        stop_server(server)
    out += results(
        lite, f"1 process on SQLite, {sockets} sockets x {RATE:g}/s", engine_note="the same desk and load"
    )
    return out
