"""Connection-level limits for the embedded server (uvicorn with h11), below ASGI.

Uvicorn times out an idle keep-alive connection, but not one that is half-way through
sending its request head: `GET /api/v1/me HTTP/1.1\\r\\nHost: x\\r\\n` and silence holds a
socket (and a file descriptor) forever, and about a thousand such sockets stop the server.
ASGI cannot help, since the application is called only once the head is complete. So the
guard sits in the asyncio protocol that uvicorn creates per connection:

- header timeout: a connection must deliver a complete request head within
  `header_timeout` seconds of connecting or of its previous response; else it gets a 408
  (or, if it sent nothing of the next request, is simply closed);
- connection cap: at most `max_connections` open sockets (HTTP and live feed together).
  A connection past the cap evicts the oldest connection that is still waiting for its
  request head; if none is waiting, the newcomer gets a 503 and is closed. Honest clients
  (whose requests arrive at once) are never the ones waiting, so an attacker's half-open
  sockets are what gets evicted;
- body timeout and size (BodyGuard, an ASGI wrapper): the whole body must arrive within
  `body_timeout` seconds and stay within `max_body` bytes (413 says the size and the limit).

The live feed's socket class (FeedWebSocketProtocol) lets the fan-out hand the same
prebuilt frame bytes to many sockets and close a slow reader with 4008 even while its
buffer is full; see server/feed.py.
"""

from __future__ import annotations

import asyncio
import os
import resource
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from agent_console.server.checks import error_body
from agent_console.server.feed import FEED_EXTENSION

MAX_BODY = 1024 * 1024
# How long a dropped slow reader has to read what is queued and the 4008 close behind it
# before its socket is abandoned (the memory it pins is bounded by the feed buffer meanwhile).
SLOW_CLOSE_GRACE = 30.0


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 10_000
    max_body: int = MAX_BODY
    # Bytes a live-feed subscriber may have waiting (unsent) before it is dropped with 4008.
    feed_buffer: int = 4 * 1024 * 1024

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Limits:
        """Defaults, overridden by AGENT_CONSOLE_HEADER_TIMEOUT, _BODY_TIMEOUT,
        _MAX_CONNECTIONS and _FEED_BUFFER (tests use short timeouts)."""
        env = dict(os.environ if env is None else env)
        base = cls()

        def number(name: str, default: float, kind: type) -> Any:
            text = env.get(f"AGENT_CONSOLE_{name}")
            if not text:
                return default
            value = kind(text)
            if value <= 0:
                raise ValueError(f"AGENT_CONSOLE_{name} must be positive, not {text!r}")
            return value

        return cls(
            header_timeout=number("HEADER_TIMEOUT", base.header_timeout, float),
            body_timeout=number("BODY_TIMEOUT", base.body_timeout, float),
            max_connections=number("MAX_CONNECTIONS", base.max_connections, int),
            feed_buffer=number("FEED_BUFFER", base.feed_buffer, int),
        )


