"""The shared event log on a real PostgreSQL: several writers committing at different speeds,
readers polling `seq > last`; no reader may ever see a seq and later find a lower one."""

from __future__ import annotations

import random
import threading
import time

import psycopg
import pytest

from agent_console.server import pg_eventlog
from tests.pg_cluster import PgCluster

WRITERS = 8
PER_WRITER = 60


@pytest.fixture(scope="module")
def cluster():
    pg = PgCluster().start()
    try:
        yield pg
    finally:
        pg.stop()


def _writer(dsn: str, append, seed: int, errors: list) -> None:
    rng = random.Random(seed)
    try:
        with psycopg.connect(dsn) as conn:
            for i in range(PER_WRITER):
                with conn.transaction(), conn.cursor() as cur:
                    append(cur, "t", "now", f"{seed}:{i}")
                    # Work after the event and before commit, of varying length: the window in
                    # which a later seq can commit first.
                    time.sleep(rng.choice((0, 0, 0.001, 0.004)))
    except Exception as exc:  # surfaced by the test
        errors.append(exc)


def _reader(dsn: str, stop: threading.Event, late: list, seen: list) -> None:
    last = 0
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        while True:
            finished = stop.is_set()
            cur.execute("SELECT seq FROM events WHERE seq > %s ORDER BY seq", (last,))
            batch = [row[0] for row in cur.fetchall()]
            for seq in batch:
                if seq != last + 1:
                    late.append((last, seq))  # a gap now: the missing seq commits later
                last = seq
                seen.append(seq)
            # Anything below `last` that appears later was skipped by this reader.
            if finished:
                return
            time.sleep(0.0005)


def _sequence_append(cur, type_: str, at: str, data: str) -> int:
    """The naive append the module exists to avoid: numbers in call order."""
    cur.execute(
        "INSERT INTO events(seq, type, at, data) VALUES (nextval('naive_seq'), %s, %s, %s) RETURNING seq",
        (type_, at, data),
    )
    return cur.fetchone()[0]


def _run(dsn: str, append) -> tuple[list, list[list], list[list]]:
    errors: list = []
    stop = threading.Event()
    lates: list[list] = [[] for _ in range(3)]
    seens: list[list] = [[] for _ in range(3)]
    readers = [threading.Thread(target=_reader, args=(dsn, stop, lates[i], seens[i])) for i in range(3)]
    writers = [threading.Thread(target=_writer, args=(dsn, append, s, errors)) for s in range(WRITERS)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(120)
    stop.set()
    for t in readers:
        t.join(30)
    return errors, lates, seens


def _fresh(cluster: PgCluster) -> str:
    dsn = cluster.new_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(pg_eventlog.SCHEMA)
        conn.execute("CREATE SEQUENCE naive_seq")
    return dsn


def test_readers_never_skip_an_event_that_commits_later(cluster):
    dsn = _fresh(cluster)
    errors, lates, seens = _run(dsn, pg_eventlog.append)
    assert errors == []
    total = WRITERS * PER_WRITER
    for late, seen in zip(lates, seens, strict=True):
        assert late == [], f"a reader saw a gap that filled later: {late[:5]}"
        assert seen == list(range(1, total + 1))


def test_a_plain_sequence_lets_readers_skip(cluster):
    """Why the lock exists: with numbers in call order, some reader finds a gap."""
    dsn = _fresh(cluster)
    errors, lates, _ = _run(dsn, _sequence_append)
    assert errors == []
    assert any(lates), "expected the naive sequence to commit out of order under this load"


def test_notify_carries_the_seq_after_commit_only(cluster):
    dsn = _fresh(cluster)
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute(f"LISTEN {pg_eventlog.FEED_CHANNEL}")
        with psycopg.connect(dsn) as writer:
            with writer.transaction(), writer.cursor() as cur:
                pg_eventlog.append(cur, "a", "now", "{}")
            with pytest.raises(RuntimeError):
                with writer.transaction(), writer.cursor() as cur:
                    pg_eventlog.append(cur, "b", "now", "{}")
                    raise RuntimeError("rolled back")
            with writer.transaction(), writer.cursor() as cur:
                pg_eventlog.append(cur, "c", "now", "{}")
        payloads = [n.payload for n in listener.notifies(timeout=2, stop_after=2)]
        assert payloads == ["1", "2"]
        with listener.cursor() as cur:
            assert [(e.seq, e.type) for e in pg_eventlog.read_after(cur, 0)] == [(1, "a"), (2, "c")]
