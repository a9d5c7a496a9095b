"""P8 memory: the console with 10,000 conversations and 100,000 messages.

Method. A generated desk with 10,000 open conversations holding 100,000 messages (the
desk P5 uses; 1,000 and 10,000 with --quick). The real console in a 160x48 pty loads its
queue (all 10,000: under the sync engine's snapshot limit), then the agent walks down the
queue with `j`, 30 conversations, each opening side by side in the conversation pane
(its whole thread fetched and shown, as an agent reading through the queue does). RSS =
the console's VmRSS from /proc after that; the peak (VmHWM) is in the note, and (info)
the RSS right after the queue appeared.

The console keeps the messages of the open conversation only (it forgets the previous
one's), so "100,000 messages loaded" is the desk's size; the console never holds them all.
"""

from __future__ import annotations

from bench.common import Context, Result
from bench.harness import console_queue, generated, live_desk, spawn_console, wait_ready
from bench.p5_kb_search import spec as desk_spec
from bench.terminal import rss_mib

RSS_TARGET = 250.0
WALK = 30


def run(ctx: Context) -> list[Result]:
    runs = 1 if ctx.quick else 2
    walk = 5 if ctx.quick else WALK
    spec = desk_spec(ctx)
    gen = generated(ctx, "desk-10k" if not ctx.quick else "desk-1k", spec)
    queue = console_queue(gen.path)
    loaded: list[float] = []
    after: list[float] = []
    peaks: list[float] = []
    with live_desk(gen) as desk:
        for run_index in range(runs):
            ctx.log(
                f"P8: run {run_index + 1}/{runs}: {len(queue):,} conversations,"
                f" {gen.counts['messages']:,} messages; opening {walk}"
            )
            with spawn_console(ctx, desk) as term:
                wait_ready(term, queue[0].contact.name)
                loaded.append(term.rss_mib())
                for index in range(1, walk + 1):
                    offset, _ = term.send(b"j")
                    # The pane shows the conversation's number once it has loaded.
                    term.wait_for(f"#{queue[index].id} ".encode(), offset, timeout=10)
                    term.wait_quiet(0.15, timeout=10)
                term.wait_quiet(0.5, timeout=10)
                after.append(term.rss_mib())
                peaks.append(rss_mib(term.pid, "VmHWM"))
    note = (
        f"{len(queue):,} conversations, {gen.counts['messages']:,} messages on the desk;"
        f" {walk} opened; peak (VmHWM) {max(peaks):.0f} MiB"
    )
    return [
        Result("P8", "TUI RSS", after, unit="MiB", target=RSS_TARGET, note=note),
        Result("P8", "TUI RSS with the queue loaded", loaded, unit="MiB"),
    ]
