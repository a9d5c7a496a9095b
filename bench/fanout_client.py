"""Many live-feed sockets in one process, for P7 and P11 (run by the benches, not by hand).

    python -m bench.fanout_client URL[,URL...] TOKENS_FILE OUT_FILE [--since SEQ]

Opens one websocket per token (`/api/v1/events`, live only), up to 100 handshakes at a
time, and prints `READY <seconds>` when all are open (the seconds from the first handshake
to the last). It stamps every `message.created` frame whose body starts with a `FO<serial>`
marker with time.monotonic() as it arrives, counts `presence.updated` frames per socket, and
on a line "STOP" on stdin (or after an hour at most) writes
{"sockets": [[[serial, stamp], ...], ...], "closed": [...], "presence": [...], "gaps": [...],
"dups": [...], "reconnects": [[[lost, open], ...], ...], "last": [...]} to OUT_FILE and ends; a
line "DUMP" writes the same as it stands, prints `DUMPED` and goes on.

Every socket tracks the event seqs it sees: a seq at or below the last one is a duplicate
(counted, and its message not counted again), one past the last plus one a gap.

Reconnect mode (P11: several server processes): with several URLs or `--since`, socket i
starts on URL i mod n, from `since=SEQ`; when its connection closes it reconnects to the
next URL in the list with `since=<the last seq it saw>` (trying the one after when that
fails) and records when it lost the connection and when the new one was open.

The client is a measuring instrument sharing two cores with the server, so it is lean: a
bare asyncio protocol per socket that reads the server's (unmasked) frames, looks for the
marker in the bytes and answers pings, instead of a full websocket library decoding every
frame (which made the clients, not the server, the bottleneck at 300 sockets).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import resource
import struct
import sys
import time
from urllib.parse import urlsplit

MARK = re.compile(rb'"body":"FO(\d+)')
CREATED = b'"type":"message.created"'
PRESENCE = b'"type":"presence.updated"'
SEQ_PREFIX = b'{"seq":'  # every event frame starts so (store_base.PendingEvent.frame)


class Feed:
    """One agent's feed across its connections: what it received and the seqs it saw."""

    def __init__(self, since: int | None) -> None:
        self.received: list[tuple[int, float]] = []
        self.last = since  # the highest event seq seen (None: live only, nothing seen yet)
        self.gaps = 0
        self.dups = 0
        self.presence = 0
        self.closed = ""
        self.reconnects: list[tuple[float, float]] = []

    def event(self, payload: bytes, stamp: float) -> None:
        seq = int(payload[len(SEQ_PREFIX) : payload.index(b",", len(SEQ_PREFIX))])
        if self.last is not None and seq <= self.last:
            self.dups += 1  # replayed or sent twice: counted once
            return
        if self.last is not None and seq > self.last + 1:
            self.gaps += 1
        self.last = seq
        if CREATED in payload[:64]:
            match = MARK.search(payload)
            if match:
                self.received.append((int(match.group(1)), stamp))
        elif PRESENCE in payload[:64]:
            self.presence += 1


