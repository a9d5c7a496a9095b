"""KB search on PostgreSQL (server/pg_search.py) next to the SQLite store's FTS5, same articles.

Method.
- P5's generated knowledge base (bench/datagen.py: 10,000 articles, 1,000 with --quick; 70%
  English, the rest German, French, Spanish) in SQLite, copied with the same ids into a
  throwaway PostgreSQL 15 cluster (tests/pg_cluster.py, fsync off) with `pg_search.SEARCH_DDL`.
- P5's queries (prefixes as typed, rare and mid-frequency words, word pairs), in-process on
  both sides: `Store.kb_search` and `pg_search.kb_search` over one local connection each,
  limit 10 (what the console shows), every locale and English only. p95 per run.
- Top-5 overlap on this data too: the mean share of SQLite's top 5 that PostgreSQL has in
  its top 5, and how often the first hit is the same.

Run alone: `python -m bench.pg_kb_search [--quick]`. To run it with the others, register
`"pgkb": "bench.pg_kb_search"` in bench/common.BENCHMARKS.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.common import Context, Result, table
from bench.datagen import Spec
from bench.harness import generated, percentile
from bench.p5_kb_search import queries

HITS = 10  # tui/screens/composing.KB_HITS (not imported: the server side needs no Textual)


def run(ctx: Context) -> list[Result]:
    import psycopg
    from tests.pg_cluster import PgCluster

    from agent_console.server import db, pg_search
    from agent_console.server.store import Store

    articles = 1000 if ctx.quick else 10_000
    gen = generated(ctx, f"kb-{articles}", Spec(open_conversations=10, kb_articles=articles))
    runs = 2 if ctx.quick else 5
    qs = queries()
    store = Store(db.connect(gen.path))
    cluster = PgCluster().start()
    try:
        with psycopg.connect(cluster.new_database(), autocommit=True) as pg:
            _load(store, pg, pg_search)
            results: dict[str, list[float]] = {}
            for locale in (None, "en"):
                where = "every locale" if locale is None else "English"
                for name, search in (
                    ("FTS5 (SQLite)", lambda q, loc: store.kb_search(q, locale=loc, limit=HITS)),
                    ("PostgreSQL", lambda q, loc: pg_search.kb_search(pg, q, locale=loc, limit=HITS)),
                ):
                    for q in qs[:5]:  # warm caches and prepared plans
                        search(q, locale)
                    p95s = []
                    for _ in range(runs):
                        samples = []
                        for q in qs:
                            start = time.perf_counter()
                            search(q, locale)
                            samples.append((time.perf_counter() - start) * 1000)
                        p95s.append(percentile(samples, 95))
                    results[f"{name} query p95, {where}"] = p95s
            shares, firsts = [], []
            for q in qs:
                lite = [h.id for h in store.kb_search(q, locale="en", limit=5)]
                if lite:
                    mine = [h.id for h in pg_search.kb_search(pg, q, locale="en", limit=5)]
                    shares.append(len(set(lite) & set(mine)) / len(lite))
                    firsts.append(bool(mine) and mine[0] == lite[0])
    finally:
        cluster.stop()
        store.conn.close()
    note = f"{articles:,} articles, {len(qs)} queries per run, in-process"
    out = [Result("PG-KB", metric, samples, note=note) for metric, samples in results.items()]
    out.append(
        Result(
            "PG-KB",
            "top-5 overlap with FTS5 (English)",
            [sum(shares) / len(shares)],
            unit="share",
            note=f"{len(shares)} queries with hits; top-1 agreement {sum(firsts) / len(firsts):.2f}",
        )
    )
    return out


def _load(store, pg, pg_search) -> None:  # noqa: ANN001 - a Store, a psycopg connection, the module
    pg.execute(
        "CREATE TABLE kb_articles (id BIGINT PRIMARY KEY, slug TEXT NOT NULL, title TEXT NOT NULL,"
        " body TEXT NOT NULL, tags TEXT NOT NULL, locale TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " status TEXT NOT NULL)"
    )
    pg.execute(
        "CREATE TABLE canned_responses (id BIGINT PRIMARY KEY, shortcode TEXT NOT NULL,"
        " title TEXT NOT NULL, body TEXT NOT NULL, locale TEXT NOT NULL)"
    )
    pg_search.create_search_schema(pg)
    rows = store.conn.execute(
        "SELECT id, slug, title, body, tags, locale, updated_at, status FROM kb_articles"
    ).fetchall()
    with pg.transaction(), pg.cursor() as cur:
        cur.executemany("INSERT INTO kb_articles VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
    pg.execute("ANALYZE kb_articles")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="agent-console-bench-") as scratch:
        ctx = Context(quick="--quick" in sys.argv, workdir=Path(scratch))
        results = run(ctx)
        print(table(results))
        for result in results:
            print(f"{result.metric}: {result.note}")
