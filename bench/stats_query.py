"""STATS: the KPI call (`GET /api/v1/stats`) on a desk of 100,000 conversations.

Method.
- Data: bench/datagen.py's desk (10,000 open and 90,000 closed conversations over three days,
  12 agents, 3 teams), then what the KPIs read and the generator does not write, added here
  in bulk: `resolved_at` for resolved conversations (their last activity), the Standard SLA
  policy with first-response and resolution cycles in `sla_cycles` (missed past the target),
  a CSAT rating for a third of the resolved conversations and a bot outcome for a fifth of
  all (through the events table, so the copy trigger runs as it does on a live desk).
- The whole call over one keep-alive loopback connection, timed around the request: the
  desk-wide question (every conversation in the period, hours in Europe/Dublin) and one team's.
  Median of `repeats` calls each, after one warm-up call.
- In-process, the same question to `StatsQueries` on the same file: the SQL alone.
"""

from __future__ import annotations

import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from bench.common import Context, Result
from bench.datagen import Spec
from bench.harness import generated, live_desk

TARGET_MS = 500.0


def spec(ctx: Context) -> Spec:
    if ctx.quick:
        return Spec(open_conversations=1_000, closed_conversations=9_000, messages=10_000, kb_articles=10)
    return Spec(open_conversations=10_000, closed_conversations=90_000, messages=100_000, kb_articles=10)


def enrich(path, seed: int = 11) -> dict[str, int]:
    """Add the KPI rows the generator does not write (see the module docstring)."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE sla_policies SET resolution_s = 86400 WHERE is_default = 1")
        standard = conn.execute("SELECT id FROM sla_policies WHERE is_default = 1").fetchone()[0]
        conn.execute("UPDATE conversations SET resolved_at = last_activity_at WHERE status = 'resolved'")
        conn.execute("UPDATE conversations SET sla_policy_id = ?", (standard,))
        conn.execute(
            "INSERT INTO sla_cycles(conversation_id, clock, started_at, stopped_at, missed_at, policy_id)"
            " SELECT id, 'frt', created_at, first_response_at,"
            " CASE WHEN first_response_at IS NOT NULL"
            "  AND (julianday(first_response_at) - julianday(created_at)) * 86400 > 14400"
            "  THEN first_response_at END, sla_policy_id FROM conversations"
        )
        conn.execute(
            "INSERT INTO sla_cycles(conversation_id, clock, started_at, stopped_at, missed_at, policy_id)"
            " SELECT id, 'rt', created_at, resolved_at, NULL, sla_policy_id FROM conversations"
        )
        resolved = [r[0] for r in conn.execute("SELECT id FROM conversations WHERE status = 'resolved'")]
        rated = rng.sample(resolved, len(resolved) // 3)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        conn.executemany(
            "INSERT INTO csat_ratings(conversation_id, rating, comment, created_at) VALUES (?, ?, '', ?)",
            [(cid, rng.choices((1, 2, 3, 4, 5), (5, 5, 10, 30, 50))[0], stamp) for cid in rated],
        )
        everyone = [r[0] for r in conn.execute("SELECT id FROM conversations")]
        botted = rng.sample(everyone, len(everyone) // 5)
        conn.executemany(
            "INSERT INTO events(type, at, data) SELECT ?, created_at, json_object('conversation_id', id)"
            " FROM conversations WHERE id = ?",
            [
                ("conversation.bot_resolved" if rng.random() < 0.4 else "conversation.bot_handoff", cid)
                for cid in botted
            ],
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        return {"ratings": len(rated), "bot_outcomes": len(botted)}
    finally:
        conn.close()


def run(ctx: Context) -> list[Result]:
    gen = generated(ctx, "stats-10k" if ctx.quick else "stats-100k", spec(ctx), fresh=True)
    extra = enrich(gen.path)
    total = gen.counts.get("conversations") or (spec(ctx).open_conversations + spec(ctx).closed_conversations)
    until = datetime.now(UTC) + timedelta(minutes=1)
    since = until - timedelta(days=30)
    question = {"since": _iso(since), "until": _iso(until), "tz": "Europe/Dublin"}
    ctx.log(f"STATS: {total:,} conversations, {extra}; {ctx.repeats} calls per question")
    whole: list[float] = []
    team: list[float] = []
    with live_desk(gen) as desk:
        poster = desk.poster()
        # The server's start-up gives the generated open conversations their SLA clocks
        # (sla_backfill): a minute on a loaded machine. Wait it out before timing anything.
        poster.conn.timeout = 600
        answer = poster.get_json("/api/v1/stats", **question)  # warm-up
        if answer["conversations"] != total:
            raise RuntimeError(f"the period holds {answer['conversations']} conversations, not {total}")
        for samples, params in ((whole, question), (team, {**question, "team": 2})):
            for _ in range(ctx.repeats):
                start = time.perf_counter()
                poster.get_json("/api/v1/stats", **params)
                samples.append((time.perf_counter() - start) * 1000)
        poster.close()
    sql = _in_process(gen.path, since, until, ctx.repeats)
    note = f"{total:,} conversations in the period, hours in Europe/Dublin"
    return [
        Result("STATS", "GET /stats, whole desk", whole, target=TARGET_MS, note=note),
        Result("STATS", "GET /stats, one team", team, target=TARGET_MS, note=note),
        Result("STATS", "StatsQueries in-process, whole desk", sql, note="the SQL alone"),
    ]


def _in_process(path, since: datetime, until: datetime, repeats: int) -> list[float]:
    from zoneinfo import ZoneInfo

    from agent_console.server import db
    from agent_console.server.stats_store import Query, StatsQueries

    conn = db.connect(path)
    try:
        queries = StatsQueries(conn)
        query = Query(since=since, until=until, zone=ZoneInfo("Europe/Dublin"), tz="Europe/Dublin")
        queries.stats(query)
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            queries.stats(query)
            samples.append((time.perf_counter() - start) * 1000)
        return samples
    finally:
        conn.close()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