def raise_fd_limit(connections: int) -> int:
    """Lift the soft open-file limit toward the hard one; return the connections it allows.

    A server that runs out of descriptors stops accepting anyone, so the cap must stay
    under the limit with room for the database, logs and listening socket.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(16, min(connections, soft - 256))


def body_limit_message(limit: int, size: int | None = None) -> str:
    """`request body too large: 1,100 KB, the limit is 1,024 KB (1,048,576 bytes)`."""
    told = f"the limit is {limit // 1024:,} KB ({limit:,} bytes)"
    if size is None:
        return f"request body too large: {told}"
    return f"request body too large: {-(-size // 1024):,} KB, {told}"


def _raw_response(status: int, reason: str, code: str, message: str) -> bytes:
    body = error_body(code, message)
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class ConnectionGuard:
    """Shared by every connection of one server: who is still waiting for a request head."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        # Insertion-ordered: the first entry is the connection that has waited longest.
        self.waiting: dict[GuardedH11Protocol, None] = {}
        self.timed_out = 0
        self.evicted = 0
        self.refused = 0

    def evict_oldest(self) -> bool:
        for protocol in self.waiting:
            self.evicted += 1
            protocol.give_up(evicted=True)
            return True
        return False


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head deadline and a connection cap."""

    guard: ClassVar[ConnectionGuard]
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.guard.limits.max_connections and not self.guard.evict_oldest():
            self.guard.refused += 1
            transport.write(_raw_response(503, "Service Unavailable", "unavailable", "too many connections"))
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_timer is not None and (self.transport.get_protocol() is not self or self._busy()):
            self._disarm()  # a head arrived (a request runs, or the socket became a websocket)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self._busy():
            self._arm()  # the next request's head has the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        # A request h11 cannot parse gets the error shape too, not uvicorn's plain text.
        self.transport.write(_raw_response(400, "Bad Request", "bad_request", f"{msg} (not HTTP/1.1)"))
        self.transport.close()

    def _busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.guard.limits.header_timeout, self._deadline)
        self.guard.waiting[self] = None

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self.guard.waiting.pop(self, None)

    def _deadline(self) -> None:
        self._head_timer = None
        self.guard.waiting.pop(self, None)
        if self.transport.is_closing() or self.transport.get_protocol() is not self or self._busy():
            return
        self.guard.timed_out += 1
        self.give_up(evicted=False)

    def give_up(self, *, evicted: bool) -> None:
        """Close a connection that has not sent a request head: 408 if it started one."""
        self._disarm()
        started = bool(self.conn.trailing_data[0])
        if started and not evicted:
            limit = self.guard.limits.header_timeout
            self.transport.write(
                _raw_response(
                    408,
                    "Request Timeout",
                    "request_timeout",
                    f"the request head did not arrive within {limit:g} s",
                )
            )
            self.transport.close()
        else:
            self.transport.abort()  # nothing owed to it: free the descriptor now


class FeedSocket:
    """What the live feed may do with its socket besides ASGI messages (see feed.py)."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: FeedWebSocketProtocol) -> None:
        self.protocol = protocol

    @property
    def transport(self) -> asyncio.Transport:
        return self.protocol.transport

    @property
    def open(self) -> bool:
        return not (
            self.protocol.close_sent or self.protocol.disconnected or self.protocol.transport.is_closing()
        )

    def write(self, frames: bytes) -> None:
        """Write prebuilt, unmasked, complete server frames (no extension was negotiated)."""
        if self.open:
            self.protocol.transport.write(frames)

    def buffered(self) -> int:
        return self.protocol.transport.get_write_buffer_size()

    async def drained(self) -> None:
        await self.protocol.writable.wait()

    def close(self, code: int, reason: str) -> None:
        """Queue the close frame behind what the peer has not read yet, without waiting for
        room (ASGI's send would wait for a reader that never comes); give up on the socket
        if the peer has not answered the close in time."""
        protocol = self.protocol
        if not self.open:
            return
        protocol.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        protocol.conn.send_close(code, reason)
        protocol.transport.write(b"".join(protocol.conn.data_to_send()))
        protocol.close_sent = True
        protocol.close_timer = protocol.loop.call_later(SLOW_CLOSE_GRACE, protocol.transport.abort)


class FeedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol, offering the feed a FeedSocket in the scope."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and not self.conn.extensions:
            scope["extensions"][FEED_EXTENSION] = FeedSocket(self)


class BodyGuard:
    """ASGI wrapper: read a request body whole, within the size and time limits, first.

    The application then gets the body in one message. A body past the limit is read on and
    dropped (up to eight times the limit, so the client sees the answer rather than a reset)
    and gets a 413 that states its size and the limit; one that trickles in slower than
    `body_timeout` gets a 408 and the connection is closed.
    """

    def __init__(self, app: Any, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        limit = self.limits.max_body
        declared = _content_length(scope)
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size <= limit:
                        chunks.append(chunk)
                    elif size > 8 * limit:
                        break  # read (and dropped) enough that the client can see the answer
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _answer(
                send,
                408,
                "request_timeout",
                f"the request body did not arrive within {self.limits.body_timeout:g} s",
            )
            return
        if size > limit:
            # Read on past the limit, keeping nothing: a client still sending when the answer
            # comes would otherwise see a reset instead of the 413 and its message.
            await _answer(send, 413, "payload_too_large", body_limit_message(limit, declared or size))
            return
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _has_body(scope: dict[str, Any]) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Any, status: int, code: str, message: str) -> None:
    body = error_body(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
