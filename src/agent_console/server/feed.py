"""The live feed: fan-out of committed events to websocket subscribers.

Each event is encoded once: its JSON text and its websocket frame bytes are built when it
is published, and the same bytes are written to every socket (no per-socket encoding or
compression; the server turns per-message deflate off). With the embedded server the hub
writes straight to each socket's transport (server/guard.py offers that in the scope);
under another ASGI server it falls back to plain `websocket.send` messages.

Publishing never waits on a subscriber. What a subscriber has not taken yet is counted in
bytes; past `buffer_limit` (a client that stopped reading) it is dropped with close code
4008, queued behind what it has not read, and resumes with `since` when it reconnects. A
slow consumer can neither stall the others nor grow the server's memory past that bound.

Presence follows connections, coalesced: a lone connect is told at once, and the connects
and disconnects that follow within `presence_delay` become one `presence.updated` event,
so a thousand agents arriving at once cost a handful of events, not a thousand events to
each of a thousand sockets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qs

from agent_console.core.clock import to_iso, utcnow
from agent_console.server.checks import BadInput, error_body, parse_int
from agent_console.server.store import PendingEvent, Store

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

FEED_EXTENSION = "agent_console.feed"
SLOW_CLOSE = 4008
REVOKED_CLOSE = 4001
log = logging.getLogger("agent_console.server")


def text_frame(payload: bytes) -> bytes:
    """One unmasked, final text frame, as a server sends it: built once, written to many."""
    size = len(payload)
    if size < 126:
        head = bytes((0x81, size))
    elif size < 1 << 16:
        head = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return head + payload


class Frame:
    __slots__ = ("seq", "text", "wire")

    def __init__(self, seq: int, text: str) -> None:
        self.seq = seq
        self.text = text
        self.wire = text_frame(text.encode())


# --- where a subscriber's frames go -------------------------------------------------------


class DirectSink:
    """Writes frame bytes to the socket's transport (the embedded server's FeedSocket)."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.transport = socket.transport

    def write(self, frames: Sequence[Frame], wire: bytes) -> None:
        self.socket.write(wire)

    def buffered(self) -> int:
        return self.socket.buffered()

    async def drained(self) -> None:
        await self.socket.drained()

    def close(self, code: int, reason: str) -> None:
        self.socket.close(code, reason)

    async def run(self) -> None:
        await asyncio.Event().wait()  # nothing to pump: writes go out as they are made


