"""P6 bandwidth: bytes the console writes to a 160x48 terminal with the queue visible.

Method. The P1 desk (1,000 open conversations), the real console in a real pty, not in
low-bandwidth mode (no SSH_CONNECTION), true colour.
- Idle: nothing happens on the desk for a window that spans at least one minute boundary
  (the queue's SLA clocks tick per minute; the status bar every 5 s); bytes / seconds.
- Per incoming message: one customer message a second to a random open conversation
  (most are below the fold, as in life); bytes the pty delivered from just before the
  POST until just before the next one (1 s later; 0.6 s with --quick). Median over the
  messages; also (info) messages to rows on screen only.
- Low-bandwidth mode (SSH_CONNECTION set): the same script (idle window, the same messages
  to the same conversations in the same order) in a second console; its bytes as a share
  of normal mode's (target: at most 50 %, i.e. at least 2x fewer).
"""

from __future__ import annotations

import random
import time

from bench.common import Context, Result
from bench.datagen import Spec
from bench.harness import console_queue, generated, live_desk, spawn_console, visible_rows, wait_ready

MESSAGE_TARGET, IDLE_TARGET = 2048.0, 100.0
LOW_SHARE_TARGET = 50.0  # low-bandwidth mode: at most half the bytes of normal mode, same script
SPEC = Spec(open_conversations=1000, closed_conversations=200, messages=5000, kb_articles=100)
GAP = 1.0


def run(ctx: Context) -> list[Result]:
    idle_window = 3.0 if ctx.quick else 65.0
    count = 3 if ctx.quick else 30
    gen = generated(ctx, "p6", SPEC, fresh=True)
    queue = console_queue(gen.path)
    rng = random.Random(11)
    # One script for both modes: the same messages to the same conversations, in order.
    anywhere = [rng.choice(queue).id for _ in range(count)]
    on_screen = [rng.choice(queue[1 : visible_rows() - 2]).id for _ in range(count)]
    gap = 0.6 if ctx.quick else GAP
    results: list[Result] = []
    with live_desk(gen) as desk:
        with spawn_console(ctx, desk) as term:
            wait_ready(term, queue[0].contact.name)
            ctx.log(f"P6: idle for {idle_window:g} s")
            start = time.monotonic()
            time.sleep(idle_window)
            idle = term.bytes_between(start, time.monotonic()) / idle_window
            ctx.log(f"P6: {count} messages, one a second, to random conversations")
            random_sizes = _messages(term, desk, anywhere, gap)
            ctx.log(f"P6: {count} messages to rows on screen")
            visible_sizes = _messages(term, desk, on_screen, gap)
        ctx.log("P6: the same script in low-bandwidth mode (SSH_CONNECTION set)")
        with spawn_console(ctx, desk, SSH_CONNECTION="127.0.0.1 50000 127.0.0.1 22") as term:
            wait_ready(term, queue[0].contact.name)
            start = time.monotonic()
            time.sleep(idle_window)
            low_idle = term.bytes_between(start, time.monotonic()) / idle_window
            low_random = _messages(term, desk, anywhere, gap)
            low_visible = _messages(term, desk, on_screen, gap)
    normal_total = idle * idle_window + sum(random_sizes) + sum(visible_sizes)
    low_total = low_idle * idle_window + sum(low_random) + sum(low_visible)
    script = f"idle {idle_window:g} s, {count} messages anywhere, {count} to rows on screen"
    results += [
        Result(
            "P6",
            "bytes per incoming message (median)",
            random_sizes,
            unit="B",
            target=MESSAGE_TARGET,
            note=f"{count} messages to random open conversations of {len(queue)}",
        ),
        Result(
            "P6",
            "idle bytes per second",
            [idle],
            unit="B/s",
            target=IDLE_TARGET,
            note=f"one window of {idle_window:g} s",
        ),
        Result("P6", "bytes per message to a row on screen", visible_sizes, unit="B"),
        Result("P6", "low-bandwidth mode: bytes per message", low_random, unit="B"),
        Result("P6", "low-bandwidth mode: bytes per message to a row on screen", low_visible, unit="B"),
        Result(
            "P6",
            "low-bandwidth mode: idle bytes per second",
            [low_idle],
            unit="B/s",
            note=f"one window of {idle_window:g} s",
        ),
        Result(
            "P6",
            "low-bandwidth mode: bytes of the same script, share of normal",
            [100.0 * low_total / normal_total if normal_total else 0.0],
            unit="%",
            target=LOW_SHARE_TARGET,
            note=f"{low_total:,.0f} B against {normal_total:,.0f} B ({script})",
        ),
    ]
    return results


def _messages(term, desk, ids: list[int], gap: float) -> list[float]:  # noqa: ANN001
    """One customer message a second to each of `ids` in turn; bytes from each POST to the next."""
    poster = desk.poster()
    sizes: list[float] = []
    try:
        starts = []
        for i, conversation_id in enumerate(ids):
            started = time.monotonic()
            poster.inbound(conversation_id, f"hello again, message {i} about my eSIM")
            starts.append(started)
            time.sleep(max(0.0, started + gap - time.monotonic()))
        starts.append(time.monotonic())
        sizes = [float(term.bytes_between(a, b)) for a, b in zip(starts, starts[1:], strict=False)]
    finally:
        poster.close()
    return sizes
