"""P2 burst: 2,000 customer messages within 2 s across 500 conversations. Does the console
stay responsive to the keyboard during the burst, and how soon after the last message is
the screen final?

Method. Same desk and pty as P1 (1,000 open conversations, 160x48). 64 keep-alive
connections post the burst as fast as they can (aiming at 2,000 in 2 s; the achieved
duration is in the note; one asyncio loop writing pre-built requests, so the load
generator takes little CPU) to 500 conversations: the rows below the top 12, so rows on
screen do change. Meanwhile the agent presses `j`/`k` every 100 ms, moving the cursor
within the top 12 rows (which get no messages). Key latency = from writing the key to
the pty until that row is drawn with the cursor's background (when two keys land in one
frame, the earlier one counts as done by that frame). After the burst one last message
with a marker goes to a row on screen; "screen final" = from that POST to its marker on
the terminal (events apply in order, so everything before it is applied by then).
"""

from __future__ import annotations

import threading
import time

from bench.common import Context, Result
from bench.datagen import Spec
from bench.harness import (
    burst_inbound,
    console_queue,
    cursor_pattern,
    cursor_row_regex,
    generated,
    live_desk,
    marker,
    percentile,
    spawn_console,
    visible_rows,
    wait_ready,
)

SPEC = Spec(open_conversations=1000, closed_conversations=200, messages=5000, kb_articles=100)
KEY_TARGET, FINAL_TARGET = 100.0, 1000.0
CONNECTIONS = 64
CURSOR_ROWS = 12
KEY_INTERVAL = 0.1
FINAL_WAIT = 60.0


def run(ctx: Context) -> list[Result]:
    import re

    bursts = 1 if ctx.quick else 3
    messages = 1000 if ctx.quick else 2000
    spread = 250 if ctx.quick else 500
    gen = generated(ctx, "p2", SPEC, fresh=True)
    queue = console_queue(gen.path)
    targets = [c.id for c in queue[CURSOR_ROWS : CURSOR_ROWS + spread]]
    on_screen = [c.id for c in queue[CURSOR_ROWS : visible_rows() - 2] if c.subject is None]
    names = [c.contact.name for c in queue[:CURSOR_ROWS]]
    burst_targets = set(targets)
    key_p99s: list[float] = []
    finals: list[float] = []
    durations: list[float] = []
    keys_total = 0
    missed_keys = 0
    missed_finals = 0
    with live_desk(gen) as desk, spawn_console(ctx, desk) as term:
        wait_ready(term, names[0])
        background = cursor_pattern(term, names[0])
        final_poster = desk.poster()
        for burst in range(bursts):
            ctx.log(
                f"P2: burst {burst + 1}/{bursts}: {messages} messages over {CONNECTIONS}"
                f" connections to {len(targets)} conversations, keys every {KEY_INTERVAL * 1000:g} ms"
            )
            batch = [
                (targets[i % len(targets)], f"burst {burst}.{i}: any news on my refund?")
                for i in range(messages)
            ]
            outcome: dict[str, object] = {}

            def post(batch: list[tuple[int, str]] = batch, outcome: dict[str, object] = outcome) -> None:
                try:
                    outcome["sent"] = burst_inbound(desk, batch, connections=CONNECTIONS)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    outcome["error"] = exc

            poster = threading.Thread(target=post, daemon=True)
            keys: list[tuple[int, float, str]] = []  # (offset, sent, expected cursor name)
            row = 0
            direction = 1
            started = time.monotonic()
            poster.start()
            deadline = started + 120
            while poster.is_alive() and time.monotonic() < deadline:
                if not 0 <= row + direction < CURSOR_ROWS:
                    direction = -direction
                row += direction
                offset, sent = term.send(b"j" if direction > 0 else b"k")
                keys.append((offset, sent, names[row]))
                time.sleep(KEY_INTERVAL)
            poster.join(30)
            if "error" in outcome or "sent" not in outcome:
                raise RuntimeError(f"burst posting failed: {outcome.get('error')!r}")
            sent_times = outcome["sent"]
            durations.append((max(sent_times) - started) * 1000)
            token = marker("F", burst)
            offset = term.offset
            # The last word goes to a row on screen now: the queue is ordered by what is due
            # soonest, so the burst moved rows. One already waiting on us, whose due time (and
            # so its row) the message leaves where it is, read from the desk's order right
            # after the burst (no wait: the console may still be drawing it).
            now_shown = console_queue(gen.path)[: visible_rows() - 2]
            waiting = [c.id for c in now_shown if c.subject is None and c.id in burst_targets]
            final_to = waiting[burst % len(waiting)] if waiting else on_screen[burst % len(on_screen)]
            last_sent = final_poster.inbound(final_to, f"{token} final word")
            seen = term.wait_for(token.encode(), offset, timeout=FINAL_WAIT)
            # Never seen within the wait: counted as the wait (a lower bound), and noted.
            finals.append((seen[1] - last_sent) * 1000 if seen else FINAL_WAIT * 1000)
            missed_finals += seen is None
            # Key latencies: a key is on screen when its row, or a later key's, is drawn with the cursor.
            shown = []
            for offset, _sent, name in keys:
                pattern = cursor_row_regex(background, re.escape(name.encode()))
                match = term.wait_for_regex(pattern, offset, timeout=0.01)
                shown.append(match[1] if match else float("inf"))
            for i in range(len(shown) - 2, -1, -1):
                shown[i] = min(shown[i], shown[i + 1])
            # A key no frame ever showed: counted as the end of the observation, and noted.
            missed_keys += sum(1 for s in shown if s == float("inf"))
            observed_until = time.monotonic()
            shown = [observed_until if s == float("inf") else s for s in shown]
            latencies = [(seen_at - sent) * 1000 for (_, sent, _), seen_at in zip(keys, shown, strict=True)]
            keys_total += len(latencies)
            if latencies:
                key_p99s.append(percentile(latencies, 99))
            term.wait_quiet(0.5, timeout=30)
            term.send(b"g")  # cursor back to the top for the next burst
            term.wait_quiet(0.5, timeout=10)
        final_poster.close()
    note = (
        f"{messages} messages to {len(targets)} conversations; burst took"
        f" {min(durations):.0f}-{max(durations):.0f} ms ({CONNECTIONS} connections);"
        f" {keys_total} key presses ({missed_keys} never shown)"
        + (f"; {missed_finals} final marker(s) not seen in {FINAL_WAIT:g} s" if missed_finals else "")
    )
    return [
        Result("P2", "key press to screen p99 (burst)", key_p99s, target=KEY_TARGET, note=note),
        Result("P2", "screen final after last event", finals, target=FINAL_TARGET, note=note),
        Result("P2", "burst duration (achieved)", durations, note="target: 2,000 messages within 2,000 ms"),
    ]
