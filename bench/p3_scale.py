"""P3 scale: a view of 100,000 open conversations.

Method. A generated desk with 100,000 open conversations (10,000 with --quick) and the real
console in a 160x48 pty. Each run starts a fresh console:

- mount to first painted queue: from the first frame of the console screen on the
  terminal (its status bar: CONNECTING, or LIVE) to the first queue row (the customer of the
  queue's top conversation). It includes what the console does to fill the queue: the
  sync engine's REST snapshot.
- page down: `PageDown` written to the pty until the first frame that draws a queue row
  (any customer name) after it; presses are spaced until the screen is quiet.
- filter keystroke: `/`, then "berg" typed and erased one key at a time; each key until
  the first frame that draws a queue row after it (the list rebuilt).
- RSS: the console's VmRSS after those steps (VmHWM, the peak, in the note).

Peers, same method (first frame "PEER MOUNTED" to first row; PageDown to first frame with
a row; RSS) on the same 100,000 rows, already in memory, in a minimal Textual app
(bench/peer_table.py): Textual's DataTable, textual-fastdatatable (Arrow backend), and the
console's own QueueList alone (no network), to separate widget cost from data path.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from datetime import datetime

from bench.common import REPO, Context, Result
from bench.datagen import Spec
from bench.harness import (
    COLS,
    NAME_RE,
    ROWS,
    console_env,
    console_queue,
    generated,
    live_desk,
    spawn_console,
)
from bench.terminal import Terminal, rss_mib

MOUNT_TARGET, PAGE_TARGET, FILTER_TARGET, RSS_TARGET = 300.0, 30.0, 100.0, 200.0
PAGE_DOWN = b"\x1b[6~"
NEEDLE = "berg"
STATUS_BAR = re.compile(rb"CONNECTING|LIVE|OFFLINE")  # the console screen's first frame has it
UNCHANGED_AFTER = 2.0  # seconds without a row drawn: the key left the rows as they were


def run(ctx: Context) -> list[Result]:
    size = 5_000 if ctx.quick else 100_000
    runs = 1 if ctx.quick else 3
    presses = 2 if ctx.quick else 15
    spec = Spec(open_conversations=size, messages=size, kb_articles=40)
    gen = generated(ctx, f"p3-{size}", spec)
    held = console_queue(gen.path)
    last_name = _last_open(gen.path).encode()
    mounts: list[float] = []
    ends: list[float] = []
    count_lags: list[float] = []
    pages: list[float] = []
    filters: list[float] = []
    rss: list[float] = []
    hwm: list[float] = []
    unchanged = 0
    with live_desk(gen) as desk:
        for run_index in range(runs):
            ctx.log(f"P3: console run {run_index + 1}/{runs} on {size:,} open conversations")
            with spawn_console(ctx, desk) as term:
                mounted = term.wait_for_regex(STATUS_BAR, timeout=60)
                first = term.wait_for(held[0].contact.name.encode(), timeout=120)
                if mounted is None or first is None:
                    raise RuntimeError("P3: the console never showed its queue")
                # Rows in the screen's very first frame count as painted at mount: 0.
                mounts.append(max(0.0, first[1] - mounted[1]) * 1000)
                # The status bar's count is the server's (not what is held) from the first row on.
                counted = term.wait_for(f"open {size}".encode(), timeout=10)
                if counted is None:
                    raise RuntimeError(f"P3: the status bar never said open {size}")
                count_lags.append(max(0.0, counted[1] - first[1]) * 1000)
                term.wait_quiet(0.5, timeout=30)
                pages += _page_downs(term, presses)
                offset, sent = term.send(b"G")
                last = term.wait_for(last_name, offset, timeout=20)
                if last is None:
                    raise RuntimeError("P3: G never showed the last conversation")
                ends.append((last[1] - sent) * 1000)
                term.wait_quiet(0.4, timeout=10)
                term.send(b"g")
                term.wait_quiet(0.4, timeout=10)
                timed, same = _filter_keys(term, erase=not ctx.quick)
                filters += timed
                unchanged += same
                rss.append(term.rss_mib())
                hwm.append(rss_mib(term.pid, "VmHWM"))
    results = [
        Result(
            "P3",
            "mount to first painted queue",
            mounts,
            target=MOUNT_TARGET,
            note=f"{size:,} open; the first page painted while the console reads the first"
            f" {len(held):,} (the rest page from the server as it scrolls); REST included",
        ),
        Result("P3", "page down", pages, target=PAGE_TARGET, note=f"{presses} presses per run"),
        Result(
            "P3",
            "end key to the last of the view on screen",
            ends,
            note="G: the last page read from the server (keyset from the end)",
        ),
        Result(
            "P3",
            "status bar count after the first row",
            count_lags,
            note=f"'open {size}' on the terminal after the first row (0: in the same frame)",
        ),
        Result(
            "P3",
            "filter keystroke to updated list",
            filters,
            target=FILTER_TARGET,
            note=f"typing and erasing {NEEDLE!r}: at once over the {len(held):,} held, then on the server;"
            f" {unchanged} key(s) left the visible rows unchanged (not timed)",
        ),
        Result("P3", "TUI RSS", rss, unit="MiB", target=RSS_TARGET, note=f"peak (VmHWM) {max(hwm):.0f} MiB"),
    ]
    results += _peers(ctx, gen.path, size, runs, presses)
    return results


def _page_downs(term: Terminal, presses: int) -> list[float]:
    samples = []
    for _ in range(presses):
        offset, sent = term.send(PAGE_DOWN)
        seen = term.wait_for_regex(NAME_RE, offset, timeout=5)
        if seen is None:
            raise RuntimeError("P3: PageDown drew no row within 5 s")
        samples.append((seen[1] - sent) * 1000)
        term.wait_quiet(0.3, timeout=10)
    return samples


def _filter_keys(term: Terminal, *, erase: bool = True) -> tuple[list[float], int]:
    """Latencies of the keys that changed the rows on screen, and how many did not (Textual
    writes only lines that changed: when a key leaves the visible rows as they were, there
    is nothing to see; a key after which no row is drawn within UNCHANGED_AFTER is counted,
    not timed)."""
    term.send(b"/")
    term.wait_quiet(0.3, timeout=10)
    samples = []
    unchanged = 0
    for key in [c.encode() for c in NEEDLE] + [b"\x7f"] * (len(NEEDLE) if erase else 0):
        offset, sent = term.send(key)
        seen = term.wait_for_regex(NAME_RE, offset, timeout=UNCHANGED_AFTER)
        # Past the pause after which the filter asks the server, and its answer.
        term.wait_quiet(0.6, timeout=10, since=sent)
        if seen is None:
            unchanged += 1
        else:
            samples.append((seen[1] - sent) * 1000)
    if not erase:
        term.send(b"\x15")  # ctrl+u: empty the filter box
    term.send(b"\r")  # leave the filter box (empty again)
    term.wait_quiet(0.3, timeout=10)
    return samples, unchanged


def _last_open(db_path) -> str:
    """The contact of the view's last conversation (the server's order)."""
    from agent_console.server import db

    conn = db.connect(db_path)
    try:
        row = conn.execute(
            "SELECT ct.name FROM conversations c JOIN contacts ct ON ct.id = c.contact_id"
            " WHERE c.status = 'open' ORDER BY c.queue_key DESC, c.id DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return row[0]


# --- peers ------------------------------------------------------------------------------------


def _peer_rows(ctx: Context, db_path, size: int) -> tuple[str, str]:
    """Write the rows the peers hold: every open conversation, in the console's order."""
    import msgspec

    from agent_console.core import clock
    from agent_console.core.sanitize import sanitize_line
    from agent_console.server import db
    from agent_console.server.store import _CONVERSATION_SELECT, Store
    from agent_console.tui.format import channel_short, priority_mark
    from agent_console.tui.screens.console import queue_order
    from agent_console.tui.sla_display import sla_label

    conn = db.connect(db_path)
    try:
        rows = conn.execute(f"{_CONVERSATION_SELECT} WHERE c.status = 'open'").fetchall()
        conversations = sorted((Store._conversation(r) for r in rows), key=queue_order)
    finally:
        conn.close()
    now: datetime = clock.utcnow()
    table = []
    for c in conversations:
        preview = c.subject or (c.last_message.body if c.last_message else "")
        table.append(
            (
                sla_label(c, now)[0],
                priority_mark(c.priority)[0],
                channel_short(c.channel),
                sanitize_line(c.contact.name),
                c.language[:2],
                sanitize_line(preview)[:60],
                sanitize_line(c.assignee.name) if c.assignee else "—",
                "●" if c.unread_count else " ",
            )
        )
    table_path = ctx.workdir / f"peer-rows-{size}.json"
    table_path.write_text(json.dumps(table))
    conv_path = ctx.workdir / f"peer-conversations-{size}.json"
    conv_path.write_bytes(msgspec.json.encode(conversations))
    return str(table_path), str(conv_path)