class AsgiSink:
    """Plain ASGI `websocket.send` messages, for servers without the direct socket."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.texts: deque[str] = deque()
        self.size = 0
        self.wake = asyncio.Event()
        self.empty = asyncio.Event()
        self.empty.set()
        self.closing: tuple[int, str] | None = None

    def write(self, frames: Sequence[Frame], wire: bytes) -> None:
        if self.closing is None:
            self.texts.extend(frame.text for frame in frames)
            self.size += sum(len(frame.text) for frame in frames)
            self.empty.clear()
            self.wake.set()

    def buffered(self) -> int:
        return self.size

    async def drained(self) -> None:
        await self.empty.wait()

    def close(self, code: int, reason: str) -> None:
        self.closing = (code, reason)
        self.texts.clear()
        self.size = 0
        self.wake.set()

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.texts:
                text = self.texts.popleft()
                await self.send({"type": "websocket.send", "text": text})
                self.size -= len(text)
            self.size = 0
            self.empty.set()
            if self.closing is not None:
                code, reason = self.closing
                await asyncio.wait_for(
                    self.send({"type": "websocket.close", "code": code, "reason": reason}), 1
                )
                return


# --- subscribers and the hub --------------------------------------------------------------


class Subscriber:
    def __init__(self, agent_id: int, sink: DirectSink | AsgiSink, buffer_limit: int) -> None:
        self.agent_id = agent_id
        self.sink = sink
        self.buffer_limit = buffer_limit
        self.last = 0  # the highest seq written to this socket
        self.live = False  # False while replaying: live batches wait in `pending`
        self.pending: list[tuple[list[Frame], bytes]] = []
        self.pending_bytes = 0
        self.dropped = asyncio.Event()
        self.last_write = time.monotonic()
        # Live, not dropped, and writing straight to a transport: the hub's fast path.
        self.fast = False
        self.transport: asyncio.Transport | None = getattr(sink, "transport", None)

    def offer(self, frames: list[Frame], wire: bytes) -> None:
        if self.dropped.is_set():
            return
        if not self.live:
            self.pending.append((frames, wire))
            self.pending_bytes += len(wire)
            if self.pending_bytes > self.buffer_limit:
                self.drop()
            return
        self.write(frames, wire)

    def write(self, frames: Sequence[Frame], wire: bytes | None = None) -> None:
        if frames and frames[0].seq <= self.last:  # replay already sent some of these
            frames = [frame for frame in frames if frame.seq > self.last]
            wire = None
        if not frames:
            return
        self.sink.write(frames, wire if wire is not None else b"".join(f.wire for f in frames))
        self.last = frames[-1].seq
        self.last_write = time.monotonic()
        if self.sink.buffered() > self.buffer_limit:
            self.drop()

    def go_live(self, last: int) -> None:
        """Replay is done up to `last`: send what arrived meanwhile, then write as it comes."""
        self.last = max(self.last, last)
        pending, self.pending, self.pending_bytes = self.pending, [], 0
        self.live = True
        for frames, wire in pending:
            if self.dropped.is_set():
                return
            self.write(frames, wire)
        self.fast = self.transport is not None and not self.dropped.is_set()

    def drop(self) -> None:
        self.fast = False
        if not self.dropped.is_set():
            self.dropped.set()
            self.pending = []
            self.sink.close(SLOW_CLOSE, "too slow: the client stopped reading")


class Hub:
    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.connections: Counter[int] = Counter()

    def publish(self, events: list[PendingEvent]) -> None:
        frames = [Frame(event.seq, event.frame()) for event in events]  # encoded once
        wire = b"".join(frame.wire for frame in frames)
        first, last, now = frames[0].seq, frames[-1].seq, time.monotonic()
        for sub in tuple(self.subscribers):
            transport = sub.transport
            if sub.fast and first > sub.last and transport is not None:
                # The common case, kept to a few calls: a thousand sockets take every event.
                if not transport.is_closing():
                    transport.write(wire)
                    sub.last = last
                    sub.last_write = now
                    if transport.get_write_buffer_size() > sub.buffer_limit:
                        sub.drop()
            else:
                sub.offer(frames, wire)

    def subscribe(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def revoke(self, agent_id: int) -> None:
        """The agent's token no longer works (deactivated, or rotated): end its open feeds
        now, with close code 4001, instead of letting them run on an old handshake."""
        for sub in tuple(self.subscribers):
            if sub.agent_id == agent_id and not sub.dropped.is_set():
                sub.fast = False
                sub.dropped.set()
                sub.pending = []
                sub.sink.close(REVOKED_CLOSE, "token revoked")


# --- the endpoint ---------------------------------------------------------------------------


class EventsEndpoint:
    """Raw ASGI websocket endpoint `/api/v1/events?since=SEQ[&presence=0]`.

    Raw ASGI so an unauthenticated handshake can be refused with a real HTTP 401 and the
    error body, rather than a bare close.
    """

    def __init__(
        self,
        store: Store,
        hub: Hub,
        *,
        ping_interval: float = 15.0,
        buffer_limit: int = 4 * 1024 * 1024,
        presence_delay: float = 0.2,
    ) -> None:
        self.store = store
        self.hub = hub
        self.ping_interval = ping_interval
        self.buffer_limit = buffer_limit
        self.presence_delay = presence_delay
        # Several processes on PostgreSQL: presence counts every process's sockets (pg_shared).
        self.presence_ledger: Any = None
        self.writes: Any = None  # on PostgreSQL, presence writes leave the loop (server/write_thread.py)
        self._presence_writes: set[asyncio.Task[None]] = set()
        self._presence_dirty: set[int] = set()
        self._presence_flush: asyncio.TimerHandle | None = None
        self._presence_written = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await _http_error(send, 426, "upgrade_required", "this endpoint speaks websocket only")
            return
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        agent = self.store.authenticate(_bearer(scope) or "")
        if agent is None:
            await _deny(scope, send, 401, "unauthorized", "missing or invalid bearer token")
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        since: int | None = None
        if "since" in query:
            try:
                # Beyond the log either way, a huge number asks for a resync like any other.
                since = parse_int(query["since"][0], name="since", clamp=True)
            except BadInput as exc:
                await _deny(scope, send, 400, "bad_request", str(exc))
                return
        # presence=0: a watcher (`agent-console tail`, a script) that must not mark the agent
        # online on connect or offline on leaving, nor count as one of their connections.
        presence = query.get("presence", ["1"])[0]
        if presence not in ("0", "1"):
            await _deny(scope, send, 400, "bad_request", "presence must be 0 or 1")
            return
        marks_presence = presence == "1"
        await send({"type": "websocket.accept"})
        direct = scope.get("extensions", {}).get(FEED_EXTENSION)
        sink = DirectSink(direct) if direct is not None else AsgiSink(send)
        sub = Subscriber(agent.id, sink, self.buffer_limit)
        self.hub.subscribe(sub)  # before reading the head: later events wait in `pending`
        if marks_presence:
            self._connected(agent.id)
        tasks: list[asyncio.Task[Any]] = []
        try:
            tasks = [
                asyncio.create_task(self._serve(sub, since)),
                asyncio.create_task(_drain(receive)),
                asyncio.create_task(sub.dropped.wait()),
                asyncio.create_task(sink.run()),
            ]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("live feed failed", exc_info=task.exception())
            if sub.dropped.is_set() and isinstance(sink, AsgiSink):
                await asyncio.wait_for(tasks[3], 2)  # let it say 4008
        except Exception:  # noqa: BLE001 - the peer may be gone already
            pass
        finally:
            for task in tasks:
                task.cancel()
            self.hub.unsubscribe(sub)
            if marks_presence:
                self._disconnected(agent.id)

    async def _serve(self, sub: Subscriber, since: int | None) -> None:
        head = self.store.head_seq()
        oldest = self.store.oldest_seq()
        last = head
        if since is None:
            pass  # live only
        elif since > head or since < (oldest if oldest is not None else head + 1) - 1:
            resync = Frame(0, json.dumps({"type": "resync_required", "seq": head}))
            sub.sink.write([resync], resync.wire)
        else:
            last = since
            while True:
                batch = self.store.events_after(last, 500)
                if batch:
                    frames = [Frame(event.seq, event.frame()) for event in batch]
                    sub.write(frames)
                    last = batch[-1].seq
                if sub.dropped.is_set():
                    return
                if len(batch) < 500:
                    break
                await sub.sink.drained()  # replay at the pace the client reads
        sub.go_live(last)
        while not sub.dropped.is_set():
            idle = time.monotonic() - sub.last_write
            if idle < self.ping_interval:
                await asyncio.sleep(self.ping_interval - idle)
                continue
            ping = Frame(0, json.dumps({"type": "ping", "seq": sub.last, "at": to_iso(utcnow())}))
            sub.sink.write([ping], ping.wire)
            sub.last_write = time.monotonic()

    # --- presence, coalesced --------------------------------------------------------------

    def _connected(self, agent_id: int) -> None:
        self.hub.connections[agent_id] += 1
        if self.hub.connections[agent_id] == 1:
            self._presence_soon(agent_id)

    def _disconnected(self, agent_id: int) -> None:
        self.hub.connections[agent_id] -= 1
        if self.hub.connections[agent_id] <= 0:
            del self.hub.connections[agent_id]
            self._presence_soon(agent_id)

    def _presence_soon(self, agent_id: int) -> None:
        """A lone change goes out at once; changes that follow within `presence_delay` of
        the last write wait and go out together at the end of that window."""
        self._presence_dirty.add(agent_id)
        if self._presence_flush is not None:
            return
        wait = self._presence_written + self.presence_delay - time.monotonic()
        if wait <= 0:
            self._flush_presence()
        else:
            self._presence_flush = asyncio.get_running_loop().call_later(wait, self._flush_presence)

    def _flush_presence(self) -> None:
        self._presence_flush = None
        self._presence_written = time.monotonic()
        dirty, self._presence_dirty = self._presence_dirty, set()
        counts = {agent_id: self.hub.connections[agent_id] for agent_id in dirty}
        if self.writes is None:
            self._write_presence(counts)
            return
        # On PostgreSQL the write waits for the desk's lock on the write thread, not here.
        task = asyncio.get_running_loop().create_task(self.writes(self._write_presence, counts))
        self._presence_writes.add(task)
        task.add_done_callback(self._presence_writes.discard)

    def _write_presence(self, counts: dict[int, int]) -> None:
        try:
            self.store.sync_presence(counts, ledger=self.presence_ledger)
        except Exception:  # noqa: BLE001 - a locked database must not kill the loop's callback
            log.exception("presence update failed")


async def _drain(receive: Receive) -> None:
    """Read and ignore client frames (garbage included) until the client goes away."""
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return


def _bearer(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


async def _deny(scope: dict[str, Any], send: Send, status: int, code: str, message: str) -> None:
    if "websocket.http.response" in scope.get("extensions", {}):
        body = error_body(code, message)
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 4000 + status})


async def _http_error(send: Send, status: int, code: str, message: str) -> None:
    body = error_body(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
