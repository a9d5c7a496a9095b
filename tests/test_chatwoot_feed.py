"""Chatwoot's live feed through the sync engine: live events, reconnect catch-up, dead sockets,
de-duplication, and replies that never double (issue #11).

ActionCable keeps nothing for a client that was away, so these tests change the account while
no socket listens (the emulator stopped, or its sockets silent) and check that the console
still ends up with every change, each message once.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from agent_console.client.outbox import Outbox, OutboxSender
from agent_console.client.sync import ConnectionState, Snapshot, SyncEngine
from agent_console.core.models import Event
from agent_console.core.reducer import DeskState


class Watcher:
    """The console's client stack without a screen: sync engine -> reducer, threads opened."""

    def __init__(self, backend, *, heartbeat: float = 10.0) -> None:
        self.backend = backend
        self.state = DeskState()
        self.applied: Counter[int] = Counter()  # message id -> times the feed handed it over
        self.kinds: list[str] = []
        self.engine = SyncEngine(
            backend,
            on_snapshot=self._snapshot,
            on_events=self._events,
            on_state=self._state,
            heartbeat=heartbeat,
            backoff_base=0.05,
            backoff_cap=0.5,
        )
        self.task: asyncio.Task | None = None

    async def _snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.replace:
            self.state.replace_snapshot(snapshot.conversations, snapshot.head_seq)
        else:
            self.state.load_snapshot(snapshot.conversations, snapshot.head_seq)

    async def _events(self, batch: list[Event]) -> None:
        for event in batch:
            self.state.apply(event, datetime.now(UTC))
            message = event.data.get("message")
            if event.type == "message.created" and message:
                self.applied[message["id"]] += 1

    def _state(self, state: ConnectionState) -> None:
        self.kinds.append(state.kind)

    async def start(self, open_threads: list[int]) -> None:
        self.task = asyncio.create_task(self.engine.run())
        await until(lambda: "live" in self.kinds, "the feed goes live")
        for conversation_id in open_threads:
            self.state.track(conversation_id)
            self.state.set_messages(conversation_id, await self.backend.messages(conversation_id))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass
        await self.backend.aclose()

    def thread(self, conversation_id: int) -> list[str]:
        return [m.body for m in self.state.thread(conversation_id)]


