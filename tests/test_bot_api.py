"""The FAQ bot through the real desk server: a customer in the web chat widget talks to it end
to end (the widget's customer API and feed), agents read the hand-off, admins turn it on per
channel, and bad or hostile input gets a clear 4xx or a safe hand-off, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent_console.server import bot_text
from tests.conftest import ENGINES
from tests.injection import load_vectors
from tests.widget_helpers import Visitor, WidgetDesk, frames_until, poll, start_widget_desk

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WidgetDesk]:
    running = start_widget_desk(tmp_path_factory.mktemp("botdesk") / "desk.db", demo=True)
    answer = running.admin.patch("/bot/channels/web_chat", json={"enabled": True})
    assert answer.status_code == 200, answer.text
    yield running
    running.server.stop()


def visitor(desk: WidgetDesk, language: str) -> Visitor:
    """A customer whose browser says `language` (the widget passes it when the session starts)."""
    customer = Visitor.__new__(Visitor)
    customer.desk = desk
    customer.http = httpx.Client(base_url=f"{desk.api}/widget", timeout=10)
    answer = customer.http.post(
        "/session", json={"language": language}, headers={"X-Site-Key": desk.site_key}
    )
    assert answer.status_code == 201, answer.text
    customer.token = answer.json()["token"]
    customer.http.headers["Authorization"] = f"Bearer {customer.token}"
    return customer


def test_a_customer_in_the_widget_gets_an_answer_and_says_it_solved_it(desk: WidgetDesk) -> None:
    customer = visitor(desk, "es")
    seq = customer.http.get("/me").json()["seq"]
    with customer.socket(since=seq) as ws:
        posted = customer.say("¿Cómo puedo recargar más datos en mi plan activo?")
        conversation_id = posted["conversation"]["id"]
        assert posted["conversation"]["status"] == "pending"  # with the bot, not in the humans' queue
        frames = frames_until(ws, lambda f: f.get("type") == "message" and f["message"]["kind"] == "bot")
        answer = frames[-1]["message"]
        assert answer["author_type"] == "bot" and answer["author_name"] == bot_text.BOT_NAME
        assert answer["body"].startswith(bot_text.say("es", "answer"))
        assert "Recargar datos en un plan activo" in answer["body"] and "/kb/" in answer["body"]
        # The customer never sees the agents' side: no notes, no hand-off reason.
        assert all(f.get("message", {}).get("kind") != "note" for f in frames)

        customer.say(bot_text.say("es", "yes"), conversation_id)
        frames = frames_until(
            ws, lambda f: f.get("type") == "conversation" and f["conversation"]["status"] == "resolved"
        )
        said = [
            f["message"]["body"]
            for f in frames
            if f.get("type") == "message" and f["message"]["kind"] == "bot"
        ]
        assert said == [bot_text.say("es", "solved")]
    seen = desk.agent.get(f"/conversations/{conversation_id}").json()
    assert (seen["status"], seen["bot_status"]) == ("resolved", "resolved")


def test_a_widget_customer_asking_for_a_person_is_handed_off_with_the_reason(desk: WidgetDesk) -> None:
    customer = visitor(desk, "de")
    seq = customer.http.get("/me").json()["seq"]
    with customer.socket(since=seq) as ws:
        posted = customer.say("Ich möchte bitte mit einem Menschen sprechen")
        frames = frames_until(
            ws, lambda f: f.get("type") == "conversation" and f["conversation"]["status"] == "open"
        )
    said = [
        f["message"]["body"] for f in frames if f.get("type") == "message" and f["message"]["kind"] == "bot"
    ]
    assert len(said) == 1 and said[0].startswith(bot_text.say("de", "handoff"))
    conversation_id = posted["conversation"]["id"]
    seen = desk.agent.get(f"/conversations/{conversation_id}").json()
    assert (seen["status"], seen["bot_status"], seen["bot_reason"]) == (
        "open",
        "handed_off",
        "asked_for_human",
    )
    assert "menschen" in seen["bot_reason_text"]
    notes = [
        m
        for m in desk.agent.get(f"/conversations/{conversation_id}/messages").json()["items"]
        if m["kind"] == "note"
    ]
    assert len(notes) == 1 and notes[0]["author"]["type"] == "bot" and "Transcript:" in notes[0]["body"]


def test_agents_send_a_conversation_back_to_the_bot(desk: WidgetDesk) -> None:
    customer = visitor(desk, "en")
    posted = customer.say("agent please")
    conversation_id = posted["conversation"]["id"]
    poll(lambda: desk.agent.get(f"/conversations/{conversation_id}").json()["bot_status"] == "handed_off")
    back = desk.agent.patch(f"/conversations/{conversation_id}", json={"status": "pending", "bot": True})
    assert back.status_code == 200, back.text
    assert (back.json()["status"], back.json()["bot_status"]) == ("pending", "active")
    customer.say("How do I install the eSIM on my iPhone?", conversation_id)
    items = desk.agent.get(f"/conversations/{conversation_id}/messages").json()["items"]
    assert items[-1]["kind"] == "bot" and "Install your Lumo eSIM on an iPhone" in items[-1]["body"]


def test_bot_channel_setting_routes(desk: WidgetDesk) -> None:
    listed = desk.agent.get("/bot/channels")
    assert listed.status_code == 200
    assert {c["channel"]: c["enabled"] for c in listed.json()["items"]}["web_chat"] is True
    # Agents read the setting; only admins change it.
    refused = desk.agent.patch("/bot/channels/email", json={"enabled": True})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def _table(desk: WidgetDesk) -> tuple[list, list]:
    conn_rows = desk.admin.get("/bot/channels").json()["items"]
    conv = desk.admin.get("/conversations", params={"status": "all", "limit": 5}).json()["items"]
    return conn_rows, [(c["id"], c["status"], c["bot_status"], c["seq"]) for c in conv]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("patch", "/bot/channels/fax", {"enabled": True}, 422, "channel"),
        ("patch", "/bot/channels/email", {"enabled": True}, 409, "channel"),
        ("patch", "/bot/channels/%1B%5B2J", {"enabled": True}, 422, "channel"),
        ("patch", "/bot/channels/web_chat", {"enabled": "yes"}, 422, "enabled"),
        ("patch", "/bot/channels/web_chat", {"enabled": True, "extra": 1}, 422, "extra"),
        ("patch", "/bot/channels/web_chat", {}, 422, "enabled"),
        ("patch", "/conversations/{id}", {"bot": False}, 422, "bot"),
        ("patch", "/conversations/{id}", {"bot": "[@click=app.quit]"}, 422, "bot"),
        ("patch", "/conversations/{id}", {"bot": True, "status": "resolved"}, 409, "status"),
    ],
)
def test_bad_bot_input_is_a_clear_4xx_and_changes_nothing(
    desk: WidgetDesk, method: str, path: str, body: dict, status: int, field: str
) -> None:
    listed = desk.admin.get("/conversations", params={"status": "all", "limit": 50}).json()["items"]
    conversation_id = next(c["id"] for c in listed if c["channel"] == "web_chat")
    before = _table(desk)
    answer = desk.admin.request(method, path.format(id=conversation_id), json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] and error["message"]
    assert field in (error.get("field") or "") or field in error["message"], error
    assert _table(desk) == before


HOSTILE = [v for v in load_vectors() if isinstance(v.raw, str) and 0 < len(v.raw) <= 5000][:12]


@pytest.mark.parametrize("vector", HOSTILE, ids=[v.name for v in HOSTILE])
def test_hostile_customer_text_gets_a_safe_handoff(desk: WidgetDesk, vector) -> None:  # noqa: ANN001
    """Escape codes, markup, bidi tricks: the bot never crashes, never echoes the text to the
    customer, and hands off (the agents' console shows the note through the sanitizer)."""
    customer = visitor(desk, "en")
    answer = customer.http.post("/messages", json={"body": vector.raw, "conversation_id": None})
    if answer.status_code != 201:
        assert 400 <= answer.status_code < 500, answer.text  # refused at the door: fine, but clear
        return
    conversation_id = answer.json()["conversation"]["id"]
    seen = desk.agent.get(f"/conversations/{conversation_id}").json()
    assert seen["bot_status"] in ("handed_off", "active"), seen
    bot_said = [
        m["body"]
        for m in desk.agent.get(f"/conversations/{conversation_id}/messages").json()["items"]
        if m["kind"] == "bot"
    ]
    assert bot_said and all(vector.raw not in line for line in bot_said)


def test_bot_messages_reach_the_agents_feed_as_bot_authored(desk: WidgetDesk) -> None:
    """Agents see the bot's lines styled apart: the feed says who wrote them."""
    from websockets.sync.client import connect

    head = desk.agent.get("/conversations", params={"status": "all", "limit": 1}).json()["head_seq"]
    url = desk.url.replace("http://", "ws://") + f"/api/v1/events?since={head}"
    with connect(
        url, additional_headers={"Authorization": f"Bearer {desk.agent_token}"}, open_timeout=10
    ) as ws:
        visitor(desk, "fr").say("Je voudrais parler à un conseiller")
        seen: list[dict] = []
        while not any(e["type"] == "conversation.bot_handoff" for e in seen):
            seen.append(json.loads(ws.recv(timeout=15)))
    handoff = next(e for e in seen if e["type"] == "conversation.bot_handoff")
    assert handoff["data"]["reason"] == "asked_for_human"
    bots = [
        e["data"]["message"]
        for e in seen
        if e["type"] == "message.created" and e["data"]["message"]["author"]["type"] == "bot"
    ]
    assert {m["kind"] for m in bots} == {"bot", "note"}


def test_the_demo_turns_the_bot_on_for_web_chat(tmp_path: Path) -> None:
    from agent_console.cli.demo import demo_bot
    from agent_console.server import db
    from agent_console.server.store import Store

    path = tmp_path / "demo.db"
    db.connect(path).close()
    demo_bot(path)
    store = Store(db.connect(path))
    assert {c.channel: c.enabled for c in store.bot_channels()} == {
        "web_chat": True,
        "email": False,
        "whatsapp": False,
        "sms": False,
        "social": False,
    }
    store.set_bot_channel("web_chat", False)  # an admin's "off" survives the next demo start
    store.conn.close()
    demo_bot(path)
    store = Store(db.connect(path))
    assert not next(c.enabled for c in store.bot_channels() if c.channel == "web_chat")
    store.conn.close()


def test_the_widgets_yes_button_is_a_yes_to_the_bot() -> None:
    """The widget's "Yes, that solved it" button sends its label: the bot must hear a yes."""
    import re

    from agent_console.server.bot_text import says_solved

    script = (Path(__file__).parent.parent / "src/agent_console/server/widget_assets/widget.js").read_text()
    labels = re.findall(r'solvedIt: "([^"]+)"', script)
    assert len(labels) == 5
    assert all(says_solved(label) for label in labels), labels
