"""The durable outbox against the real desk server: durable queueing, exactly-once delivery,
conflict then forced retry, failures that are final, failures that are not."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from agent_console.client.errors import BackendError, NotAuthenticated
from agent_console.client.native import NativeBackend
from agent_console.client.outbox import Outbox, OutboxItem, OutboxSender, _retryable
from agent_console.core.models import ConversationPatch
from tests.conftest import Desk
from tests.faults.proxy import FaultProxy


def new_conversation(desk: Desk, body: str = "Hello, my eSIM is stuck") -> int:
    payload = {
        "channel": "web_chat",
        "contact": {"name": "Outbox Tester", "email": f"{uuid.uuid4().hex[:10]}@cust.example"},
        "body": body,
    }
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201
    return response.json()["conversation_id"]


def bodies(desk: Desk, conversation_id: int) -> list[str]:
    items = desk.agent.get(f"/conversations/{conversation_id}/messages").json()["items"]
    return [m["body"] for m in items]


async def settle(outbox: Outbox, sender: OutboxSender) -> None:
    """Drain until nothing is pending and due (no waiting on backoff in these tests)."""
    for _ in range(100):
        await sender.drain()
        if not outbox.due():
            return
    raise AssertionError(f"outbox did not settle: {outbox.counts()}")


def test_enqueue_is_durable_and_keyed(tmp_path: Path) -> None:
    db = tmp_path / "local.db"
    outbox = Outbox(db, "http://desk.example", account="7")
    item = outbox.enqueue_message(12, "first reply", key="k-1")
    again = outbox.enqueue_message(12, "first reply", key="k-1")
    note = outbox.enqueue_message(12, "a note", private=True)
    patch = outbox.enqueue_patch(13, ConversationPatch(priority="high"))
    assert again.id == item.id and item.idempotency_key == "k-1"
    assert note.idempotency_key and note.idempotency_key != item.idempotency_key
    outbox.close()

    reopened = Outbox(db, "http://desk.example", account="7")
    assert [i.id for i in reopened.items_for(12)] == [item.id, note.id]
    assert [i.state for i in reopened.items()] == ["pending"] * 3
    assert reopened.items_for(12)[1].private
    assert reopened.get(patch.id).patch() == ConversationPatch(priority="high")
    assert reopened.counts() == {"pending": 3, "sent": 0, "failed": 0}
    # First in line per conversation only: the note waits behind the reply.
    assert [i.id for i in reopened.due()] == [item.id, patch.id]
    # Another server (or account) shares the file, not the queue.
    assert Outbox(db, "http://other.example", account="7").items() == []
    assert Outbox(db, "http://desk.example", account="8").items() == []
    with pytest.raises(ValueError):
        reopened.enqueue_patch(13, ConversationPatch())


async def test_reply_is_sent_once_and_reported(desk: Desk, tmp_path: Path) -> None:
    cid = new_conversation(desk)
    backend = NativeBackend(desk.url, desk.agent_token)
    outbox = Outbox(tmp_path / "local.db", desk.url)
    seen: list[tuple[int, str]] = []
    sender = OutboxSender(outbox, backend, on_change=lambda i: seen.append((i.id, i.state)))
    try:
        item = outbox.enqueue_message(cid, "We are on it")
        await settle(outbox, sender)
        done = outbox.get(item.id)
        assert done is not None and done.state == "sent" and done.attempts == 1
        server = desk.agent.get(f"/conversations/{cid}/messages").json()["items"]
        assert done.message_id == server[-1]["id"] and server[-1]["body"] == "We are on it"
        assert seen == [(item.id, "pending"), (item.id, "sent")]
        assert outbox.items_for(cid, states=["sent"]) == [done]
    finally:
        sender.close()
        await backend.aclose()


async def test_resend_after_lost_answer_creates_nothing_new(desk: Desk, tmp_path: Path) -> None:
    """The console sent, the server wrote, the console died before recording the answer:
    the next start sends again with the same key and gets the first message back."""
    cid = new_conversation(desk)
    db = tmp_path / "local.db"
    backend = NativeBackend(desk.url, desk.agent_token)
    try:
        item = Outbox(db, desk.url).enqueue_message(cid, "Sent once, answer lost")
        first = await backend.send_message(cid, item.body, idempotency_key=item.idempotency_key)
        outbox = Outbox(db, desk.url)  # "after the restart"
        assert outbox.get(item.id).state == "pending"
        sender = OutboxSender(outbox, backend)
        await settle(outbox, sender)
        assert outbox.get(item.id).message_id == first.id
        assert bodies(desk, cid).count("Sent once, answer lost") == 1
    finally:
        await backend.aclose()


async def test_conflict_keeps_unseen_then_forced_retry_sends_once(desk: Desk, tmp_path: Path) -> None:
    cid = new_conversation(desk, "first question")
    seen_id = desk.agent.get(f"/conversations/{cid}/messages").json()["items"][-1]["id"]
    desk.admin.post(
        "/inbound",
        json={
            "channel": "web_chat",
            "contact": {"name": "x"},
            "body": "second question",
            "conversation_id": cid,
        },
    )
    backend = NativeBackend(desk.url, desk.agent_token)
    outbox = Outbox(tmp_path / "local.db", desk.url)
    changes: list[OutboxItem] = []
    sender = OutboxSender(outbox, backend, on_change=changes.append)
    try:
        item = outbox.enqueue_message(cid, "answer to the first", last_seen_message_id=seen_id)
        await settle(outbox, sender)
        failed = outbox.get(item.id)
        assert failed.state == "failed" and failed.reason == "conflict" and failed.is_conflict
        assert [m.body for m in failed.unseen] == ["second question"]
        assert changes[-1] == failed
        assert "answer to the first" not in bodies(desk, cid)

        retried = outbox.retry(item.id, force=True)
        assert retried.state == "pending" and retried.payload["force"] is True and retried.unseen == []
        assert retried.idempotency_key == item.idempotency_key
        await settle(outbox, sender)
        assert outbox.get(item.id).state == "sent"
        assert bodies(desk, cid).count("answer to the first") == 1
        with pytest.raises(ValueError):
            outbox.retry(item.id)  # only failed items go back in the queue
    finally:
        sender.close()
        await backend.aclose()


async def test_client_errors_fail_at_once_and_do_not_block_the_queue(desk: Desk, tmp_path: Path) -> None:
    cid = new_conversation(desk)
    backend = NativeBackend(desk.url, desk.agent_token)
    outbox = Outbox(tmp_path / "local.db", desk.url)
    sender = OutboxSender(outbox, backend)
    try:
        missing = outbox.enqueue_message(2**40, "to nowhere")
        too_long = outbox.enqueue_message(cid, "x" * 200_001)
        after = outbox.enqueue_message(cid, "behind the failed one")
        bad_patch = outbox.enqueue_patch(cid, ConversationPatch(assignee_id=2**40))
        await settle(outbox, sender)
        assert outbox.get(missing.id).state == "failed"
        assert outbox.get(missing.id).reason.startswith("not found")
        assert outbox.get(missing.id).attempts == 1
        assert outbox.get(too_long.id).state == "failed"
        assert outbox.get(after.id).state == "sent"
        assert outbox.get(bad_patch.id).state == "failed"
        outbox.discard(missing.id)
        assert outbox.get(missing.id) is None
    finally:
        sender.close()
        await backend.aclose()


async def test_patches_go_through_the_outbox_in_order(desk: Desk, tmp_path: Path) -> None:
    cid = new_conversation(desk)
    backend = NativeBackend(desk.url, desk.agent_token)
    outbox = Outbox(tmp_path / "local.db", desk.url)
    sender = OutboxSender(outbox, backend)
    try:
        before = desk.agent.get("/conversations").json()["head_seq"]
        outbox.enqueue_message(cid, "Fixed it for you")
        patch = outbox.enqueue_patch(cid, ConversationPatch(status="resolved", priority="low"))
        await settle(outbox, sender)
        assert outbox.get(patch.id).state == "sent"
        state = desk.agent.get(f"/conversations/{cid}").json()
        assert (state["status"], state["priority"]) == ("resolved", "low")
        # Sending the same PATCH again (a lost answer) changes nothing and writes no event.
        head = desk.agent.get("/conversations").json()["head_seq"]
        await backend.update_conversation(cid, outbox.get(patch.id).patch())
        assert desk.agent.get("/conversations").json()["head_seq"] == head
        # The reply went out first: the server's log has its message before the resolve.
        order = await asyncio.wait_for(_what_happened(backend, cid, before, count=2), 30)
        assert order == ["message.created:Fixed it for you", "conversation.updated:resolved"], order
    finally:
        sender.close()
        await backend.aclose()


async def test_unreachable_keeps_items_pending_until_the_server_is_back(desk: Desk, tmp_path: Path) -> None:
    cid = new_conversation(desk)
    proxy = FaultProxy(_port(desk)).start()
    backend = NativeBackend(proxy.url, desk.agent_token, timeout=5)
    outbox = Outbox(tmp_path / "local.db", proxy.url)
    sender = OutboxSender(outbox, backend, backoff_base=0.01, backoff_cap=0.05)
    try:
        proxy.refuse = True
        item = outbox.enqueue_message(cid, "through the outage")
        for _ in range(3):
            await sender.drain()
        held = outbox.get(item.id)
        assert held.state == "pending" and held.attempts >= 3 and held.reason
        assert sender.failures >= 3
        proxy.refuse = False
        await settle(outbox, sender)
        assert outbox.get(item.id).state == "sent" and sender.failures == 0
        assert bodies(desk, cid).count("through the outage") == 1
    finally:
        sender.close()
        await backend.aclose()
        proxy.stop()


async def test_run_loop_sends_what_is_queued_while_it_runs(desk: Desk, tmp_path: Path) -> None:
    cid = new_conversation(desk)
    backend = NativeBackend(desk.url, desk.agent_token)
    outbox = Outbox(tmp_path / "local.db", desk.url)
    sent = asyncio.Event()
    sender = OutboxSender(
        outbox, backend, idle_poll=30, on_change=lambda i: sent.set() if i.state == "sent" else None
    )
    drained = asyncio.Event()
    drain = sender.drain

    async def drain_and_tell() -> int:
        result = await drain()
        drained.set()
        return result

    sender.drain = drain_and_tell
    task = asyncio.create_task(sender.run())
    try:
        await asyncio.wait_for(drained.wait(), 10)  # it found nothing to do and went to sleep
        assert not sent.is_set()
        outbox.enqueue_message(cid, "queued while running")
        # Well inside the 30 s idle poll: only being woken by the new item sends it this soon.
        await asyncio.wait_for(sent.wait(), 10)
        assert bodies(desk, cid).count("queued while running") == 1
    finally:
        task.cancel()
        sender.close()
        await backend.aclose()


async def test_bad_token_fails_nothing(desk: Desk, tmp_path: Path) -> None:
    cid = new_conversation(desk)
    backend = NativeBackend(desk.url, "acd_not-a-real-token")
    outbox = Outbox(tmp_path / "local.db", desk.url)
    sender = OutboxSender(outbox, backend)
    try:
        item = outbox.enqueue_message(cid, "after sign-in")
        with pytest.raises(NotAuthenticated):
            await sender.drain()
        assert outbox.get(item.id).state == "pending"
    finally:
        sender.close()
        await backend.aclose()


def test_which_answers_are_worth_another_try() -> None:
    def error(status: int | None) -> BackendError:
        return BackendError("x", status=status)

    assert all(_retryable(error(s)) for s in (None, 408, 429, 500, 502, 503, 504))
    assert not any(_retryable(error(s)) for s in (400, 403, 404, 409, 413, 422))


async def _what_happened(backend: NativeBackend, cid: int, since: int, count: int) -> list[str]:
    """The first `count` message and conversation events of one conversation after `since`."""
    seen: list[str] = []
    async for item in backend.feed(since):
        event = item.event
        if item.kind != "event" or event is None:
            continue
        message = event.data.get("message") or {}
        ours = message.get("conversation_id") == cid and message.get("kind") != "activity"
        if event.type == "message.created" and ours:
            seen.append(f"message.created:{event.data['message']['body']}")
        elif event.type == "conversation.updated" and event.data["conversation"]["id"] == cid:
            seen.append(f"conversation.updated:{event.data['conversation']['status']}")
        if len(seen) == count:
            return seen
    return seen


def _port(desk: Desk) -> int:
    return int(desk.url.rsplit(":", 1)[1])
