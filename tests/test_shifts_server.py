"""Shifts, routing and handoff through the real desk server (a child process, a temp database).

Routing runs in the server's background runner; every assertion polls with a deadline."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.conftest import ENGINES, Desk, start_desk

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL

ROUTING = ("--routing", "least_loaded", "--routing-cap", "2", "--routing-interval", "0.2")


def until(what: Callable[[], Any], timeout: float = 15.0, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {message}")
        time.sleep(0.05)


@pytest.fixture
def routing_desk(tmp_path: Path) -> Iterator[Desk]:
    running = start_desk(tmp_path / "desk.db", demo=False, extra_args=ROUTING)
    yield running
    running.server.stop()


def new_agent(desk: Desk, name: str, languages: list[str], team_ids: list[int]) -> tuple[int, httpx.Client]:
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@test.example"
    body = {"name": name, "email": email, "languages": languages, "team_ids": team_ids}
    answer = desk.admin.post("/agents", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["agent"]["id"], desk.client(answer.json()["token"])


def presence(client: httpx.Client, value: str) -> None:
    assert client.patch("/me", json={"presence": value}).status_code == 200


# The server detects the language of what the customer writes (core/language.py): the text
# must be in the language the test means.
SAID = {
    "de": "Hallo, mein Internet funktioniert seit gestern nicht mehr. Können Sie mir bitte helfen?",
    "pt": "Olá, a minha internet não funciona desde ontem. Podem ajudar-me, por favor?",
    "en": "Hello, my internet has not worked since yesterday. Could you please help me?",
}


def arrive(desk: Desk, team_id: int, language: str) -> int:
    """A customer writes in (in `language`); the admin puts the conversation in the team."""
    payload = {
        "channel": "web_chat",
        "contact": {"name": "Customer", "email": f"{uuid.uuid4().hex[:8]}@c.example", "language": language},
        "body": SAID[language],
    }
    answer = desk.admin.post("/inbound", json=payload)
    assert answer.status_code == 201, answer.text
    conversation_id = answer.json()["conversation_id"]
    assert desk.admin.patch(f"/conversations/{conversation_id}", json={"team_id": team_id}).status_code == 200
    return conversation_id


def assignee(desk: Desk, conversation_id: int) -> int | None:
    found = desk.admin.get(f"/conversations/{conversation_id}").json()["assignee"]
    return None if found is None else found["id"]


def routed_to(desk: Desk, conversation_id: int, agent_id: int) -> None:
    until(lambda: assignee(desk, conversation_id) == agent_id, message=f"#{conversation_id} to {agent_id}")


def feed(
    desk: Desk,
    since: int,
    kind: str,
    wanted: int,
    timeout: float = 10.0,
    *,
    placed: bool = False,
    waits_for: int | None = None,
) -> list[dict]:
    """Events of `kind` after `since` until `wanted` came (`placed`: only routing decisions
    that assigned someone; `waits_for`: the waits of that conversation, up to its placement)."""
    url = desk.url.replace("http://", "ws://") + f"/api/v1/events?since={since}&presence=0"
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    with connect(url, additional_headers={"Authorization": f"Bearer {desk.admin_token}"}) as socket:
        while len(found) < wanted:
            frame = json.loads(socket.recv(timeout=max(0.01, deadline - time.monotonic())))
            if frame["type"] != kind:
                continue
            data = frame["data"]
            if waits_for is not None:
                if data.get("conversation_id") != waits_for:
                    continue
                if data.get("agent_id") is not None:
                    break
                found.append(frame)
                wanted = len(found) + 1  # keep reading to its placement
            elif not placed or data.get("agent_id") is not None:
                found.append(frame)
    return found


def test_routing_follows_skills_presence_and_the_cap_then_waits_in_the_team_queue(routing_desk: Desk) -> None:
    desk = routing_desk
    team = desk.admin.post("/teams", json={"name": "Support"}).json()["id"]
    ana, ana_client = new_agent(desk, "Ana", ["pt"], [team])
    ben, ben_client = new_agent(desk, "Ben", ["de"], [team])
    cleo, cleo_client = new_agent(desk, "Cleo", ["de"], [team])
    presence(cleo_client, "away")  # away: gets none, though she speaks German
    start = desk.admin.get("/conversations", params={"limit": 1}).json()["head_seq"]
    # Nobody is online yet: all five wait, in the team, oldest first.
    first, second, third = (arrive(desk, team, "de") for _ in range(3))
    fourth = arrive(desk, team, "pt")
    fifth = arrive(desk, team, "en")
    until(lambda: len(desk.agent.get("/routing").json()["waiting"]) == 5, message="five waits")

    presence(ben_client, "online")
    routed_to(desk, first, ben)  # speaks German
    routed_to(desk, second, ben)  # still under the cap of 2
    presence(ana_client, "online")
    routed_to(desk, third, ana)  # Ben is full, Cleo away: someone free, in another language
    routed_to(desk, fourth, ana)  # speaks Portuguese
    # Everyone online is at the cap: the fifth waits in the team queue, and says why.
    reason = "all 2 online agent(s) in team Support are at the cap of 2"
    until(lambda: [(w["conversation_id"], w["reason"]) for w in desk.agent.get("/routing").json()["waiting"]]
          == [(fifth, reason)], message="the fifth waits at the cap")  # fmt: skip
    assert assignee(desk, fifth) is None

    # Ben resolves one: below the cap, the waiting conversation is his.
    assert ben_client.patch(f"/conversations/{first}", json={"status": "resolved"}).status_code == 200
    routed_to(desk, fifth, ben)
    until(lambda: desk.agent.get("/routing").json()["waiting"] == [], message="the queue empties")

    decisions = [f["data"] for f in feed(desk, start, "conversation.routed", 5, placed=True)]
    assert [(d["conversation_id"], d["agent_id"]) for d in decisions] == [
        (first, ben),
        (second, ben),
        (third, ana),
        (fourth, ana),
        (fifth, ben),
    ]
    assert "speaks de" in decisions[0]["reason"]
    assert "nobody free speaks de" in decisions[2]["reason"]
    waits = [f["data"] for f in feed(desk, start, "conversation.routed", 1, waits_for=fifth)]
    assert waits[-1]["reason"] == reason and waits[-1]["outcome"] == "at_cap"
    # The thread says why it came to Ben.
    lines = [m["body"] for m in desk.admin.get(f"/conversations/{first}/messages").json()["items"]]
    assert any(line.startswith("Routed to Ben: team Support") for line in lines), lines


def test_nobody_on_shift_gets_nothing(routing_desk: Desk) -> None:
    desk = routing_desk
    team = desk.admin.post("/teams", json={"name": "Night"}).json()["id"]
    owl, owl_client = new_agent(desk, "Owl", ["en"], [team])
    presence(owl_client, "online")
    now = datetime.now(UTC)
    # A shift that is over for today and starts again tomorrow: online, but not on shift.
    day = now.strftime("%a").lower()
    if now.hour >= 2:
        hours = [{"day": day, "start": "00:00", "end": "01:00"}]
    else:
        hours = [{"day": day, "start": "22:00", "end": "23:00"}]
    answer = desk.admin.patch(f"/agents/{owl}/schedule", json={"timezone": "UTC", "hours": hours})
    assert answer.status_code == 200, answer.text
    waiting = arrive(desk, team, "en")
    found = until(lambda: desk.agent.get("/routing").json()["waiting"], message="waits")
    assert found[0]["conversation_id"] == waiting and found[0]["outcome"] == "nobody"
    # The schedule goes: no hours to keep to, and routing gives it to Owl.
    assert desk.admin.patch(f"/agents/{owl}/schedule", json={"hours": []}).status_code == 200
    routed_to(desk, waiting, owl)


def test_bad_schedules_and_coverage_are_refused_and_change_nothing(fresh_desk: Desk) -> None:
    desk = fresh_desk
    me = desk.agent.get("/me").json()["id"]
    good = {"timezone": "Europe/Lisbon", "hours": [{"day": "mon", "start": "09:00", "end": "17:00"}]}
    assert desk.admin.patch(f"/agents/{me}/schedule", json=good).status_code == 200
    before = desk.admin.get(f"/agents/{me}/schedule").json()
    cases = [
        ({"timezone": "Mars/Olympus"}, 422, "timezone"),
        ({"hours": [{"day": "mon", "start": "17:00", "end": "09:00"}]}, 409, "schedule.hours[0]"),
        (
            {
                "hours": [
                    {"day": "tue", "start": "09:00", "end": "13:00"},
                    {"day": "tue", "start": "12:00", "end": "18:00"},
                ]
            },
            409,
            "schedule.hours[1]",
        ),
        (
            {"exceptions": [{"date": "2026-12-24", "kind": "extra", "start": "10:00"}]},
            409,
            "schedule.exceptions[0].start",
        ),
        (
            {"exceptions": [{"date": "2026-12-24", "kind": "off", "start": "10:00"}]},
            409,
            "schedule.exceptions[0]",
        ),
    ]
    for body, status, field in cases:
        answer = desk.admin.patch(f"/agents/{me}/schedule", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]["field"] == field, answer.text
    assert desk.admin.get(f"/agents/{me}/schedule").json() == before
    assert desk.admin.get("/me").json()["timezone"] == "Europe/Lisbon"  # the admin's own, untouched
    assert desk.agent.patch(f"/agents/{me}/schedule", json=good).status_code == 403

    team = desk.admin.post("/teams", json={"name": "Cover"}).json()["id"]
    bad = {"zone": "Nowhere/Land", "hours": [{"day": "mon", "start": "00:00", "end": "24:00"}]}
    answer = desk.admin.patch(f"/teams/{team}/coverage", json=bad)
    assert (answer.status_code, answer.json()["error"]["field"]) == (422, "zone")
    assert desk.admin.get(f"/teams/{team}/coverage").status_code == 404


def test_roster_and_gaps_over_rest(fresh_desk: Desk) -> None:
    desk = fresh_desk
    team = desk.admin.post("/teams", json={"name": "Roster"}).json()
    tokyo, _ = new_agent(desk, "Tokyo", ["ja"], [team["id"]])
    lisbon, _ = new_agent(desk, "Lisbon", ["pt"], [team["id"]])
    week = ("mon", "tue", "wed", "thu", "fri")
    for agent_id, zone, start, end in (
        (tokyo, "Asia/Tokyo", "09:00", "18:00"),
        (lisbon, "Europe/Lisbon", "09:00", "16:00"),
    ):
        hours = [{"day": d, "start": start, "end": end} for d in week]
        assert (
            desk.admin.patch(
                f"/agents/{agent_id}/schedule", json={"timezone": zone, "hours": hours}
            ).status_code
            == 200
        )
    cover = {"zone": "UTC", "hours": [{"day": d, "start": "00:00", "end": "24:00"} for d in week]}
    assert desk.admin.patch(f"/teams/{team['id']}/coverage", json=cover).status_code == 200
    view = desk.agent.get("/roster", params={"at": "2026-03-10T08:00:00+00:00"}).json()
    assert [(s["name"], s["end"]) for s in view["on"]] == [("Tokyo", "2026-03-10T09:00:00Z")]
    assert [(s["name"], s["start"]) for s in view["next"]] == [("Lisbon", "2026-03-10T09:00:00Z")]
    # Lisbon leaves at 16:00 UTC; Tokyo is back at midnight UTC.
    assert [(g["team"], g["start"], g["end"], g["have"]) for g in view["gaps"]] == [
        ("Roster", "2026-03-10T16:00:00Z", "2026-03-11T00:00:00Z", 0)
    ]
    assert desk.agent.get("/roster", params={"at": "yesterday"}).status_code in (400, 422)


def test_offline_when_the_shift_ends_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    desk = start_desk(db, demo=False, extra_args=("--routing-interval", "0.2"))
    try:
        me = desk.agent.get("/me").json()["id"]
        now = datetime.now(UTC)
        end = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
        if (end - now).total_seconds() < 25:
            end += timedelta(minutes=1)
        if end.date() != now.date():
            pytest.skip("too close to midnight UTC for a same-day shift")
        hours = [{"day": now.strftime("%a").lower(), "start": "00:00", "end": end.strftime("%H:%M")}]
        answer = desk.admin.patch(f"/agents/{me}/schedule", json={"timezone": "UTC", "hours": hours})
        assert answer.status_code == 200, answer.text
        desk.server.stop()
        desk.server.start()  # the schedule and what was acted on live in the database
        desk = Desk(desk.server.url, db, desk.admin_token, desk.agent_token, desk.server)
        presence(desk.agent, "online")
        assert desk.agent.get("/me").json()["presence"] == "online"
        until(lambda: desk.agent.get("/me").json()["presence"] == "offline", timeout=150, message="offline")
        assert datetime.now(UTC) >= end
        # Overtime: back online by choice, and the same shift end does not act again.
        presence(desk.agent, "online")
        time.sleep(1.0)  # several runner passes (0.2 s each); nothing may change
        assert desk.agent.get("/me").json()["presence"] == "online"
    finally:
        desk.server.stop()


def test_handoff_moves_conversations_keeps_history_and_clocks(fresh_desk: Desk) -> None:
    desk = fresh_desk
    sam = desk.agent.get("/me").json()["id"]
    team = desk.admin.post("/teams", json={"name": "Dublin"}).json()["id"]
    kai, kai_client = new_agent(desk, "Kai", ["en"], [team])
    mine = []
    for _ in range(2):
        conversation = arrive(desk, team, "en")
        assert (
            desk.agent.patch(f"/conversations/{conversation}", json={"assignee_id": sam}).status_code == 200
        )
        mine.append(conversation)
    before = {c: desk.admin.get(f"/conversations/{c}").json() for c in mine}
    history = {c: desk.admin.get(f"/conversations/{c}/messages").json()["items"] for c in mine}
    start = desk.admin.get("/conversations", params={"limit": 1}).json()["head_seq"]

    body = {
        "to_agent_ids": [kai],
        "note": "Quiet night; two waiting on the carrier.",
        "notes": [{"conversation_id": mine[0], "note": "Promised a call back at 9."}],
    }
    refused = desk.agent.post("/handoffs", json={**body, "notes": [{"conversation_id": 999999, "note": "x"}]})
    assert (refused.status_code, refused.json()["error"]["field"]) == (409, "notes[0].conversation_id")
    assert all(assignee(desk, c) == sam for c in mine)  # nothing moved
    answer = desk.agent.post("/handoffs", json=body)
    assert answer.status_code == 201, answer.text
    handoff = answer.json()
    assert [i["conversation_id"] for i in handoff["items"]] == mine

    for c in mine:
        after = desk.admin.get(f"/conversations/{c}").json()
        assert after["assignee"]["id"] == kai
        assert (after["due_at"], after["sla"], after["waiting_since"]) == (
            before[c]["due_at"],
            before[c]["sla"],
            before[c]["waiting_since"],
        )
        messages = desk.admin.get(f"/conversations/{c}/messages").json()["items"]
        assert messages[: len(history[c])] == history[c]  # history kept
    notes = [m["body"] for m in desk.admin.get(f"/conversations/{mine[0]}/messages").json()["items"]]
    assert notes[-1] == "Handoff note: Quiet night; two waiting on the carrier.\n\nPromised a call back at 9."

    received = kai_client.get("/handoffs").json()["items"]
    assert [h["id"] for h in received] == [handoff["id"]]
    assert received[0]["from_agent"]["name"] == "Sam Agent"
    events = feed(desk, start, "conversation.handed_over", 2)
    assert [(e["data"]["conversation_id"], e["data"]["to_agent"]["id"]) for e in events] == [
        (mine[0], kai),
        (mine[1], kai),
    ]
    assert events[0]["data"]["conversation_note"] == "Promised a call back at 9."


def test_a_handoff_to_the_next_shifts_team_is_routed_to_whoever_is_on(routing_desk: Desk) -> None:
    desk = routing_desk
    sam = desk.agent.get("/me").json()["id"]
    team = desk.admin.post("/teams", json={"name": "Dublin"}).json()["id"]
    other = desk.admin.post("/teams", json={"name": "Manila"}).json()["id"]
    ana, ana_client = new_agent(desk, "Ana", ["en"], [team])
    conversation = arrive(desk, other, "en")  # Manila's: nobody there is online, it waits
    until(lambda: desk.agent.get("/routing").json()["waiting"], message="a wait")
    assert desk.agent.patch(f"/conversations/{conversation}", json={"assignee_id": sam}).status_code == 200
    presence(ana_client, "online")  # Dublin's shift begins
    answer = desk.agent.post("/handoffs", json={"to_team_id": team, "note": "Over to Dublin"})
    assert answer.status_code == 201, answer.text
    assert [i["to_team"]["id"] for i in answer.json()["items"]] == [team]
    routed_to(desk, conversation, ana)
    assert desk.admin.get(f"/conversations/{conversation}").json()["team"]["id"] == team
    mine = ana_client.get("/handoffs").json()["items"]  # Ana's team received it
    assert [h["note"] for h in mine] == ["Over to Dublin"]


def test_the_bots_conversations_are_routed_when_it_hands_them_off(routing_desk: Desk) -> None:
    desk = routing_desk
    assert desk.admin.patch("/bot/channels/web_chat", json={"enabled": True}).status_code == 200
    article = {
        "slug": "install-esim-iphone",
        "title": "Install your eSIM on an iPhone",
        "body": "Open Settings, then Mobile Service, then Add eSIM, and scan the QR code from your email.",
        "tags": ["esim", "iphone", "install"],
        "locale": "en",
        "status": "published",
    }
    assert desk.admin.post("/kb/articles", json=article).status_code == 201
    kim, kim_client = new_agent(desk, "Kim", ["en"], [])
    presence(kim_client, "online")
    start = desk.admin.get("/conversations", params={"limit": 1}).json()["head_seq"]
    payload = {
        "channel": "web_chat",
        "contact": {"name": "Robin", "email": f"{uuid.uuid4().hex[:8]}@c.example", "language": "en"},
        "body": "How do I install my eSIM on an iPhone?",
    }
    conversation = desk.admin.post("/inbound", json=payload).json()["conversation_id"]
    held = desk.admin.get(f"/conversations/{conversation}").json()
    assert (held["status"], held["assignee"]) == ("pending", None)  # the bot answered and holds it
    # Someone who asks for a person at once is handed off and routed: a pass ran after the
    # bot's conversation existed, and left it to the bot.
    other = {**payload, "contact": {"name": "Sky", "email": f"{uuid.uuid4().hex[:8]}@c.example"}}
    first = desk.admin.post("/inbound", json={**other, "body": "I want to talk to a human please"})
    routed_to(desk, first.json()["conversation_id"], kim)
    assert desk.admin.get(f"/conversations/{conversation}").json()["assignee"] is None
    again = {**payload, "conversation_id": conversation, "body": "I want to talk to a human please"}
    assert desk.admin.post("/inbound", json=again).status_code == 201
    routed_to(desk, conversation, kim)  # handed off by the bot: now routing places it
    decisions = [f["data"] for f in feed(desk, start, "conversation.routed", 2, placed=True)]
    assert [(d["conversation_id"], d["agent_id"]) for d in decisions] == [
        (first.json()["conversation_id"], kim),
        (conversation, kim),
    ]
