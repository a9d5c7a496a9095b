"""The widget's customer API without a browser: scoping (REST and websocket), resume with
`since`, CSAT through the API, the origin rule, the size and rate limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ENGINES
from tests.widget_helpers import (
    Visitor,
    WidgetDesk,
    frames_until,
    poll,
    start_widget_desk,
)

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL

SHOP = "http://shop.test:9000"


@pytest.fixture(scope="module")
def wdesk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WidgetDesk]:
    desk = start_widget_desk(
        tmp_path_factory.mktemp("widget-api") / "desk.db", limits="sessions_per_ip=500/3600", origins=(SHOP,)
    )
    yield desk
    desk.server.stop()


def test_a_customer_reads_only_their_own_conversations_over_rest(wdesk: WidgetDesk) -> None:
    alice, bob = Visitor(wdesk), Visitor(wdesk)
    posted = alice.say("my router is broken alicerouter")
    conv = posted["conversation"]["id"]
    # A web chat conversation is a desk conversation like any other: queued with its SLA clock.
    assert wdesk.agent.get(f"/conversations/{conv}").json()["due_at"] is not None
    wdesk.agent.post(
        f"/conversations/{conv}/messages", json={"body": "secret note alicenote", "private": True}
    )
    wdesk.agent.post(f"/conversations/{conv}/messages", json={"body": "We are on it"})

    # Alice sees her message and the reply, never the note.
    bodies = [m["body"] for m in alice.http.get(f"/conversations/{conv}/messages").json()["items"]]
    assert bodies == ["my router is broken alicerouter", "We are on it"]

    # Bob cannot read, write into, or rate Alice's conversation: it reads as missing.
    before = wdesk.agent.get(f"/conversations/{conv}").json()["message_count"]
    for answer in (
        bob.http.get(f"/conversations/{conv}/messages"),
        bob.http.post("/messages", json={"body": "let me in", "conversation_id": conv}),
        bob.http.post(f"/conversations/{conv}/csat", json={"rating": 1}),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["field"] == "conversation_id"
    assert wdesk.agent.get(f"/conversations/{conv}").json()["message_count"] == before
    assert bob.http.get("/me").json()["conversations"] == []

    # Tokens do not cross: an agent token is no visitor token, and the other way round.
    as_agent = httpx.get(f"{wdesk.api}/widget/me", headers={"Authorization": f"Bearer {wdesk.agent_token}"})
    assert as_agent.status_code == 401
    as_visitor = httpx.get(f"{wdesk.api}/conversations", headers={"Authorization": f"Bearer {alice.token}"})
    assert as_visitor.status_code == 401


def test_the_customer_feed_carries_only_their_own_visible_events(wdesk: WidgetDesk) -> None:
    alice, bob = Visitor(wdesk), Visitor(wdesk)
    conv = alice.say("hello feedalice")["conversation"]["id"]
    bob_conv = bob.say("hello feedbob")["conversation"]["id"]
    head = alice.http.get("/me").json()["seq"]
    with alice.socket(head) as a_ws, bob.socket(bob.http.get("/me").json()["seq"]) as b_ws:
        frames_until(a_ws, lambda f: f["type"] == "ready")
        frames_until(b_ws, lambda f: f["type"] == "ready")
        agent = wdesk.agent
        agent.post(f"/conversations/{conv}/messages", json={"body": "private feednote", "private": True})
        agent.post(f"/conversations/{conv}/typing", json={"active": True, "private": True})
        agent.post(f"/conversations/{conv}/typing", json={"active": True})
        agent.patch(f"/conversations/{conv}", json={"priority": "high", "labels": ["vip"]})
        agent.post(f"/conversations/{conv}/messages", json={"body": "reply for alice"})
        agent.post(f"/conversations/{bob_conv}/messages", json={"body": "reply for bob"})

        got = frames_until(
            a_ws, lambda f: f["type"] == "message" and f["message"]["body"] == "reply for alice"
        )
        assert [f["type"] for f in got] == ["typing", "message"]
        assert got[0]["active"] is True and got[0]["name"] == "Sam Agent"
        text = json.dumps(got)
        for secret in ("feednote", "vip", "high", "sam@test.example", "acd_", wdesk.agent_token, "feedbob"):
            assert secret not in text
        bob_got = frames_until(b_ws, lambda f: f["type"] == "message")
        assert bob_got[-1]["message"]["body"] == "reply for bob"
        assert "alice" not in json.dumps(bob_got)


def test_customer_typing_reaches_the_agents_feed(wdesk: WidgetDesk) -> None:
    visitor, other = Visitor(wdesk), Visitor(wdesk)
    conv = visitor.say("typing test typingword")["conversation"]["id"]
    other_conv = other.say("someone else")["conversation"]["id"]
    head = wdesk.agent.get("/conversations", params={"limit": 1}).json()["head_seq"]
    from websockets.sync.client import connect

    url = wdesk.url.replace("http://", "ws://") + f"/api/v1/events?since={head}&presence=0"
    with (
        connect(url, additional_headers={"Authorization": f"Bearer {wdesk.agent_token}"}) as feed,
        visitor.socket(None) as ws,
    ):
        frames_until(ws, lambda f: f["type"] == "ready")
        # Not theirs: ignored. Theirs: told to the agents, as the contact.
        ws.send(json.dumps({"type": "typing", "conversation_id": other_conv, "active": True}))
        ws.send(json.dumps({"type": "typing", "conversation_id": conv, "active": True}))
        events = frames_until(feed, lambda f: f["type"] == "typing")
        typing = events[-1]["data"]
        assert typing["conversation_id"] == conv
        assert typing["author"]["type"] == "contact" and typing["active"] is True


def test_reconnect_with_since_resumes_without_gaps_or_duplicates(wdesk: WidgetDesk) -> None:
    visitor = Visitor(wdesk)
    conv = visitor.say("resume please resumeword")["conversation"]["id"]
    with visitor.socket(visitor.http.get("/me").json()["seq"]) as ws:
        frames_until(ws, lambda f: f["type"] == "ready")
        wdesk.agent.post(f"/conversations/{conv}/messages", json={"body": "first"})
        last = frames_until(ws, lambda f: f["type"] == "message")[-1]["seq"]
    # Offline meanwhile: two replies and a status change.
    wdesk.agent.post(f"/conversations/{conv}/messages", json={"body": "second"})
    wdesk.agent.post(f"/conversations/{conv}/messages", json={"body": "third"})
    wdesk.agent.patch(f"/conversations/{conv}", json={"status": "resolved"})
    with visitor.socket(last) as ws:
        got = frames_until(ws, lambda f: f["type"] == "ready")
    messages = [f["message"]["body"] for f in got if f["type"] == "message"]
    assert messages == ["second", "third"]
    assert [f["conversation"]["status"] for f in got if f["type"] == "conversation"] == ["resolved"]
    seqs = [f["seq"] for f in got[:-1]]
    assert seqs == sorted(set(seqs)) and seqs[0] > last


def test_csat_is_stored_and_visible_to_agents(wdesk: WidgetDesk) -> None:
    visitor = Visitor(wdesk)
    conv = visitor.say("rate me csatword")["conversation"]["id"]
    early = visitor.http.post(f"/conversations/{conv}/csat", json={"rating": 5})
    assert early.status_code == 409  # not resolved yet
    assert wdesk.agent.get(f"/conversations/{conv}/csat").status_code == 404
    wdesk.agent.patch(f"/conversations/{conv}", json={"status": "resolved"})
    bad = visitor.http.post(f"/conversations/{conv}/csat", json={"rating": 6})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "rating"
    done = visitor.http.post(f"/conversations/{conv}/csat", json={"rating": 4, "comment": "quick, thanks"})
    assert done.status_code == 201, done.text
    rating = wdesk.agent.get(f"/conversations/{conv}/csat").json()
    assert (rating["rating"], rating["comment"]) == (4, "quick, thanks")
    notes = [m["body"] for m in wdesk.agent.get(f"/conversations/{conv}/messages").json()["items"]]
    assert "The customer rated this conversation 4/5: quick, thanks" in notes
    assert visitor.http.get("/me").json()["conversations"][0]["csat"]["rating"] == 4


def test_origins_and_site_keys_are_checked(wdesk: WidgetDesk) -> None:
    evil = httpx.post(
        f"{wdesk.api}/widget/session",
        json={},
        headers={"X-Site-Key": wdesk.site_key, "Origin": "http://evil.test"},
    )
    assert evil.status_code == 403 and evil.json()["error"]["code"] == "origin_not_allowed"
    preflight = httpx.options(
        f"{wdesk.api}/widget/messages", headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    shop = Visitor(wdesk, origin=SHOP)
    answer = shop.http.get("/me")
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == SHOP
    unknown = httpx.post(f"{wdesk.api}/widget/session", json={}, headers={"X-Site-Key": "wk_nope"})
    assert unknown.status_code == 403 and unknown.json()["error"]["field"] == "X-Site-Key"
    missing = httpx.post(f"{wdesk.api}/widget/session", json={})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "X-Site-Key"
    assert httpx.get(f"{wdesk.url}/widget?key=wk_nope").status_code == 404


def test_size_limit_and_bad_input_change_nothing(wdesk: WidgetDesk) -> None:
    visitor = Visitor(wdesk)
    too_long = visitor.http.post("/messages", json={"body": "x" * 4001})
    assert too_long.status_code == 422 and too_long.json()["error"]["field"] == "body"
    for body in ({"body": ""}, {"body": "hi", "conversation_id": "1"}, {"body": "hi", "extra": 1}):
        assert visitor.http.post("/messages", json=body).status_code == 422
    assert visitor.http.post("/email", json={"email": "not an email"}).status_code == 422
    assert (
        visitor.http.post(
            "/messages", content=b"{nope", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert visitor.http.get("/me").json()["conversations"] == []


def test_rate_limits_per_contact_and_per_address(database: Path | str) -> None:
    desk = start_widget_desk(
        database,
        limits="messages_per_contact=3/60,conversations_per_contact=1/3600,sessions_per_ip=3/3600",
    )
    try:
        visitor = Visitor(desk)
        conv = visitor.say("one ratelimitword")["conversation"]["id"]
        second = visitor.http.post("/messages", json={"body": "a second conversation"})
        assert second.status_code == 429
        visitor.say("two", conv)
        visitor.say("three", conv)
        fourth = visitor.http.post("/messages", json={"body": "four", "conversation_id": conv})
        assert fourth.status_code == 429
        assert fourth.json()["error"]["code"] == "rate_limited" and int(fourth.headers["Retry-After"]) >= 1
        messages = desk.agent.get(f"/conversations/{conv}/messages").json()["items"]
        assert [m["body"] for m in messages] == ["one ratelimitword", "two", "three"]
        Visitor(desk), Visitor(desk)  # this address's second and third sessions: the last allowed
        refused = httpx.post(f"{desk.api}/widget/session", json={}, headers={"X-Site-Key": desk.site_key})
        assert refused.status_code == 429
    finally:
        desk.server.stop()


def test_an_unknown_visitor_token_is_refused_on_the_feed(wdesk: WidgetDesk) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(wdesk.url.replace("http://", "ws://") + "/api/v1/widget/events") as ws:
        ws.send(json.dumps({"type": "hello", "token": wdesk.agent_token, "since": None}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_retried_message_with_the_same_idempotency_key_is_stored_once(wdesk: WidgetDesk) -> None:
    visitor = Visitor(wdesk)
    headers = {"Idempotency-Key": "send-1"}
    first = visitor.http.post("/messages", json={"body": "only once idemword"}, headers=headers)
    again = visitor.http.post("/messages", json={"body": "only once idemword"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    conv = first.json()["conversation"]["id"]
    assert len(visitor.http.get(f"/conversations/{conv}/messages").json()["items"]) == 1
    assert len(visitor.http.get("/me").json()["conversations"]) == 1


def test_availability_changes_reach_connected_customers(wdesk: WidgetDesk) -> None:
    visitor = Visitor(wdesk)
    visitor.say("who is there availword")
    for _ in range(2):  # the second time, the change before it was heard by nobody
        assert wdesk.agent.patch("/me", json={"presence": "offline"}).status_code == 200
        with visitor.socket(None) as ws:
            ready = frames_until(ws, lambda f: f["type"] == "ready")[-1]
            assert ready["availability"]["online"] is False
            assert ready["availability"]["reply_by_email"] is True
            wdesk.agent.patch("/me", json={"presence": "online"})
            change = frames_until(ws, lambda f: f["type"] == "availability")[-1]
            assert change["availability"]["online"] is True and change["availability"]["agents_online"] >= 1
    wdesk.agent.patch("/me", json={"presence": "offline"})


def test_one_visitor_may_hold_only_a_few_live_sockets(wdesk: WidgetDesk) -> None:
    from contextlib import ExitStack

    from websockets.exceptions import ConnectionClosed

    visitor = Visitor(wdesk)
    with ExitStack() as stack:
        for _ in range(5):
            ws = stack.enter_context(visitor.socket(None))
            frames_until(ws, lambda f: f["type"] == "ready")
        extra = stack.enter_context(visitor.socket(None))
        with pytest.raises(ConnectionClosed) as closed:
            extra.recv(timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429

    def room_again() -> bool:  # the tabs are closed: once the server has seen them go, room again
        with visitor.socket(None) as again:
            try:
                return frames_until(again, lambda f: f["type"] == "ready")[-1]["type"] == "ready"
            except ConnectionClosed:
                return False

    poll(room_again, what="a socket accepted after the others closed")


def test_outside_business_hours_the_widget_says_when_the_desk_opens(wdesk: WidgetDesk) -> None:
    from datetime import UTC, datetime, timedelta

    assert wdesk.agent.patch("/me", json={"presence": "offline"}).status_code == 200
    policies = wdesk.admin.get("/sla/policies").json()["items"]
    default = next(p for p in policies if p["is_default"])
    # Open one day a week, two days from now (UTC): closed right now whatever the hour.
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    name = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
    hours = {"zone": "UTC", "hours": [{"day": name, "start": "09:00", "end": "17:00"}]}
    answer = wdesk.admin.patch(f"/sla/policies/{default['id']}", json={"business_hours": hours})
    assert answer.status_code == 200, answer.text
    try:
        config = httpx.get(f"{wdesk.api}/widget/config", params={"key": wdesk.site_key}).json()
        availability = config["availability"]
        assert availability["online"] is False and availability["reply_by_email"] is True
        assert availability["opens_at"] == f"{day.isoformat()}T09:00:00Z"
    finally:
        wdesk.admin.patch(
            f"/sla/policies/{default['id']}", json={"business_hours": default["business_hours"]}
        )
    config = httpx.get(f"{wdesk.api}/widget/config", params={"key": wdesk.site_key}).json()
    assert config["availability"]["opens_at"] is None or default["business_hours"] is not None
