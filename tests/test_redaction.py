"""No token in any log line: a real session with debug logging on (httpx, httpcore and
websockets log requests and handshake headers at debug), then grep the log file."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest

from agent_console.client.errors import NotAuthenticated
from agent_console.client.logs import REDACTED, redact, setup_logging, teardown_logging
from agent_console.client.native import NativeBackend
from agent_console.client.outbox import Outbox, OutboxSender
from agent_console.client.sync import SyncEngine
from tests.conftest import Desk


def test_redact_patterns() -> None:
    token = "acd_" + "Zx9-_" * 8
    samples = [
        f"Authorization: Bearer {token}",
        f"> authorization: bearer {token}",
        f"headers=[(b'Authorization', b'Bearer {token}')]",
        f"{{'authorization': 'Bearer {token}'}}",
        f"token={token}&x=1",
        "Authorization: Bearer someone-elses.jwt.token",
        "api_access_token: chatwoot-secret-123",
        "{'api_access_token': 'chatwoot-secret-123'}",
    ]
    for sample in samples:
        cleaned = redact(sample)
        assert token not in cleaned and "someone-elses" not in cleaned and "chatwoot-secret" not in cleaned
        assert REDACTED in cleaned
    assert redact("no secret in this line") == "no secret in this line"


async def test_debug_log_of_a_real_session_holds_no_token(desk: Desk, tmp_path: Path) -> None:
    log_file = tmp_path / "console.log"
    handler = setup_logging(log_file, logging.DEBUG)
    wrong = "acd_" + uuid.uuid4().hex  # a token the server refuses: must not leak either
    backend = NativeBackend(desk.url, desk.agent_token)
    try:
        me = await backend.me()
        page = await backend.conversations(limit=5)
        events: list = []
        got = asyncio.Event()

        def on_events(batch: list) -> None:
            events.extend(batch)
            got.set()

        engine = SyncEngine(backend, on_snapshot=lambda s: None, on_events=on_events, on_state=lambda s: None)
        task = asyncio.create_task(engine.run())
        outbox = Outbox(tmp_path / "local.db", desk.url, account=str(me.id))
        sender = OutboxSender(outbox, backend)
        cid = page.items[0].id
        while engine.seq == 0:
            await asyncio.sleep(0.02)
        outbox.enqueue_message(cid, "logged reply")
        await sender.drain()
        await asyncio.wait_for(got.wait(), 30)  # a bound on a hang, not a speed check
        task.cancel()
        sender.close()

        refused = NativeBackend(desk.url, wrong)
        with pytest.raises(NotAuthenticated):
            await refused.me()
        with pytest.raises(NotAuthenticated):
            async for _ in refused.feed(0):
                break
        await refused.aclose()
        # A careless log call of our own: token in the args, in the message, in a traceback.
        log = logging.getLogger("agent_console.test")
        log.debug("calling with headers %r", {"Authorization": f"Bearer {desk.agent_token}"})
        log.info(f"token is {desk.agent_token}")
        try:
            raise RuntimeError(f"failed with {desk.agent_token}")
        except RuntimeError:
            log.exception("boom")
        log.warning("stack of %s", desk.agent_token, stack_info=True)
    finally:
        await backend.aclose()
        teardown_logging(handler)

    text = log_file.read_text(encoding="utf-8")
    for secret in (desk.agent_token, wrong, desk.agent_token[4:], wrong[4:]):
        assert secret not in text
    # The flow was really logged at debug, headers included, and redacted where it mattered.
    assert "httpx" in text and "websockets" in text
    assert "Authorization: Bearer [redacted]" in text or "authorization: Bearer [redacted]" in text.lower()
    assert text.count(REDACTED) >= 5


def test_redaction_is_idempotent() -> None:
    once = redact("Authorization: Bearer acd_abc and api_access_token: xyz")
    assert redact(once) == once == "Authorization: Bearer [redacted] and api_access_token: [redacted]"
