"""A loopback TCP proxy that breaks the network on command, for fault tests.

It sits between the console and the desk server and forwards bytes both ways, until told
to misbehave:

- `drop_all()`: abort every open connection at once (both sides see a reset);
- `stall(seconds, direction=...)`: stop forwarding (bytes wait in the proxy) for a while,
  both ways or only one ("up": console→server, "down": server→console);
- `delay = seconds`: hold every chunk that long before passing it on;
- `refuse = True`: close new connections as soon as they arrive.

It runs its own event loop in a daemon thread, so a synchronous test drives it directly.
It only ever listens on and connects to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any

LOOPBACK = "127.0.0.1"
DIRECTIONS = ("up", "down")


class _Link:
    """One proxied connection: the console side and the server side."""

    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.client = client
        self.server = server
        self.tasks: list[asyncio.Task[None]] = []

    def abort(self) -> None:
        for writer in (self.client, self.server):
            transport = writer.transport
            if not transport.is_closing():
                transport.abort()
        for task in self.tasks:
            task.cancel()


class FaultProxy:
    def __init__(self, target_port: int, *, target_host: str = LOOPBACK) -> None:
        if target_host != LOOPBACK:
            raise ValueError("the fault proxy only targets 127.0.0.1")
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.delay = 0.0
        self.refuse = False
        self.drops = 0  # drop_all() calls that found at least one connection
        self.connections_dropped = 0
        self.accepted = 0
        self.stalls = 0
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing: dict[str, asyncio.Event] = {}

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._start())
        return self

    async def _start(self) -> None:
        self._flowing = {d: asyncio.Event() for d in DIRECTIONS}
        for event in self._flowing.values():
            event.set()
        self._server = await asyncio.start_server(self._handle, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.abort()
        self._links.clear()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def retarget(self, port: int) -> None:
        """Send new connections to another port (open ones are left alone)."""
        self.target_port = port

    # --- faults -------------------------------------------------------------------------------

    def drop_all(self) -> int:
        """Abort every open connection; returns how many there were."""
        return self._call(self._drop_all())

    async def _drop_all(self) -> int:
        links = list(self._links)
        for link in links:
            link.abort()
        self._links.clear()
        if links:
            self.drops += 1
            self.connections_dropped += len(links)
        return len(links)

    def stall(self, seconds: float | None = None, *, direction: str = "both") -> None:
        """Stop forwarding (for `seconds`, or until `resume()`)."""
        directions = DIRECTIONS if direction == "both" else (direction,)
        if not set(directions) <= set(DIRECTIONS):
            raise ValueError(f"direction must be up, down or both, not {direction!r}")
        self.stalls += 1

        def clear() -> None:
            for name in directions:
                self._flowing[name].clear()
            if seconds is not None:
                self._loop.call_later(seconds, self._resume, directions)

        self._call_soon(clear)

    def resume(self) -> None:
        self._call_soon(lambda: self._resume(DIRECTIONS))

    def _resume(self, directions: tuple[str, ...]) -> None:
        for name in directions:
            self._flowing[name].set()

    def open_connections(self) -> int:
        return len(self._links)

    # --- plumbing ---------------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def _call_soon(self, fn: Any) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.refuse:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()  # the server is down: the console sees a reset
            return
        link = _Link(writer, up_writer)
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._pump(reader, up_writer, "up", link)),
            asyncio.create_task(self._pump(up_reader, writer, "down", link)),
        ]

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, direction: str, link: _Link
    ) -> None:
        try:
            while True:
                chunk = await source.read(65536)
                await self._flowing[direction].wait()
                if self.delay:
                    await asyncio.sleep(self.delay)
                    await self._flowing[direction].wait()
                if not chunk:
                    # Half-close: pass the EOF on so the other side sees the end.
                    with contextlib.suppress(OSError):
                        if sink.can_write_eof():
                            sink.write_eof()
                    return
                sink.write(chunk)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            link.abort()
            self._links.discard(link)
        except asyncio.CancelledError:
            pass
        finally:
            if all(task.done() or task is asyncio.current_task() for task in link.tasks):
                link.abort()
                self._links.discard(link)
