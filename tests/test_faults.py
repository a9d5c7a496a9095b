"""Nothing lost, nothing duplicated, under faults (issue #6).

The real desk server runs as a child process; the headless console (the TUI's client
stack without Textual: sync engine, reducer, durable outbox) runs as another, talking to
the server through a loopback proxy that drops, stalls and delays connections. While a
driver pushes customer messages (and some typing signals) straight to the server and the
console sends replies through its outbox, the test drops every connection again and
again, restarts the server on the same database and port (once cleanly, once with
SIGKILL; one phase with a tiny event window so the console must resync), and SIGKILLs the
console mid-send and starts it again.

At the end the console's state must equal a fresh REST read of the server's, and every
reply must be on the server exactly once.

`pytest --soak` runs it ten times larger.
"""

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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_console.server.process import ServerProcess
from tests.conftest import add_agent
from tests.faults.proxy import FaultProxy


@dataclass
class Sizes:
    events: int = 5000
    replies: int = 200
    drops: int = 20
    restarts: int = 2
    kills: int = 1
    conversations: int = 24
    typing_share: float = 0.15

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
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="driver", daemon=True)
        self.run_id = uuid.uuid4().hex[:8]

    @property
    def pushed(self) -> int:
        return self.messages + self.typing

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> None:
        """Wait for the target number of events, then stop."""
        while self.pushed < self.sizes.events and self.error is None and self.thread.is_alive():
            time.sleep(0.05)
        self.stop.set()
        self.thread.join(60)
        if self.error is not None:
            raise self.error

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
                    await self._push(client, path, body, key)
                    if path == "/inbound":
                        self.messages += 1
                    else:
                        self.typing += 1

            await asyncio.gather(*(worker() for _ in range(32)))

    async def _push(self, client: httpx.AsyncClient, path: str, body: dict, key: str | None) -> None:
        headers = {"Idempotency-Key": key} if key else {}
        while True:
            try:
                response = await client.post(path, json=body, headers=headers)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code < 300:
                return
            if response is not None and response.status_code < 500:
                raise AssertionError(f"driver refused: {response.status_code} {response.text}")
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
        self.failed: dict[str, dict] = {}
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
                elif report.get("event") == "snapshot" and report.get("replace"):
                    self.resyncs += 1
                elif report.get("event") == "outbox" and report["state"] == "sent":
                    self.sent_keys.add(report["key"])
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
    patches: int = 0

    def body(self, n: int) -> str:
        return f"{self.marker} reply #{n}"

    def send(self, n: int, conversation_id: int) -> None:
        self.asked[n] = self.console.send(
            {
                "op": "reply",
                "conversation_id": conversation_id,
                "body": self.body(n),
                "key": f"{self.marker}-{n}",
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
        if cid in held and held[cid] != (status, seq):
            problems.append(f"conversation {cid}: console {held[cid]} != server {(status, seq)}")
        elif cid not in held and status != "resolved":
            problems.append(f"conversation {cid} ({status}) missing from the console")
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


# --- the scenario -------------------------------------------------------------------------------


class Scenario:
    def __init__(self, tmp_path: Path, sizes: Sizes) -> None:
        self.sizes = sizes
        self.rng = random.Random(0xFA17)
        self.desk = Desk(tmp_path / "desk.db")
        admin_token = add_agent(self.desk.db, name="Driver Admin", email="driver@test.example", role="admin")
        agent_token = add_agent(self.desk.db, name="Night Agent", email="night@test.example")
        self.admin = httpx.Client(
            base_url=f"{self.desk.url}/api/v1", timeout=30, headers={"Authorization": f"Bearer {admin_token}"}
        )
        self.conversations = [self._open(n) for n in range(sizes.conversations)]
        self.proxy = FaultProxy(self.desk.port).start()
        self.console = Console(self.proxy.url, agent_token, tmp_path / "console.db", tmp_path / "console.log")
        self.replies = Replies(marker=f"FLT{uuid.uuid4().hex[:8]}", console=self.console)
        self.driver = Driver(self.desk.url, admin_token, self.conversations, sizes, seed=7)
        self.kills = 0
        self.numbers = iter(range(sizes.replies))
        self.priorities = itertools.cycle(["high", "normal", "low", "urgent"])
        rounds = max(1, sizes.restarts // 2)
        self.rounds = rounds
        self.drops_per_round = max(1, sizes.drops // rounds)
        self.per_step = max(1, sizes.replies // (sizes.drops + 8 * rounds))

    def _open(self, n: int) -> int:
        created = self.admin.post(
            "/inbound",
            json={
                "channel": "web_chat",
                "body": f"conversation {n} opens",
                "contact": {"name": f"Customer {n}", "email": f"c{n}-{uuid.uuid4().hex[:6]}@cust.example"},
            },
        )
        assert created.status_code == 201, created.text
        return created.json()["conversation_id"]

    def close(self) -> None:
        self.driver.stop.set()
        if self.console.alive():
            self.console.kill()
        self.proxy.stop()
        self.desk.stop()
        self.admin.close()

    # --- steps ---

    def send_replies(self, count: int) -> None:
        for n in itertools.islice(self.numbers, count):
            self.replies.send(n, self.rng.choice(self.conversations))

    def send_patch(self) -> None:
        self.console.send(
            {
                "op": "patch",
                "conversation_id": self.rng.choice(self.conversations),
                "patch": {"priority": next(self.priorities)},
            }
        )
        self.replies.patches += 1

    def drop_round(self, pause: float = 0.15) -> None:
        self.send_replies(self.per_step)
        time.sleep(pause * self.rng.uniform(0.5, 1.5))
        self.proxy.drop_all()
        self.replies.collect()

    def server_head(self) -> int:
        while True:
            try:
                return self.admin.get("/conversations", params={"limit": 1}).json()["head_seq"]
            except httpx.TransportError:
                time.sleep(0.1)

    def wait_live(self, what: str) -> None:
        self.console.wait(lambda: self.console.connection == "live", what)

    def drops_and_delays(self, count: int) -> None:
        for step in range(count):
            self.proxy.delay = 0.02 if step % 3 == 2 else 0.0
            if step % 4 == 1:
                self.send_patch()
            self.drop_round()
        self.proxy.delay = 0.0

    def stall_briefly(self) -> None:
        self.proxy.stall(1.0)
        self.send_replies(self.per_step)
        time.sleep(1.2)

    def restart_server(self, *, hard: bool, event_window: int | None = None) -> None:
        self.send_replies(self.per_step)
        self.desk.restart(hard=hard, event_window=event_window)
        self.wait_live("the console to come back after a server restart")

    def force_resync(self) -> None:
        """Hold the console while the log moves past its window (the server must be running
        with a small --event-window), then let it reconnect."""
        self.proxy.stall()
        held_at = self.server_head()
        self.send_replies(self.per_step)
        before = self.console.resyncs
        # Pruning runs every 1000 events and keeps `window` (100): 1300 events on, the
        # console's seq is outside what the server keeps.
        while self.server_head() < held_at + 1300:
            time.sleep(0.1)
        self.proxy.drop_all()
        self.proxy.resume()
        self.console.wait(lambda: self.console.resyncs > before, "the console to resync")

    def kill_console_mid_send(self) -> None:
        """SIGKILL the console while a reply is on the wire: the server writes it, the answer
        never arrives, and the next start sends it again (the server dedupes by key)."""
        replies, console = self.replies, self.console
        replies.collect()
        assert console.ask({"op": "flush"})["ok"]  # so the next reply is the one in flight
        self.proxy.stall(direction="down")
        first = next(self.numbers)
        replies.send(first, self.rng.choice(self.conversations))
        ident = replies.asked[first]
        console.wait(lambda: ident in console.answers, "the reply to be queued")
        replies.collect()
        self.send_replies(self.per_step)
        while not _has_body(self.admin, replies.conversation[first], replies.body(first)):
            time.sleep(0.1)
        replies.collect()
        console.kill()
        self.kills += 1
        self.proxy.drop_all()
        self.proxy.resume()
        console.start()
        replies.resend_unacked()
        self.wait_live("the restarted console to go live")

    def converge(self) -> tuple[dict, tuple[dict, dict, list]]:
        """Wait until the console's state equals a fresh REST read of the server's."""
        console, replies = self.console, self.replies
        console.wait(lambda: (replies.collect() or True) and not replies.asked, "every reply to be queued")
        assert console.ask({"op": "flush"}, timeout=120)["ok"]
        deadline = time.monotonic() + 120
        while True:
            state = console.ask({"op": "state"})
            server = server_state(self.admin)
            problems = differences(state, server)
            if not problems:
                return state, server
            if time.monotonic() > deadline:
                raise AssertionError("the console never caught up:\n" + "\n".join(problems[:20]))
            time.sleep(0.2)


# --- the test ------------------------------------------------------------------------------------


def test_nothing_lost_nothing_duplicated_under_faults(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    started = time.monotonic()
    sizes = Sizes.for_run(bool(request.config.getoption("--soak")))
    run = Scenario(tmp_path, sizes)
    try:
        run.console.start()
        run.wait_live("the console to go live")
        run.driver.start()
        for _ in range(run.rounds):
            run.drops_and_delays(run.drops_per_round // 2)
            run.stall_briefly()
            run.restart_server(hard=False, event_window=100)  # a clean stop; back with a tiny window
            run.force_resync()
            if run.kills < sizes.kills:
                run.kill_console_mid_send()
            run.drops_and_delays(run.drops_per_round - run.drops_per_round // 2)
            run.restart_server(hard=True)  # SIGKILL; back with the default window
        while run.proxy.drops < sizes.drops:
            run.drop_round(0.1)
        run.send_replies(sizes.replies)  # whatever is left
        run.driver.finish()

        _, server = run.converge()
        run.console.quit()

        replies, proxy = run.replies, run.proxy
        bodies = Counter(m["body"] for m in server[2] if m["body"].startswith(replies.marker))
        lost = [n for n in range(sizes.replies) if bodies[replies.body(n)] == 0]
        duplicated = [n for n in range(sizes.replies) if bodies[replies.body(n)] > 1]
        pushed = run.driver.pushed + sizes.replies + replies.patches
        print(
            f"fault test: events pushed={pushed} (customer messages={run.driver.messages},"
            f" typing={run.driver.typing}, replies={sizes.replies}, patches={replies.patches});"
            f" server head seq={run.server_head()}; drops={proxy.drops}"
            f" (connections cut={proxy.connections_dropped}); stalls={proxy.stalls};"
            f" restarts={run.desk.restarts}; kills={run.kills}; resyncs={run.console.resyncs};"
            f" driver retries={run.driver.retries}; lost={len(lost)}; duplicated={len(duplicated)};"
            f" {time.monotonic() - started:.1f}s"
        )
        assert not lost and not duplicated, f"lost {lost[:20]}, duplicated {duplicated[:20]}"
        assert not run.console.failed, list(run.console.failed.values())[:5]
        assert pushed >= sizes.events
        assert proxy.drops >= sizes.drops
        assert run.desk.restarts >= sizes.restarts and run.kills >= sizes.kills
        assert run.console.resyncs >= 1
    finally:
        run.close()


def _has_body(client: httpx.Client, conversation_id: int, body: str) -> bool:
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