def _peers(ctx: Context, db_path, size: int, runs: int, presses: int) -> list[Result]:
    from bench.terminal import Terminal

    table_rows, conversations = _peer_rows(ctx, db_path, size)
    with open(table_rows) as handle:
        first_name = json.load(handle)[0][3]
    results: list[Result] = []
    skipped: list[str] = []
    kinds = [
        ("datatable", "Textual DataTable"),
        ("fastdatatable", "textual-fastdatatable"),
        ("queuelist", "QueueList alone"),
    ]
    for kind, label in kinds:
        if kind == "fastdatatable" and importlib.util.find_spec("textual_fastdatatable") is None:
            ctx.log("P3: textual-fastdatatable is not installed (pip install textual-fastdatatable): skipped")
            skipped.append(f"{label} (not installed)")
            continue
        mounts: list[float] = []
        pages: list[float] = []
        rss: list[float] = []
        failure = ""
        for run_index in range(runs):
            ctx.log(f"P3: peer {label} run {run_index + 1}/{runs}")
            rows_file = conversations if kind == "queuelist" else table_rows
            env = console_env(ctx, PYTHONPATH=str(REPO))
            argv = [sys.executable, "-m", "bench.peer_table", kind, rows_file]
            with Terminal(argv, env=env, cols=COLS, rows=ROWS, cwd=str(REPO)) as term:
                mounted = term.wait_for(b"PEER MOUNTED", timeout=60)
                first = term.wait_for(first_name.encode(), timeout=180)
                if mounted is None or first is None:
                    failure = _tail(term)
                    break
                mounts.append((first[1] - mounted[1]) * 1000)
                term.wait_quiet(0.5, timeout=60)
                pages += _page_downs(term, presses)
                rss.append(term.rss_mib())
        if failure:
            ctx.log(f"P3: peer {label} failed:\n{failure}")
            skipped.append(label)
            continue
        results += [
            Result("P3", f"peer {label}: mount to first painted", mounts, note=f"{size:,} rows in memory"),
            Result("P3", f"peer {label}: page down", pages),
            Result("P3", f"peer {label}: RSS", rss, unit="MiB"),
        ]
    if skipped and results:
        results[0].note += f" (did not run: {', '.join(skipped)})"
    return results


def _tail(term: Terminal) -> str:
    from bench.terminal import strip_escapes

    return strip_escapes(term.text()[-2000:]).decode(errors="replace")
