"""Several desk server processes on one PostgreSQL: the live feed's promises hold across them.

Four real server processes share one database. Eight writers post customer messages to
them round-robin; twenty agents' feed sockets are spread over them. Mid-run one process is
killed (SIGKILL) and a new one started: its sockets reconnect to the others with `since`, its
writers retry elsewhere with the same idempotency key. In the end every socket has seen every
event exactly once, in seq order, with no gap, and every message was stored once.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from itertools import count
from typing import Any

import httpx
import psycopg
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from agent_console.server.pg_connection import WRITE_HOLD_LIMIT_ENV, WRITE_WAIT_LIMIT_ENV, PgConnection
from agent_console.server.process import ServerProcess
from agent_console.server.store_base import Unavailable
from tests.conftest import add_agent

WRITERS = 8
READERS = 20
PER_WRITER = 30


class Cluster:
    """The running processes, as the readers and writers see them (a URL may go away)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.servers: list[ServerProcess] = []
        self.lock = threading.Lock()
        self.turn = count()

    def start_one(self) -> ServerProcess:
        server = ServerProcess(self.dsn, demo=False)
        server.start()
        with self.lock:
            self.servers.append(server)
        return server

    def kill(self, server: ServerProcess) -> None:
        with self.lock:
            self.servers.remove(server)
        assert server.proc is not None
        server.proc.kill()
        server.proc.wait(10)

    def pick(self) -> str:
        with self.lock:
            return self.servers[next(self.turn) % len(self.servers)].url


class Reader(threading.Thread):
    def __init__(self, cluster: Cluster, token: str, since: int) -> None:
        super().__init__(daemon=True)
        self.cluster, self.token, self.last = cluster, token, since
        self.seqs: list[int] = []
        self.messages: set[int] = set()
        self.reconnects = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                url = self.cluster.pick().replace("http://", "ws://") + f"/api/v1/events?since={self.last}"
                try:
                    with connect(url, additional_headers={"Authorization": f"Bearer {self.token}"}) as ws:
                        while not self.stop.is_set():
                            try:
                                frame = json.loads(ws.recv(timeout=0.2))
                            except TimeoutError:
                                continue
                            self._take(frame)
                except (ConnectionClosed, OSError):
                    self.reconnects += 1
                    time.sleep(0.1)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def _take(self, frame: dict) -> None:
        if frame["type"] == "ping":
            return
        assert frame["type"] != "resync_required", frame
        self.seqs.append(frame["seq"])
        self.last = frame["seq"]
        if frame["type"] == "message.created":
            self.messages.add(frame["data"]["message"]["id"])


class Writer(threading.Thread):
    def __init__(self, cluster: Cluster, token: str, number: int) -> None:
        super().__init__(daemon=True)
        self.cluster, self.token, self.number = cluster, token, number
        self.created: list[int] = []
        self.retries = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for i in range(PER_WRITER):
                self._post(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def _post(self, i: int) -> None:
        key = uuid.uuid4().hex  # the same key on every try: stored once whoever takes it
        payload = {
            "channel": "sms",
            "contact": {"name": f"Writer {self.number}", "phone": f"+1555010{self.number:02d}"},
            "body": f"writer {self.number} message {i}",
        }
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.post(
                    self.cluster.pick() + "/api/v1/inbound",
                    json=payload,
                    headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key},
                    timeout=10,
                )
                if response.status_code == 201:
                    self.created.append(response.json()["message"]["id"])
                    return
                assert response.status_code >= 500, response.text
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"writer {self.number} could not post message {i}"
            self.retries += 1
            time.sleep(0.05)


