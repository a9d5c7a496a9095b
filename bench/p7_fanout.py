"""P7 server fan-out: 100 agent websockets, 50 customer messages a second for 60 s.

Method. A generated desk (1,000 open conversations, 100 extra agents) in a desk-server
child. A separate client process (bench/fanout_client.py) holds one live-feed socket per
agent and stamps each `message.created` frame with CLOCK_MONOTONIC as it arrives; this
process posts customer messages (body starting with a serial marker) at 50/s over four
keep-alive connections, stamping each just before it goes out. Per message, "every socket
has it" = the latest arrival over the 100 sockets; its p99 is taken per 10 s window (the
runs). Also (info) p99 over all single deliveries. Lost = messages x sockets - frames
received. Server RSS (VmRSS, and VmHWM in the note) at the end, from /proc.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

from bench.common import REPO, Context, Result
from bench.datagen import Spec
from bench.harness import generated, live_desk, paced_inbound, percentile

SOCKETS = 100
RATE = 50.0
LATENCY_TARGET, LOST_TARGET, RSS_TARGET = 100.0, 0.0, 300.0
WINDOW = 10.0


def run(ctx: Context) -> list[Result]:
    duration = 3.0 if ctx.quick else 60.0
    spec = Spec(
        open_conversations=1000, closed_conversations=200, messages=5000, kb_articles=100, feed_agents=SOCKETS
    )
    gen = generated(ctx, "p7", spec, fresh=True)
    tokens_file = ctx.workdir / "p7-tokens.txt"
    tokens_file.write_text("\n".join(gen.feed_tokens) + "\n")
    out_file = ctx.workdir / "p7-received.json"
    rng = random.Random(5)
    count = int(duration * RATE)
    messages = [
        (rng.randint(1, spec.open_conversations), f"FO{i:06d} is anyone there?") for i in range(count)
    ]
    with live_desk(gen) as desk:
        rss_before = desk.rss_mib()
        client = subprocess.Popen(
            [sys.executable, "-m", "bench.fanout_client", desk.url, str(tokens_file), str(out_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(REPO),
        )
        try:
            ready = client.stdout.readline() if client.stdout else ""
            if ready.strip() != "READY":
                raise RuntimeError(f"P7: the socket client did not start: {ready!r}")
            time.sleep(1.0)  # let the presence events of 100 agents going online settle
            ctx.log(f"P7: {count} messages at {RATE:g}/s to {SOCKETS} sockets ({duration:g} s)")
            sent = paced_inbound(desk, messages, rate=RATE, connections=4)
            time.sleep(2.0)
            rss = desk.rss_mib()
            hwm = desk.rss_mib("VmHWM")
            assert client.stdin is not None
            client.stdin.write("STOP\n")
            client.stdin.flush()
            client.wait(120)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
    data = json.loads(out_file.read_text())
    arrivals: list[list[float]] = [[] for _ in range(count)]
    for socket in data["sockets"]:
        for serial, stamp in socket:
            if 0 <= serial < count:
                arrivals[serial].append(stamp)
    delivered = sum(len(a) for a in arrivals)
    lost = count * SOCKETS - delivered
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
        raise RuntimeError("P7: no frame reached the sockets")
    closed = sorted({c for c in data["closed"] if c})
    note = f"{count} messages x {SOCKETS} sockets over {duration:g} s; windows of {WINDOW:g} s" + (
        f"; sockets closed: {closed}" if closed else ""
    )
    return [
        Result("P7", "post to every socket p99", every_p99, target=LATENCY_TARGET, note=note),
        Result("P7", "post to one socket p99", single_p99, note="all single deliveries"),
        Result(
            "P7",
            "frames lost",
            [float(lost)],
            unit="frames",
            target=LOST_TARGET,
            note=f"{delivered} of {count * SOCKETS} delivered",
        ),
        Result(
            "P7",
            "server RSS",
            [rss],
            unit="MiB",
            target=RSS_TARGET,
            note=f"peak (VmHWM) {hwm:.0f} MiB; {rss_before:.0f} MiB before the sockets",
        ),
    ]
