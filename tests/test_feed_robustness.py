"""The live feed against hostile and broken clients: absurd `since` values, garbage frames,
frames over the size limit, broken framing, and a client that never reads. None of them
may hurt the server or the other subscribers."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
import uuid
from urllib.parse import quote

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import ENGINES, Desk, add_agent

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL


def _address(desk: Desk) -> tuple[str, int]:
    host, port = desk.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def feed(desk: Desk, token: str, since: int | str | None = None, **kw):
    url = desk.url.replace("http://", "ws://") + "/api/v1/events"
    if since is not None:
        url += f"?since={since}"
    return connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10, **kw)


def raw_handshake(
    desk: Desk, token: str, query: str = "", *, rcvbuf: int | None = None
) -> tuple[socket.socket, int, bytes]:
    """Open the feed by hand; returns the socket, the HTTP status and bytes read past the head."""
    host, port = _address(desk)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    path = "/api/v1/events" + (f"?{query}" if query else "")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    sock.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return sock, status, b""


def read_frames(sock: socket.socket, limit: float = 30.0) -> list[tuple[int, bytes]]:
    """Every frame the server sent until it closed (a server's frames are never masked)."""
    sock.settimeout(limit)
    data = bytearray()
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    frames = []
    at = 0
    while at + 2 <= len(data):
        opcode = data[at] & 0x0F
        size = data[at + 1] & 0x7F
        at += 2
        if size == 126:
            (size,) = struct.unpack("!H", data[at : at + 2])
            at += 2
        elif size == 127:
            (size,) = struct.unpack("!Q", data[at : at + 8])
            at += 8
        if at + size > len(data):
            break
        frames.append((opcode, bytes(data[at : at + size])))
        at += size
    return frames


def post_inbound(desk: Desk, body: str, conversation_id: int | None = None) -> dict:
    payload = {"channel": "sms", "contact": {"name": "Robust Tester", "phone": "+15550199"}, "body": body}
    if conversation_id:
        payload["conversation_id"] = conversation_id
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


def head(desk: Desk) -> int:
    return desk.agent.get("/conversations").json()["head_seq"]


def until_message(socket_, message_id: int, timeout: float = 10.0) -> dict:
    """Read the feed until the message.created event of `message_id` (fail on a hang)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(socket_.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame["type"] == "message.created" and frame["data"]["message"]["id"] == message_id:
            return frame


def assert_healthy(desk: Desk) -> None:
    """The server still answers REST and still streams events to a new subscriber."""
    assert desk.agent.get("/me").status_code == 200
    with feed(desk, desk.agent_token) as socket_:
        sent = post_inbound(desk, f"health {uuid.uuid4().hex}")
        until_message(socket_, sent["message"]["id"])


ABSURD_BUT_NUMBERS = [
    "-2",
    "-5",
    f"-{10**30}",
    f"{10**30}",
    "99999999999999999999",
    str(2**63),
    str(2**64 + 1),
]
NOT_NUMBERS = [
    "abc",
    "1.5",
    "0x10",
    "1e3",
    "NaN",
    "inf",
    "%00",
    "1%00",
    "-",
    "+",
    "1_000x",
    "9" * 5000,
    quote("１２３") + "x",
    quote("' OR 1=1 --"),
]


def test_out_of_range_since_asks_for_a_resync(fresh_desk: Desk) -> None:
    desk = fresh_desk
    cid = post_inbound(desk, "something to replay")["conversation_id"]
    for since in ABSURD_BUT_NUMBERS:
        with feed(desk, desk.agent_token, since=since) as socket_:
            first = json.loads(socket_.recv(timeout=10))
            assert first["type"] == "resync_required", since
            assert first["seq"] >= head(desk) - 1  # (connecting may add a presence event)
            # Then the socket carries on live.
            sent = post_inbound(desk, f"after since={since}", cid)
            until_message(socket_, sent["message"]["id"])
    assert_healthy(desk)


def test_non_integer_since_is_refused_with_400(fresh_desk: Desk) -> None:
    desk = fresh_desk
    for since in NOT_NUMBERS:
        sock, status, _ = raw_handshake(desk, desk.agent_token, f"since={since}")
        sock.close()
        assert status == 400, f"since={since[:40]!r} answered HTTP {status}"
    # Repeated and unknown parameters: the first `since` counts; nothing breaks.
    sock, status, _ = raw_handshake(desk, desk.agent_token, "since=abc&since=1")
    sock.close()
    assert status == 400
    # An empty `since=` is no `since` at all (live only), like a missing one.
    for query in ("since=0&since=abc&x=%ff%fe", "since="):
        sock, status, _ = raw_handshake(desk, desk.agent_token, query)
        sock.close()
        assert status == 101, query
    assert_healthy(desk)


def test_garbage_frames_are_ignored_and_the_socket_keeps_streaming(fresh_desk: Desk) -> None:
    desk = fresh_desk
    with feed(desk, desk.agent_token, since=head(desk)) as socket_:
        socket_.send(b"\x00\xff\xfe binary garbage" * 100)
        socket_.send("{not json")
        socket_.send(json.dumps({"type": "resync_required", "seq": -1}))
        socket_.send("x" * 1_000_000)  # big, but under the frame limit
        socket_.send(b"\x1b]52;c;SGk=\x07")
        socket_.ping(b"are you there")
        sent = post_inbound(desk, "still streaming")
        until_message(socket_, sent["message"]["id"])
    assert_healthy(desk)


def test_a_frame_over_the_limit_closes_only_that_socket(fresh_desk: Desk) -> None:
    desk = fresh_desk
    with feed(desk, desk.agent_token, since=head(desk)) as bystander:
        with feed(desk, desk.agent_token, since=head(desk), max_size=None) as sender:
            with pytest.raises(ConnectionClosed) as closed:
                sender.send("y" * (20 * 1024 * 1024))  # over uvicorn's 16 MiB limit
                sender.recv(timeout=10)
                while True:
                    sender.recv(timeout=10)
            assert closed.value.rcvd is None or closed.value.rcvd.code in (1009, 1011, 1006)
        sent = post_inbound(desk, "the bystander still hears this")
        until_message(bystander, sent["message"]["id"])
    assert_healthy(desk)


def test_broken_framing_closes_only_that_socket(fresh_desk: Desk) -> None:
    desk = fresh_desk
    with feed(desk, desk.agent_token, since=head(desk)) as bystander:
        for garbage in (
            b"\x8f\x00",  # reserved opcode
            b"\x81\x05hello",  # an unmasked client frame
            b"\xf1\x80\x00\x00\x00\x00",  # reserved bits set
            b"\x01\x80\x00\x00\x00\x00\x02\x80\x00\x00\x00\x00",  # binary inside an open text message
            os.urandom(4096),
        ):
            sock, status, _ = raw_handshake(desk, desk.agent_token)
            assert status == 101
            sock.sendall(garbage)
            frames = read_frames(sock, limit=10)
            sock.close()
            closes = [payload for opcode, payload in frames if opcode == 0x8]
            if closes and len(closes[-1]) >= 2:
                assert struct.unpack("!H", closes[-1][:2])[0] in (1002, 1007, 1008, 1009, 1011)
        sent = post_inbound(desk, "the bystander is unaffected")
        until_message(bystander, sent["message"]["id"])
    assert_healthy(desk)


def test_a_client_that_never_reads_is_dropped_and_the_others_miss_nothing(fresh_desk: Desk) -> None:
    desk = fresh_desk
    slow_token = add_agent(desk.db, name="Slow Reader", email=f"slow-{uuid.uuid4().hex[:6]}@test.example")
    slow_id = desk.client(slow_token).get("/me").json()["id"]
    cid = post_inbound(desk, "start")["conversation_id"]
    start = head(desk)

    received: dict[str, list[dict]] = {"one": [], "two": []}
    done = threading.Event()

    def follow(name: str) -> None:
        with feed(desk, desk.agent_token, since=start) as socket_:
            while not done.is_set():
                try:
                    frame = json.loads(socket_.recv(timeout=0.5))
                except TimeoutError:
                    continue
                if frame["type"] != "ping":
                    received[name].append(frame)

    readers = [threading.Thread(target=follow, args=(name,), daemon=True) for name in received]
    for reader in readers:
        reader.start()

    # The slow client: a socket with a tiny receive buffer that never reads past the handshake.
    slow, status, _ = raw_handshake(desk, slow_token, f"since={start}", rcvbuf=4096)
    assert status == 101

    def slow_is_offline() -> bool:
        # Asked of the server, not read from a reader's stream: under load the reader threads
        # lag thousands of frames behind, and the drop must not wait for them to catch up.
        return presence_of_slow() == "offline"

    def presence_of_slow() -> str:
        agents = desk.admin.get("/agents").json()["items"]
        return next(a["presence"] for a in agents if a["id"] == slow_id)

    deadline = time.monotonic() + 30
    while presence_of_slow() != "online":  # its socket counts before the flood starts
        assert time.monotonic() < deadline, "the slow client never showed online"
        time.sleep(0.05)

    try:
        # Fill the pipes with a few big messages, then overflow the server's per-subscriber
        # queue (2000 batches) with small, cheap events.
        big = "z" * 150_000
        for _ in range(40):
            post_inbound(desk, big, cid)
        pushed = 0
        deadline = time.monotonic() + 240  # a bound on a hang, not a speed check (PostgreSQL under CI load)
        while not slow_is_offline():
            for _ in range(250):
                response = desk.admin.post("/inbound/typing", json={"conversation_id": cid, "active": True})
                assert response.status_code == 204
                pushed += 1
            assert time.monotonic() < deadline, f"the slow client was never dropped after {pushed} events"
        final = post_inbound(desk, "the end")["message"]["id"]
        end = head(desk)
        while time.monotonic() < deadline and not all(
            any(f["type"] == "message.created" and f["data"]["message"]["id"] == final for f in frames)
            for frames in received.values()
        ):
            time.sleep(0.05)
    finally:
        done.set()
        for reader in readers:
            reader.join(10)

    # The readers missed nothing: every seq from where they started to the end, in order.
    for name, frames in received.items():
        seqs = [f["seq"] for f in frames if f["seq"] <= end]
        assert seqs == list(range(start + 1, end + 1)), f"reader {name} has gaps or repeats"
    # The slow client, when it finally reads, finds a prefix of the log and then the close.
    frames = read_frames(slow, limit=10)
    slow.close()
    texts = [json.loads(payload) for opcode, payload in frames if opcode == 0x1]
    seqs = [t["seq"] for t in texts if "seq" in t and t.get("type") != "ping"]
    assert seqs == list(range(start + 1, start + 1 + len(seqs)))
    assert len(seqs) < end - start
    print(
        f"slow consumer: {pushed} events pushed, it got {len(seqs)} before the drop,"
        f" close frames {[c[:2] for o, c in frames if o == 8]}"
    )
    closes = [payload for opcode, payload in frames if opcode == 0x8]
    if closes:  # the close can only be delivered if it fit in the buffers
        assert struct.unpack("!H", closes[-1][:2])[0] == 4008
    assert_healthy(desk)
