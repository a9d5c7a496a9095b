"""P1 event to screen: a customer message posted to the desk server until its text is on
the agent's terminal, with 1,000 open conversations in the queue and 20 messages a second.

Method. A generated desk (1,000 open conversations) runs in a desk-server child; the real
console runs in a real 160x48 pty. Messages go to conversations whose queue row is on
screen and shows the last message (no subject), each starting with a unique marker.
Latency = the time the pty delivered the byte that completed the marker, minus the time
just before the POST /api/v1/inbound went out (both CLOCK_MONOTONIC, one process).
Several runs of a fixed window each; every run gives one p50 and one p99.
"""

from __future__ import annotations

from bench.common import Context, Result
from bench.datagen import Spec
from bench.harness import (
    console_queue,
    generated,
    live_desk,
    marker,
    paced_inbound,
    percentile,
    spawn_console,
    visible_rows,
    wait_ready,
)

SPEC = Spec(open_conversations=1000, closed_conversations=200, messages=5000, kb_articles=100)
RATE = 20.0  # messages per second
P50_TARGET, P99_TARGET = 20.0, 50.0


def run(ctx: Context) -> list[Result]:
    runs = 2 if ctx.quick else 5
    window = 1.5 if ctx.quick else 10.0
    gen = generated(ctx, "p1", SPEC, fresh=True)
    queue = console_queue(gen.path)
    targets = [c.id for c in queue[1 : visible_rows() - 2] if c.subject is None]
    p50s: list[float] = []
    p99s: list[float] = []
    lost = 0
    sent_total = 0
    with live_desk(gen) as desk, spawn_console(ctx, desk) as term:
        wait_ready(term, queue[0].contact.name)
        serial = 0
        for run_index in range(runs):
            count = int(window * RATE)
            ctx.log(
                f"P1: run {run_index + 1}/{runs}: {count} messages at {RATE:g}/s to"
                f" {len(targets)} rows on screen"
            )
            tokens = []
            messages = []
            for _ in range(count):
                serial += 1
                tokens.append(marker("E", serial).encode())
                messages.append((targets[serial % len(targets)], f"{tokens[-1].decode()} where is my order?"))
            offsets = [0] * count

            def note_offset(i: int, offsets: list[int] = offsets) -> None:
                offsets[i] = term.offset

            sent = paced_inbound(desk, messages, rate=RATE, connections=4, before_send=note_offset)
            posts = list(zip(tokens, offsets, sent, strict=True))
            term.wait_for(posts[-1][0], posts[-1][1], timeout=10)
            term.wait_quiet(0.3, timeout=10)
            latencies = []
            for token, offset, sent_at in posts:
                found = term.find(token, offset)
                if found is None:
                    lost += 1
                else:
                    latencies.append((found[1] - sent_at) * 1000)
            sent_total += len(posts)
            if latencies:
                p50s.append(percentile(latencies, 50))
                p99s.append(percentile(latencies, 99))
    if not p50s:
        raise RuntimeError("P1: no message reached the screen")
    note = (
        f"{len(queue)} open conversations, {RATE:g} msg/s, {runs} runs x {window:g} s;"
        f" {lost} of {sent_total} never seen on screen"
    )
    return [
        Result("P1", "event to screen p50", p50s, target=P50_TARGET, note=note),
        Result("P1", "event to screen p99", p99s, target=P99_TARGET, note=note),
    ]