async def until(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


async def test_live_events_reach_the_console(chatwoot) -> None:
    watcher = Watcher(chatwoot.backend())
    try:
        await watcher.start([1])
        chatwoot.customer_says(1, "is anyone there?")
        await until(lambda: "is anyone there?" in watcher.thread(1), "the customer's message shows")
        conversation = watcher.state.conversations[1]
        assert conversation.last_message is not None and conversation.last_message.body == "is anyone there?"
        row = chatwoot.account.conversations[4]
        chatwoot.emulator.call(chatwoot.account.set_status, row, chatwoot.admin, "resolved", None)
        await until(
            lambda: watcher.state.conversations[4].status == "resolved", "a colleague's resolve shows"
        )
        # A colleague typing (through Chatwoot's typing route) shows as a signal.
        import httpx

        headers = {"api_access_token": chatwoot.admin.token}
        async with httpx.AsyncClient(base_url=chatwoot.url, headers=headers) as admin:
            answer = await admin.post(
                "/api/v1/accounts/1/conversations/1/toggle_typing_status", json={"typing_status": "on"}
            )
            assert answer.status_code == 200
        await until(
            lambda: any(s.name == "Ana Ruiz" for s in watcher.state.signals_for(1, datetime.now(UTC))),
            "the colleague's typing shows",
        )
        assert chatwoot.emulator.presence_updates >= 1  # the console said it is online
        # The agent's own reply moves the conversation's last message on in the queue too.
        await watcher.backend.send_message(1, "agent says hi")
        await until(
            lambda: (
                (watcher.state.conversations[1].last_message or None) is not None
                and watcher.state.conversations[1].last_message.body == "agent says hi"
            ),
            "the queue row shows the reply",
        )
        assert all(count == 1 for count in watcher.applied.values())
    finally:
        await watcher.stop()


async def test_a_restart_loses_nothing_the_catch_up_refetches_it(chatwoot) -> None:
    """Changes made while Chatwoot was down (so no socket heard them) reach the console after
    it reconnects: conversations by last activity in every view, the open thread after its
    last id, each message once."""
    watcher = Watcher(chatwoot.backend())
    account = chatwoot.account
    try:
        await watcher.start([1, 2])
        catch_ups = watcher.backend.catch_ups
        chatwoot.emulator.stop()
        account.customer_message(1, "sent while you were away")
        account.customer_message(2, "me too")
        account.set_status(account.conversations[4], chatwoot.admin, "resolved", None)
        account.assign(account.conversations[3], chatwoot.admin, chatwoot.admin.id)
        newcomer = account.open_conversation(
            account.add_contact("Nia Obi", "nia@cust.example"), "first time here"
        )
        chatwoot.emulator.start()
        await until(lambda: "sent while you were away" in watcher.thread(1), "the missed message in thread 1")
        await until(lambda: "me too" in watcher.thread(2), "the missed message in thread 2")
        await until(lambda: watcher.state.conversations[4].status == "resolved", "the missed resolve")
        assignee = watcher.state.conversations[3].assignee
        assert assignee is not None and assignee.id == chatwoot.admin.id
        assert newcomer.display_id in watcher.state.conversations
        assert watcher.backend.catch_ups > catch_ups
        # After the catch-up the live feed carries on, and nothing arrived twice.
        chatwoot.customer_says(1, "and now live again")
        await until(lambda: "and now live again" in watcher.thread(1), "live again")
        assert watcher.thread(1).count("sent while you were away") == 1
        assert all(count == 1 for count in watcher.applied.values()), watcher.applied
    finally:
        await watcher.stop()


async def test_a_silent_socket_is_dead_after_three_missed_pings(chatwoot) -> None:
    # The engine's own heartbeat is set far out: only the adapter's ping rule can notice.
    watcher = Watcher(chatwoot.backend(), heartbeat=600.0)
    try:
        await watcher.start([2])
        subscriptions = chatwoot.emulator.subscriptions
        chatwoot.emulator.stall()  # no pings, no events: the socket is still open
        chatwoot.customer_says(2, "said into the silence")
        await until(lambda: "reconnecting" in watcher.kinds, "the console notices the dead socket")
        await until(lambda: chatwoot.emulator.subscriptions > subscriptions, "it subscribes again")
        await until(lambda: "said into the silence" in watcher.thread(2), "the catch-up brings the message")
        assert watcher.thread(2).count("said into the silence") == 1
    finally:
        await watcher.stop()


async def test_a_lost_answer_never_doubles_a_reply(chatwoot, tmp_path: Path) -> None:
    """Chatwoot stores the reply, the answer is lost: the outbox tries again, the adapter reads
    back first, finds the reply, and records it as sent (with Chatwoot's id) instead of
    sending a second copy. Also across a console restart (a new adapter, nothing in memory)."""
    outbox = Outbox(tmp_path / "local.db", chatwoot.url, account="night")
    for round_ in range(2):
        body = f"Your refund was sent today ({round_})"
        item = outbox.enqueue_message(1, body)
        chatwoot.emulator.lose_answers(1)
        backend = chatwoot.backend()
        sender = OutboxSender(outbox, backend, backoff_base=0.01, backoff_cap=0.05)
        assert await sender.send_one(item) == "later"  # an answer we never got: try again later
        if round_ == 1:  # the console restarts: a new adapter that remembers nothing
            sender.close()
            await backend.aclose()
            backend = chatwoot.backend()
            sender = OutboxSender(outbox, backend, backoff_base=0.01, backoff_cap=0.05)
        deadline = time.monotonic() + 20
        while outbox.get(item.id).state == "pending":
            assert time.monotonic() < deadline, "the reply was never settled"
            await sender.drain()
            await asyncio.sleep(0.02)
        settled = outbox.get(item.id)
        assert settled.state == "sent"
        stored = [m for m in chatwoot.account.thread(1) if m.content == body]
        assert len(stored) == 1, "the reply was doubled"
        assert settled.message_id == stored[0].id
        sender.close()
        await backend.aclose()
    outbox.close()


async def test_tail_follows_chatwoot_across_a_drop_without_duplicates(chatwoot) -> None:
    """`agent-console tail` on Chatwoot: live messages, then one written while the socket was
    down arrives after the reconnect, each printed once, and the agent's presence untouched."""
    import json

    from agent_console.cli.tail import follow

    backend = chatwoot.backend()
    lines: list[dict] = []
    statuses: list[str] = []
    task = asyncio.create_task(
        follow(
            backend, None, emit=lambda line: lines.append(json.loads(line)), status=statuses.append, cap=0.2
        )
    )

    def said(text: str) -> int:
        return sum(
            1 for f in lines if f["type"] == "message.created" and f["data"]["message"]["body"] == text
        )

    try:
        await until(lambda: chatwoot.emulator.subscriptions >= 1, "tail subscribes")
        chatwoot.customer_says(1, "tail sees this live")
        await until(lambda: said("tail sees this live") == 1, "the live message printed")
        chatwoot.emulator.stop()
        chatwoot.account.customer_message(1, "written while tail was away")
        chatwoot.emulator.start()
        await until(lambda: said("written while tail was away") == 1, "the missed message printed")
        chatwoot.customer_says(1, "and after")
        await until(lambda: said("and after") == 1, "live again")
        assert said("tail sees this live") == 1 and said("written while tail was away") == 1
        assert any("reconnect" in s for s in statuses)
        seqs = [f["seq"] for f in lines]
        assert seqs == sorted(set(seqs))
        assert chatwoot.emulator.presence_updates == 0  # a watcher, not a shift
    finally:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        await backend.aclose()


async def test_a_message_both_refetched_and_heard_live_counts_once(chatwoot) -> None:
    """A customer writes just after the subscription is confirmed: the catch-up reads it and the
    socket carries it too. The console gets it once."""
    watcher = Watcher(chatwoot.backend())
    try:
        await watcher.start([1])
        subscriptions = chatwoot.emulator.subscriptions
        chatwoot.emulator.after_subscribe = lambda: chatwoot.account.customer_message(1, "in the gap")
        chatwoot.emulator.drop_all()
        await until(lambda: chatwoot.emulator.subscriptions > subscriptions, "it subscribes again")
        await until(lambda: "in the gap" in watcher.thread(1), "the message shows")
        chatwoot.customer_says(1, "after the gap")  # the live frames after it were read too
        await until(lambda: "after the gap" in watcher.thread(1), "the next message shows")
        gap = next(m.id for m in watcher.state.thread(1) if m.body == "in the gap")
        assert watcher.applied[gap] == 1, "handed over twice"
        assert all(count == 1 for count in watcher.applied.values()), watcher.applied
    finally:
        await watcher.stop()