@pytest.mark.timeout(240)
def test_four_processes_one_feed_every_event_once_in_order(pg_cluster) -> None:
    dsn = pg_cluster.new_database()
    cluster = Cluster(dsn)
    for _ in range(4):
        cluster.start_one()
    admin = add_agent(dsn, name="Avery Admin", email="admin@test.example", role="admin")
    agent = add_agent(dsn, name="Sam Agent", email="sam@test.example")
    head = httpx.get(
        cluster.pick() + "/api/v1/conversations", headers={"Authorization": f"Bearer {agent}"}
    ).json()["head_seq"]
    try:
        readers = [Reader(cluster, agent, head) for _ in range(READERS)]
        for reader in readers:
            reader.start()
        time.sleep(1.0)  # every socket connected and live
        writers = [Writer(cluster, admin, n) for n in range(WRITERS)]
        for writer in writers:
            writer.start()
        # Mid-run: the process the most sockets may be on dies, a new one takes its place.
        while sum(len(w.created) for w in writers) < WRITERS * PER_WRITER // 3:
            time.sleep(0.05)
        cluster.kill(cluster.servers[0])
        cluster.start_one()
        for writer in writers:
            writer.join(120)
            assert writer.error is None, writer.error
        written = {m for w in writers for m in w.created}
        assert len(written) == WRITERS * PER_WRITER, "every message stored once"

        # Every socket catches up to the log's head, then they are compared.
        end = httpx.get(
            cluster.pick() + "/api/v1/conversations", headers={"Authorization": f"Bearer {agent}"}
        ).json()["head_seq"]
        deadline = time.monotonic() + 30
        while any(r.last < end for r in readers) and time.monotonic() < deadline:
            time.sleep(0.1)
        for reader in readers:
            reader.stop.set()
        for reader in readers:
            reader.join(10)
            assert reader.error is None, reader.error
            assert reader.last >= end, "caught up with the log"
            assert reader.seqs == list(range(head + 1, reader.last + 1)), "every event once, in order, no gap"
            assert written <= reader.messages
        assert sum(r.reconnects for r in readers) >= 1, "the killed process's sockets moved"
    finally:
        for server in list(cluster.servers):
            server.stop()


def test_idempotency_keys_and_rate_limits_hold_across_processes(pg_cluster) -> None:
    """A retried write lands once whichever process takes each try; a visitor's allowance is
    the desk's, not one per process behind the proxy."""
    from tests.widget_helpers import add_site_key

    dsn = pg_cluster.new_database()
    env = {"AGENT_CONSOLE_WIDGET_LIMITS": "sessions_per_ip=3/3600"}
    servers = [ServerProcess(dsn, env=env), ServerProcess(dsn, env=env)]
    try:
        for server in servers:
            server.start()
        admin = add_agent(dsn, name="Avery Admin", email="admin@test.example", role="admin")
        headers = {"Authorization": f"Bearer {admin}", "Idempotency-Key": uuid.uuid4().hex}
        payload = {
            "channel": "sms",
            "contact": {"name": "Ida", "phone": "+15550177"},
            "body": "charged twice",
        }
        first, second = (
            httpx.post(f"{s.url}/api/v1/inbound", json=payload, headers=headers) for s in servers
        )
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json(), "the second process answered the first one's result"
        thread = httpx.get(
            f"{servers[1].url}/api/v1/conversations/{first.json()['conversation_id']}/messages",
            headers={"Authorization": f"Bearer {admin}"},
        ).json()["items"]
        assert [m["body"] for m in thread if m["kind"] == "incoming"] == ["charged twice"]
        key = add_site_key(dsn)
        answers = [
            httpx.post(f"{servers[n % 2].url}/api/v1/widget/session", json={}, headers={"X-Site-Key": key})
            for n in range(4)
        ]
        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        assert int(answers[3].headers["Retry-After"]) >= 1
    finally:
        for server in servers:
            server.stop()


