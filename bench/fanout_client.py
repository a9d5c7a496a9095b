"""Many live-feed sockets in one process, for P7 (run by bench.p7_fanout, not by hand).

    python -m bench.fanout_client URL TOKENS_FILE OUT_FILE

Opens one websocket per token (`/api/v1/events`, live only), up to 100 handshakes at a
time, and prints `READY <seconds>` when all are open (the seconds from the first handshake
to the last). It stamps every `message.created` frame whose body starts with a `FO<serial>`
marker with time.monotonic() as it arrives, counts `presence.updated` frames per socket, and
on a line "STOP" on stdin (or after an hour at most) writes
{"sockets": [[[serial, stamp], ...], ...], "closed": [...], "presence": [...]} to OUT_FILE.

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


class FeedSocket(asyncio.Protocol):
    def __init__(self, request: bytes, received: list[tuple[int, float]]) -> None:
        self.request = request
        self.received = received
        self.buffer = bytearray()
        self.open = asyncio.get_running_loop().create_future()
        self.handshaken = False
        self.presence = 0
        self.closed = ""
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
                if CREATED in payload[:64]:
                    match = MARK.search(payload)
                    if match:
                        self.received.append((int(match.group(1)), stamp))
                elif PRESENCE in payload[:64]:
                    self.presence += 1
            elif opcode == 0x9:  # ping: answer with a masked pong, as a client must
                self._send(0xA, payload)
            elif opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed = f"closed by the server: {code}"
        del buffer[:at]

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None and len(payload) < 126
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = f"lost: {exc}" if exc else "lost"
        if not self.open.done():
            self.open.set_exception(ConnectionError(self.closed))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def main(url: str, tokens: list[str], out: str) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    received: list[list[tuple[int, float]]] = [[] for _ in tokens]
    sockets: list[FeedSocket | None] = [None] * len(tokens)
    gate = asyncio.Semaphore(100)

    async def open_one(index: int) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /api/v1/events HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {tokens[index]}\r\n\r\n"
        ).encode()
        async with gate:
            _, protocol = await loop.create_connection(
                lambda: FeedSocket(request, received[index]), host, port
            )
            await asyncio.wait_for(protocol.open, 60)
        sockets[index] = protocol

    started = time.monotonic()
    await asyncio.gather(*(open_one(i) for i in range(len(tokens))))
    print(f"READY {time.monotonic() - started:.3f}", flush=True)
    try:
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), 3600)
    except TimeoutError:
        pass
    with open(out, "w") as handle:
        json.dump(
            {
                "sockets": received,
                "closed": [s.closed if s else "never opened" for s in sockets],
                "presence": [s.presence if s else 0 for s in sockets],
            },
            handle,
        )
    for sock in sockets:
        if sock is not None:
            sock.close()


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a socket per agent
    url, tokens_file, out_file = sys.argv[1:4]
    with open(tokens_file) as handle:
        token_list = [line.strip() for line in handle if line.strip()]
    asyncio.run(main(url, token_list, out_file))
