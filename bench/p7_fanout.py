"""P7 server fan-out and hostile clients.

Fan-out. A generated desk (1,000 open conversations, 1,000 extra agents) in a desk-server
child. Separate client processes (bench/fanout_client.py; two for 1,000 sockets) hold one
live-feed socket per agent and stamp each `message.created` frame with CLOCK_MONOTONIC as
it arrives; this process posts customer messages (body starting with a serial marker) at a
fixed rate over four keep-alive connections, stamping each just before it goes out. Per
message, "every socket has it" = the latest arrival over all sockets; its p99 is taken per
10 s window (the runs). Also (info) p99 over all single deliveries. Lost = messages x
sockets - frames received. Server RSS (VmRSS, VmHWM in the note) at the end, from /proc.
Three loads: 100 sockets x 50 msg/s, 300 x 50/s, 1,000 x 10/s; a fresh server each. For
1,000 sockets also the connect time: from the first handshake to the last socket open
(100 handshakes in flight at a time per client process), and the `presence.updated` frames
each socket saw while a thousand agents came online (coalesced, not one per agent).

Slowloris. 2,000 connections that send half a request head and stop, topped up as the
server sheds them (it times each out after 10 s, and past its connection cap evicts the
oldest); meanwhile another client asks `GET /api/v1/me` 20 times a second on a keep-alive
connection. p99 per 10 s window.

Slow consumer. One live-feed socket with a 4 KiB receive buffer that never reads, while
customers post 100 KB messages at 40 a second: the server's RSS growth, and the close code
the client finds once it reads (4008 expected).
"""

from __future__ import annotations

import base64
import json
import os
import random
import resource
import select
import socket
import struct
import subprocess
import threading
import time

from bench.common import Context, Result
from bench.datagen import Spec
from bench.harness import (
    LiveDesk,
    generated,
    kill_fanout_clients,
    live_desk,
    paced_inbound,
    percentile,
    start_fanout_clients,
    stop_fanout_clients,
)

SCENARIOS = (  # sockets, messages a second, p99 target (ms) for "every socket has it"
    (100, 50.0, 100.0),
    (300, 50.0, 100.0),
    (1000, 10.0, 200.0),
)
LOST_TARGET, RSS_TARGET, CONNECT_TARGET = 0.0, 300.0, 5.0
HALF_OPEN, ME_RATE, ME_TARGET = 2000, 20.0, 100.0
SLOW_RATE, SLOW_BODY, SLOW_GROWTH_TARGET = 40.0, 100_000, 64.0
WINDOW = 10.0


