"""The parts of the fault test (tests/test_faults.py): the desk server child that restarts on
its port, the driver that plays customers and keeps a ledger of what the server acknowledged,
the headless console child spoken to in JSON lines, and reads of the server's state."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agent_console.server.process import ServerProcess


@dataclass
class Sizes:
    events: int = 5000
    replies: int = 200
    drops: int = 20
    restarts: int = 2
    kills: int = 1
    conversations: int = 24
    typing_share: float = 0.15
    signal_conversations: int = 2  # the driver leaves these alone: typing patterns only

    @classmethod
    def for_run(cls, soak: bool) -> Sizes:
        if not soak:
            return cls()
        return cls(events=50_000, replies=2000, drops=200, restarts=20, kills=10, conversations=60)


# --- the pieces ------------------------------------------------------------------------


class Desk:
    """The server child, restartable on the same port and database."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.server = ServerProcess(db)
        self.url = self.server.start()
        self.port = int(self.url.rsplit(":", 1)[1])
        self.restarts = 0

    def restart(self, *, hard: bool, event_window: int | None = None) -> None:
        if hard:
            self.server.kill()
        else:
            self.server.stop()
        extra = ("--event-window", str(event_window)) if event_window else ()
        self.server = ServerProcess(self.db, port=self.port, extra_args=extra)
        assert self.server.start() == self.url
        self.restarts += 1

    def stop(self) -> None:
        self.server.stop()


class Driver:
    """Customers writing in: many concurrent requests straight to the server, each retried
    with its own Idempotency-Key until the server takes it."""

    def __init__(self, url: str, token: str, conversations: list[int], sizes: Sizes, seed: int) -> None:
        self.url = url
        self.token = token
        self.conversations = conversations
        self.sizes = sizes
        self.rng = random.Random(seed)
        self.messages = 0
        self.typing = 0
        self.retries = 0
        # The ledger: every customer message the server acknowledged, as it acknowledged it.
        self.acked: list[tuple[int, int, str]] = []  # (conversation id, message id, body)
        self.ledger_lock = threading.Lock()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="driver", daemon=True)
        self.run_id = uuid.uuid4().hex[:8]

    @property
    def pushed(self) -> int:
        return self.messages + self.typing

    def start(self) -> None:
        self.thread.start()

    def ledger(self) -> list[tuple[int, int, str]]:
        with self.ledger_lock:
            return list(self.acked)

    def wait_for_more(self, count: int, timeout: float = 60.0) -> None:
        """Until the server has acknowledged `count` more customer messages."""
        target = len(self.ledger()) + count
        deadline = time.monotonic() + timeout
        while len(self.ledger()) < target:
            self.check()
            assert time.monotonic() < deadline, f"the driver got no acknowledgement for {timeout} s"
            time.sleep(0.02)

    def check(self) -> None:
        if self.error is not None:
            raise self.error
        assert self.thread.is_alive() or self.stop.is_set(), "the driver stopped"

    def finish(self, timeout: float = 300.0) -> None:
        """Wait for the target number of events, then stop."""
        deadline = time.monotonic() + timeout
        while self.pushed < self.sizes.events:
            self.check()
            assert time.monotonic() < deadline, f"the driver pushed only {self.pushed} events"
            time.sleep(0.05)
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the driver did not stop"
        self.check()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by finish()
            self.error = exc

    async def _main(self) -> None:
        counter = itertools.count()
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        headers = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(
            base_url=f"{self.url}/api/v1", headers=headers, timeout=10, limits=limits
        ) as client:

            async def worker() -> None:
                while not (self.stop.is_set() and self.pushed >= self.sizes.events):
                    n = next(counter)
                    cid = self.rng.choice(self.conversations)
                    if self.rng.random() < self.sizes.typing_share:
                        path, key = "/inbound/typing", None
                        body = {"conversation_id": cid, "active": n % 2 == 0}
                    else:
                        path = "/inbound"
                        body = {
                            "channel": "sms",
                            "contact": {"name": "Driver"},
                            "conversation_id": cid,
                            "body": f"customer message {self.run_id}-{n}",
                        }
                        key = f"drv-{self.run_id}-{n}"
                    answer = await self._push(client, path, body, key)
                    if path == "/inbound":
                        message = answer["message"]
                        assert message["body"] == body["body"] and answer["conversation_id"] == cid, answer
                        with self.ledger_lock:
                            self.acked.append((cid, message["id"], message["body"]))
                        self.messages += 1
                    else:
                        self.typing += 1

            await asyncio.gather(*(worker() for _ in range(32)))

    async def _push(self, client: httpx.AsyncClient, path: str, body: dict, key: str | None) -> dict:
        headers = {"Idempotency-Key": key} if key else {}
        deadline = time.monotonic() + 120
        while True:
            try:
                response = await client.post(path, json=body, headers=headers)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code < 300:
                return response.json() if response.content else {}
            if response is not None and response.status_code < 500:
                raise AssertionError(f"driver refused: {response.status_code} {response.text}")
            assert time.monotonic() < deadline, f"the server took no {path} for 120 s"
            self.retries += 1  # the server is restarting: the same key, again
            await asyncio.sleep(0.05)


