"""The fault test's method on the Chatwoot path: nothing lost, nothing duplicated (issue #11).

The console's client stack (sync engine, reducer, durable outbox) talks to the Chatwoot
emulator through the loopback fault proxy of tests/faults. Customers keep writing and the
agent keeps replying while the test drops every connection, stalls them past the dead-socket
limit, restarts the emulator (ActionCable keeps nothing for anyone), closes the sockets from
the server side, and loses the answer to a stored reply. The checks are against the test's
own ledger:

- every customer message Chatwoot stored is in the console's open thread exactly once;
- every reply the agent queued is on Chatwoot exactly once and settled as sent with its id;
- at the end every conversation the console holds equals a fresh read of Chatwoot's.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from agent_console.client.outbox import Outbox, OutboxSender
from tests.faults.proxy import FaultProxy
from tests.test_chatwoot_feed import Watcher, until

ROUNDS = 12
MESSAGES_PER_ROUND = 6
REPLIES_PER_ROUND = 2
RECONNECTING = ("proxy drop", "restart", "server close", "drop mid-send")


async def test_drops_stalls_and_restarts_lose_nothing_and_double_nothing(chatwoot, tmp_path: Path) -> None:
    from agent_console.client.chatwoot import ChatwootBackend

    rng = random.Random(0xC4A7)
    account = chatwoot.account
    emulator = chatwoot.emulator
    proxy = FaultProxy(emulator.port).start()
    backend = ChatwootBackend(proxy.url, chatwoot.agent.token, account_id=account.id, ping_interval=0.5)
    watcher = Watcher(backend)
    outbox = Outbox(tmp_path / "local.db", proxy.url, account="night")
    sender = OutboxSender(outbox, backend, backoff_base=0.02, backoff_cap=0.3, idle_poll=0.2)
    conversations = sorted(account.conversations)
    ledger: list[tuple[int, int, str]] = []  # (conversation, message id, body) Chatwoot stored
    replies: dict[int, tuple[int, str]] = {}  # outbox item -> (conversation, body)
    faults: dict[str, int] = {}
    sending = None

    def customer(round_: int, n: int) -> None:
        conversation_id = rng.choice(conversations)
        body = f"customer r{round_} n{n}"
        if emulator.loop is None:  # stopped: the data changes with nobody listening
            message = account.customer_message(conversation_id, body)
        else:
            message = emulator.call(account.customer_message, conversation_id, body)
        ledger.append((conversation_id, message.id, body))

    try:
        await watcher.start(conversations)
        sending = asyncio.create_task(sender.run())
        for round_ in range(ROUNDS):
            for n in range(MESSAGES_PER_ROUND // 2):
                customer(round_, n)
            for n in range(REPLIES_PER_ROUND):
                conversation_id = rng.choice(conversations)
                body = f"agent reply r{round_} n{n}"
                replies[outbox.enqueue_message(conversation_id, body).id] = (conversation_id, body)
            fault = ("proxy drop", "stall", "restart", "server close", "lost answer", "drop mid-send")[
                round_ % 6
            ]
            faults[fault] = faults.get(fault, 0) + 1
            subscriptions = emulator.subscriptions
            if fault == "proxy drop":
                await asyncio.sleep(rng.uniform(0.0, 0.2))
                proxy.drop_all()
            elif fault == "stall":
                proxy.stall(3.0)  # longer than three missed pings (0.5 s each)
            elif fault == "restart":
                emulator.stop()
            elif fault == "server close":
                emulator.drop_all()
            elif fault == "lost answer":
                emulator.lose_answers(1)
                body = f"agent reply r{round_} lost-answer"
                conversation_id = rng.choice(conversations)
                replies[outbox.enqueue_message(conversation_id, body).id] = (conversation_id, body)
            elif fault == "drop mid-send":
                proxy.drop_all()
            for n in range(MESSAGES_PER_ROUND // 2, MESSAGES_PER_ROUND):
                customer(round_, n)  # written during the fault
            if fault == "restart":
                await asyncio.sleep(0.3)
                emulator.start()
            if fault in RECONNECTING:  # each of these must cost the console its socket
                await until(
                    lambda s=subscriptions: emulator.subscriptions > s, f"a new subscription after {fault}"
                )
            elif fault == "stall":
                # Past three missed pings the socket is dead; a REST call caught in the stall
                # may instead just wait it out. Either way, no more faults until it is over.
                await asyncio.sleep(3.2)
            await asyncio.sleep(rng.uniform(0.1, 0.4))

        async def settled() -> bool:
            return all(outbox.get(item).state != "pending" for item in replies)

        deadline = time.monotonic() + 90
        while not await settled():
            assert time.monotonic() < deadline, "replies still pending after the faults stopped"
            await asyncio.sleep(0.1)

        def every_customer_message_in_the_console() -> bool:
            return all(body in watcher.thread(cid) for cid, _, body in ledger)

        await until(every_customer_message_in_the_console, "every customer message reaches the console", 90)

        # Nothing doubled on Chatwoot, nothing lost there either.
        for item_id, (conversation_id, body) in replies.items():
            stored = [m for m in account.thread(conversation_id) if m.content == body]
            assert len(stored) == 1, f"{body!r} is on Chatwoot {len(stored)} times"
            item = outbox.get(item_id)
            assert item.state == "sent" and item.message_id == stored[0].id, item
        # Nothing doubled in the console: each message once in its thread, handed over once.
        for conversation_id in conversations:
            ids = [m.id for m in watcher.state.thread(conversation_id)]
            assert len(ids) == len(set(ids))
            truth = [m.id for m in account.thread(conversation_id)]
            await until(
                lambda c=conversation_id, t=truth: [m.id for m in watcher.state.thread(c)] == t,
                f"thread {conversation_id} equals Chatwoot's",
                30,
            )
        assert all(count == 1 for count in watcher.applied.values())
        # The console's conversations equal a fresh read of Chatwoot's.
        for conversation_id in conversations:
            fresh = await backend.conversation(conversation_id)
            held = watcher.state.conversations[conversation_id]
            assert (held.status, held.labels, held.assignee, held.priority) == (
                fresh.status,
                fresh.labels,
                fresh.assignee,
                fresh.priority,
            )
            assert held.last_message is not None and fresh.last_message is not None
            assert held.last_message.id == fresh.last_message.id
        reconnects = sum(count for name, count in faults.items() if name in RECONNECTING)
        assert backend.catch_ups >= reconnects + 1  # the first connection, then one per fault
        print(
            f"\nchatwoot faults: {len(ledger)} customer messages, {len(replies)} replies,"
            f" faults {faults}, {backend.catch_ups} catch-ups, {emulator.subscriptions} subscriptions:"
            " 0 lost, 0 duplicated"
        )
    finally:
        if sending is not None:
            sending.cancel()
        sender.close()
        await watcher.stop()
        outbox.close()
        proxy.stop()