def test_the_email_outbox_is_sent_by_one_process_and_taken_over_when_it_dies(pg_cluster) -> None:
    """Replies go to the relay once each, whichever process queued them; when the process
    holding the outbox dies, another takes it over."""
    import smtplib

    from tests.mail_support import DESK_ADDRESS, RelaySink, customer_mail, smtp_port, wait_for

    dsn = pg_cluster.new_database()
    sink = RelaySink()
    sink.start()
    args = (
        "--smtp-port", "0", "--mail-address", DESK_ADDRESS, "--smtp-relay", f"127.0.0.1:{sink.port}",
        "--smtp-relay-tls", "none", "--smtp-retry-base", "0.1",
    )  # fmt: skip
    servers = []
    try:
        for _ in range(2):
            server = ServerProcess(dsn, extra_args=args)
            server.start()
            servers.append(server)
        agent = add_agent(dsn, name="Sam Agent", email="sam@test.example")
        with smtplib.SMTP("127.0.0.1", smtp_port(servers[0]), timeout=30) as client:
            client.send_message(customer_mail())
        client_for = lambda server: httpx.Client(  # noqa: E731
            base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {agent}"}, timeout=10
        )
        conv = wait_for(
            lambda: client_for(servers[1]).get("/conversations").json()["items"],
            what="the mail's conversation",
        )[0]["id"]

        def reply(server: ServerProcess, body: str) -> None:
            answer = client_for(server).post(f"/conversations/{conv}/messages", json={"body": body})
            assert answer.status_code == 201, answer.text

        def recorded_sent(count: int) -> bool:
            with psycopg.connect(dsn, autocommit=True) as pg:
                sent = pg.execute("SELECT count(*) FROM email_outbox WHERE state = 'sent'").fetchone()[0]
            return sent == count

        reply(servers[1], "First answer.")
        wait_for(lambda: len(sink.messages()) == 1, what="the first reply at the relay")
        # Killed between the relay's 250 and recording it as sent, a process leaves the reply
        # to be sent again, with the same Message-ID (at least once; docs/DEPLOYMENT.md): this
        # test is about the takeover, so it kills only once the first is recorded.
        wait_for(lambda: recorded_sent(1), what="the first reply recorded as sent")
        servers[0].proc.kill()  # one of the two holds the outbox; now the survivor must
        reply(servers[1], "Second answer.")
        wait_for(lambda: len(sink.messages()) == 2, timeout=20, what="the second reply")
        wait_for(lambda: recorded_sent(2), what="the second reply recorded as sent")
        third = ServerProcess(dsn, extra_args=args)
        third.start()
        servers.append(third)
        servers[1].proc.kill()  # whichever held it before, only the new process is left
        reply(third, "Third answer.")
        wait_for(lambda: len(sink.messages()) == 3, timeout=20, what="the third reply")
        time.sleep(1.0)  # nothing goes out twice
        bodies = [m.get_content().splitlines()[0] for m in sink.messages()]
        assert bodies == ["First answer.", "Second answer.", "Third answer."]
    finally:
        for server in servers:
            server.stop()
        sink.stop()


def test_a_process_outlives_its_database_going_away_and_coming_back() -> None:
    """The database restarts under a running desk: while it is down requests say 503
    `unavailable`, never a 500 and never a dead process; afterwards the same process serves."""
    import psycopg

    from tests.conftest import start_desk
    from tests.pg_cluster import PgCluster

    cluster = PgCluster().start()
    desk = None
    try:
        desk = start_desk(cluster.new_database(), demo=False)
        assert desk.agent.get("/me").status_code == 200
        # Its sessions are cut (a failover, pg_terminate_backend): the next request reconnects.
        with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
            ours = "SELECT pid FROM pg_stat_activity WHERE application_name = 'agent-console'"
            admin.execute(f"SELECT pg_terminate_backend(pid) FROM ({ours}) o")
        assert desk.agent.get("/me").status_code == 200
        assert desk.agent.get("/conversations").status_code == 200
        # Down for a while: a clear 503, the process stays up.
        cluster.pause()
        down = desk.agent.get("/conversations")
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "unavailable"
        assert desk.server.proc is not None and desk.server.proc.poll() is None
        cluster.resume()
        assert desk.agent.get("/conversations").status_code == 200
        posted = desk.admin.post(
            "/inbound",
            json={"channel": "sms", "contact": {"name": "Back", "phone": "+15550142"}, "body": "hi"},
        )
        assert posted.status_code == 201, posted.text
    finally:
        if desk is not None:
            desk.server.stop()
        cluster.stop()


