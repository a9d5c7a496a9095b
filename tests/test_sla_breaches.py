"""Recorded SLA breaches over REST (`GET /sla/breaches`) and `agent-console sla breaches`, against
the real desk server: a one-second chat policy makes real breaches, fired by its schedule."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.cli_support import base_env, invoke
from tests.conftest import ENGINES, Desk
from tests.tui_helpers import poll

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL


def write_in(desk: Desk, channel: str = "web_chat") -> int:
    payload = {
        "channel": channel,
        "contact": {"name": "Pat Traveller", "email": f"{uuid.uuid4().hex[:8]}@cust.example"},
        "body": "My eSIM will not activate",
    }
    if channel == "email":
        payload["subject"] = "eSIM"
    answer = desk.admin.post("/inbound", json=payload)
    assert answer.status_code == 201, answer.text
    return answer.json()["conversation_id"]


@pytest.fixture
def late_desk(fresh_desk: Desk) -> tuple[Desk, dict[str, int]]:
    """Three chats that each miss a one-second first response, and an email (24/7 standard
    policy, hours away) that does not. One chat is Sam's, one is a team's."""
    desk = fresh_desk
    made = desk.admin.post(
        "/sla/policies",
        json={
            "name": "Instant chat",
            "position": 5,
            "channels": ["web_chat"],
            "first_response_s": 1,
            "next_response_s": 1,
            "resolution_s": 3600,
        },
    )
    assert made.status_code == 201, made.text
    team = desk.admin.post("/teams", json={"name": "Nights", "description": "", "member_ids": []})
    assert team.status_code == 201, team.text
    sam = desk.agent.get("/me").json()["id"]
    ids = {"sams": write_in(desk), "teams": write_in(desk), "nobodys": write_in(desk)}
    ids["email"] = write_in(desk, "email")
    assert desk.admin.patch(f"/conversations/{ids['sams']}", json={"assignee_id": sam}).status_code == 200
    assert (
        desk.admin.patch(f"/conversations/{ids['teams']}", json={"team_id": team.json()["id"]}).status_code
        == 200
    )
    ids["sam"], ids["team"] = sam, team.json()["id"]

    def three() -> bool:
        return len(desk.agent.get("/sla/breaches").json()["items"]) == 3

    poll(three, timeout=15, what="three first-response breaches")
    return desk, ids


def test_breaches_say_which_clock_when_and_how_late(late_desk: tuple[Desk, dict[str, int]]) -> None:
    desk, ids = late_desk
    items = desk.agent.get("/sla/breaches").json()["items"]
    assert {b["conversation_id"] for b in items} == {ids["sams"], ids["teams"], ids["nobodys"]}
    for breach in items:
        assert breach["clock"] == "frt" and breach["policy"] == "Instant chat"
        due = datetime.fromisoformat(breach["due_at"])
        started = datetime.fromisoformat(breach["started_at"])
        assert due - started == timedelta(seconds=1)
        assert datetime.fromisoformat(breach["breached_at"]) >= due
    keys = [(b["breached_at"], b["id"]) for b in items]
    assert keys == sorted(keys, reverse=True)  # newest first
    # Answering late keeps how late it was in the end.
    answered = desk.agent.post(f"/conversations/{ids['sams']}/messages", json={"body": "Hello, sorry!"})
    assert answered.status_code == 201, answered.text
    mine = desk.agent.get("/sla/breaches", params={"conversation_id": ids["sams"]}).json()["items"]
    assert len(mine) == 1 and mine[0]["assignee"]["id"] == ids["sam"]
    late = datetime.fromisoformat(answered.json()["created_at"]) - datetime.fromisoformat(mine[0]["due_at"])
    assert mine[0]["breached_by_s"] == int(late.total_seconds())


def test_filters_and_keyset_pages(late_desk: tuple[Desk, dict[str, int]]) -> None:
    desk, ids = late_desk

    def listed(**params: object) -> list[int]:
        answer = desk.agent.get("/sla/breaches", params=params)
        assert answer.status_code == 200, answer.text
        return [b["conversation_id"] for b in answer.json()["items"]]

    assert listed(agent_id=ids["sam"]) == [ids["sams"]]
    assert listed(team_id=ids["team"]) == [ids["teams"]]
    assert listed(conversation_id=ids["email"]) == []
    assert listed(clock="rt") == []
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert len(listed(since=past)) == 3 and listed(since=future) == []
    everything = listed()
    pages, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = desk.agent.get("/sla/breaches", params=params).json()
        pages += [b["conversation_id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == everything and len(pages) == 3


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"since": "yesterday"}, 422, "since"),
        ({"since": "2026-13-45T00:00:00Z"}, 422, "since"),
        ({"limit": 0}, 422, "limit"),
        ({"limit": 501}, 422, "limit"),
        ({"cursor": "not-a-cursor"}, 422, "cursor"),
        ({"clock": "sla"}, 422, "clock"),
        ({"team_id": 999999}, 404, "team_id"),
        ({"agent_id": 999999}, 404, "agent_id"),
        ({"conversation_id": 999999}, 404, "conversation_id"),
        ({"conversation_id": "x"}, 422, "conversation_id"),
    ],
)
def test_bad_input_is_a_clear_4xx_naming_the_field(
    desk: Desk, params: dict[str, object], status: int, field: str
) -> None:
    answer = desk.agent.get("/sla/breaches", params=params)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["field"] == field and error["message"], error


def test_who_may_read_and_the_document(fresh_desk: Desk) -> None:
    from tests.conftest import add_agent

    token = add_agent(fresh_desk.db, name="Bot", email="bot@test.example", role="integration")
    with fresh_desk.client(token) as integration:
        assert integration.get("/sla/breaches").status_code == 403
    assert httpx.get(f"{fresh_desk.api}/sla/breaches").status_code == 401
    document = fresh_desk.agent.get("/openapi.json").json()
    operation = document["paths"]["/api/v1/sla/breaches"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"since", "conversation_id", "team_id", "agent_id", "clock", "limit", "cursor"} <= names
    breach = document["components"]["schemas"]["SlaBreach"]["properties"]
    assert {"clock", "due_at", "breached_at", "breached_by_s", "policy"} <= set(breach)


def test_the_cli_lists_breaches_as_json_csv_and_a_table(
    late_desk: tuple[Desk, dict[str, int]], tmp_path: Path
) -> None:
    desk, ids = late_desk
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    wire = desk.agent.get("/sla/breaches").json()["items"]
    listed = invoke("sla", "breaches", "-o", "json", env=env)
    assert listed.code == 0, listed
    assert listed.json() == wire
    rows = list(csv.DictReader(io.StringIO(invoke("sla", "breaches", "-o", "csv", env=env).stdout)))
    assert [int(r["conversation_id"]) for r in rows] == [b["conversation_id"] for b in wire]
    assert {r["clock"] for r in rows} == {"frt"} and all(r["breached_at"] for r in rows)
    by_team = invoke("sla", "breaches", "--team", "nights", "-o", "json", env=env).json()
    assert [b["conversation_id"] for b in by_team] == [ids["teams"]]
    mine = invoke("sla", "breaches", "--agent", "me", "--since", "1h", "-q", env=env)
    assert mine.stdout.split() == [str(b["id"]) for b in wire if b["conversation_id"] == ids["sams"]]
    table = invoke("sla", "breaches", env=env).stdout
    assert "FRT" in table and "Instant chat" in table
    assert invoke("sla", "breaches", "--since", "2999-01-01T00:00:00+00:00", "-q", env=env).stdout == ""
    bad = invoke("sla", "breaches", "--since", "soon", env=env)
    assert bad.code == 2 and "--since" in bad.stderr