class Console:
    """The headless console as a child process, spoken to in JSON lines."""

    def __init__(self, server_url: str, token: str, db: Path, log: Path) -> None:
        self.server_url = server_url
        self.token = token
        self.db = db
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.answers: dict[int, dict] = {}
        self.reports: queue.Queue[dict] = queue.Queue()
        self.connection = "connecting"
        self.resyncs = 0
        self.sent_keys: set[str] = set()
        self.sent_ids: dict[str, int | None] = {}  # idempotency key -> the server's message id
        self.failed: dict[str, dict] = {}
        # How the console came by its data, in order: "rest" (a snapshot re-read over REST:
        # at start and after resync_required) and "feed" (the feed went live, or came back).
        self.history: list[str] = []
        self.lock = threading.Condition()
        self.ids = itertools.count(1)
        self.starts = 0
        self.stderr: list[str] = []

    def start(self) -> None:
        env = {**os.environ, "AGENT_CONSOLE_TOKEN": self.token}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agent_console.client.headless",
                "--server",
                self.server_url,
                "--db",
                str(self.db),
                "--track-all",
                "--backoff-cap",
                "1",
                "--log",
                str(self.log),
                "--log-level",
                "WARNING",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.starts += 1
        self.connection = "connecting"
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                report = json.loads(line)
            except ValueError:
                self.stderr.append(f"(stdout) {line}")
                continue
            with self.lock:
                if "re" in report:
                    self.answers[report["re"]] = report
                elif report.get("event") == "connection":
                    self.connection = report["kind"]
                    if report["kind"] == "live":
                        self.history.append("feed")
                elif report.get("event") == "snapshot":
                    self.history.append("rest")
                    self.resyncs += bool(report.get("replace"))
                elif report.get("event") == "outbox" and report["state"] == "sent":
                    self.sent_keys.add(report["key"])
                    self.sent_ids[report["key"]] = report.get("message_id")
                elif report.get("event") == "outbox" and report["state"] == "failed":
                    self.failed[report["key"]] = report
                self.lock.notify_all()

    def _read_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.stderr.append(line)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, command: dict) -> int:
        assert self.proc is not None and self.proc.stdin is not None
        ident = next(self.ids)
        self.proc.stdin.write(json.dumps({**command, "id": ident}) + "\n")
        self.proc.stdin.flush()
        return ident

    def wait(self, predicate: Any, what: str, timeout: float = 90.0) -> None:
        """Block until `predicate()` holds (a bound on a hang, not a speed check)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate():
                if not self.alive():
                    tail = "".join(self.stderr[-30:])
                    raise AssertionError(f"the console died waiting for {what}:\n{tail}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}:\n{''.join(self.stderr[-30:])}")
                self.lock.wait(min(left, 0.5))

    def ask(self, command: dict, timeout: float = 90.0) -> dict:
        ident = self.send(command)
        self.wait(lambda: ident in self.answers, f"an answer to {command['op']}", timeout)
        with self.lock:
            return self.answers.pop(ident)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def quit(self) -> dict:
        assert self.proc is not None and self.proc.stdin is not None
        self.send({"op": "quit"})
        self.proc.stdin.close()
        out = self.proc.wait(60)
        assert out == 0, "".join(self.stderr[-30:])
        return {}


@dataclass
class Replies:
    """Replies the test asked the console for, by number; `acked` once the console said
    they are durably queued."""

    marker: str
    console: Console
    asked: dict[int, int] = field(default_factory=dict)  # reply number -> command id
    acked: set[int] = field(default_factory=set)
    conversation: dict[int, int] = field(default_factory=dict)
    patches: dict[str, tuple[int, str]] = field(default_factory=dict)  # key -> (conversation, priority)

    def body(self, n: int) -> str:
        return f"{self.marker} reply #{n}"

    def key(self, n: int) -> str:
        return f"{self.marker}-{n}"

    def send(self, n: int, conversation_id: int) -> None:
        self.asked[n] = self.console.send(
            {
                "op": "reply",
                "conversation_id": conversation_id,
                "body": self.body(n),
                "key": self.key(n),
            }
        )
        self.conversation[n] = conversation_id

    def collect(self) -> None:
        with self.console.lock:
            for n, ident in list(self.asked.items()):
                answer = self.console.answers.pop(ident, None)
                if answer is not None:
                    assert answer["ok"], answer
                    self.acked.add(n)
                    del self.asked[n]

    def resend_unacked(self) -> None:
        """After a console restart: commands it never answered may never have been read."""
        for n in list(self.asked):
            self.send(n, self.conversation[n])


# --- the state the server holds ---------------------------------------------------------------


def server_state(client: httpx.Client) -> tuple[dict[int, tuple[str, int]], dict[int, list[int]], list[dict]]:
    conversations: dict[int, tuple[str, int]] = {}
    cursor = None
    while True:
        params = {"view": "all", "status": "all", "limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get("/conversations", params=params).json()
        for c in page["items"]:
            conversations[c["id"]] = (c["status"], c["seq"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    threads: dict[int, list[int]] = {}
    messages: list[dict] = []
    for cid in conversations:
        after = 0
        ids: list[int] = []
        while True:
            params = {"after": after, "limit": 1000}
            items = client.get(f"/conversations/{cid}/messages", params=params).json()
            ids += [m["id"] for m in items["items"]]
            messages += items["items"]
            if len(items["items"]) < 1000:
                break
            after = items["items"][-1]["id"]
        threads[cid] = ids
    return conversations, threads, messages


def differences(console: dict, server: tuple[dict, dict, list]) -> list[str]:
    conversations, threads, _ = server
    held = {int(k): tuple(v) for k, v in console["conversations"].items()}
    problems = []
    for cid, (status, seq) in conversations.items():
        if cid not in held:
            problems.append(f"conversation {cid} ({status}) missing from the console")
        elif held[cid] != (status, seq):
            problems.append(f"conversation {cid}: console {held[cid]} != server {(status, seq)}")
    for cid in held:
        if cid not in conversations:
            problems.append(f"conversation {cid} is not on the server")
    for key, ids in console["messages"].items():
        cid = int(key)
        if ids != threads.get(cid):
            missing = sorted(set(threads.get(cid, [])) - set(ids))
            extra = sorted(set(ids) - set(threads.get(cid, [])))
            problems.append(f"conversation {cid} messages: missing {missing[:10]}, extra {extra[:10]}")
    if console["refetching"]:
        problems.append(f"{console['refetching']} threads still being re-read")
    if console["outbox"].get("pending"):
        problems.append(f"{console['outbox']['pending']} outbox items still pending")
    return problems


def has_body(client: httpx.Client, conversation_id: int, body: str) -> bool:
    after = 0
    while True:
        items = client.get(
            f"/conversations/{conversation_id}/messages", params={"limit": 1000, "after": after}
        ).json()["items"]
        if any(m["body"] == body for m in items):
            return True
        if len(items) < 1000:
            return False
        after = items[-1]["id"]