def test_presence_counts_sockets_on_every_process_and_forgets_a_dead_one(pg_cluster) -> None:
    """Online while a console is connected to any process; a killed process's agents go
    offline once it stops beating, not never."""
    dsn = pg_cluster.new_database()
    env = {"AGENT_CONSOLE_PROCESS_EXPIRY": "2"}
    servers = [ServerProcess(dsn, env=env) for _ in range(3)]
    try:
        for server in servers:
            server.start()
        admin = add_agent(dsn, name="Avery Admin", email="admin@test.example", role="admin")
        agent = add_agent(dsn, name="Sam Agent", email="sam@test.example")
        headers = {"Authorization": f"Bearer {agent}"}
        me = httpx.get(f"{servers[0].url}/api/v1/me", headers=headers).json()["id"]

        def presence() -> str:
            agents = httpx.get(
                f"{servers[0].url}/api/v1/agents", headers={"Authorization": f"Bearer {admin}"}
            ).json()["items"]
            return next(a["presence"] for a in agents if a["id"] == me)

        def settles(want: str, timeout: float = 15.0) -> None:
            deadline = time.monotonic() + timeout
            while presence() != want:
                assert time.monotonic() < deadline, f"presence never became {want}"
                time.sleep(0.1)

        def socket(server: ServerProcess):  # noqa: ANN202
            return connect(
                server.url.replace("http://", "ws://") + "/api/v1/events", additional_headers=headers
            )

        first, second = socket(servers[0]), socket(servers[1])
        settles("online")
        first.close()
        time.sleep(1.0)  # the close is written at once; nothing may turn the agent offline
        assert presence() == "online", "a console on another process still holds the agent online"
        second.close()
        settles("offline")

        third = socket(servers[2])
        settles("online")
        servers[2].proc.kill()  # no goodbye: the others reap it after its heartbeat stops
        settles("offline")
        del third
    finally:
        for server in servers:
            server.stop()


def _hold_the_write_lock(dsn: str) -> PgConnection:
    """A session that takes the desk's write lock and then stops answering: what PostgreSQL
    sees of a server process frozen inside a write (SIGSTOP, a paused VM)."""
    frozen = PgConnection(dsn, application_name="frozen process")
    frozen.execute("BEGIN IMMEDIATE")
    frozen.execute("SELECT 1")
    return frozen


