"""Where a PostgreSQL desk server process runs its store writes: one thread, its own session.

The store is synchronous. On SQLite a write is short and local, and it runs on the event loop
so its events reach the live-feed hub in commit order (the store's listener publishes them).
On PostgreSQL a write is a dozen or more round trips, and before the first one it waits for
the desk-wide write lock, which another process may hold (server/pg_connection.py). Run on
the event loop, that wait froze everything else the process does: its feed sockets got
nothing (bench P11's tail under load) and a process frozen while holding the lock stalled
every other process's requests with it.

So on PostgreSQL the hot writes (a customer's message by API, web chat or mail, an agent's
reply, a conversation change, typing, viewing, presence) and the timers that write (SLA,
routing, the presence heartbeat) run here, one
at a time, on a session of their own (`StoreBase.bind_thread`): the loop keeps serving reads
and sockets while a write waits. Nothing is lost by leaving the loop: on PostgreSQL every
process learns of commits from the shared log (server/pg_feed.py), its own included, so the
order the hub sees is the log's. One thread per process keeps the process's writes one at a
time, as they were. On SQLite `WriteThread` runs the call in place.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

log = logging.getLogger("agent_console.server")

T = TypeVar("T")


def pg_session(dsn: str) -> Callable[[], Any]:
    """A maker of PostgreSQL sessions for the write thread (psycopg is imported only then)."""

    def connect() -> Any:
        from agent_console.server.pg_connection import PgConnection

        return PgConnection(dsn)

    return connect


class WriteThread:
    """`await writes(fn, *args)`: fn(*args) on the write thread (PostgreSQL) or in place."""

    def __init__(self, store: Any, connect: Callable[[], Any] | None) -> None:
        """`connect`: a new session for the thread (None: no thread, run in place)."""
        self.store = store
        self._connect = connect
        self._executor: ThreadPoolExecutor | None = None
        self._conn: Any = None
        if connect is not None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="desk-writes", initializer=self._bind)

    def _bind(self) -> None:
        assert self._connect is not None
        self._conn = self._connect()
        self.store.bind_thread(self._conn)

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._executor is None:
            return fn(*args, **kwargs)
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def close(self, app: Any = None) -> None:
        """After the last write (the app's last shutdown hook): the thread and its session go."""
        if self._executor is None:
            return
        executor, self._executor = self._executor, None
        await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception as exc:  # noqa: BLE001 - stopping anyway
                log.warning("closing the write thread's database session: %s", exc)


# No thread: the call runs in place (SQLite, and what a runner uses when given nothing).
IN_PLACE = WriteThread(None, None)


def writes_of(connection: Any) -> WriteThread:
    """Where a request's store write runs: its app's (`app.state.writes`, set by create_app)."""
    return connection.app.state.writes
