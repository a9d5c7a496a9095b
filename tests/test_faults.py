"""Nothing lost, nothing duplicated, under faults (issue #6).

The real desk server runs as a child process; the headless console (the TUI's client
stack without Textual: sync engine, reducer, durable outbox) runs as another, talking to
the server through a loopback proxy that drops, stalls and delays connections. While a
driver pushes customer messages (and some typing signals) straight to the server and the
console sends replies through its outbox, the test drops every connection again and
again, restarts the server on the same database and port (once cleanly, once with
SIGKILL; one phase with a tiny event window so the console must resync), and SIGKILLs the
console mid-send and starts it again.

The checks are against the driver's own ledger, not console against server alone:

- every customer message the server acknowledged (2xx) is on the server exactly once, with
  the id it was acknowledged with, and in the console's state; nothing else the driver wrote
  is on the server;
- every reply the console accepted is on the server exactly once and in the console's state;
  every patch was sent and the server holds the last one of each conversation;
- typing signals reach the console (two conversations of their own carry a pattern that
  changes every phase);
- every phase ends with a feed that was cut while events were on their way, and a checkpoint
  that must be reached with no REST re-read since the cut: the gap can only be filled by
  resuming the feed (REST re-reads and feed resumes are counted per phase);
- at the end the console's state equals a fresh REST read of the server's.

Every wait has a deadline. `pytest --soak` runs a ten times larger variant.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import add_agent
from tests.faults.harness import Console, Desk, Driver, Replies, Sizes, differences, has_body, server_state
from tests.faults.proxy import FaultProxy

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
        reserved = range(sizes.conversations, sizes.conversations + sizes.signal_conversations)
        self.signal_conversations = [self._open(n) for n in reserved]
        self.phases: list[dict[str, Any]] = []  # per phase: REST re-reads, feed resumes, what was checked
        self.proxy = FaultProxy(self.desk.port).start()
        # The customers' side has a proxy of its own: answers lost after the server wrote.
        self.driver_proxy = FaultProxy(self.desk.port).start()
        self.answers_lost = 0  # driver requests cut after the server took them
        self.console = Console(self.proxy.url, agent_token, tmp_path / "console.db", tmp_path / "console.log")
        self.replies = Replies(marker=f"FLT{uuid.uuid4().hex[:8]}", console=self.console)
        self.driver = Driver(self.driver_proxy.url, admin_token, self.conversations, sizes, seed=7)
        self.phase_started = 0  # index into console.history where the current phase began
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
        self.driver_proxy.stop()
        self.desk.stop()
        self.admin.close()

    # --- steps ---

    def send_replies(self, count: int) -> None:
        for n in itertools.islice(self.numbers, count):
            self.replies.send(n, self.rng.choice(self.conversations))

    def send_patch(self) -> None:
        cid, priority = self.rng.choice(self.conversations), next(self.priorities)
        key = f"{self.replies.marker}-patch-{len(self.replies.patches)}"
        patch = {"priority": priority}
        self.console.send({"op": "patch", "conversation_id": cid, "patch": patch, "key": key})
        self.replies.patches[key] = (cid, priority)

    def drop_round(self, pause: float = 0.15) -> None:
        self.send_replies(self.per_step)
        time.sleep(pause * self.rng.uniform(0.5, 1.5))
        self.proxy.drop_all()
        self.replies.collect()

    def server_head(self) -> int:
        deadline = time.monotonic() + 60
        while True:
            try:
                return self.admin.get("/conversations", params={"limit": 1}).json()["head_seq"]
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not answer for 60 s"
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
        deadline = time.monotonic() + 120
        while self.server_head() < held_at + 1300:
            self.driver.check()
            assert time.monotonic() < deadline, "the event log did not move on while the console was held"
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
        deadline = time.monotonic() + 60
        while not has_body(self.admin, replies.conversation[first], replies.body(first)):
            assert time.monotonic() < deadline, "the reply on the wire never reached the server"
            time.sleep(0.1)
        replies.collect()
        console.kill()
        self.kills += 1
        self.proxy.drop_all()
        self.proxy.resume()
        console.start()
        replies.resend_unacked()
        self.wait_live("the restarted console to go live")

    def end_phase(self, name: str, *, rest_reads: int | None = 0) -> None:
        """Close a phase: cut the feed while events are on their way to the console, let it
        resume, then require everything acknowledged so far (customer messages, replies,
        typing) in the console with no REST re-read since the cut. Only the feed's resumption
        from the console's last seq can fill that gap."""
        console, proxy, driver = self.console, self.proxy, self.driver
        phase = len(self.phases)
        self.set_typing(phase)
        self.lose_answers()
        proxy.stall(direction="down")  # events pile up in the proxy...
        driver.wait_for_more(40)
        cut = len(console.history)
        proxy.drop_all()  # ...and are lost with the connection
        proxy.resume()
        self.wait_live(f"the feed to come back in phase {name}")
        driver.wait_for_more(40)  # and more after it
        self.checkpoint(name, phase)
        history = console.history[self.phase_started :]
        after_cut = console.history[cut:]
        record = {
            "phase": name,
            "rest": history.count("rest"),
            "feed": history.count("feed"),
            "acked": len(driver.ledger()),
        }
        self.phases.append(record)
        assert "rest" not in after_cut, f"phase {name}: the console re-read over REST instead of resuming"
        assert after_cut.count("feed") >= 1, f"phase {name}: the feed never came back after the cut"
        if rest_reads is None:  # a forced resync: at least one re-read, then the feed again
            assert record["rest"] >= 1, f"phase {name}: the resync never re-read the state"
        else:
            assert record["rest"] == rest_reads, f"phase {name}: {record['rest']} REST re-reads"
        self.phase_started = len(console.history)

    def lose_answers(self) -> None:
        """Hold the server's answers to the driver while it writes, then cut those connections:
        the driver retries what the server already took, with the same Idempotency-Key, and the
        ledger must still hold each message once."""
        proxy = self.driver_proxy
        proxy.stall(direction="down")
        start = self.server_head()
        deadline = time.monotonic() + 60
        while self.server_head() < start + 20:
            assert time.monotonic() < deadline, "the server took nothing from the driver"
            time.sleep(0.02)
        self.answers_lost += proxy.drop_all()
        proxy.resume()

    def set_typing(self, phase: int) -> None:
        """A typing pattern of this phase on the conversations the driver leaves alone."""
        for n, cid in enumerate(self.signal_conversations):
            response = self.admin.post(
                "/inbound/typing", json={"conversation_id": cid, "active": (phase + n) % 2 == 0}
            )
            assert response.status_code == 204, response.text

    def checkpoint(self, name: str, phase: int) -> None:
        """Wait until the console holds all that was acknowledged up to now, and the typing pattern."""
        replies, console = self.replies, self.console
        replies.collect()
        ledger = self.driver.ledger()
        with console.lock:
            sent = [
                (replies.conversation[n], console.sent_ids.get(replies.key(n)))
                for n in replies.acked
                if replies.key(n) in console.sent_keys
            ]
        expected_typing = {
            str(cid) for n, cid in enumerate(self.signal_conversations) if (phase + n) % 2 == 0
        }
        deadline = time.monotonic() + 90
        while True:
            state = console.ask({"op": "state"})
            held = {int(k): set(v) for k, v in state["messages"].items()}
            missing = [(cid, mid) for cid, mid, _ in ledger if mid not in held.get(cid, ())]
            missing += [(cid, mid) for cid, mid in sent if mid is None or mid not in held.get(cid, ())]
            typing = {c for c, who in state["typing"].items() if any(w.startswith("contact:") for w in who)}
            typing &= {str(cid) for cid in self.signal_conversations}
            if not missing and typing == expected_typing:
                return
            assert time.monotonic() < deadline, (
                f"phase {name}: the console lacks {len(missing)} acknowledged messages {missing[:10]};"
                f" typing shown in {sorted(typing)}, expected {sorted(expected_typing)}"
            )
            time.sleep(0.2)

    def check_ledgers(self, state: dict, server: tuple[dict, dict, list]) -> None:
        """Everything acknowledged is on the server exactly once and in the console's state."""
        conversations, threads, messages = server
        held = {int(k): set(v) for k, v in state["messages"].items()}
        by_body: dict[str, list[dict]] = {}
        for message in messages:
            by_body.setdefault(message["body"], []).append(message)
        problems: list[str] = []
        # Customer messages: the driver's ledger.
        ledger = self.driver.ledger()
        assert len(ledger) == self.driver.messages
        for cid, mid, body in ledger:
            found = by_body.get(body, [])
            if [(m["conversation_id"], m["id"]) for m in found] != [(cid, mid)]:
                problems.append(f"acknowledged message {mid} {body!r} is on the server as {found[:3]}")
            elif mid not in held.get(cid, ()):
                problems.append(f"acknowledged message {mid} is not in the console's conversation {cid}")
        marker = f"customer message {self.driver.run_id}-"
        ours = {body for _, _, body in ledger}
        strays = [m["id"] for m in messages if m["body"].startswith(marker) and m["body"] not in ours]
        if strays:
            problems.append(f"messages on the server the driver never got an answer for: {strays[:10]}")
        # Replies: what the console accepted.
        replies, console = self.replies, self.console
        for n in range(self.sizes.replies):
            found = by_body.get(replies.body(n), [])
            sent_id = console.sent_ids.get(replies.key(n))
            if len(found) != 1:
                problems.append(f"reply #{n} is on the server {len(found)} times")
            elif found[0]["id"] != sent_id or sent_id not in held.get(found[0]["conversation_id"], ()):
                problems.append(f"reply #{n} ({found[0]['id']}): the console sent {sent_id} or lacks it")
        # Patches: each one sent, and the last of each conversation is what the server holds.
        last: dict[int, str] = {}
        for key, (cid, priority) in replies.patches.items():
            last[cid] = priority
            if key not in console.sent_keys:
                problems.append(f"patch {key} was never sent")
        for cid, priority in last.items():
            now = self.admin.get(f"/conversations/{cid}").json()["priority"]
            if now != priority:
                problems.append(f"conversation {cid} has priority {now}, the last patch set {priority}")
        if console.failed:
            problems.append(f"outbox failures: {list(console.failed.values())[:5]}")
        assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:30])

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


