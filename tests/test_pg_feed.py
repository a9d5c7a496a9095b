"""The live feed across server processes on a real PostgreSQL (server/pg_feed.py): each
process's event source hands on every committed event once, in seq order, through bursts,
lost notifications, dropped connections, and a process killed and restarted mid-run."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from agent_console.server import pg_eventlog
from agent_console.server.feed import AsgiSink, Hub, Subscriber
from agent_console.server.pg_eventlog import LoggedEvent
from agent_console.server.pg_feed import PgFeedSource
from agent_console.server.store import PendingEvent
from tests.pg_cluster import PgCluster
from tests.pg_feed_node import reader_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cluster():
    pg = PgCluster().start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def dsn(cluster: PgCluster) -> str:
    dsn = cluster.new_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(pg_eventlog.SCHEMA)
    return dsn


def _append(dsn: str, count: int, tag: str = "e") -> None:
    """`count` events, one committed transaction each."""
    with psycopg.connect(dsn) as conn:
        for i in range(count):
            with conn.transaction(), conn.cursor() as cur:
                pg_eventlog.append(cur, "t", "now", f"{tag}{i}")


async def _until(condition, what: str, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Got:
    def __init__(self) -> None:
        self.events: list[LoggedEvent] = []
        self.batches = 0

    def __call__(self, events: list[LoggedEvent]) -> None:
        self.events.extend(events)
        self.batches += 1

    @property
    def seqs(self) -> list[int]:
        return [event.seq for event in self.events]


async def test_starts_after_the_given_seq_and_shuts_down_cleanly(dsn):
    await asyncio.to_thread(_append, dsn, 5)
    got = Got()
    source = PgFeedSource(dsn, got, after=3)
    source.start()
    await _until(lambda: got.seqs == [4, 5], "the events after seq 3")
    await asyncio.to_thread(_append, dsn, 2, "late")
    await _until(lambda: len(got.seqs) == 4, "the two new events")
    assert got.seqs == [4, 5, 6, 7]
    assert [event.data for event in got.events[2:]] == ["late0", "late1"]
    pid = source.listener_pid
    await source.stop()
    assert not source.listening.is_set()
    with psycopg.connect(dsn, autocommit=True) as conn:

        def listener_gone() -> bool:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            return row[0] == 0

        await _until(listener_gone, "the listener's backend to end")


async def test_a_burst_of_notifications_is_read_together(dsn):
    got = Got()
    burst_done = threading.Event()

    def deliver(events: list[LoggedEvent]) -> None:
        got(events)
        if got.batches == 1:
            # The process is busy while 99 more commits ring: when it looks again, all
            # 99 notifications are waiting.
            burst_done.wait(30)

    source = PgFeedSource(dsn, deliver, poll_interval=60)
    source.start()
    try:
        await asyncio.wait_for(source.listening.wait(), 20)
        reads_before = source.reads

        def burst() -> None:
            _append(dsn, 1, "first")
            while got.batches == 0:
                time.sleep(0.005)
            _append(dsn, 99, "burst")
            burst_done.set()

        writer = threading.Thread(target=burst)
        writer.start()
        await _until(lambda: len(got.seqs) == 100, "all 100 events")
        writer.join(30)
        assert got.seqs == list(range(1, 101))
        assert got.batches == 2  # the first event, then the 99 together
        assert source.reads - reads_before <= 4, f"{source.reads - reads_before} reads for 100 notifications"
    finally:
        burst_done.set()
        await source.stop()


async def test_a_lost_notification_is_caught_by_the_poll(dsn):
    got = Got()
    source = PgFeedSource(dsn, got, poll_interval=0.3)
    source.start()
    try:
        await asyncio.wait_for(source.listening.wait(), 20)
        # Rows that commit without a NOTIFY: as if the notification never arrived.
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO events(seq, type, at, data) VALUES (1, 't', 'now', 'quiet')")
        await _until(lambda: got.seqs == [1], "the poll to find the quiet event", deadline=10)
    finally:
        await source.stop()


async def test_a_dropped_listen_connection_loses_nothing(dsn, cluster):
    got = Got()
    source = PgFeedSource(dsn, got, poll_interval=60, backoff_max=0.2)  # no poll to hide behind
    source.start()
    database = dsn.rsplit("/", 1)[1]
    try:
        await asyncio.wait_for(source.listening.wait(), 20)
        await asyncio.to_thread(_append, dsn, 3, "before")
        await _until(lambda: got.seqs == [1, 2, 3], "the first three events")
        first_pid = source.listener_pid
        with psycopg.connect(dsn) as writer, psycopg.connect(cluster.dsn(), autocommit=True) as admin:
            # The database refuses new connections, so the listener stays away while the
            # writer (connected already) commits.
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            try:
                admin.execute("SELECT pg_terminate_backend(%s)", (first_pid,))
                await _until(lambda: source.reconnects >= 2, "a failed reconnect")
                for i in range(20):
                    with writer.transaction(), writer.cursor() as cur:
                        pg_eventlog.append(cur, "t", "now", f"away{i}")
                assert got.seqs == [1, 2, 3]
            finally:
                admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await _until(lambda: len(got.seqs) == 23, "the events committed while away")
        assert got.seqs == list(range(1, 24))
        assert source.listener_pid != first_pid
        await asyncio.to_thread(_append, dsn, 2, "after")
        await _until(lambda: len(got.seqs) == 25, "live events after the reconnect")
        assert got.seqs == list(range(1, 26))
    finally:
        await source.stop()


async def test_an_event_committed_right_after_the_catch_up_read_still_arrives(dsn):
    """The window between catching up and listening: the source LISTENs first, so a commit
    that lands just after its catch-up read still rings (no poll to hide behind)."""

    class CommitAfterCatchUp(PgFeedSource):
        async def _catch_up(self, conn) -> None:
            await super()._catch_up(conn)
            if not self.listening.is_set() and self.last_delivered == 1:
                await asyncio.to_thread(_append, dsn, 1, "window")

    await asyncio.to_thread(_append, dsn, 1, "old")
    got = Got()
    source = CommitAfterCatchUp(dsn, got, poll_interval=60)
    source.start()
    try:
        await _until(lambda: got.seqs == [1, 2], "the event committed in the window")
        assert [event.data for event in got.events] == ["old0", "window0"]
    finally:
        await source.stop()


async def test_a_failing_consumer_neither_stops_the_feed_nor_gets_a_batch_twice(dsn):
    calls: list[list[int]] = []

    def deliver(events: list[LoggedEvent]) -> None:
        calls.append([event.seq for event in events])
        if len(calls) == 1:
            raise RuntimeError("the hub choked on this batch")

    source = PgFeedSource(dsn, deliver, poll_interval=60)
    source.start()
    try:
        await asyncio.wait_for(source.listening.wait(), 20)
        await asyncio.to_thread(_append, dsn, 1)
        await _until(lambda: len(calls) == 1, "the first batch")
        await asyncio.to_thread(_append, dsn, 1)
        await _until(lambda: len(calls) == 2, "the next batch")
        assert calls == [[1], [2]]
        assert source.reconnects == 0  # handled where it happened, not by dropping the connection
    finally:
        await source.stop()


async def test_plugged_into_the_hub_sockets_get_every_event_and_a_replayed_one_no_overlap(dsn):
    """The adapter the port uses: LoggedEvent -> the hub's PendingEvent, the source the hub's
    only publisher. A socket that replayed up to seq 3 from the database goes live at 4."""
    hub = Hub()
    texts: dict[str, list[str]] = {"live": [], "replayed": []}
    pumps = []
    for name, replayed_to in (("live", 0), ("replayed", 3)):

        async def send(message, into=texts[name]) -> None:
            into.append(message["text"])

        sink = AsgiSink(send)
        sub = Subscriber(1, sink, 1 << 20)
        hub.subscribe(sub)
        sub.go_live(replayed_to)
        pumps.append(asyncio.create_task(sink.run()))

    def publish(events: list[LoggedEvent]) -> None:
        hub.publish([PendingEvent(e.seq, e.type, e.at, e.data) for e in events])

    def append_json(count: int) -> None:
        """One write that emits `count` events: one transaction, one page to deliver."""
        with psycopg.connect(dsn) as conn, conn.transaction(), conn.cursor() as cur:
            for i in range(count):
                pg_eventlog.append(cur, "conversation.updated", "2026-01-01T00:00:00Z", json.dumps({"n": i}))

    source = PgFeedSource(dsn, publish)
    source.start()
    try:
        await asyncio.to_thread(append_json, 6)
        await _until(lambda: len(texts["live"]) == 6 and len(texts["replayed"]) == 3, "the frames")
        frames = [json.loads(text) for text in texts["live"]]
        assert [(f["seq"], f["type"], f["data"]) for f in frames] == [
            (i + 1, "conversation.updated", {"n": i}) for i in range(6)
        ]
        assert [json.loads(text)["seq"] for text in texts["replayed"]] == [4, 5, 6]
    finally:
        await source.stop()
        for pump in pumps:
            pump.cancel()


async def test_events_pruned_before_a_lagging_source_read_them_are_reported(dsn, caplog):
    """Appends leave no holes, so a hole means the log was pruned past a source that lagged
    (a long outage): its sockets missed those events, and the operator is told which."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for seq in (5, 6):  # 3 and 4 pruned already
            conn.execute("INSERT INTO events(seq, type, at, data) VALUES (%s, 't', 'now', 'x')", (seq,))
    got = Got()
    source = PgFeedSource(dsn, got, after=2)
    source.start()
    try:
        await _until(lambda: got.seqs == [5, 6], "the events that remain")
        assert source.gaps == 1
        assert "live feed gap: seq 3..4 are gone from the log" in caplog.text
    finally:
        await source.stop()


