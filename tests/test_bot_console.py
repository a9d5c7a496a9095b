"""The FAQ bot as agents meet it: the real console (pilot) and the CLI against a real desk
server with the bot on for web chat. Hand-off reasons in the queue row and the thread header,
bot messages labelled apart, `b` sends a conversation back to the bot (undoable), and
`agent-console conv ID bot` / `conv ID`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_console.tui.widgets.queue_list import QueueList
from tests.cli_support import base_env, invoke
from tests.conftest import Desk, start_desk
from tests.test_tui_flows import WIDE, console, focus_conversation, make_app, ready
from tests.tui_helpers import region_text, screen_text, wait_for


@pytest.fixture(scope="module")
def bot_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    running = start_desk(tmp_path_factory.mktemp("botconsole") / "desk.db")
    assert running.admin.patch("/bot/channels/web_chat", json={"enabled": True}).status_code == 200
    yield running
    running.server.stop()


def web_chat(desk: Desk, body: str, *, name: str | None = None, language: str = "en") -> tuple[int, str]:
    name = name or f"Bo{uuid.uuid4().hex[:6]} Tester"
    payload = {
        "channel": "web_chat",
        "contact": {"name": name, "email": f"{uuid.uuid4().hex[:8]}@cust.example", "language": language},
        "body": body,
    }
    answer = desk.admin.post("/inbound", json=payload)
    assert answer.status_code == 201, answer.text
    return answer.json()["conversation_id"], name


def state(desk: Desk, conversation_id: int) -> dict:
    return desk.agent.get(f"/conversations/{conversation_id}").json()


async def test_handed_off_reason_shows_in_queue_and_header_and_b_sends_back(
    bot_desk: Desk, tmp_path: Path
) -> None:
    # A hostile customer: markup, an escape sequence and a bidi override in what they wrote.
    cid, name = web_chat(bot_desk, "[@click=app.quit]talk to a human\x1b[2J now \u202eplease")
    assert state(bot_desk, cid)["bot_reason"] == "asked_for_human"
    app = make_app(bot_desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: cid in app.store.desk.conversations, what="the conversation")
        queue = app.screen.query_one(QueueList)
        await pilot.press("slash", *name.split()[0], "enter")
        await wait_for(pilot, lambda: queue.rows == [cid], what="the filter to narrow the queue")
        # "handed off by bot: wants a person", or "bot: wants a person" when narrow.
        await wait_for(
            pilot,
            lambda: "bot: wants a person" in region_text(app, queue),
            what="the reason in the queue row",
        )
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: console(app).open_id == cid and console(app).pane.thread.shown,
            what="the conversation to open",
        )
        await wait_for(pilot, lambda: "Transcript:" in screen_text(app), what="the thread")
        text = screen_text(app)
        assert "handed off by bot: wants a person (the customer asked for a person" in text
        # The bot's lines are labelled apart: its message to the customer and its note to agents.
        assert "[bot]" in text and "[bot · private note]" in text
        assert "Transcript:" in text
        assert "\x1b[2J" not in text and "\u202e" not in text  # untrusted text through the sanitizer
        assert app.is_running  # the markup did not run

        await pilot.press("b")  # unassigned: no confirmation asked
        await wait_for(
            pilot,
            lambda: (
                (state(bot_desk, cid)["status"], state(bot_desk, cid)["bot_status"]) == ("pending", "active")
            ),
            what="the conversation back with the bot",
        )
        await wait_for(pilot, lambda: "with the bot" in screen_text(app), what="the header to follow")
        # Undo takes it back from the bot: open again, the bot stopped.
        await pilot.press("u")
        await wait_for(
            pilot,
            lambda: (
                (state(bot_desk, cid)["status"], state(bot_desk, cid)["bot_status"]) == ("open", "stopped")
            ),
            what="the undo on the server",
        )
        assert console(app).open_id == cid


async def test_b_on_someone_elses_conversation_asks_first(bot_desk: Desk, tmp_path: Path) -> None:
    from agent_console.tui.screens.confirm import ConfirmScreen

    cid, name = web_chat(bot_desk, "I want to talk to a human please")
    admin_id = bot_desk.admin.get("/me").json()["id"]
    assert bot_desk.admin.patch(f"/conversations/{cid}", json={"assignee_id": admin_id}).status_code == 200
    app = make_app(bot_desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        assert "back to the bot" in screen_text(app)
        await pilot.press("n")
        await pilot.pause(0.3)
        assert state(bot_desk, cid)["bot_status"] == "handed_off"


def test_cli_conv_shows_the_reason_and_bot_sends_back(bot_desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=bot_desk.url, AGENT_CONSOLE_TOKEN=bot_desk.agent_token)
    cid, _ = web_chat(bot_desk, "Quiero hablar con una persona, por favor", language="es")
    shown = invoke("conv", str(cid), env=env)
    assert shown.code == 0, shown.stderr
    assert "handed off by bot: wants a person" in shown.stdout
    back = invoke("conv", str(cid), "bot", env=env)
    assert back.code == 0, back.stderr
    assert "pending" in back.stdout and "with the bot" in back.stdout
    as_json = json.loads(invoke("conv", str(cid), "--output", "json", env=env).stdout)
    assert (as_json["status"], as_json["bot_status"]) == ("pending", "active")
