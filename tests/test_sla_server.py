"""SLA clocks on the real desk server: each clock, pauses, next response after several customer
messages, business hours, and warning/breach events exactly once, also across restarts.

Expected times are worked out from what the server itself reports (a conversation's
`created_at`, a status change's `updated_at`) plus the policy's targets, by hand."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from agent_console.core.clock import from_iso
from agent_console.server.process import ServerProcess
from tests.conftest import ENGINES, Desk, db_rows, start_desk

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def add_policy(desk: Desk, **fields: Any) -> dict:
    response = desk.admin.post("/sla/policies", json={"position": 1, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def inbound(desk: Desk, channel: str, body: str, conversation_id: int | None = None, who: str = "c") -> dict:
    payload: dict[str, Any] = {
        "channel": channel,
        "contact": {"name": "SLA Tester", "email": f"{who}@x.example"},
    }
    payload["body"] = body
    if conversation_id:
        payload["conversation_id"] = conversation_id
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201, response.text
    return desk.agent.get(f"/conversations/{response.json()['conversation_id']}").json()


def clock(conversation: dict, name: str) -> dict:
    return next(c for c in conversation["sla"]["clocks"] if c["name"] == name)


def patch(desk: Desk, conversation_id: int, **fields: Any) -> dict:
    response = desk.agent.patch(f"/conversations/{conversation_id}", json=fields)
    assert response.status_code == 200, response.text
    return response.json()


def sla_events(db: Path | str, conversation_id: int) -> list[tuple[str, dict]]:
    rows = db_rows(db, "SELECT type, data FROM events WHERE type LIKE 'sla.%' ORDER BY seq")
    found = [(kind, json.loads(data)) for kind, data in rows]
    return [(kind, data) for kind, data in found if data["conversation_id"] == conversation_id]


def test_first_response_due_from_creation_and_hit_by_the_first_reply(fresh_desk: Desk) -> None:
    add_policy(fresh_desk, name="SMS", channels=["sms"], first_response_s=600, resolution_s=7200)
    conv = inbound(fresh_desk, "sms", "my data stopped")
    created = from_iso(conv["created_at"])
    assert conv["sla"]["policy"] == "SMS" and conv["sla"]["status"] == "active"
    assert from_iso(clock(conv, "frt")["due_at"]) == created + timedelta(minutes=10)
    assert from_iso(clock(conv, "rt")["due_at"]) == created + timedelta(hours=2)
    # The queue's due_at is the nearest running clock.
    assert from_iso(conv["due_at"]) == created + timedelta(minutes=10)
    reply = fresh_desk.agent.post(f"/conversations/{conv['id']}/messages", json={"body": "On it"})
    assert reply.status_code == 201
    after = fresh_desk.agent.get(f"/conversations/{conv['id']}").json()
    assert clock(after, "frt")["state"] == "hit"
    assert from_iso(after["due_at"]) == created + timedelta(hours=2)  # only resolution runs now


@pytest.mark.parametrize("pause", [{"status": "pending"}, {"snoozed_until": "2099-01-01T00:00:00Z"}])
def test_pending_and_snoozed_pause_every_clock_and_move_the_due_time(fresh_desk: Desk, pause: dict) -> None:
    add_policy(fresh_desk, name="Mail", channels=["email"], first_response_s=3600, resolution_s=86400)
    conv = inbound(fresh_desk, "email", "invoice question", who="pause")
    frt_due = from_iso(clock(conv, "frt")["due_at"])
    rt_due = from_iso(clock(conv, "rt")["due_at"])
    paused = patch(fresh_desk, conv["id"], **pause)
    assert {c["state"] for c in paused["sla"]["clocks"]} == {"paused"}
    assert paused["due_at"] is None  # nothing counts down while paused
    time.sleep(0.3)  # time spent paused (what the assertion below measures, not a wait for a result)
    resumed = patch(fresh_desk, conv["id"], status="open")
    spent = from_iso(resumed["updated_at"]) - from_iso(paused["updated_at"])
    assert spent >= timedelta(seconds=0.3)
    assert from_iso(clock(resumed, "frt")["due_at"]) == frt_due + spent
    assert from_iso(clock(resumed, "rt")["due_at"]) == rt_due + spent
    assert clock(resumed, "frt")["state"] == "running"


def test_next_response_runs_from_the_oldest_unanswered_message(fresh_desk: Desk) -> None:
    add_policy(fresh_desk, name="Chat", channels=["web_chat"], first_response_s=120, next_response_s=600)
    conv = inbound(fresh_desk, "web_chat", "hello?", who="nrt")
    assert [c["name"] for c in conv["sla"]["clocks"]] == ["frt"]  # no next response before a reply
    fresh_desk.agent.post(f"/conversations/{conv['id']}/messages", json={"body": "Hi, how can I help?"})
    first = inbound(fresh_desk, "web_chat", "my eSIM", conv["id"], who="nrt")
    oldest = from_iso(first["last_message"]["created_at"])
    inbound(fresh_desk, "web_chat", "it says invalid", conv["id"], who="nrt")
    third = inbound(fresh_desk, "web_chat", "hello??", conv["id"], who="nrt")
    assert clock(third, "nrt")["state"] == "running"
    assert from_iso(clock(third, "nrt")["due_at"]) == oldest + timedelta(minutes=10)
    assert clock(third, "frt")["state"] == "hit"
    fresh_desk.agent.post(f"/conversations/{conv['id']}/messages", json={"body": "Let me look"})
    answered = fresh_desk.agent.get(f"/conversations/{conv['id']}").json()
    assert clock(answered, "nrt")["state"] == "hit"
    assert answered["sla"]["status"] == "hit" and answered["due_at"] is None
    # The customer writes again: a new cycle from that message.
    again = inbound(fresh_desk, "web_chat", "one more thing", conv["id"], who="nrt")
    assert from_iso(clock(again, "nrt")["due_at"]) == from_iso(
        again["last_message"]["created_at"]
    ) + timedelta(minutes=10)


def test_business_hours_clock_waits_for_the_next_opening(fresh_desk: Desk) -> None:
    # Open only one hour, on the weekday two days from now (UTC): the clock starts then.
    opening_day = (datetime.now(UTC) + timedelta(days=2)).date()
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[opening_day.weekday()]
    hours = {"zone": "UTC", "hours": [{"day": day, "start": "10:00", "end": "11:00"}]}
    add_policy(fresh_desk, name="Office", channels=["social"], first_response_s=1800, business_hours=hours)
    conv = inbound(fresh_desk, "social", "are you there", who="office")
    expected = datetime(opening_day.year, opening_day.month, opening_day.day, 10, 30, tzinfo=UTC)
    assert from_iso(clock(conv, "frt")["due_at"]) == expected


def test_warning_and_breach_reach_the_feed_once_each(fresh_desk: Desk) -> None:
    add_policy(fresh_desk, name="Instant", channels=["whatsapp"], first_response_s=2, warn_share=0.5)
    url = fresh_desk.url.replace("http://", "ws://") + "/api/v1/events"
    with connect(url, additional_headers={"Authorization": f"Bearer {fresh_desk.agent_token}"}) as socket:
        conv = inbound(fresh_desk, "whatsapp", "quick", who="instant")
        seen: list[dict] = []

        def breached() -> bool:
            frame = json.loads(socket.recv(timeout=10))
            if frame["type"].startswith("sla."):
                seen.append(frame)
            return any(f["type"] == "sla.breached" for f in seen)

        wait_for(breached, what="sla.breached on the feed")
    assert [f["type"] for f in seen] == ["sla.warning", "sla.breached"]
    warning, breach = (f["data"] for f in seen)
    due = clock(conv, "frt")["due_at"]
    assert warning == {
        "conversation_id": conv["id"],
        "clock": "frt",
        "due_at": due,
        "policy": "Instant",
        "assignee_id": None,
        "team_id": None,
    }
    assert breach["breached_by_s"] >= 0 and {k: breach[k] for k in warning} == warning
    after = fresh_desk.agent.get(f"/conversations/{conv['id']}").json()
    assert after["sla"]["status"] == "active_with_misses" and clock(after, "frt")["state"] == "missed"
    # A late reply stops the clock and records how late it was; no second breach.
    reply = fresh_desk.agent.post(
        f"/conversations/{conv['id']}/messages", json={"body": "Sorry for the wait"}
    )
    late = int((from_iso(reply.json()["created_at"]) - from_iso(due)).total_seconds())
    replied = fresh_desk.agent.get(f"/conversations/{conv['id']}").json()
    assert replied["sla"]["status"] == "missed" and clock(replied, "frt")["breached_by_s"] == late
    time.sleep(1.5)  # more than one schedule run: nothing else may fire
    assert [kind for kind, _ in sla_events(fresh_desk.db, conv["id"])] == ["sla.warning", "sla.breached"]
    rows = db_rows(
        fresh_desk.db,
        "SELECT clock, policy, breached_by_s FROM sla_breaches WHERE conversation_id = ?",
        (conv["id"],),
    )
    assert rows == [("frt", "Instant", late)]


def test_breach_fires_once_across_restarts(database: Path | str) -> None:
    desk = start_desk(database, demo=False)
    try:
        add_policy(desk, name="Soon", channels=["sms"], first_response_s=3, warn_share=0.2)
        conv = inbound(desk, "sms", "still there?", who="restart")
        due = from_iso(clock(conv, "frt")["due_at"])
    finally:
        desk.server.stop()
    # Down while the clock passes its due time.
    wait_for(lambda: datetime.now(UTC) > due + timedelta(seconds=1), what="the due time to pass")
    for _ in range(2):
        server = ServerProcess(desk.db)
        server.start()
        try:
            wait_for(
                lambda: [k for k, _ in sla_events(desk.db, conv["id"])] == ["sla.warning", "sla.breached"],
                what="warning and breach after the restart",
            )
            time.sleep(1.5)  # more than one schedule run after start-up
        finally:
            server.stop()
        events = sla_events(desk.db, conv["id"])
        assert [k for k, _ in events] == ["sla.warning", "sla.breached"]
        assert events[1][1]["breached_by_s"] >= 1  # it was late by the time the server saw it


def test_policies_are_read_by_agents_and_changed_by_admins_only(fresh_desk: Desk) -> None:
    listed = fresh_desk.agent.get("/sla/policies")
    assert listed.status_code == 200
    names = [p["name"] for p in listed.json()["items"]]
    assert names[-1] == "Standard"  # the default is tried last
    refused = fresh_desk.agent.post("/sla/policies", json={"name": "Mine", "first_response_s": 60})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    one = listed.json()["items"][0]
    assert fresh_desk.agent.patch(f"/sla/policies/{one['id']}", json={"name": "x"}).status_code == 403
    assert fresh_desk.agent.delete(f"/sla/policies/{one['id']}").status_code == 403
    changed = fresh_desk.admin.patch(f"/sla/policies/{one['id']}", json={"first_response_s": 300})
    assert changed.status_code == 200 and changed.json()["first_response_s"] == 300
    assert fresh_desk.admin.delete(f"/sla/policies/{one['id']}").status_code == 204
    assert fresh_desk.agent.get(f"/sla/policies/{one['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"name": "Neg", "first_response_s": -5}, "first_response_s", 422),
        ({"name": "Zero", "first_response_s": 60, "resolution_s": 0}, "resolution_s", 422),
        (
            {
                "name": "Overlap",
                "first_response_s": 60,
                "business_hours": {
                    "zone": "UTC",
                    "hours": [
                        {"day": "mon", "start": "09:00", "end": "13:00"},
                        {"day": "mon", "start": "12:00", "end": "17:00"},
                    ],
                },
            },
            "business_hours.hours[1]",
            409,  # each range is well formed; together they conflict
        ),
        (
            {
                "name": "Zone",
                "first_response_s": 60,
                "business_hours": {
                    "zone": "Mars/Base",
                    "hours": [{"day": "mon", "start": "09:00", "end": "17:00"}],
                },
            },
            "business_hours.zone",
            422,
        ),
        ({"name": "Team", "first_response_s": 60, "team_ids": [999]}, "team_ids", 404),
        ({"name": "Extra", "first_response_s": 60, "colour": "red"}, "colour", 422),
        (
            {
                "name": "Sparse",
                "resolution_s": 86400,
                "business_hours": {
                    "zone": "UTC",
                    "hours": [{"day": "sun", "start": "10:00", "end": "11:00"}],
                },
            },
            "resolution_s",
            409,  # a day's target on an hour a week: 24 weeks
        ),
    ],
)
def test_bad_policies_are_refused_naming_the_field_and_change_nothing(
    fresh_desk: Desk, body: dict, field: str, status: int
) -> None:
    before = fresh_desk.admin.get("/sla/policies").json()
    response = fresh_desk.admin.post("/sla/policies", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error.get("field") == field and (field or "colour").split("[")[0].split(".")[0] in error["message"]
    target = before["items"][0]["id"]
    patched = fresh_desk.admin.patch(
        f"/sla/policies/{target}", json={k: v for k, v in body.items() if k != "name"}
    )
    assert patched.status_code == status
    assert fresh_desk.admin.get("/sla/policies").json() == before


def test_one_default_and_unique_positions(fresh_desk: Desk) -> None:
    made = add_policy(fresh_desk, name="New default", first_response_s=60, is_default=True)
    defaults = [p["name"] for p in fresh_desk.agent.get("/sla/policies").json()["items"] if p["is_default"]]
    assert defaults == ["New default"]
    clash = fresh_desk.admin.post(
        "/sla/policies", json={"name": "Same", "position": 10, "first_response_s": 1}
    )
    assert clash.status_code == 409 and clash.json()["error"]["field"] == "position"
    other = fresh_desk.agent.get("/sla/policies").json()["items"][0]
    assert fresh_desk.admin.delete(f"/sla/policies/{made['id']}").status_code == 409  # still the default
    assert fresh_desk.admin.delete(f"/sla/policies/{other['id']}").status_code == 204


def test_resolving_stops_resolution_and_reopening_counts_on(fresh_desk: Desk) -> None:
    add_policy(fresh_desk, name="Res", channels=["email"], first_response_s=3600, resolution_s=7200)
    conv = inbound(fresh_desk, "email", "refund please", who="resolve")
    rt_due = from_iso(clock(conv, "rt")["due_at"])
    fresh_desk.agent.post(f"/conversations/{conv['id']}/messages", json={"body": "Refunded"})
    resolved = patch(fresh_desk, conv["id"], status="resolved")
    assert clock(resolved, "rt")["state"] == "hit" and resolved["sla"]["status"] == "hit"
    assert resolved["due_at"] is None
    time.sleep(0.2)  # time spent resolved (measured below)
    reopened = patch(fresh_desk, conv["id"], status="open")
    spent = from_iso(reopened["updated_at"]) - from_iso(resolved["updated_at"])
    assert clock(reopened, "rt")["state"] == "running"
    assert from_iso(clock(reopened, "rt")["due_at"]) == rt_due + spent
    assert reopened["sla"]["status"] == "active"


def test_policy_routes_hold_the_servers_strict_rules(fresh_desk: Desk) -> None:
    """What the hostile suite checks for the other routes, on these."""
    from tests.conftest import add_agent

    anonymous = fresh_desk.client()
    assert anonymous.get("/sla/policies").status_code == 401
    assert anonymous.delete("/sla/policies/1").status_code == 401
    integration = fresh_desk.client(
        add_agent(fresh_desk.db, name="Bridge", email="bridge@test.example", role="integration")
    )
    assert integration.get("/sla/policies").status_code == 403
    options = fresh_desk.agent.options("/sla/policies/1")
    assert set(options.headers["allow"].replace(" ", "").split(",")) == {"GET", "PATCH", "DELETE", "OPTIONS"}
    for text in ("١", "1.0", "-1", "99999999999999999999"):
        assert fresh_desk.admin.delete(f"/sla/policies/{text}").status_code == 404
    unknown = fresh_desk.agent.get("/sla/policies", params={"sort": "name"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "sort"
    before = fresh_desk.admin.get("/sla/policies").json()
    broken = fresh_desk.admin.post(
        "/sla/policies", content=b'{"name": "x",', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "malformed_json"
    deep = fresh_desk.admin.post("/sla/policies", content=b"[" * 10_000 + b"]" * 10_000)
    assert deep.status_code in (400, 422)
    default = next(p for p in before["items"] if p["is_default"])
    undefault = fresh_desk.admin.patch(f"/sla/policies/{default['id']}", json={"is_default": False})
    assert undefault.status_code == 409 and undefault.json()["error"]["field"] == "is_default"
    assert fresh_desk.admin.get("/sla/policies").json() == before
