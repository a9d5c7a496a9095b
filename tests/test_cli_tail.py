"""`agent-console tail`: the resume logic in-process, and the real thing across a restart."""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agent_console.cli.tail import BACKOFF_CAP, backoff_delay, follow, type_filter
from agent_console.client.backend import FeedItem
from agent_console.client.errors import NotAuthenticated, Unreachable
from agent_console.core.models import Event
from agent_console.server.process import ServerProcess
from tests.cli_support import REPO, base_env
from tests.conftest import Desk

# --- the resume logic, against a scripted backend -------------------------------------------------


def event(seq: int, kind: str = "message.created") -> FeedItem:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return FeedItem("event", event=Event(seq=seq, type=kind, at=at, data={"n": seq}), seq=seq)


class Stop(Exception):
    pass


class ScriptedBackend:
    """Each feed() call plays the next script: a list of items, then an optional error."""

    def __init__(self, scripts: list[tuple[list[FeedItem], Exception | None]], head: int = 0) -> None:
        self.scripts = scripts
        self.head = head
        self.since_calls: list[int | None] = []

    async def conversations(self, **kwargs: object):
        return type("Page", (), {"head_seq": self.head})()

    async def me(self) -> None:
        return None

    async def feed(self, since: int | None, *, presence: bool = True) -> AsyncIterator[FeedItem]:
        assert presence is False  # tail watches; it never marks the agent online or offline
        self.since_calls.append(since)
        if not self.scripts:
            raise Stop
        items, error = self.scripts.pop(0)
        for item in items:
            yield item
        if error is not None:
            raise error


def run_follow(backend: ScriptedBackend, since: int | None, **kwargs: object):
    import asyncio

    lines: list[str] = []
    statuses: list[str] = []
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    async def main() -> None:
        with pytest.raises(Stop):
            await follow(
                backend,
                since,
                emit=lines.append,
                status=statuses.append,
                sleep=sleep,
                rng=random.Random(7),
                **kwargs,
            )

    asyncio.run(main())
    return [json.loads(line) for line in lines], statuses, delays


def test_resumes_from_the_last_seq_without_gaps_or_duplicates() -> None:
    backend = ScriptedBackend(
        [
            ([event(1), event(2), event(3)], Unreachable("live feed lost: ConnectionClosedError")),
            ([], Unreachable("cannot connect")),
            ([event(2), event(3), event(4)], None),  # a replay overlapping what was printed
            ([event(5)], None),
        ]
    )
    frames, statuses, delays = run_follow(backend, 0)
    assert [f["seq"] for f in frames] == [1, 2, 3, 4, 5]
    assert frames[0] == {
        "seq": 1,
        "type": "message.created",
        "at": "2026-01-01T00:00:00.000000Z",
        "data": {"n": 1},
    }
    assert backend.since_calls == [0, 3, 3, 4, 5]
    assert len(statuses) == 6  # a line per drop (4) and per successful reconnect (2)
    assert "reconnecting after seq 3" in statuses[0] and "ConnectionClosedError" in statuses[0]
    assert any(s.startswith("tail: reconnected, resuming after seq 3") for s in statuses)
    # full jitter: attempt n waits uniformly within [0, 0.5 * 2^n]; reset after a connection
    assert 0 <= delays[0] <= 0.5 and 0 <= delays[1] <= 1.0 and 0 <= delays[2] <= 0.5


def test_anchor_at_head_without_since_and_resync() -> None:
    backend = ScriptedBackend(
        [([FeedItem("resync_required", seq=40), event(41), FeedItem("ping", seq=41)], None)],
        head=12,
    )
    frames, _, _ = run_follow(backend, None)
    assert frames == [{"type": "resync_required", "seq": 40}, frames[1]]
    assert frames[1]["seq"] == 41
    assert backend.since_calls == [12, 41]


def test_type_filter_still_advances_the_resume_point() -> None:
    backend = ScriptedBackend(
        [
            ([event(1, "typing"), event(2), event(3, "conversation.updated")], None),
        ]
    )
    wanted = type_filter(["message.created,conversation.*"])
    frames, _, _ = run_follow(backend, 0, wanted=wanted)
    assert [(f["seq"], f["type"]) for f in frames] == [(2, "message.created"), (3, "conversation.updated")]
    assert backend.since_calls == [0, 3]
    with pytest.raises(Exception, match="not an event type"):
        type_filter(["message.create"])