# --- four server processes, eight writers, twenty readers, one kill ------------------------

NODES = 4
READERS = 5
WRITERS = 8
TXS_PER_WRITER = 40


def _start_node(dsn: str, out: Path, node: int) -> subprocess.Popen:
    (out / f"node{node}.ready").unlink(missing_ok=True)
    with open(out / f"node{node}.err", "ab") as err:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "tests.pg_feed_node", dsn, str(out), str(node), str(READERS)],
            cwd=ROOT,
            stderr=err,
        )


def _wait(condition, what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _records(path: Path) -> list[tuple[int, float, str]]:
    if not path.exists():
        return []
    text = path.read_text()
    text = text[: text.rfind("\n") + 1]  # a line being written while we look is not in yet
    records = []
    for line in text.splitlines():
        seq, at, data = line.split(" ", 2)
        records.append((int(seq), float(at), data))
    return records


def _head(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]


def _writer(dsn: str, seed: int, committed: dict, errors: list) -> None:
    """Transactions of 1-3 events with work between them while the log is held; one in
    eight rolled back. Records the time each committed seq's COMMIT was sent."""
    rng = random.Random(seed)
    try:
        with psycopg.connect(dsn) as conn:
            for i in range(TXS_PER_WRITER):
                rollback = rng.random() < 0.125
                seqs = []
                with conn.cursor() as cur:
                    for k in range(rng.choice((1, 1, 2, 3))):
                        tag = "rolledback" if rollback else "kept"
                        seqs.append(pg_eventlog.append(cur, "t", "now", f"w{seed}:{i}:{k}:{tag}"))
                        time.sleep(rng.choice((0, 0, 0.001, 0.003)))
                if rollback:
                    conn.rollback()
                else:
                    sent = time.time()
                    conn.commit()
                    for seq in seqs:
                        committed[seq] = sent
                time.sleep(rng.uniform(0.002, 0.02))
    except Exception as exc:  # surfaced by the test
        errors.append(exc)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@pytest.mark.timeout(120)
def test_four_processes_twenty_readers_one_killed_every_event_once_in_order(dsn, tmp_path):
    nodes = {n: _start_node(dsn, tmp_path, n) for n in range(NODES)}
    try:
        _wait(lambda: all((tmp_path / f"node{n}.ready").exists() for n in range(NODES)), "four listeners")
        committed: dict[int, float] = {}
        errors: list = []
        writers = [threading.Thread(target=_writer, args=(dsn, s, committed, errors)) for s in range(WRITERS)]
        started = time.time()
        for t in writers:
            t.start()

        # Kill node 0 once its readers are well under way, while the writers still write.
        _wait(lambda: len(_records(reader_path(tmp_path, 0, 0))) >= 60, "node 0 to take 60 events")
        nodes[0].send_signal(signal.SIGKILL)
        nodes[0].wait(10)
        at_kill = _head(dsn)
        _wait(lambda: _head(dsn) >= at_kill + 40, "40 more commits while node 0 is down")
        nodes[0] = _start_node(dsn, tmp_path, 0)  # its readers resume from their files
        at_restart = _head(dsn)

        for t in writers:
            t.join(90)
        writing = time.time() - started
        assert errors == []
        with psycopg.connect(dsn, autocommit=True) as conn:
            table = conn.execute("SELECT seq, data FROM events ORDER BY seq").fetchall()
        total = len(table)
        assert [seq for seq, _ in table] == list(range(1, total + 1))  # serialised appends: no holes
        assert not [data for _, data in table if data.endswith(":rolledback")]
        assert sorted(committed) == list(range(1, total + 1))
        assert at_kill < at_restart < total, "node 0 was down while events committed, and back before the end"

        paths = [reader_path(tmp_path, n, r) for n in range(NODES) for r in range(READERS)]
        _wait(lambda: all(_records(p)[-1:] and _records(p)[-1][0] == total for p in paths), "every reader")
        for node in nodes.values():
            node.send_signal(signal.SIGTERM)
        for n, node in nodes.items():
            assert node.wait(20) == 0, (tmp_path / f"node{n}.err").read_text()[-2000:]

        latencies: list[float] = []
        for path in paths:
            records = _records(path)
            assert [(seq, data) for seq, _, data in records] == table, f"{path.name} differs from the log"
            if not path.name.startswith("node0-"):  # the killed node's catch-up is not live latency
                latencies += [at - committed[seq] for seq, at, _ in records]
        p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
        print(
            f"\ncross-process feed: {total} events in {writing:.1f} s ({total / writing:.0f}/s committed), "
            f"{len(paths)} readers on {NODES} processes; COMMIT sent -> reader recorded "
            f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms "
            f"(mean {statistics.fmean(latencies) * 1000:.1f} ms); node 0 down for seq {at_kill}..{at_restart}"
        )
    finally:
        for node in nodes.values():
            if node.poll() is None:
                node.kill()
                node.wait(10)