class FeedSocket(asyncio.Protocol):
    def __init__(self, request: bytes, feed: Feed) -> None:
        self.request = request
        self.feed = feed
        self.buffer = bytearray()
        self.open = asyncio.get_running_loop().create_future()
        self.lost = asyncio.get_running_loop().create_future()
        self.handshaken = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        stamp = time.monotonic()
        self.buffer += data
        if not self.handshaken:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.open.set_exception(RuntimeError(head.split(b"\r\n", 1)[0].decode()))
                return
            self.handshaken = True
            self.open.set_result(None)
        self._frames(stamp)

    def _frames(self, stamp: float) -> None:
        buffer = self.buffer
        at = 0
        while len(buffer) - at >= 2:
            opcode = buffer[at] & 0x0F
            size = buffer[at + 1] & 0x7F
            start = at + 2
            if size == 126:
                if len(buffer) - at < 4:
                    break
                (size,) = struct.unpack_from("!H", buffer, at + 2)
                start = at + 4
            elif size == 127:
                if len(buffer) - at < 10:
                    break
                (size,) = struct.unpack_from("!Q", buffer, at + 2)
                start = at + 10
            if len(buffer) - start < size:
                break
            payload = bytes(buffer[start : start + size])
            at = start + size
            if opcode == 0x1:
                if payload.startswith(SEQ_PREFIX):
                    self.feed.event(payload, stamp)
            elif opcode == 0x9:  # ping: answer with a masked pong, as a client must
                self._send(0xA, payload)
            elif opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.feed.closed = f"closed by the server: {code}"
        del buffer[:at]

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None and len(payload) < 126
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.feed.closed:
            self.feed.closed = f"lost: {exc}" if exc else "lost"
        if not self.open.done():
            self.open.set_exception(ConnectionError(self.feed.closed))
        if not self.lost.done():
            self.lost.set_result(time.monotonic())

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def main(urls: list[str], tokens: list[str], out: str, since: int | None) -> None:
    reconnect = len(urls) > 1 or since is not None
    loop = asyncio.get_running_loop()
    feeds = [Feed(since) for _ in tokens]
    sockets: list[FeedSocket | None] = [None] * len(tokens)
    gate = asyncio.Semaphore(100)
    stopping = asyncio.Event()

    async def connect(index: int, url: str) -> FeedSocket:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        feed = feeds[index]
        query = f"?since={feed.last}" if feed.last is not None and reconnect else ""
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /api/v1/events{query} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {tokens[index]}\r\n\r\n"
        ).encode()
        async with gate:
            _, protocol = await loop.create_connection(lambda: FeedSocket(request, feed), host, port)
            await asyncio.wait_for(protocol.open, 60)
        return protocol

    async def open_one(index: int) -> None:
        sockets[index] = await connect(index, urls[index % len(urls)])

    async def follow(index: int) -> None:
        """Reconnect mode: on a lost connection, move to the next URL with since=last seen."""
        at = index % len(urls)
        while not stopping.is_set():
            sock = sockets[index]
            assert sock is not None
            lost = await sock.lost
            if stopping.is_set():
                return
            while not stopping.is_set():
                at = (at + 1) % len(urls)
                feeds[index].closed = ""
                try:
                    sockets[index] = await connect(index, urls[at])
                except (OSError, RuntimeError, TimeoutError):
                    await asyncio.sleep(0.05)
                    continue
                feeds[index].reconnects.append((lost, time.monotonic()))
                break

    started = time.monotonic()
    await asyncio.gather(*(open_one(i) for i in range(len(tokens))))
    print(f"READY {time.monotonic() - started:.3f}", flush=True)
    followers = [asyncio.create_task(follow(i)) for i in range(len(tokens))] if reconnect else []

    def dump() -> None:
        with open(out, "w") as handle:
            json.dump(
                {
                    "sockets": [f.received for f in feeds],
                    "closed": [
                        f.closed if s else "never opened" for f, s in zip(feeds, sockets, strict=True)
                    ],
                    "presence": [f.presence for f in feeds],
                    "gaps": [f.gaps for f in feeds],
                    "dups": [f.dups for f in feeds],
                    "reconnects": [f.reconnects for f in feeds],
                    "last": [f.last for f in feeds],
                },
                handle,
            )

    deadline = time.monotonic() + 3600
    while True:
        try:
            line = await asyncio.wait_for(
                loop.run_in_executor(None, sys.stdin.readline), max(0.0, deadline - time.monotonic())
            )
        except TimeoutError:
            break
        if line.strip() != "DUMP":  # STOP, or stdin closed
            break
        dump()  # a snapshot for a caller that polls until the sockets have caught up
        print("DUMPED", flush=True)
    stopping.set()
    for task in followers:
        task.cancel()
    dump()
    for sock in sockets:
        if sock is not None:
            sock.close()


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a socket per agent
    args = sys.argv[1:]
    since_seq: int | None = None
    if "--since" in args:
        at = args.index("--since")
        since_seq = int(args[at + 1])
        del args[at : at + 2]
    url_list, tokens_file, out_file = args[0].split(","), args[1], args[2]
    with open(tokens_file) as handle:
        token_list = [line.strip() for line in handle if line.strip()]
    asyncio.run(main(url_list, token_list, out_file, since_seq))
