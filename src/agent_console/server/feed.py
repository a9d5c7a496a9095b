"""The live feed: fan-out of committed events to websocket subscribers.

Publishing never waits on a subscriber. Each one has a bounded queue; a subscriber that
falls that far behind (a client that stopped reading) is dropped, and will resume with
`since` when it reconnects, so a slow consumer can neither stall the others nor grow the
server's memory without bound.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from agent_console.core.clock import to_iso, utcnow
from agent_console.server.store import PendingEvent, Store

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class Subscriber:
    def __init__(self, agent_id: int, queue_size: int) -> None:
        self.agent_id = agent_id
        self.queue: asyncio.Queue[list[PendingEvent]] = asyncio.Queue(maxsize=queue_size)
        self.dropped = asyncio.Event()


class Hub:
    def __init__(self, queue_size: int = 2000) -> None:
        self.queue_size = queue_size
        self.subscribers: set[Subscriber] = set()
        self.connections: Counter[int] = Counter()

    def publish(self, events: list[PendingEvent]) -> None:
        for sub in list(self.subscribers):
            try:
                sub.queue.put_nowait(events)
            except asyncio.QueueFull:
                self.subscribers.discard(sub)
                sub.dropped.set()

    def subscribe(self, agent_id: int) -> Subscriber:
        sub = Subscriber(agent_id, self.queue_size)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)


class EventsEndpoint:
    """Raw ASGI websocket endpoint `/api/v1/events?since=SEQ[&presence=0]`.

    Raw ASGI so an unauthenticated handshake can be refused with a real HTTP 401 and the
    error body, rather than a bare close.
    """

    def __init__(self, store: Store, hub: Hub, *, ping_interval: float = 15.0) -> None:
        self.store = store
        self.hub = hub
        self.ping_interval = ping_interval

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
                since = int(query["since"][0])
            except ValueError:
                await _deny(scope, send, 400, "bad_request", "since must be an integer")
                return
        # presence=0: a watcher (`agent-console tail`, a script) that must not mark the agent
        # online on connect or offline on leaving, nor count as one of their connections.
        presence = query.get("presence", ["1"])[0]
        if presence not in ("0", "1"):
            await _deny(scope, send, 400, "bad_request", "presence must be 0 or 1")
            return
        marks_presence = presence == "1"
        await send({"type": "websocket.accept"})
        sub = self.hub.subscribe(agent.id)
        if marks_presence:
            self._connected(agent.id)
        tasks: list[asyncio.Task[Any]] = []
        try:
            tasks = [
                asyncio.create_task(self._pump(sub, send, since)),
                asyncio.create_task(_drain(receive)),
                asyncio.create_task(sub.dropped.wait()),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            self.hub.unsubscribe(sub)
            if marks_presence:
                self._disconnected(agent.id)
        if sub.dropped.is_set():
            # The client stopped reading; tell it why if the socket still takes a frame.
            try:
                await asyncio.wait_for(
                    send({"type": "websocket.close", "code": 4008, "reason": "too slow"}), 1.0
                )
            except Exception:  # noqa: BLE001 - the peer may be gone already
                pass

    async def _pump(self, sub: Subscriber, send: Send, since: int | None) -> None:
        head = self.store.head_seq()
        oldest = self.store.oldest_seq()
        last = head
        if since is None:
            pass  # live only
        elif since > head or since < (oldest if oldest is not None else head + 1) - 1:
            await _send_text(send, json.dumps({"type": "resync_required", "seq": head}))
        else:
            last = since
            while True:
                batch = self.store.events_after(last, 500)
                for event in batch:
                    await _send_text(send, event.frame())
                    last = event.seq
                if len(batch) < 500:
                    break
        while True:
            try:
                events = await asyncio.wait_for(sub.queue.get(), self.ping_interval)
            except TimeoutError:
                ping = {"type": "ping", "seq": last, "at": to_iso(utcnow())}
                await _send_text(send, json.dumps(ping))
                continue
            for event in events:
                if event.seq > last:  # replay may already have sent it
                    await _send_text(send, event.frame())
                    last = event.seq

    def _connected(self, agent_id: int) -> None:
        self.hub.connections[agent_id] += 1
        if self.hub.connections[agent_id] == 1:
            agent = self.store.get_agent(agent_id)
            if agent.presence == "offline" and agent.role != "integration":
                self.store.set_presence(agent_id, "online")

    def _disconnected(self, agent_id: int) -> None:
        self.hub.connections[agent_id] -= 1
        if self.hub.connections[agent_id] <= 0:
            del self.hub.connections[agent_id]
            agent = self.store.get_agent(agent_id)
            if agent.presence != "offline" and agent.role != "integration":
                self.store.set_presence(agent_id, "offline")


async def _drain(receive: Receive) -> None:
    """Read and ignore client frames (garbage included) until the client goes away."""
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return


async def _send_text(send: Send, text: str) -> None:
    await send({"type": "websocket.send", "text": text})


def _bearer(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def _error_json(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def _deny(scope: dict[str, Any], send: Send, status: int, code: str, message: str) -> None:
    if "websocket.http.response" in scope.get("extensions", {}):
        body = _error_json(code, message)
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
    body = _error_json(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
