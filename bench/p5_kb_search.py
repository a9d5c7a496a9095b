"""P5 knowledge-base search over 10,000 articles.

Method.
- Round trip: GET /api/v1/kb/search?q=...&limit=10 (what the console asks for) over one keep-alive loopback
  connection, timed around the request; the queries are what an agent types, prefix by
  prefix ("ref", "refu", "refund", "password re", ...), plus rarer words. p95 per run.
- Peer, in-process on the same database file: the store's FTS5 query (`Store.kb_search`)
  next to the same queries as a `LIKE '%term%'` scan over kb_articles (title, body, tags;
  every word must match; LIMIT 10, no ranking). p95 per run. In-process on both sides, so
  the comparison is the query alone.
- Keystroke to results on screen: the real console in a 160x48 pty, ctrl+g opens the KB
  search, queries are typed one key at a time. For each key the hits the console will show
  are computed first (same API calls the screen makes: the open conversation's locale, then
  all locales when that gives fewer than 3); latency = key written to the pty until the
  first frame that draws one of those titles. Textual writes only lines that change: a key
  that leaves the visible hits as they were shows nothing new and is counted, not timed.
"""

from __future__ import annotations

import re
import time

from agent_console.tui.screens.composing import KB_HITS  # the console's hits per search
from bench.common import Context, Result
from bench.datagen import SUPPORT_WORDS, Spec, kb_vocabulary
from bench.harness import (
    console_queue,
    generated,
    live_desk,
    percentile,
    spawn_console,
    wait_ready,
)

RTT_TARGET, KEY_TARGET = 10.0, 50.0
TYPED = ["refund", "password reset", "esim activation", "roaming data"]
VISIBLE_HITS = 8


def spec(ctx: Context) -> Spec:
    # Shared with P8 (same name and spec: generated once per run).
    if ctx.quick:
        return Spec(open_conversations=1000, messages=10_000, kb_articles=1000)
    return Spec(open_conversations=10_000, messages=100_000, kb_articles=10_000)


def queries() -> list[str]:
    """As typed (prefixes of 3+ letters), common and rare words, one and two words."""
    typed: list[str] = []
    for phrase in [
        "refund",
        "password reset",
        "esim activation",
        "roaming data",
        "invoice",
        "cancel subscription",
        "two factor",
        "voucher",
        "hotspot",
        "delivery tracking",
    ]:
        for end in range(3, len(phrase) + 1):
            prefix = phrase[:end]
            if not prefix.endswith(" "):
                typed.append(prefix)
    words = kb_vocabulary()
    rare = [w for w in words[-2000:] if len(w) >= 5][:15]
    mid = [w for w in words[400:1400] if len(w) >= 5][:15]
    pairs = [f"{a} {b}" for a, b in zip(SUPPORT_WORDS[:10], SUPPORT_WORDS[20:30], strict=True)]
    return typed + rare + mid + pairs


def run(ctx: Context) -> list[Result]:
    runs = 2 if ctx.quick else 5
    typing_runs = 1 if ctx.quick else 3
    gen = generated(ctx, "desk-10k" if not ctx.quick else "desk-1k", spec(ctx))
    articles = gen.counts["kb_articles"]
    qs = queries()
    if ctx.quick:
        qs = qs[::4]
    rtt: list[float] = []
    fts: list[float] = []
    like: list[float] = []
    ctx.log(f"P5: {len(qs)} queries x{runs} over {articles:,} articles (HTTP, FTS5 and LIKE in-process)")
    with live_desk(gen) as desk:
        poster = desk.poster()
        for q in qs[:5]:  # warm the server's caches
            poster.get_json("/api/v1/kb/search", q=q, limit=KB_HITS)
        for _ in range(runs):
            samples = []
            for q in qs:
                start = time.perf_counter()
                poster.get_json("/api/v1/kb/search", q=q, limit=KB_HITS)
                samples.append((time.perf_counter() - start) * 1000)
            rtt.append(percentile(samples, 95))
        poster.close()
        fts, like = _in_process(gen.path, qs, runs)
        keys, keys_p50, unchanged, total = _keystrokes(ctx, desk, runs=typing_runs)
    note = f"{articles:,} articles, {len(qs)} queries per run"
    return [
        Result("P5", "/kb/search round trip p95", rtt, target=RTT_TARGET, note=note),
        Result("P5", "FTS5 query in-process p95", fts, note=note),
        Result("P5", "peer LIKE scan in-process p95", like, note=note + f"; LIMIT {KB_HITS} without ranking"),
        Result(
            "P5",
            "keystroke to results on screen p95",
            keys,
            target=KEY_TARGET,
            note=f"{total} keys typed; {unchanged} left the visible hits unchanged (not timed)",
        ),
        Result("P5", "keystroke to results on screen p50", keys_p50),
    ]