def test_auth_errors_stop_tailing() -> None:
    import asyncio

    backend = ScriptedBackend([([event(1)], NotAuthenticated("the live feed refused this token"))])
    with pytest.raises(NotAuthenticated):
        asyncio.run(follow(backend, 0, emit=lambda _: None, status=lambda _: None))


def test_backoff_is_full_jitter_capped_at_30s() -> None:
    rng = random.Random(1)
    for attempt in range(40):
        ceiling = min(BACKOFF_CAP, 0.5 * 2**attempt)
        samples = [backoff_delay(attempt, rng) for _ in range(50)]
        assert all(0 <= s <= ceiling for s in samples)
    assert max(backoff_delay(30, rng) for _ in range(200)) > 20  # it does reach towards the cap


# --- the real thing ------------------------------------------------------------------------------


class Tail:
    """`agent-console tail` as a child process, its stdout and stderr read by threads."""

    def __init__(self, args: list[str], env: dict[str, str | None]) -> None:
        child_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
        child_env["PYTHONPATH"] = str(REPO)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent_console", "tail", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.status: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.status), daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _pump(stream, sink: queue.Queue[str]) -> None:
        for line in stream:
            sink.put(line)

    def frames_until(self, seq: int, timeout: float = 30) -> list[dict]:
        """Read printed frames until one with `seq` (or higher) arrived."""
        deadline = time.monotonic() + timeout
        got: list[dict] = []
        while not got or got[-1].get("seq", -1) < seq:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            self.stdout.append(line)
            got.append(json.loads(line))
        return got

    def available(self, wait: float) -> list[dict]:
        """Frames printed within `wait` seconds (stops at the first quiet moment after one)."""
        got: list[dict] = []
        try:
            while True:
                line = self.lines.get(timeout=wait if not got else 0.2)
                self.stdout.append(line)
                got.append(json.loads(line))
        except queue.Empty:
            return got

    def status_matching(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.status.get(timeout=max(0.01, deadline - time.monotonic()))
            self.stderr.append(line)
            if text in line:
                return line

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(20)
        for reader in self.readers:
            reader.join(10)  # both pipes are at EOF now
        while not self.lines.empty():
            self.stdout.append(self.lines.get())
        while not self.status.empty():
            self.stderr.append(self.status.get())
        return code


def head_seq(desk: Desk) -> int:
    return desk.admin.get("/conversations", params={"limit": 1}).json()["head_seq"]


def inbound(desk: Desk, body: str) -> None:
    payload = {"channel": "sms", "contact": {"name": "Tail Tester", "phone": "+15550199"}, "body": body}
    assert desk.admin.post("/inbound", json=payload).status_code == 201


def test_tail_survives_a_server_restart_without_gaps_or_duplicates(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    inbound(desk, "before the tail started")
    tail = Tail(["--since", "0", "--backoff-cap", "0.5"], env)
    restarted: ServerProcess | None = None
    try:
        inbound(desk, "before the restart")
        before = head_seq(desk)
        printed = tail.frames_until(before)

        port = urlsplit(desk.url).port
        desk.server.stop()
        tail.status_matching("reconnecting")
        # Changes committed while the server is down (another process on the same database).
        from agent_console.core.models import InboundContact, InboundMessage
        from agent_console.server import db
        from agent_console.server.store import Store

        store = Store(db.connect(desk.db))
        for n in range(3):
            store.inbound(
                InboundMessage(
                    channel="email", body=f"while down {n}", contact=InboundContact(name=f"Offline {n}")
                )
            )
        during = store.head_seq()
        store.conn.close()
        assert during > before

        restarted = ServerProcess(desk.db, port=port, extra_args=("--event-window", "100"))
        assert restarted.start() == desk.url
        printed += tail.frames_until(during)
        tail.status_matching("reconnected, resuming after seq")
        inbound(desk, "after the restart")
        after = head_seq(desk)
        printed += tail.frames_until(after)
        raw = server_frames(desk, after)
        assert tail.stop(signal.SIGINT) == 0
    finally:
        if tail.proc.poll() is None:
            tail.proc.kill()
        if restarted is not None:
            restarted.stop()

    seqs = [frame["seq"] for frame in printed]
    assert seqs == list(range(1, after + 1)), seqs  # no gap, no duplicate, in order
    bodies = [f["data"]["message"]["body"] for f in printed if f["type"] == "message.created"]
    assert bodies[:2] == ["before the tail started", "before the restart"]
    assert [b for b in bodies if b.startswith("while down")] == [f"while down {n}" for n in range(3)]
    assert bodies[-1] == "after the restart"
    assert "Traceback" not in "".join(tail.stderr)
    # The lines are the server's own frames, byte for byte.
    assert [line.rstrip("\n") for line in tail.stdout[: len(raw)]] == raw


def server_frames(desk: Desk, count: int) -> list[str]:
    """The first `count` event frames of the log, as the server sends them."""
    from websockets.sync.client import connect

    url = desk.url.replace("http://", "ws://") + "/api/v1/events?since=0"
    raw: list[str] = []
    with connect(
        url, additional_headers={"Authorization": f"Bearer {desk.admin_token}"}, open_timeout=5
    ) as socket:
        while len(raw) < count:
            frame = socket.recv(timeout=5)
            if json.loads(frame)["type"] != "ping":
                raw.append(frame)
    return raw


def test_tail_type_filter_live_and_sigterm(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    tail = Tail(["--type", "message.created"], env)
    try:
        marker = uuid.uuid4().hex
        # The tail anchors at the head before it connects; write until it shows ours.
        deadline = time.monotonic() + 30
        seen: list[dict] = []
        while not any(f["data"]["message"]["body"] == marker for f in seen):
            assert time.monotonic() < deadline
            inbound(desk, marker)
            seen += tail.available(wait=1.0)
        assert {f["type"] for f in seen} == {"message.created"}
        assert tail.stop(signal.SIGTERM) == 0
    finally:
        if tail.proc.poll() is None:
            tail.proc.kill()
    assert "Traceback" not in "".join(tail.stderr)


def test_tail_bad_type_is_usage(tmp_path: Path) -> None:
    from tests.cli_support import invoke

    ran = invoke("tail", "--type", "nonsense", env=base_env(tmp_path))
    assert ran.code == 2 and "not an event type" in ran.stderr


def agent_presence(desk: Desk, email: str) -> str:
    agents = desk.admin.get("/agents").json()["items"]
    return next(a["presence"] for a in agents if a["email"] == email)


def test_tail_leaves_presence_unchanged(fresh_desk: Desk, tmp_path: Path) -> None:
    """Watching the feed is not being on shift: tail neither brings the agent online when it
    connects nor takes them offline when it stops."""
    desk = fresh_desk
    sam = "sam@test.example"
    assert agent_presence(desk, sam) == "offline"
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    inbound(desk, "already there")
    tail = Tail(["--since", "0"], env)
    try:
        tail.frames_until(head_seq(desk))  # connected: the server has handled its handshake
        assert agent_presence(desk, sam) == "offline"
        # On shift in the console meanwhile (its own REST call): stopping tail keeps it so.
        assert desk.agent.patch("/me", json={"presence": "online"}).status_code == 200
        inbound(desk, "while tailing")
        printed = tail.frames_until(head_seq(desk))
        assert tail.stop(signal.SIGTERM) == 0
    finally:
        if tail.proc.poll() is None:
            tail.proc.kill()
    inbound(desk, "after tail stopped")  # a later request, after the feed connection closed
    assert agent_presence(desk, sam) == "online"
    changes = [f["data"]["presence"] for f in printed if f["type"] == "presence.updated"]
    assert changes == ["online"]  # the agent's own change only, none from tail itself


def test_feed_presence_parameter_takes_0_or_1(fresh_desk: Desk) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    desk = fresh_desk
    headers = {"Authorization": f"Bearer {desk.agent_token}"}
    base = desk.url.replace("http://", "ws://") + "/api/v1/events"
    for bad in ("2", "false", "yes"):
        with pytest.raises(InvalidStatus) as caught:
            connect(f"{base}?presence={bad}", additional_headers=headers, open_timeout=5)
        response = caught.value.response
        assert response.status_code == 400
        assert json.loads(response.body)["error"] == {
            "code": "bad_request",
            "message": "presence must be 0 or 1",
        }
    # presence=1 is the default: the agent's console connection puts them online.
    with connect(f"{base}?presence=1", additional_headers=headers, open_timeout=5):
        deadline = time.monotonic() + 10
        while agent_presence(desk, "sam@test.example") != "online":
            assert time.monotonic() < deadline
            time.sleep(0.05)