def _inbound(url: str, token: str, body: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/inbound",
        json={"channel": "web_chat", "contact": {"name": "Night"}, "body": body},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def test_a_process_frozen_inside_a_write_does_not_freeze_the_desk(pg_cluster, monkeypatch) -> None:
    """Its session is ended after the hold limit: the lock is free again, the other
    processes' writes go through, and the frozen write fails as a whole."""
    monkeypatch.setenv(WRITE_HOLD_LIMIT_ENV, "2")
    dsn = pg_cluster.new_database()
    server = ServerProcess(dsn, demo=False)
    server.start()
    frozen = None
    try:
        admin = add_agent(dsn, name="Avery Admin", email="admin@test.example", role="admin")
        frozen = _hold_the_write_lock(dsn)
        answer = _inbound(server.url, admin, "is anyone there?")
        assert answer.status_code == 201, answer.text
        with pytest.raises(Unavailable):  # it wakes up: its transaction is gone, not half done
            frozen.execute("INSERT INTO labels(name, color) VALUES ('frozen', 'red')")
        frozen.execute("ROLLBACK")
        assert frozen.execute("SELECT count(*) FROM labels WHERE name = 'frozen'").fetchone()[0] == 0
    finally:
        if frozen is not None:
            frozen.close()
        server.stop()


def test_a_write_that_cannot_get_the_lock_in_time_is_a_clear_503(pg_cluster, monkeypatch) -> None:
    """A holder stuck where its session is not idle (mid-statement) is not ended; writers behind
    it give up after the wait limit with `unavailable`, and write again once it lets go."""
    dsn = pg_cluster.new_database()
    server = ServerProcess(dsn, demo=False, env={WRITE_WAIT_LIMIT_ENV: "1"})
    server.start()
    monkeypatch.setenv(WRITE_HOLD_LIMIT_ENV, "0")  # the stuck holder: never ended
    stuck = None
    try:
        admin = add_agent(dsn, name="Avery Admin", email="admin@test.example", role="admin")
        stuck = _hold_the_write_lock(dsn)
        busy = _inbound(server.url, admin, "hello?")
        assert busy.status_code == 503, busy.text
        assert busy.json()["error"]["code"] == "unavailable"
        assert "write lock" in busy.json()["error"]["message"]
        stuck.execute("ROLLBACK")
        assert _inbound(server.url, admin, "hello again").status_code == 201
        listed = httpx.get(f"{server.url}/api/v1/conversations", headers={"Authorization": f"Bearer {admin}"})
        assert [c["last_message"]["body"] for c in listed.json()["items"]] == ["hello again"]
    finally:
        if stuck is not None:
            stuck.close()
        server.stop()


def test_a_write_waiting_for_the_lock_does_not_stop_the_process_serving(pg_cluster, monkeypatch) -> None:
    """While its write waits for the desk's lock (another process holds it), a process still
    answers reads and keeps its live feed: the wait is on its write thread, not its loop."""
    dsn = pg_cluster.new_database()
    server = ServerProcess(dsn, demo=False, env={WRITE_WAIT_LIMIT_ENV: "30"})
    server.start()
    monkeypatch.setenv(WRITE_HOLD_LIMIT_ENV, "0")  # the holder: never ended
    holder = None
    try:
        admin = add_agent(dsn, name="Avery Admin", email="admin@test.example", role="admin")
        headers = {"Authorization": f"Bearer {admin}"}
        holder = _hold_the_write_lock(dsn)
        answers: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: answers.append(_inbound(server.url, admin, "stuck?")))
        waiting.start()
        with psycopg.connect(dsn, autocommit=True) as watcher:  # until the post waits on the lock
            deadline = time.monotonic() + 20
            while not watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the post never reached the lock"
                time.sleep(0.05)
        with connect(f"{server.url.replace('http', 'ws')}/api/v1/events", additional_headers=headers) as feed:
            for _ in range(3):
                assert httpx.get(f"{server.url}/api/v1/me", headers=headers, timeout=10).status_code == 200
                listed = httpx.get(f"{server.url}/api/v1/conversations", headers=headers, timeout=10)
                assert listed.json()["items"] == []  # nothing written yet
            assert waiting.is_alive() and not answers  # and the post still waits
            holder.execute("ROLLBACK")
            waiting.join(30)
            assert answers and answers[0].status_code == 201, answers
            seen = json.loads(feed.recv(timeout=10))
            assert seen["type"] in ("conversation.created", "presence.updated")
    finally:
        if holder is not None:
            holder.close()
        server.stop()


def test_a_rate_limited_write_with_an_idempotency_key_stays_one_transaction(pg_cluster) -> None:
    """The web chat checks its limits inside the write a retry key opens: the check must join
    that transaction, not commit it half-way (which let go of the desk's lock before the
    write's events were appended), and a refused post leaves nothing behind."""
    from agent_console.server import db as database
    from agent_console.server.email_store import DeskStore
    from agent_console.server.pg_shared import SharedRateLimiter
    from agent_console.server.widget_store import RateLimited

    conn = database.connect(pg_cluster.new_database())
    try:
        store = DeskStore(conn)
        limiter = SharedRateLimiter(store)
        rules = [("message", "7", (2, 60.0), "messages from this chat")]
        inside: list[bool] = []

        def post(serial: int) -> tuple[int, Any]:
            limiter.check(rules)
            inside.append(conn.in_transaction)
            with store._write() as tx:  # noqa: SLF001 - the post's own write joins the same one
                tx.emit("typing", {"conversation_id": serial, "active": True})
            return 201, {"serial": serial}

        for serial in range(2):
            status, _ = store.idempotent(
                -7, f"key-{serial}", f"post {serial}".encode(), lambda s=serial: post(s)
            )
            assert status == 201
        assert inside == [True, True]
        with pytest.raises(RateLimited):
            store.idempotent(-7, "key-2", b"post 2", lambda: post(2))
        assert not conn.in_transaction
        counted = conn.execute("SELECT count(*) FROM rate_hits").fetchone()[0]
        keys = conn.execute("SELECT count(*) FROM idempotency WHERE principal_id = -7").fetchone()[0]
        assert (counted, keys) == (2, 2)
    finally:
        conn.close()