def _in_process(path, qs: list[str], runs: int) -> tuple[list[float], list[float]]:
    from agent_console.server import db
    from agent_console.server.store import Store

    conn = db.connect(path)
    store = Store(conn)
    fts_p95: list[float] = []
    like_p95: list[float] = []
    try:
        for q in qs[:5]:
            store.kb_search(q, locale=None, limit=KB_HITS)
        for _ in range(runs):
            fts_samples, like_samples = [], []
            for q in qs:
                start = time.perf_counter()
                store.kb_search(q, locale=None, limit=KB_HITS)
                fts_samples.append((time.perf_counter() - start) * 1000)
                words = re.findall(r"\w+", q)
                where = " AND ".join(["(title LIKE ? OR body LIKE ? OR tags LIKE ?)"] * len(words))
                params = [p for w in words for p in (f"%{w}%",) * 3]
                start = time.perf_counter()
                conn.execute(
                    "SELECT id, title, locale, tags, updated_at, substr(body, 1, 200)"
                    f" FROM kb_articles WHERE {where} LIMIT {KB_HITS}",
                    params,
                ).fetchall()
                like_samples.append((time.perf_counter() - start) * 1000)
            fts_p95.append(percentile(fts_samples, 95))
            like_p95.append(percentile(like_samples, 95))
    finally:
        conn.close()
    return fts_p95, like_p95


def _expected_titles(poster, query: str, locale: str | None) -> list[str]:
    """The hits the KB screen will list for `query` (its own two-step search)."""
    if not query.strip():
        return []
    hits = poster.get_json("/api/v1/kb/search", q=query, locale=locale, limit=KB_HITS)["items"]
    if locale and len(hits) < 3:
        seen = {h["id"] for h in hits}
        others = poster.get_json("/api/v1/kb/search", q=query, limit=KB_HITS)["items"]
        hits += [h for h in others if h["id"] not in seen]
    return [h["title"] for h in hits]


def _keystrokes(ctx: Context, desk, runs: int) -> tuple[list[float], list[float], int, int]:
    queue = console_queue(desk.gen.path)
    locale = queue[0].language  # the open conversation (the cursor's, side by side)
    poster = desk.poster()
    p95s: list[float] = []
    p50s: list[float] = []
    unchanged = 0
    total = 0
    missed = 0
    with spawn_console(ctx, desk) as term:
        wait_ready(term, queue[0].contact.name)
        for run_index in range(runs):
            ctx.log(f"P5: typing into the KB search, run {run_index + 1}/{runs}")
            term.send(b"\x07")  # ctrl+g: KB search
            if term.wait_for(b"Knowledge base", timeout=10) is None:
                raise RuntimeError("P5: the KB search did not open")
            term.wait_quiet(0.3, timeout=10)
            samples = []
            for phrase in TYPED[:1] if ctx.quick else TYPED:
                shown: list[str] = []
                for end in range(1, len(phrase) + 1):
                    expected = _expected_titles(poster, phrase[:end], locale)[:VISIBLE_HITS]
                    offset, sent = term.send(phrase[end - 1].encode())
                    total += 1
                    titles = re.compile(b"|".join(re.escape(t.encode()) for t in expected) or b"(?!)")
                    if expected and expected != shown:
                        seen = term.wait_for_regex(titles, offset, timeout=5)
                        term.wait_quiet(0.25, timeout=10, since=sent)
                    else:  # the same hits: maybe nothing to redraw
                        term.wait_quiet(0.3, timeout=10, since=sent)
                        seen = term.find_regex(titles, offset)
                    if seen is not None:
                        samples.append((seen[1] - sent) * 1000)
                    elif expected == shown or not expected:
                        unchanged += 1
                    else:  # the hits changed but never showed: counted as the wait, noted
                        samples.append(5000.0)
                        missed += 1
                    shown = expected
                term.send(b"\x15")  # ctrl+u: clear the query
                term.wait_quiet(0.3, timeout=10)
            if samples:
                p95s.append(percentile(samples, 95))
                p50s.append(percentile(samples, 50))
            term.send(b"\x1b")  # escape: close the KB search
            term.wait_quiet(0.4, timeout=10)
    poster.close()
    if missed:
        ctx.log(f"P5: {missed} key(s) whose new hits never showed (counted as 5 s)")
    if not p95s:
        raise RuntimeError("P5: no keystroke was timed")
    return p95s, p50s, unchanged, total
