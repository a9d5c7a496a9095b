"""The P11 bench's instrument (bench/fanout_client.py in reconnect mode) counts what it claims.

Its lost, gap and duplicate figures are what P11 reports, so they are checked here: the seq
bookkeeping on crafted frames, and end to end against two real desk server processes on one
PostgreSQL, one of them killed while the client's sockets are on it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from bench.fanout_client import Feed

from agent_console.server.process import ServerProcess
from tests.conftest import add_agent

REPO = Path(__file__).resolve().parents[1]


def frame(seq: int, body: str = "hello") -> bytes:
    data = json.dumps({"message": {"body": body}}, separators=(",", ":"))
    return f'{{"seq":{seq},"type":"message.created","at":"2026-01-01T00:00:00Z","data":{data}}}'.encode()


def test_a_replayed_seq_counts_once_and_a_skipped_one_is_a_gap() -> None:
    feed = Feed(since=10)
    feed.event(frame(11, "FO000001 hi"), 1.0)
    feed.event(frame(11, "FO000001 hi"), 1.1)  # the same event again (a replay overlapping)
    feed.event(frame(13, "FO000003 hi"), 1.2)  # 12 never came
    feed.event(frame(14, "not a bench message"), 1.3)
    assert feed.received == [(1, 1.0), (3, 1.2)]
    assert (feed.dups, feed.gaps, feed.last) == (1, 1, 14)


def _post(url: str, token: str, conversation: int, serial: int) -> None:
    answer = httpx.post(
        f"{url}/api/v1/inbound",
        json={"channel": "web_chat", "contact": {"name": "x"}, "conversation_id": conversation,
              "body": f"FO{serial:06d} hello"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text


def test_sockets_of_a_killed_process_move_on_with_since_and_miss_nothing(pg_cluster, tmp_path: Path) -> None:
    dsn = pg_cluster.new_database()
    servers = [ServerProcess(dsn), ServerProcess(dsn)]
    client = None
    try:
        for server in servers:
            server.start()
        admin = add_agent(dsn, name="Avery Admin", email="admin@test.example", role="admin")
        tokens = [add_agent(dsn, name=f"Agent {i}", email=f"a{i}@test.example") for i in range(4)]
        first = httpx.post(
            f"{servers[1].url}/api/v1/inbound",
            json={"channel": "web_chat", "contact": {"name": "x"}, "body": "open a conversation"},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()
        conversation = first["conversation_id"]
        head = httpx.get(
            f"{servers[1].url}/api/v1/conversations", headers={"Authorization": f"Bearer {admin}"}
        ).json()["head_seq"]
        (tmp_path / "tokens").write_text("\n".join(tokens) + "\n")
        out = tmp_path / "out.json"
        client = subprocess.Popen(
            [sys.executable, "-m", "bench.fanout_client", f"{servers[0].url},{servers[1].url}",
             str(tmp_path / "tokens"), str(out), "--since", str(head)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        )  # fmt: skip
        assert client.stdout is not None and client.stdout.readline().startswith("READY")
        for serial in range(5):
            _post(servers[1].url, admin, conversation, serial)
        # Sockets 0 and 2 are on process 0. Frozen, it sends them nothing while five more
        # messages are stored; then it dies, and they must fetch those from the next process.
        servers[0].proc.send_signal(signal.SIGSTOP)
        for serial in range(5, 10):
            _post(servers[1].url, admin, conversation, serial)
        servers[0].proc.kill()
        servers[0].proc.wait(10)
        end = httpx.get(
            f"{servers[1].url}/api/v1/conversations", headers={"Authorization": f"Bearer {admin}"}
        ).json()["head_seq"]
        assert client.stdin is not None
        deadline = time.monotonic() + 30
        while True:  # until every socket has caught up with the log, or the deadline
            client.stdin.write("DUMP\n")
            client.stdin.flush()
            assert client.stdout.readline().strip() == "DUMPED"
            result = json.loads(out.read_text())
            if min(result["last"]) >= end or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        client.stdin.write("STOP\n")
        client.stdin.flush()
        client.wait(30)
        result = json.loads(out.read_text())
        assert [sorted(s for s, _ in received) for received in result["sockets"]] == [list(range(10))] * 4
        assert result["gaps"] == [0] * 4 and result["dups"] == [0] * 4
        assert min(result["last"]) >= end, "every socket caught up with the log"
        assert [len(moves) for moves in result["reconnects"]] == [1, 0, 1, 0]
    finally:
        if client is not None and client.poll() is None:
            client.kill()
            client.wait()
        for server in servers:
            server.stop()
