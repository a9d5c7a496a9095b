"""The sync engine against the real desk server, through the fault proxy: it resumes a cut feed
from the last seq it applied (no gap, no repeat, no REST re-read), re-reads the snapshot only
when the server says `resync_required`, counts a silent socket as dead, and stops on a bad token."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from agent_console.client.errors import NotAuthenticated
from agent_console.client.native import NativeBackend
from agent_console.client.sync import ConnectionState, Snapshot, SyncEngine
from agent_console.core.models import Event
from tests.conftest import Desk
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.timeout(120)


class Recorder:
    """What the engine told its front end, in order."""

    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []
        self.events: list[Event] = []
        self.states: list[ConnectionState] = []

    def snapshot(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)

    def take(self, events: list[Event]) -> None:
        self.events.extend(events)

    def state(self, state: ConnectionState) -> None:
        self.states.append(state)

    def kinds(self) -> list[str]:
        return [s.kind for s in self.states]


async def until(condition, what: str, timeout: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def inbound(desk: Desk, body: str, conversation_id: int | None = None) -> dict:
    payload = {"channel": "web_chat", "contact": {"name": "Sync Tester"}, "body": body}
    if conversation_id is not None:
        payload["conversation_id"] = conversation_id
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


def head(desk: Desk) -> int:
    return desk.admin.get("/conversations", params={"limit": 1}).json()["head_seq"]


def port(desk: Desk) -> int:
    return int(desk.url.rsplit(":", 1)[1])


async def start(desk: Desk, proxy: FaultProxy, recorder: Recorder, **kwargs: float):  # noqa: ANN201
    backend = NativeBackend(proxy.url, desk.agent_token, timeout=5)
    engine = SyncEngine(
        backend,
        on_snapshot=recorder.snapshot,
        on_events=recorder.take,
        on_state=recorder.state,
        backoff_base=0.01,
        backoff_cap=0.05,
        **kwargs,
    )
    task = asyncio.create_task(engine.run())
    await until(lambda: "live" in recorder.kinds(), "the feed to go live")
    return backend, engine, task


async def stop(backend: NativeBackend, task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await backend.aclose()


def seqs(recorder: Recorder) -> list[int]:
    return [e.seq for e in recorder.events]


async def test_a_cut_feed_resumes_from_the_last_seq_without_gap_or_repeat(fresh_desk: Desk) -> None:
    desk = fresh_desk
    cid = inbound(desk, "before the console")["conversation_id"]
    with FaultProxy(port(desk)) as proxy:
        recorder = Recorder()
        backend, engine, task = await start(desk, proxy, recorder)
        try:
            [snapshot] = recorder.snapshots
            assert not snapshot.replace and [c.id for c in snapshot.conversations] == [cid]
            for n in range(3):
                proxy.stall(direction="down")  # events pile up in the proxy, then die with it
                for m in range(15):
                    await asyncio.to_thread(inbound, desk, f"round {n} message {m}", cid)
                target = await asyncio.to_thread(head, desk)
                proxy.drop_all()
                proxy.resume()
                await until(lambda t=target: max(seqs(recorder), default=0) >= t, f"round {n}'s events")
            applied = seqs(recorder)
            assert applied == list(range(snapshot.head_seq + 1, applied[-1] + 1))  # no gap, no repeat
            bodies = [e.data["message"]["body"] for e in recorder.events if e.type == "message.created"]
            assert bodies == [f"round {n} message {m}" for n in range(3) for m in range(15)]
            assert len(recorder.snapshots) == 1  # resumed from the feed, never re-read over REST
            assert engine.reconnects >= 3 and engine.seq == applied[-1]
            kinds = recorder.kinds()
            assert kinds[0] == "connecting" and kinds.count("live") >= 4 and "reconnecting" in kinds
            lost = [s for s in recorder.states if s.kind == "reconnecting"]
            assert all(s.since is not None and s.retry_at is not None for s in lost)
        finally:
            await stop(backend, task)


async def test_resync_required_re_reads_the_snapshot_then_follows_on(fresh_desk: Desk) -> None:
    desk = fresh_desk  # --event-window 100
    cid = inbound(desk, "first")["conversation_id"]
    with FaultProxy(port(desk)) as proxy:
        recorder = Recorder()
        backend, engine, task = await start(desk, proxy, recorder)
        try:
            proxy.stall()
            held = await asyncio.to_thread(head, desk)
            # The log is pruned every 1000 events, keeping 100: 1300 on, the held seq is gone.
            with httpx.Client(
                base_url=desk.api, headers={"Authorization": f"Bearer {desk.admin_token}"}
            ) as c:
                for _ in range(1300):
                    assert (
                        c.post("/inbound/typing", json={"conversation_id": cid, "active": True}).status_code
                        == 204
                    )
            inbound(desk, "after the gap", cid)
            later = desk.admin.get(f"/conversations/{cid}").json()
            proxy.drop_all()
            proxy.resume()
            await until(lambda: len(recorder.snapshots) == 2, "the resync")
            again = recorder.snapshots[1]
            assert again.replace and again.head_seq > held + 1000
            [copy] = [c for c in again.conversations if c.id == cid]
            assert copy.seq >= later["seq"] and copy.last_message.body == "after the gap"
            inbound(desk, "live again", cid)
            await until(
                lambda: any(e.data.get("message", {}).get("body") == "live again" for e in recorder.events),
                "the next live event",
            )
            assert engine.seq >= desk.admin.get(f"/conversations/{cid}").json()["seq"]
            applied = seqs(recorder)
            assert applied == sorted(set(applied))  # never backwards, never twice
        finally:
            await stop(backend, task)


async def test_a_silent_socket_counts_as_dead(fresh_desk: Desk) -> None:
    desk = fresh_desk
    with FaultProxy(port(desk)) as proxy:
        recorder = Recorder()
        backend, engine, task = await start(desk, proxy, recorder, heartbeat=1.0)
        try:
            proxy.stall(direction="down")  # the socket stays open; nothing comes through
            await until(lambda: "reconnecting" in recorder.kinds(), "the engine to give up on the socket")
            assert "heartbeat" in next(s.detail for s in recorder.states if s.kind == "reconnecting")
            proxy.resume()
            proxy.drop_all()
            cid = inbound(desk, "after the silence")["conversation_id"]
            await until(
                lambda: any(e.data.get("conversation", {}).get("id") == cid for e in recorder.events),
                "events after the silence",
            )
            assert recorder.kinds()[-1] == "live" and len(recorder.snapshots) == 1
        finally:
            await stop(backend, task)


async def test_a_refused_token_is_offline_and_final(fresh_desk: Desk, tmp_path: Path) -> None:
    recorder = Recorder()
    backend = NativeBackend(fresh_desk.url, "acd_not-a-real-token", timeout=5)
    engine = SyncEngine(
        backend, on_snapshot=recorder.snapshot, on_events=recorder.take, on_state=recorder.state
    )
    try:
        with pytest.raises(NotAuthenticated):
            await asyncio.wait_for(engine.run(), 30)
    finally:
        await backend.aclose()
    assert recorder.kinds() == ["connecting", "offline"] and recorder.snapshots == []


async def test_a_quiet_desk_is_live_as_soon_as_the_feed_is_open(fresh_desk: Desk) -> None:
    # Another console of the same agent keeps them online, so this connection causes no event:
    # nothing at all follows the handshake until the 15 s keepalive.
    other = NativeBackend(fresh_desk.url, fresh_desk.agent_token, timeout=5)
    held = other.feed(None).__aiter__()
    assert (await asyncio.wait_for(held.__anext__(), 10)).kind == "open"

    def online() -> bool:
        agents = fresh_desk.admin.get("/agents").json()["items"]
        return any(a["presence"] == "online" for a in agents if a["email"] == "sam@test.example")

    await until(online, "the agent online through the other connection", timeout=10)
    recorder = Recorder()
    backend = NativeBackend(fresh_desk.url, fresh_desk.agent_token, timeout=5)
    engine = SyncEngine(
        backend, on_snapshot=recorder.snapshot, on_events=recorder.take, on_state=recorder.state
    )
    task = asyncio.create_task(engine.run())
    try:
        # Well inside the keepalive interval: the open socket is what makes it live.
        await until(lambda: "live" in recorder.kinds(), "the live state", timeout=10)
        assert recorder.events == []
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await backend.aclose()
        await held.aclose()
        await other.aclose()
