"""The live feed: replay from `since`, live delivery, `resync_required`, auth, garbage."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import ENGINES, Desk, start_desk

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL


def feed(desk: Desk, token: str | None, since: int | None = None):
    url = desk.url.replace("http://", "ws://") + "/api/v1/events"
    if since is not None:
        url += f"?since={since}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return connect(url, additional_headers=headers, open_timeout=5)


def frames(socket, count: int, timeout: float = 5.0, *, presence: bool = False) -> list[dict]:
    """The next `count` event frames. Keepalive pings are skipped, and so are presence
    events unless asked for (connecting a socket marks its agent online)."""
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        frame = json.loads(socket.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame["type"] == "ping" or (frame["type"] == "presence.updated" and not presence):
            continue
        out.append(frame)
    return out


def post_inbound(desk: Desk, body: str, conversation_id: int | None = None) -> dict:
    payload = {"channel": "sms", "contact": {"name": "Feed Tester", "phone": "+15550100"}, "body": body}
    if conversation_id:
        payload["conversation_id"] = conversation_id
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201
    return response.json()


def test_feed_refuses_missing_and_bad_tokens(fresh_desk: Desk) -> None:
    for token in (None, "acd_wrong"):
        with pytest.raises(InvalidStatus) as caught:
            feed(fresh_desk, token)
        assert caught.value.response.status_code == 401


def test_replay_from_since_then_live(fresh_desk: Desk) -> None:
    desk = fresh_desk
    created = post_inbound(desk, "one")
    post_inbound(desk, "two", created["conversation_id"])
    with feed(desk, desk.agent_token, since=0) as socket:
        replayed = frames(socket, 3)
        assert [f["type"] for f in replayed] == ["conversation.created", "message.created", "message.created"]
        seqs = [f["seq"] for f in replayed]
        assert seqs == sorted(seqs) and len(set(seqs)) == 3
        assert replayed[2]["data"]["message"]["body"] == "two"
        assert replayed[0]["at"].endswith("Z")
        # Live: a change made now arrives next, carrying the conversation's new state.
        post_inbound(desk, "three", created["conversation_id"])
        live = frames(socket, 1)
        assert live[0]["type"] == "message.created"
        assert live[0]["data"]["message"]["body"] == "three"
        assert live[0]["seq"] > seqs[-1]
        assert live[0]["data"]["conversation"]["seq"] == live[0]["seq"]
    # Resuming from the middle replays only what came after.
    with feed(desk, desk.agent_token, since=seqs[1]) as socket:
        resumed = frames(socket, 1)
        assert resumed[0]["seq"] == seqs[2]


def test_every_change_is_an_event(fresh_desk: Desk) -> None:
    desk = fresh_desk
    cid = post_inbound(desk, "hello")["conversation_id"]
    head = desk.agent.get("/conversations").json()["head_seq"]
    with feed(desk, desk.agent_token, since=head) as socket:
        desk.agent.patch(f"/conversations/{cid}", json={"priority": "high"})
        desk.agent.post(f"/conversations/{cid}/messages", json={"body": "hi"})
        desk.agent.post(f"/conversations/{cid}/typing", json={"active": True})
        desk.agent.patch("/me", json={"presence": "away"})
        got = frames(socket, 6, presence=True)
        assert got[0]["type"] == "presence.updated"  # connecting put the agent online
        assert [f["type"] for f in got[1:]] == [
            "message.created",
            "conversation.updated",
            "message.created",
            "typing",
            "presence.updated",
        ]
        assert got[-1]["data"]["presence"] == "away"


def test_since_older_than_the_window_gets_resync_required(fresh_desk: Desk) -> None:
    desk = fresh_desk  # keeps only the last 100 events
    cid = post_inbound(desk, "start")["conversation_id"]
    for n in range(1010):
        desk.admin.post("/inbound/typing", json={"conversation_id": cid, "active": bool(n % 2)})
    head = desk.agent.get("/conversations").json()["head_seq"]
    with feed(desk, desk.agent_token, since=1) as socket:
        first = json.loads(socket.recv(timeout=5))
        assert first["type"] == "resync_required"
        assert first["seq"] >= head  # (connecting may add a presence event)
        # After the demand, the feed carries on live from the head.
        post_inbound(desk, "after resync", cid)
        after = frames(socket, 1)[0]
        assert after["seq"] > first["seq"]


def test_since_beyond_the_head_gets_resync_required(fresh_desk: Desk) -> None:
    with feed(fresh_desk, fresh_desk.agent_token, since=10**9) as socket:
        assert json.loads(socket.recv(timeout=5))["type"] == "resync_required"


def test_garbage_frames_and_absurd_since_do_not_hurt_the_server(fresh_desk: Desk) -> None:
    desk = fresh_desk
    with feed(desk, desk.agent_token, since=-5) as socket:
        assert json.loads(socket.recv(timeout=5))["type"] == "resync_required"
        socket.send(b"\x00\xff garbage")
        socket.send("{not json")
        post_inbound(desk, "still alive")
        assert frames(socket, 2)[-1]["type"] == "message.created"
    with pytest.raises(InvalidStatus) as caught:
        feed(desk, desk.agent_token, since="abc")  # type: ignore[arg-type]
    assert caught.value.response.status_code == 400
    assert desk.agent.get("/me").status_code == 200


def test_quiet_feed_sends_keepalive_pings(tmp_path) -> None:
    desk = start_desk(tmp_path / "desk.db", demo=False, extra_args=("--ping-interval", "0.2"))
    try:
        with feed(desk, desk.agent_token, since=0) as socket:
            pings = []
            deadline = time.monotonic() + 5
            while len(pings) < 2 and time.monotonic() < deadline:
                frame = json.loads(socket.recv(timeout=5))
                if frame["type"] == "ping":
                    pings.append(frame)
            assert len(pings) == 2
            assert isinstance(pings[0]["seq"], int) and pings[0]["at"].endswith("Z")
    finally:
        desk.server.stop()


def test_many_agents_connecting_at_once_cost_few_presence_events(fresh_desk: Desk) -> None:
    """Presence changes from feed connections are coalesced: sixteen agents connecting together
    come online in a handful of `presence.updated` events (one with `agents: [...]`), not
    sixteen events to every socket; the roster ends the same."""
    import threading
    from contextlib import ExitStack

    from tests.conftest import add_agent

    desk = fresh_desk
    tokens = [add_agent(desk.db, name=f"Shift {n}", email=f"shift{n}@test.example") for n in range(16)]
    head = desk.agent.get("/conversations").json()["head_seq"]
    with feed(desk, desk.admin_token, since=head) as watcher:
        frames(watcher, 1, presence=True)  # the watcher's own agent coming online
        opened = ExitStack()
        barrier = threading.Barrier(len(tokens))

        def open_one(token: str) -> None:
            barrier.wait()
            opened.enter_context(feed(desk, token))

        threads = [threading.Thread(target=open_one, args=(t,)) for t in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        try:
            online: set[int] = set()
            events = 0
            deadline = time.monotonic() + 30
            while len(online) < len(tokens):
                assert time.monotonic() < deadline, f"only {len(online)} came online"
                frame = frames(watcher, 1, timeout=max(0.1, deadline - time.monotonic()), presence=True)[0]
                assert frame["type"] == "presence.updated"
                events += 1
                for item in frame["data"].get("agents") or [frame["data"]]:
                    if item["presence"] == "online":
                        online.add(item["agent_id"])
            assert events < len(tokens) // 2, f"{events} presence events for {len(tokens)} agents"
            roster = {a["id"]: a["presence"] for a in desk.admin.get("/agents").json()["items"]}
            assert all(roster[agent_id] == "online" for agent_id in online)
        finally:
            opened.close()
