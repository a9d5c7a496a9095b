"""`conv ID language CODE` and the triage lines of `conv ID`, end to end against the real desk server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.cli_support import base_env, invoke
from tests.conftest import Desk


@pytest.fixture
def env(desk: Desk, tmp_path: Path) -> dict[str, str | None]:
    return base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)


def new_conversation(desk: Desk, body: str) -> int:
    payload = {
        "channel": "email",
        "subject": f"CLI test {uuid.uuid4().hex[:6]}",
        "contact": {"name": "Cli Customer", "email": f"{uuid.uuid4().hex[:8]}@cust.example"},
        "body": body,
    }
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201, response.text
    return response.json()["conversation_id"]


def test_conv_shows_the_language_source_and_the_triage(desk: Desk, env: dict) -> None:
    cid = new_conversation(desk, body="Mein Konto wurde gehackt und ich habe kein Netz mehr")
    ran = invoke("conv", str(cid), env=env)
    assert ran.code == 0, ran
    lines = {line.split(None, 1)[0]: line for line in ran.stdout.splitlines() if line.strip()}
    assert "de" in lines["Language"]
    assert "detected" in ran.stdout
    assert "suggests urgent: security words: 'gehackt'" in ran.stdout


def test_conv_language_corrects_it_and_json_carries_it(desk: Desk, env: dict) -> None:
    cid = new_conversation(desk, body="Bonjour, mon eSIM ne fonctionne pas depuis hier soir")
    ran = invoke("conv", str(cid), "language", "pt", env=env)
    assert ran.code == 0, ran
    assert f"conversation {cid}: language pt (set by you)" in ran.stdout
    shown = invoke("conv", str(cid), "-o", "json", env=env).json()
    assert (shown["language"], shown["language_source"]) == ("pt", "agent")


@pytest.mark.parametrize("code", ["Portuguese", "p", "pt-BR", ""])
def test_conv_language_refuses_what_is_not_a_code(desk: Desk, env: dict, code: str) -> None:
    cid = new_conversation(desk, body="Olá, preciso de ajuda com o meu plano de dados")
    before = desk.agent.get(f"/conversations/{cid}").json()
    ran = invoke("conv", str(cid), "language", code, env=env)
    assert ran.code == 2, ran
    assert "CODE" in ran.stderr and "language code" in ran.stderr
    after = desk.agent.get(f"/conversations/{cid}").json()
    assert after["seq"] == before["seq"]


def test_conv_language_on_a_missing_conversation_is_a_clear_error(desk: Desk, env: dict) -> None:
    ran = invoke("conv", "99999999", "language", "es", env=env)
    assert ran.code != 0
    assert "99999999" in ran.stderr and "Traceback" not in ran.stderr
