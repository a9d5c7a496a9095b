"""CSAT through the inbound API (`POST /api/v1/inbound/csat`), end to end on the real desk
server: a customer writes in, an agent answers and resolves, the integration relays the
rating, and the KPIs count it (first response stored at the first reply, resolution time
from the status trigger). Bad input is a 4xx naming the field and changes nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ENGINES, Desk, add_agent, start_desk

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL


@pytest.fixture(scope="module")
def csat_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Desk, str]]:
    desk = start_desk(tmp_path_factory.mktemp("csat") / "desk.db", demo=False)
    try:
        integration = add_agent(desk.db, name="Survey Tool", email="survey@test.example", role="integration")
        yield desk, integration
    finally:
        desk.server.stop()


def new_conversation(desk: Desk, *, resolve: bool = True) -> int:
    created = desk.admin.post(
        "/inbound",
        json={"channel": "email", "contact": {"name": "Rita Ora", "email": "rita@example.com"}, "body": "Hi"},
    )
    assert created.status_code == 201, created.text
    conversation_id = created.json()["conversation_id"]
    reply = desk.agent.post(f"/conversations/{conversation_id}/messages", json={"body": "Hello Rita!"})
    assert reply.status_code == 201, reply.text
    if resolve:
        done = desk.agent.patch(f"/conversations/{conversation_id}", json={"status": "resolved"})
        assert done.status_code == 200, done.text
    return conversation_id


def today_stats(desk: Desk) -> dict[str, Any]:
    response = desk.agent.get("/stats", params={"tz": "UTC"})  # the last 7 days up to now
    assert response.status_code == 200, response.text
    return response.json()


def rating_rows(desk: Desk) -> list[tuple[int, int, str]]:
    conn = sqlite3.connect(desk.db)
    try:
        return conn.execute("SELECT conversation_id, rating, comment FROM csat_ratings ORDER BY 1").fetchall()
    finally:
        conn.close()


def test_a_relayed_rating_is_kept_replaced_and_counted(csat_desk) -> None:
    desk, integration = csat_desk
    before = today_stats(desk)
    conversation_id = new_conversation(desk)

    answered = today_stats(desk)
    # The first reply set the first response; resolving set the resolution time.
    assert answered["first_response"]["count"] == before["first_response"]["count"] + 1
    assert answered["resolution"]["count"] == before["resolution"]["count"] + 1
    assert answered["csat"]["resolved"] == before["csat"]["resolved"] + 1
    # The server's own SLA clocks count: the first reply met the Standard policy's 4 h target.
    assert answered["sla"][0]["clock"] == "frt"
    assert answered["sla"][0]["met"] == before["sla"][0]["met"] + 1

    survey = desk.client(integration)
    first = survey.post(
        "/inbound/csat", json={"conversation_id": conversation_id, "rating": 4, "comment": " ok "}
    )
    assert first.status_code == 201, first.text
    assert (first.json()["rating"], first.json()["comment"]) == (4, "ok")
    assert desk.agent.get(f"/conversations/{conversation_id}/csat").json()["rating"] == 4
    rated = today_stats(desk)
    assert rated["csat"]["rated"] == before["csat"]["rated"] + 1
    assert rated["csat"]["distribution"]["4"] == before["csat"]["distribution"]["4"] + 1

    # A second rating replaces the first: one rating per conversation, the latest counts.
    second = survey.post("/inbound/csat", json={"conversation_id": conversation_id, "rating": 2})
    assert second.status_code == 201, second.text
    assert [row for row in rating_rows(desk) if row[0] == conversation_id] == [(conversation_id, 2, "")]
    again = today_stats(desk)
    assert again["csat"]["rated"] == rated["csat"]["rated"]
    assert again["csat"]["distribution"]["4"] == before["csat"]["distribution"]["4"]
    assert again["csat"]["distribution"]["2"] == before["csat"]["distribution"]["2"] + 1
    # The agents see it in the thread.
    thread = desk.agent.get(f"/conversations/{conversation_id}/messages").json()["items"]
    assert any(m["body"] == "The customer rated this conversation 2/5" for m in thread)


def test_the_same_idempotency_key_records_once(csat_desk) -> None:
    desk, _ = csat_desk
    conversation_id = new_conversation(desk)
    headers = {"Idempotency-Key": f"csat-{conversation_id}"}
    body = {"conversation_id": conversation_id, "rating": 5}
    one = desk.admin.post("/inbound/csat", json=body, headers=headers)
    two = desk.admin.post("/inbound/csat", json=body, headers=headers)
    assert (one.status_code, two.status_code) == (201, 201)
    assert one.json() == two.json()
    thread = desk.agent.get(f"/conversations/{conversation_id}/messages").json()["items"]
    assert sum(m["body"].startswith("The customer rated") for m in thread) == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"rating": 0}, 422, "rating"),
        ({"rating": 6}, 422, "rating"),
        ({"rating": "5"}, 422, "rating"),
        ({"rating": 4.5}, 422, "rating"),
        ({}, 422, "rating"),
        ({"rating": 3, "comment": "x" * 2001}, 422, "comment"),
        ({"rating": 3, "stars": 3}, 422, "stars"),
        ({"rating": 3, "conversation_id": 0}, 422, "conversation_id"),
        ({"rating": 3, "conversation_id": "1"}, 422, "conversation_id"),
        ({"rating": 3, "conversation_id": 999_999}, 404, "conversation_id"),
    ],
)
def test_bad_ratings_are_refused_and_change_nothing(csat_desk, body, status, field) -> None:
    desk, integration = csat_desk
    conversation_id = new_conversation(desk)
    assert (
        desk.admin.post("/inbound/csat", json={"conversation_id": conversation_id, "rating": 3}).status_code
        == 201
    )
    before = rating_rows(desk)
    response = desk.client(integration).post(
        "/inbound/csat", json={"conversation_id": conversation_id, **body}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    assert rating_rows(desk) == before


def test_an_unresolved_conversation_cannot_be_rated(csat_desk) -> None:
    desk, integration = csat_desk
    conversation_id = new_conversation(desk, resolve=False)
    before = rating_rows(desk)
    response = desk.client(integration).post(
        "/inbound/csat", json={"conversation_id": conversation_id, "rating": 5}
    )
    assert response.status_code == 409, response.text
    assert response.json()["error"]["field"] == "conversation_id"
    assert rating_rows(desk) == before


def test_only_admins_and_integrations_relay_ratings(csat_desk) -> None:
    desk, _ = csat_desk
    conversation_id = new_conversation(desk)
    before = rating_rows(desk)
    body = {"conversation_id": conversation_id, "rating": 5}
    assert desk.agent.post("/inbound/csat", json=body).status_code == 403
    assert desk.client().post("/inbound/csat", json=body).status_code == 401
    broken = desk.admin.post(
        "/inbound/csat", content=b'{"rating": 5', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert rating_rows(desk) == before


def test_reopening_takes_a_conversation_out_of_the_resolved_ones(csat_desk) -> None:
    desk, _ = csat_desk
    conversation_id = new_conversation(desk)
    resolved = today_stats(desk)["resolution"]["count"]
    desk.agent.patch(f"/conversations/{conversation_id}", json={"status": "open"})
    assert today_stats(desk)["resolution"]["count"] == resolved - 1
    desk.agent.patch(f"/conversations/{conversation_id}", json={"status": "resolved"})
    assert today_stats(desk)["resolution"]["count"] == resolved


def test_the_openapi_document_describes_both_routes(csat_desk) -> None:
    desk, _ = csat_desk
    document = desk.agent.get("/openapi.json").json()
    csat = document["paths"]["/api/v1/inbound/csat"]["post"]
    assert csat["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CsatInbound")
    assert {"201", "401", "403", "404", "409", "422"} <= set(csat["responses"])
    stats = document["paths"]["/api/v1/stats"]["get"]
    assert {p["name"] for p in stats["parameters"]} >= {"since", "until", "team", "agent", "tz"}
    assert {"200", "401", "404", "409", "422"} <= set(stats["responses"])
    assert stats["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Stats")
    assert "CsatInbound" in document["components"]["schemas"]


def test_a_waiting_customers_clock_counts_as_running(csat_desk) -> None:
    desk, _ = csat_desk
    before = today_stats(desk)["sla"][0]
    created = desk.admin.post(
        "/inbound", json={"channel": "sms", "contact": {"name": "Ned", "phone": "+15550100"}, "body": "Hi?"}
    )
    assert created.status_code == 201, created.text
    after = today_stats(desk)["sla"][0]
    assert (after["clock"], after["running"], after["met"]) == ("frt", before["running"] + 1, before["met"])
