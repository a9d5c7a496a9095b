"""One "server process" for the cross-process feed test (tests/test_pg_feed.py).

It runs the real event source (server/pg_feed.py) and fans each delivered batch out to its
readers, as the hub fans out to sockets: each reader has its own queue and records every seq
it takes, with the wall time it took it, to a file of its own. Started again after a kill,
each reader resumes after the last seq in its file, and the source starts after the lowest of
them (the hub's resume by `since`).

    python -m tests.pg_feed_node DSN OUT_DIR NODE READERS

Writes OUT_DIR/node{NODE}.ready once listening; exits 0 on SIGTERM after its readers drained.
A record line is "seq time data", written with one os.write per batch.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from agent_console.server.pg_eventlog import LoggedEvent
from agent_console.server.pg_feed import PgFeedSource


def reader_path(out: Path, node: int, reader: int) -> Path:
    return out / f"node{node}-reader{reader}.log"


def last_recorded(path: Path) -> int:
    if not path.exists():
        return 0
    lines = path.read_text().splitlines()
    return int(lines[-1].split(" ", 1)[0]) if lines else 0


class Reader:
    def __init__(self, path: Path) -> None:
        self.last = last_recorded(path)
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.queue: asyncio.Queue[list[LoggedEvent]] = asyncio.Queue()

    async def run(self) -> None:
        while True:
            batch = await self.queue.get()
            now = time.time()
            fresh = [event for event in batch if event.seq > self.last]  # resumed: skip what it has
            if fresh:
                os.write(self.fd, "".join(f"{e.seq} {now:.6f} {e.data}\n" for e in fresh).encode())
                self.last = fresh[-1].seq
            self.queue.task_done()


async def main(dsn: str, out: Path, node: int, readers: int) -> None:
    subs = [Reader(reader_path(out, node, r)) for r in range(readers)]

    def deliver(events: list[LoggedEvent]) -> None:
        for sub in subs:
            sub.queue.put_nowait(events)

    source = PgFeedSource(
        dsn, deliver, after=min(sub.last for sub in subs), poll_interval=2.0, backoff_max=0.5
    )
    tasks = [asyncio.create_task(sub.run()) for sub in subs]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    source.start()
    await source.listening.wait()
    (out / f"node{node}.ready").write_text(str(os.getpid()))
    await stop.wait()
    await source.stop()
    for sub in subs:
        await sub.queue.join()
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
