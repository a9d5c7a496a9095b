"""Triage on the real desk server: language and suggestion stored on the conversation, the
`conversation.triaged` event, the agent's language correction, and an admin's rules file."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ENGINES, Desk, start_desk
from tests.test_feed import feed, frames

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL


def write_in(desk: Desk, body: str, conversation_id: int | None = None, language: str | None = None) -> int:
    contact: dict[str, object] = {"name": "Triage Tester", "email": f"{uuid.uuid4().hex[:8]}@cust.example"}
    if language:
        contact["language"] = language
    payload: dict[str, object] = {"channel": "web_chat", "contact": contact, "body": body}
    if conversation_id:
        payload["conversation_id"] = conversation_id
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201, response.text
    return response.json()["conversation_id"]


def conversation(desk: Desk, cid: int) -> dict:
    response = desk.agent.get(f"/conversations/{cid}")
    assert response.status_code == 200, response.text
    return response.json()


def rules_of(conv: dict) -> dict[str, str]:
    return {hit["rule"]: hit["reason"] for hit in conv["triage"]["rules"]}


def test_a_new_conversation_gets_its_language_and_suggestion_with_reasons(desk: Desk) -> None:
    # The contact's profile says English; the text is Spanish.
    cid = write_in(desk, "Hola, la eSIM no funciona y estoy sin señal en el aeropuerto", language="en")
    conv = conversation(desk, cid)
    assert (conv["language"], conv["language_source"]) == ("es", "detected")
    assert conv["triage"]["priority"] == "high"
    assert "outage" in conv["triage"]["topics"]
    assert rules_of(conv)["outage"] == "outage words: 'no funciona', 'sin señal'"
    assert conv["priority"] == "normal"  # a suggestion only: the agent accepts it


def test_too_short_to_tell_keeps_the_contacts_language(desk: Desk) -> None:
    cid = write_in(desk, "hola??", language="pt")
    conv = conversation(desk, cid)
    assert (conv["language"], conv["language_source"]) == ("pt", "contact")
    assert conv["triage"]["rules"] == []


def test_unsure_of_the_language_the_rules_read_every_languages_words(desk: Desk) -> None:
    # Too short to tell (9 characters), and the contact's profile says English: the Spanish
    # outage words still count.
    cid = write_in(desk, "sin señal", language="en")
    conv = conversation(desk, cid)
    assert (conv["language"], conv["language_source"]) == ("en", "contact")
    assert rules_of(conv)["outage"] == "outage words: 'sin señal'"


def test_pings_count_unanswered_messages_and_a_reply_resets_them(desk: Desk) -> None:
    cid = write_in(desk, "Hallo, ich habe eine Frage zu meinem Tarif")
    write_in(desk, "Ist da jemand?", cid)
    assert "pings" not in rules_of(conversation(desk, cid))
    write_in(desk, "Hallo, ich warte immer noch", cid)
    assert rules_of(conversation(desk, cid))["pings"] == "repeated pings: 3 messages without an answer"
    reply = desk.agent.post(f"/conversations/{cid}/messages", json={"body": "Hallo! Wie kann ich helfen?"})
    assert reply.status_code == 201, reply.text
    write_in(desk, "Danke, ich habe noch eine Frage zur Rechnung", cid)
    conv = conversation(desk, cid)
    assert "pings" not in rules_of(conv)
    assert "payment" in rules_of(conv)  # 'rechnung', in German as detected


def test_the_triaged_event_follows_the_message_and_carries_the_conversation(fresh_desk: Desk) -> None:
    desk = fresh_desk
    head = desk.agent.get("/conversations").json()["head_seq"]
    with feed(desk, desk.agent_token, since=head) as socket:
        cid = write_in(desk, "Mon compte a été piraté, aidez-moi vite")
        got = frames(socket, 3)
        assert [f["type"] for f in got] == ["conversation.created", "message.created", "conversation.triaged"]
        triaged = got[2]["data"]
        assert triaged["conversation"]["id"] == cid
        assert triaged["conversation"]["seq"] == got[2]["seq"]
        assert triaged["triage"]["priority"] == "urgent"
        assert triaged["triage"]["rules"][0]["rule"] == "security"
        # A message that changes nothing in the suggestion makes no triaged event.
        write_in(desk, "Mon compte a été piraté, aidez-moi vite", cid)
        write_in(desk, "hello", None)
        later = frames(socket, 3)
        assert [f["type"] for f in later] == ["message.created", "conversation.created", "message.created"]


def test_the_agent_corrects_the_language_and_detection_then_leaves_it(desk: Desk) -> None:
    cid = write_in(desk, "Olá, o meu eSIM não funciona desde ontem")
    assert conversation(desk, cid)["language"] == "pt"
    response = desk.agent.post(f"/conversations/{cid}/language", json={"language": "es"})
    assert response.status_code == 200, response.text
    assert (response.json()["language"], response.json()["language_source"]) == ("es", "agent")
    # Triage re-ran in the corrected language: Portuguese words no longer count.
    assert "outage" not in rules_of(response.json())
    write_in(desk, "Continuo sem internet, por favor me ajudem", cid)
    conv = conversation(desk, cid)
    assert (conv["language"], conv["language_source"]) == ("es", "agent")
    thread = desk.agent.get(f"/conversations/{cid}/messages").json()["items"]
    assert any(m["kind"] == "activity" and "set the language to es (was pt)" in m["body"] for m in thread)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "Spanish"}, "language"),
        ({"language": ""}, "language"),
        ({"lang": "es"}, None),
        ({}, None),
    ],
)
def test_a_bad_language_correction_is_a_clear_422_and_changes_nothing(
    desk: Desk, body: dict, field: str | None
) -> None:
    cid = write_in(desk, "Hello, my data stopped working this morning")
    before = conversation(desk, cid)
    response = desk.agent.post(f"/conversations/{cid}/language", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["message"]
    if field:
        assert error.get("field") == field
    after = conversation(desk, cid)
    assert (after["language"], after["language_source"], after["seq"]) == (
        before["language"],
        before["language_source"],
        before["seq"],
    )


def test_correcting_a_missing_conversation_is_404(desk: Desk) -> None:
    response = desk.agent.post("/conversations/99999999/language", json={"language": "es"})
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"


def test_an_admins_rules_file_extends_the_shipped_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[rules.outage]\nwords.en = ["dead zone"]\n\n'
        '[rules.vip]\nkind = "words"\nreason = "VIP words"\npriority = "urgent"\n'
        'words.any = ["gold member"]\n',
        encoding="utf-8",
    )
    desk = start_desk(tmp_path / "desk.db", demo=False, extra_args=("--triage-rules", str(rules)))
    try:
        cid = write_in(desk, "I am a gold member and my phone is in a dead zone all day")
        conv = conversation(desk, cid)
        assert rules_of(conv)["vip"] == "VIP words: 'gold member'"
        assert rules_of(conv)["outage"] == "outage words: 'dead zone'"
        assert conv["triage"]["priority"] == "urgent"
        cid = write_in(desk, "Since this morning there is no signal at all on my phone")
        assert "outage" in rules_of(conversation(desk, cid))  # the shipped words still count
    finally:
        desk.server.stop()


def test_a_bad_rules_file_stops_the_server_naming_line_and_key(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[rules.vip]\nkind = "words"\nwords.en = ["gold"]\npriority = "asap"\n', "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "agent_console", "serve", "--db", str(tmp_path / "d.db"), "--port", "0"]
        + ["--triage-rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{rules}:4: rules.vip.priority: must be one of urgent, high, normal, low" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "d.db").exists()  # refused before anything was created


# --- suggested replies ----------------------------------------------------------------------------


def suggestions(desk: Desk, cid: int) -> dict:
    response = desk.agent.get(f"/conversations/{cid}/suggestions")
    assert response.status_code == 200, response.text
    return response.json()


def test_suggestions_come_in_the_conversations_language_first(desk: Desk) -> None:
    cid = write_in(desk, "Hola, me cobraron dos veces el plan y quiero un reembolso")
    found = suggestions(desk, cid)
    assert found["language"] == "es"
    canned = [s for s in found["items"] if s["kind"] == "canned"]
    kb = [s for s in found["items"] if s["kind"] == "kb"]
    assert canned and kb
    assert all(s["locale"] == "es" and not s["fallback"] for s in canned + kb)
    assert canned[0]["canned"]["body"] and "reembolso" in canned[0]["matched"]
    assert any("cobro" in s["title"].lower() or "reembolso" in s["title"].lower() for s in kb)


def test_with_nothing_in_the_language_others_come_marked_as_fallback(desk: Desk) -> None:
    cid = write_in(desk, "QRコードをスキャンしたら、もう使用済みと表示されました")
    found = suggestions(desk, cid)
    assert found["language"] == "ja"
    assert found["items"] and all(s["fallback"] and s["locale"] != "ja" for s in found["items"])
    assert any("QR" in s["title"] for s in found["items"] if s["kind"] == "kb")


def test_each_kind_falls_back_on_its_own(desk: Desk) -> None:
    # Portuguese has KB articles about data abroad but no canned response about it: the canned
    # ones come from other languages, marked; the articles stay Portuguese.
    cid = write_in(desk, "Cheguei em Lisboa e os dados móveis não funcionam, o roaming está ativado")
    found = suggestions(desk, cid)
    assert found["language"] == "pt"
    canned = [s for s in found["items"] if s["kind"] == "canned"]
    kb = [s for s in found["items"] if s["kind"] == "kb"]
    assert canned and all(s["fallback"] and s["locale"] != "pt" for s in canned)
    assert kb and all(not s["fallback"] and s["locale"] == "pt" for s in kb)


def test_suggestions_leave_the_kb_gap_report_alone(desk: Desk) -> None:
    before = desk.admin.get("/kb/gaps").json()["items"]
    cid = write_in(desk, "Xylophone quasar zebra marmalade")
    assert suggestions(desk, cid)["items"] == []
    assert desk.admin.get("/kb/gaps").json()["items"] == before


def test_suggestions_for_a_missing_conversation_are_404(desk: Desk) -> None:
    response = desk.agent.get("/conversations/99999999/suggestions")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