@pytest.mark.timeout(600)
def test_nothing_lost_nothing_duplicated_under_faults(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--soak"):
        pytest.skip("the soak variant runs instead")
    run_scenario(tmp_path, Sizes.for_run(False))


@pytest.mark.timeout(7200)
def test_nothing_lost_nothing_duplicated_under_faults_soak(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if not request.config.getoption("--soak"):
        pytest.skip("ten times larger: run with --soak")
    run_scenario(tmp_path, Sizes.for_run(True))


def run_scenario(tmp_path: Path, sizes: Sizes) -> None:
    started = time.monotonic()
    run = Scenario(tmp_path, sizes)
    try:
        run.console.start()
        run.wait_live("the console to go live")
        run.phase_started = len(run.console.history)  # the start's own REST read is not a phase's
        run.driver.start()
        for round_ in range(run.rounds):
            run.drops_and_delays(run.drops_per_round // 2)
            run.stall_briefly()
            run.end_phase(f"{round_}: drops, delays and a stall")
            run.restart_server(hard=False, event_window=100)  # a clean stop; back with a tiny window
            run.force_resync()
            run.restart_server(hard=True)  # SIGKILL; back with the default window
            run.end_phase(f"{round_}: restarts and a resync", rest_reads=None)
            if run.kills < sizes.kills:
                run.kill_console_mid_send()
                run.end_phase(f"{round_}: the console killed mid-send", rest_reads=1)
            run.drops_and_delays(run.drops_per_round - run.drops_per_round // 2)
            run.end_phase(f"{round_}: drops and delays")
        while run.proxy.drops < sizes.drops:
            run.drop_round(0.1)
        run.send_replies(sizes.replies)  # whatever is left
        run.driver.finish()

        state, server = run.converge()
        run.console.quit()
        run.check_ledgers(state, server)

        replies, proxy, driver = run.replies, run.proxy, run.driver
        print(
            f"fault test: customer messages acknowledged={len(driver.ledger())}, typing={driver.typing},"
            f" replies={sizes.replies}, patches={len(replies.patches)}; server head seq={run.server_head()};"
            f" drops={proxy.drops} (connections cut={proxy.connections_dropped}); stalls={proxy.stalls};"
            f" restarts={run.desk.restarts}; kills={run.kills}; resyncs={run.console.resyncs};"
            f" driver retries={driver.retries} (connections cut holding answers: {run.answers_lost});"
            f" phases (REST re-reads/feed resumes):"
            f" {[(p['phase'], p['rest'], p['feed']) for p in run.phases]}; lost=0; duplicated=0;"
            f" {time.monotonic() - started:.1f}s"
        )
        assert proxy.drops >= sizes.drops
        assert run.desk.restarts >= sizes.restarts and run.kills >= sizes.kills
        assert run.console.resyncs >= 1
        assert run.answers_lost >= len(run.phases)
        assert len(run.phases) == run.rounds * 3 + min(run.rounds, sizes.kills)
    finally:
        run.close()