def run(ctx: Context) -> list[Result]:
    duration = 3.0 if ctx.quick else 60.0
    spec = Spec(
        open_conversations=1000,
        closed_conversations=200,
        messages=5000,
        kb_articles=100,
        feed_agents=max(s for s, _, _ in SCENARIOS),
    )
    gen = generated(ctx, "p7", spec, fresh=True)
    results: list[Result] = []
    # --quick is a smoke run of the machinery: the smallest load, a tenth of the half-open sockets.
    for sockets, rate, target in SCENARIOS[:1] if ctx.quick else SCENARIOS:
        with live_desk(gen) as desk:
            results += fanout(ctx, desk, gen.feed_tokens[:sockets], rate, target, duration, spec)
    with live_desk(gen) as desk:
        results += slowloris(ctx, desk, duration, HALF_OPEN // 10 if ctx.quick else HALF_OPEN)
    with live_desk(gen) as desk:
        results += slow_consumer(ctx, desk, gen.feed_tokens[0], 3.0 if ctx.quick else 20.0, spec)
    return results


# --- fan-out -------------------------------------------------------------------------------


def fanout(
    ctx: Context, desk: LiveDesk, tokens: list[str], rate: float, target: float, duration: float, spec: Spec
) -> list[Result]:
    sockets = len(tokens)
    label = f"{sockets} sockets x {rate:g}/s"
    procs = 1 if sockets <= 300 else 2
    rng = random.Random(5)
    count = int(duration * rate)
    messages = [
        (rng.randint(1, spec.open_conversations), f"FO{i:06d} is anyone there?") for i in range(count)
    ]
    rss_before = desk.rss_mib()
    clients: list[subprocess.Popen[str]] = []
    outs = []
    try:
        clients, outs, connect = start_fanout_clients(ctx, f"p7-{sockets}", desk.url, tokens, procs)
        time.sleep(1.0)  # let the last presence events settle
        ctx.log(f"P7: {label}: {sockets} sockets open in {connect:.2f} s; {count} messages ({duration:g} s)")
        sent = paced_inbound(desk, messages, rate=rate, connections=4)
        time.sleep(2.0)
        rss = desk.rss_mib()
        hwm = desk.rss_mib("VmHWM")
        stop_fanout_clients(clients)
    finally:
        kill_fanout_clients(clients)
    data: dict[str, list] = {"sockets": [], "closed": [], "presence": []}
    for out in outs:
        part = json.loads(out.read_text())
        for key in data:
            data[key] += part[key]
    arrivals: list[list[float]] = [[] for _ in range(count)]
    for received in data["sockets"]:
        for serial, stamp in received:
            if 0 <= serial < count:
                arrivals[serial].append(stamp)
    delivered = sum(len(a) for a in arrivals)
    lost = count * sockets - delivered
    start = sent[0]
    windows: dict[int, tuple[list[float], list[float]]] = {}
    for serial, stamps in enumerate(arrivals):
        if not stamps:
            continue
        window = int((sent[serial] - start) // WINDOW)
        every, single = windows.setdefault(window, ([], []))
        every.append((max(stamps) - sent[serial]) * 1000)
        single += [(s - sent[serial]) * 1000 for s in stamps]
    every_p99 = [percentile(w[0], 99) for _, w in sorted(windows.items()) if w[0]]
    single_p99 = [percentile(w[1], 99) for _, w in sorted(windows.items()) if w[1]]
    if not every_p99:
        raise RuntimeError(f"P7 {label}: no frame reached the sockets")
    closed = sorted({c for c in data["closed"] if c})
    note = f"{count} messages x {sockets} sockets over {duration:g} s; windows of {WINDOW:g} s" + (
        f"; sockets closed: {closed}" if closed else ""
    )
    presence = data["presence"]
    results = [
        Result("P7", f"{label}: post to every socket p99", every_p99, target=target, note=note),
        Result("P7", f"{label}: post to one socket p99", single_p99, note="all single deliveries"),
        Result(
            "P7",
            f"{label}: frames lost",
            [float(lost)],
            unit="frames",
            target=LOST_TARGET,
            note=f"{delivered} of {count * sockets} delivered",
        ),
        Result(
            "P7",
            f"{label}: server RSS",
            [rss],
            unit="MiB",
            target=RSS_TARGET,
            note=f"peak (VmHWM) {hwm:.0f} MiB; {rss_before:.0f} MiB before the sockets",
        ),
    ]
    if sockets >= 1000:
        results.append(
            Result(
                "P7",
                f"{sockets:,} agents connected",
                [connect],
                unit="s",
                target=CONNECT_TARGET,
                note=f"{procs} client processes, 100 handshakes in flight each; presence.updated frames"
                f" per socket while they came online: median {sorted(presence)[len(presence) // 2]},"
                f" max {max(presence)} (one per agent would be {sockets})",
            )
        )
    return results


# --- slowloris -------------------------------------------------------------------------------


def _raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def slowloris(ctx: Context, desk: LiveDesk, duration: float, half_open: int) -> list[Result]:
    _raise_fd_limit(half_open + 512)
    address = ("127.0.0.1", desk.port)
    head = b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Half-Open: "
    held: set[socket.socket] = set()
    stop = threading.Event()
    shed = [0]
    least = [half_open]

    def open_one() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(True)
        sock.settimeout(5)
        sock.connect(address)
        sock.sendall(head)
        sock.setblocking(False)
        held.add(sock)

    def attacker() -> None:
        poller = select.poll()  # select() stops at descriptor 1,024
        by_fd: dict[int, socket.socket] = {}
        while not stop.is_set():
            for sock in held:
                if sock.fileno() not in by_fd:
                    by_fd[sock.fileno()] = sock
                    poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
            for fd, _ in poller.poll(200):
                sock = by_fd.pop(fd)  # answered (408) or closed: the server let it go
                poller.unregister(fd)
                held.discard(sock)
                sock.close()
                shed[0] += 1
            if shed[0]:
                least[0] = min(least[0], len(held))
            while len(held) < half_open and not stop.is_set():
                try:
                    open_one()
                except OSError:
                    break

    for _ in range(half_open):
        open_one()
    ctx.log(f"P7: slowloris: {len(held)} half-open connections held; GET /me at {ME_RATE:g}/s")
    thread = threading.Thread(target=attacker, daemon=True)
    thread.start()
    poster = desk.poster()
    latencies: dict[int, list[float]] = {}
    errors = 0
    try:
        start = time.monotonic()
        count = int(max(duration, 30.0 if duration > 3 else 3.0) * ME_RATE)
        for i in range(count):
            pause = start + i / ME_RATE - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            began = time.monotonic()
            status, _ = poster.request("GET", "/api/v1/me")
            took = (time.monotonic() - began) * 1000
            if status != 200:
                errors += 1
            latencies.setdefault(int((began - start) // WINDOW), []).append(took)
    finally:
        stop.set()
        thread.join(10)
        poster.close()
        for sock in held:
            sock.close()
    p99 = [percentile(values, 99) for _, values in sorted(latencies.items()) if values]
    return [
        Result(
            "P7",
            f"GET /me p99 with {half_open:,} half-open connections",
            p99,
            target=ME_TARGET,
            note=f"{sum(len(v) for v in latencies.values())} requests, {errors} not 200; the server shed"
            f" {shed[0]} half-open connections (10 s head timeout, cap evictions), the attacker"
            f" reopened them; fewest held at once {least[0]}",
        )
    ]


# --- a consumer that never reads ----------------------------------------------------------


def _never_reading_socket(desk: LiveDesk, token: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", desk.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise RuntimeError("P7: the never-reading socket was refused")
        head += chunk
    return sock


def _close_code(sock: socket.socket) -> int | None:
    """Read what the server sent and return the code of its close frame, if any."""
    sock.settimeout(10)
    data = bytearray()
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    at, code = 0, None
    while at + 2 <= len(data):
        opcode, size = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if size == 126:
            (size,) = struct.unpack("!H", data[at : at + 2])
            at += 2
        elif size == 127:
            (size,) = struct.unpack("!Q", data[at : at + 8])
            at += 8
        if opcode == 0x8 and size >= 2 and at + 2 <= len(data):
            (code,) = struct.unpack("!H", data[at : at + 2])
        at += size
    return code


def _settled_rss(desk: LiveDesk) -> float:
    """The server's RSS once its one-time loads are done: a first customer message makes it
    load what it loads lazily (the language model of triage, ~90 MiB, read in a thread at
    start), which is not what a never-reading socket costs."""
    paced_inbound(desk, [(1, "warm-up: where is my order?")], rate=SLOW_RATE, connections=1)
    last = desk.rss_mib()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = desk.rss_mib()
        if abs(now - last) < 1.0:
            return now
        last = now
    return last


def slow_consumer(ctx: Context, desk: LiveDesk, token: str, seconds: float, spec: Spec) -> list[Result]:
    rss_before = _settled_rss(desk)
    sock = _never_reading_socket(desk, token)
    count = int(seconds * SLOW_RATE)
    rng = random.Random(9)
    messages = [
        (rng.randint(1, spec.open_conversations), f"SC{i:06d} " + "z" * SLOW_BODY) for i in range(count)
    ]
    ctx.log(
        f"P7: slow consumer: {count} messages of {SLOW_BODY // 1000} KB at {SLOW_RATE:g}/s, one socket unread"
    )
    try:
        paced_inbound(desk, messages, rate=SLOW_RATE, connections=4)
        rss = desk.rss_mib()
        hwm = desk.rss_mib("VmHWM")
        code = _close_code(sock)
    finally:
        sock.close()
    return [
        Result(
            "P7",
            "never-reading socket: server RSS growth",
            [rss - rss_before],
            unit="MiB",
            target=SLOW_GROWTH_TARGET,
            note=f"{count} x {SLOW_BODY // 1000} KB messages over {seconds:g} s;"
            f" {rss_before:.0f} -> {rss:.0f} MiB (peak {hwm:.0f}); close code it read: {code}",
        )
    ]
