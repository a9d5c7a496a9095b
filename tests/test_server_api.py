"""The desk server's REST API, against the real server process."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import ENGINES, Desk, add_agent, database_text

DESK_ENGINES = ENGINES  # every test here runs on SQLite and on PostgreSQL


def inbound(desk: Desk, body: str = "My eSIM stopped working", **extra: object) -> dict:
    payload = {
        "channel": "web_chat",
        "contact": {"name": "Test Customer", "email": f"{uuid.uuid4().hex[:8]}@cust.example"},
        "body": body,
        **extra,
    }
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if code:
        assert error["code"] == code
    return error


# --- auth -----------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/me"),
    ("PATCH", "/me"),
    ("GET", "/agents"),
    ("GET", "/teams"),
    ("GET", "/contacts"),
    ("GET", "/contacts/1"),
    ("GET", "/conversations"),
    ("GET", "/conversations/1"),
    ("PATCH", "/conversations/1"),
    ("GET", "/conversations/1/messages"),
    ("POST", "/conversations/1/messages"),
    ("POST", "/conversations/1/typing"),
    ("POST", "/conversations/1/viewing"),
    ("POST", "/inbound"),
    ("POST", "/inbound/typing"),
    ("GET", "/canned-responses"),
    ("GET", "/kb/search?q=esim"),
    ("GET", "/kb/articles/1"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_missing_or_bad_tokens(desk: Desk, method: str, path: str) -> None:
    assert_error(desk.client().request(method, path, json={}), 401, "unauthorized")
    assert_error(desk.client("acd_not-a-real-token").request(method, path, json={}), 401)


def test_inbound_needs_admin_or_integration(desk: Desk) -> None:
    payload = {"channel": "sms", "contact": {"name": "X"}, "body": "hi"}
    assert_error(desk.agent.post("/inbound", json=payload), 403, "forbidden")
    assert_error(desk.agent.post("/inbound/typing", json={"conversation_id": 1, "active": True}), 403)


def test_add_agent_while_running_gives_a_token_accepted_at_once(desk: Desk) -> None:
    token = add_agent(desk.db, name="Night Owl", email="owl@test.example", timezone="Asia/Tokyo")
    me = desk.client(token).get("/me")
    assert me.status_code == 200
    assert me.json()["name"] == "Night Owl"
    assert me.json()["timezone"] == "Asia/Tokyo"
    assert isinstance(me.json()["id"], int)
    # Only a hash is kept: the token text is nowhere in the database file.
    assert token not in database_text(desk.db)


# --- reads ----------------------------------------------------------------------------


def test_me_agents_teams(desk: Desk) -> None:
    me = desk.agent.get("/me").json()
    assert me["email"] == "sam@test.example" and me["role"] == "agent"
    agents = desk.agent.get("/agents").json()["items"]
    assert {"sam@test.example", "admin@test.example"} <= {a["email"] for a in agents}
    assert len({a["timezone"] for a in agents}) >= 4
    teams = desk.agent.get("/teams").json()["items"]
    assert {"Billing", "Technical"} <= {t["name"] for t in teams}


def test_presence_change(desk: Desk) -> None:
    response = desk.agent.patch("/me", json={"presence": "busy"})
    assert response.status_code == 200 and response.json()["presence"] == "busy"
    assert_error(desk.agent.patch("/me", json={"presence": "asleep"}), 422)


def test_contacts_search_and_get(desk: Desk) -> None:
    everyone = desk.agent.get("/contacts", params={"limit": 500}).json()["items"]
    assert len(everyone) >= 100
    someone = everyone[3]
    found = desk.agent.get("/contacts", params={"search": someone["name"]}).json()["items"]
    assert someone["id"] in {c["id"] for c in found}
    assert desk.agent.get(f"/contacts/{someone['id']}").json() == someone
    assert_error(desk.agent.get("/contacts/999999"), 404, "not_found")


def test_views_counts_and_due_order(desk: Desk) -> None:
    page = desk.agent.get("/conversations", params={"view": "all", "limit": 500}).json()
    counts = page["counts"]
    assert counts["all"] == len(page["items"]) > 50
    assert counts["unassigned"] + sum(1 for c in page["items"] if c["assignee"] is not None) == counts["all"]
    assert all(c["status"] == "open" for c in page["items"])
    # The one that needs an answer soonest comes first; nobody-waiting ones last.
    dues = [c["due_at"] for c in page["items"]]
    waiting = [d for d in dues if d is not None]
    assert waiting == sorted(waiting)
    assert dues[: len(waiting)] == waiting
    urgent = desk.agent.get("/conversations", params={"view": "urgent", "limit": 500}).json()
    assert urgent["counts"]["urgent"] == len(urgent["items"])
    assert all(c["priority"] == "urgent" for c in urgent["items"])
    unassigned = desk.agent.get("/conversations", params={"view": "unassigned"}).json()
    assert all(c["assignee"] is None for c in unassigned["items"])
    # Embedded contact
    first = page["items"][0]
    assert {"id", "name", "email", "language", "timezone"} <= set(first["contact"])


def test_mine_view(desk: Desk) -> None:
    me = desk.agent.get("/me").json()
    target = inbound(desk)["conversation_id"]
    desk.agent.patch(f"/conversations/{target}", json={"assignee_id": me["id"]})
    mine = desk.agent.get("/conversations", params={"view": "mine", "limit": 500}).json()
    assert target in {c["id"] for c in mine["items"]}
    assert all(c["assignee"]["id"] == me["id"] for c in mine["items"])


def test_paging_with_cursor_is_complete_and_without_duplicates(desk: Desk) -> None:
    whole = desk.agent.get("/conversations", params={"status": "all", "limit": 500}).json()
    seen: list[int] = []
    cursor = None
    while True:
        params = {"status": "all", "limit": 17, **({"cursor": cursor} if cursor else {})}
        page = desk.agent.get("/conversations", params=params).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in whole["items"]]
    assert len(seen) == len(set(seen)) >= 200
    assert_error(desk.agent.get("/conversations", params={"cursor": "garbage!"}), 422)


def test_status_label_and_query_filters(desk: Desk) -> None:
    resolved = desk.agent.get("/conversations", params={"status": "resolved", "limit": 500}).json()
    assert resolved["items"] and all(c["status"] == "resolved" for c in resolved["items"])
    both = desk.agent.get("/conversations", params={"status": "pending,snoozed", "limit": 500}).json()
    assert {c["status"] for c in both["items"]} == {"pending", "snoozed"}
    assert_error(desk.agent.get("/conversations", params={"status": "closed"}), 422)
    labelled = desk.agent.get(
        "/conversations", params={"status": "all", "label": "billing", "limit": 500}
    ).json()
    assert labelled["items"] and all("billing" in c["labels"] for c in labelled["items"])
    created = inbound(desk, body="The zeppelinfrobnicator refund never arrived")
    hits = desk.agent.get("/conversations", params={"q": "zeppelinfrob"}).json()["items"]
    assert [c["id"] for c in hits] == [created["conversation_id"]]
    by_contact = desk.agent.get(
        "/conversations",
        params={"contact_id": hits[0]["contact"]["id"], "status": "all"},
    ).json()["items"]
    assert [c["id"] for c in by_contact] == [created["conversation_id"]]


def test_conversation_and_messages(desk: Desk) -> None:
    created = inbound(desk, body="first")
    cid = created["conversation_id"]
    conversation = desk.agent.get(f"/conversations/{cid}").json()
    assert conversation["status"] == "open" and conversation["waiting_since"] is not None
    assert conversation["due_at"] is not None and conversation["unread_count"] == 1
    assert conversation["last_message"]["body"] == "first"
    inbound(desk, body="second", conversation_id=cid)
    messages = desk.agent.get(f"/conversations/{cid}/messages").json()["items"]
    assert [m["body"] for m in messages] == ["first", "second"]
    assert all(m["kind"] == "incoming" and m["author"]["type"] == "contact" for m in messages)
    later = desk.agent.get(f"/conversations/{cid}/messages", params={"after": messages[0]["id"]}).json()[
        "items"
    ]
    assert [m["body"] for m in later] == ["second"]
    assert_error(desk.agent.get("/conversations/999999"), 404, "not_found")
    assert_error(desk.agent.get("/conversations/999999/messages"), 404)


# --- writes ---------------------------------------------------------------------------


def test_patch_each_field(desk: Desk) -> None:
    cid = inbound(desk)["conversation_id"]
    me = desk.agent.get("/me").json()
    teams = desk.agent.get("/teams").json()["items"]
    changed = desk.agent.patch(
        f"/conversations/{cid}",
        json={
            "priority": "urgent",
            "assignee_id": me["id"],
            "team_id": teams[0]["id"],
            "labels": ["refund", "vip", "refund"],
        },
    ).json()
    assert changed["priority"] == "urgent"
    assert changed["assignee"] == {"id": me["id"], "name": me["name"]}
    assert changed["team"]["id"] == teams[0]["id"]
    assert changed["labels"] == ["refund", "vip"]
    snoozed = desk.agent.patch(f"/conversations/{cid}", json={"snoozed_until": "2099-01-01T09:00:00Z"}).json()
    assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"].startswith("2099-01-01T09:00")
    assert snoozed["due_at"] is None
    reopened = desk.agent.patch(f"/conversations/{cid}", json={"status": "open"}).json()
    assert reopened["status"] == "open" and reopened["snoozed_until"] is None
    assert reopened["due_at"] is not None
    pending = desk.agent.patch(f"/conversations/{cid}", json={"status": "pending"}).json()
    assert pending["status"] == "pending"
    resolved = desk.agent.patch(
        f"/conversations/{cid}", json={"status": "resolved", "assignee_id": None, "team_id": None}
    ).json()
    assert resolved["status"] == "resolved" and resolved["assignee"] is None and resolved["team"] is None
    # Each change left an activity line in the thread.
    kinds = [m["kind"] for m in desk.agent.get(f"/conversations/{cid}/messages").json()["items"]]
    assert kinds.count("activity") >= 6


def test_patch_rejects_bad_values_and_changes_nothing(desk: Desk) -> None:
    cid = inbound(desk)["conversation_id"]
    before = desk.agent.get(f"/conversations/{cid}").json()
    # 422: the body does not fit the schema; 409: it fits, but not now (no wake-up time, or
    # one already past); 404: it names an agent or team that does not exist.
    cases = [
        ({"priority": "critical"}, "priority", 422),
        ({"status": "snoozed"}, "snoozed_until", 409),
        ({"snoozed_until": "2001-01-01T00:00:00Z"}, "snoozed_until", 409),
        ({"assignee_id": 999999}, "assignee_id", 404),
        ({"team_id": 999999}, "team_id", 404),
        ({"labels": ["has space"]}, "labels", 422),
        ({"colour": "red"}, None, 422),
    ]
    for body, field, status in cases:
        error = assert_error(desk.agent.patch(f"/conversations/{cid}", json=body), status)
        if field:
            assert field in (error.get("field") or "") + error["message"], (body, error)
    assert desk.agent.get(f"/conversations/{cid}").json() == before
    assert_error(desk.agent.patch("/conversations/999999", json={"priority": "low"}), 404)


def test_reply_and_private_note(desk: Desk) -> None:
    cid = inbound(desk)["conversation_id"]
    reply = desk.agent.post(f"/conversations/{cid}/messages", json={"body": "On it!"})
    assert reply.status_code == 201
    assert reply.json()["kind"] == "outgoing" and reply.json()["author"]["type"] == "agent"
    note = desk.agent.post(f"/conversations/{cid}/messages", json={"body": "VIP", "private": True})
    assert note.json()["kind"] == "note"
    conversation = desk.agent.get(f"/conversations/{cid}").json()
    assert conversation["waiting_since"] is None
    # Nobody waits for an answer: only the resolution clock (when the policy has one) still runs.
    running = [c for c in conversation["sla"]["clocks"] if c["state"] == "running"]
    assert [c["name"] for c in running] in ([], ["rt"])
    assert conversation["due_at"] == (running[0]["due_at"] if running else None)
    assert conversation["first_response_at"] is not None and conversation["unread_count"] == 0


def test_same_idempotency_key_twice_gives_one_message(desk: Desk) -> None:
    cid = inbound(desk)["conversation_id"]
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    first = desk.agent.post(f"/conversations/{cid}/messages", json={"body": "once"}, headers=headers)
    second = desk.agent.post(f"/conversations/{cid}/messages", json={"body": "once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    bodies = [m["body"] for m in desk.agent.get(f"/conversations/{cid}/messages").json()["items"]]
    assert bodies.count("once") == 1
    # The same key for a different request is refused, and creates nothing.
    other = desk.agent.post(f"/conversations/{cid}/messages", json={"body": "twice"}, headers=headers)
    assert_error(other, 409, "idempotency_key_reused")
    bodies = [m["body"] for m in desk.agent.get(f"/conversations/{cid}/messages").json()["items"]]
    assert "twice" not in bodies


def test_inbound_is_idempotent_too(desk: Desk) -> None:
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    payload = {
        "channel": "email",
        "contact": {"name": "Ida", "email": "ida@cust.example"},
        "body": "double?",
        "subject": "Charged twice",
    }
    first = desk.admin.post("/inbound", json=payload, headers=headers).json()
    second = desk.admin.post("/inbound", json=payload, headers=headers).json()
    assert first == second
    found = desk.agent.get("/conversations", params={"q": "ida@cust.example"}).json()["items"]
    assert len(found) == 1 and found[0]["subject"] == "Charged twice"


def test_stale_reply_gets_409_with_what_is_unseen_then_force_sends(desk: Desk) -> None:
    cid = inbound(desk, body="hello")["conversation_id"]
    seen = desk.agent.get(f"/conversations/{cid}/messages").json()["items"][-1]["id"]
    inbound(desk, body="actually, never mind", conversation_id=cid)
    stale = desk.agent.post(
        f"/conversations/{cid}/messages", json={"body": "Sure!", "last_seen_message_id": seen}
    )
    error = assert_error(stale, 409, "conflict")
    assert [m["body"] for m in error["unseen"]] == ["actually, never mind"]
    bodies = [m["body"] for m in desk.agent.get(f"/conversations/{cid}/messages").json()["items"]]
    assert "Sure!" not in bodies
    forced = desk.agent.post(
        f"/conversations/{cid}/messages",
        json={"body": "Sure!", "last_seen_message_id": seen, "force": True},
    )
    assert forced.status_code == 201
    # Up to date: no conflict.
    latest = forced.json()["id"]
    ok = desk.agent.post(
        f"/conversations/{cid}/messages", json={"body": "More", "last_seen_message_id": latest}
    )
    assert ok.status_code == 201


def test_inbound_continues_and_reopens(desk: Desk) -> None:
    created = inbound(desk, body="start")
    assert created["created"] is True
    cid = created["conversation_id"]
    desk.agent.patch(f"/conversations/{cid}", json={"status": "resolved"})
    again = desk.admin.post(
        "/inbound",
        json={
            "channel": "web_chat",
            "contact": {"name": "whoever"},
            "body": "back again",
            "conversation_id": cid,
        },
    ).json()
    assert again["created"] is False and again["conversation_id"] == cid
    conversation = desk.agent.get(f"/conversations/{cid}").json()
    assert conversation["status"] == "open"
    assert conversation["contact"]["name"] == "Test Customer"  # the conversation's own contact
    missing = desk.admin.post(
        "/inbound",
        json={"channel": "web_chat", "contact": {"name": "x"}, "body": "hi", "conversation_id": 999999},
    )
    assert_error(missing, 404)


def test_typing_and_viewing(desk: Desk) -> None:
    cid = inbound(desk)["conversation_id"]
    assert desk.agent.post(f"/conversations/{cid}/typing", json={"active": True}).status_code == 204
    assert desk.agent.post(f"/conversations/{cid}/viewing", json={"active": True}).status_code == 204
    assert (
        desk.admin.post("/inbound/typing", json={"conversation_id": cid, "active": True}).status_code == 204
    )
    assert_error(desk.agent.post("/conversations/999999/typing", json={"active": True}), 404)


def test_canned_responses(desk: Desk) -> None:
    everything = desk.agent.get("/canned-responses").json()["items"]
    assert len(everything) >= 20
    assert any("{{contact.first_name}}" in c["body"] for c in everything)
    spanish = desk.agent.get("/canned-responses", params={"locale": "es"}).json()["items"]
    assert spanish and all(c["locale"] == "es" for c in spanish)
    some = everything[0]
    found = desk.agent.get("/canned-responses", params={"q": some["shortcode"]}).json()["items"]
    assert some["id"] in {c["id"] for c in found}


def test_kb_search_ranks_and_marks_hits(desk: Desk) -> None:
    hits = desk.agent.get("/kb/search", params={"q": "apn"}).json()["items"]
    assert hits, "expected an article about APN settings"
    assert "apn" in hits[0]["title"].lower() or "apn" in hits[0]["snippet"].lower()
    assert "\ue000" in hits[0]["snippet"] and "\ue001" in hits[0]["snippet"]
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    german = desk.agent.get("/kb/search", params={"q": "eSIM", "locale": "de"}).json()["items"]
    assert german and all(h["locale"] == "de" for h in german)
    article = desk.agent.get(f"/kb/articles/{hits[0]['id']}").json()
    assert article["title"] == hits[0]["title"] and len(article["body"]) > 200
    assert desk.agent.get("/kb/search", params={"q": "zzqqxx"}).json()["items"] == []
    # Query syntax from a person never breaks the search.
    for odd in ['"unbalanced', "NEAR(", "a AND OR", "*", "-esim", "col:umn"]:
        assert desk.agent.get("/kb/search", params={"q": odd}).status_code == 200
    assert_error(desk.agent.get("/kb/articles/999999"), 404)


# --- bad input ------------------------------------------------------------------------


def test_malformed_json_is_400_and_changes_nothing(desk: Desk) -> None:
    cid = inbound(desk)["conversation_id"]
    before = desk.agent.get(f"/conversations/{cid}").json()
    for path, method in [(f"/conversations/{cid}/messages", "POST"), (f"/conversations/{cid}", "PATCH")]:
        response = desk.agent.request(
            method, path, content=b'{"body": "x",', headers={"Content-Type": "application/json"}
        )
        assert_error(response, 400, "malformed_json")
    assert desk.agent.get(f"/conversations/{cid}").json() == before


def test_validation_failure_is_422_naming_the_field(desk: Desk) -> None:
    cid = inbound(desk)["conversation_id"]
    error = assert_error(desk.agent.post(f"/conversations/{cid}/messages", json={"body": 5}), 422)
    assert error["field"] == "body"
    error = assert_error(desk.agent.post(f"/conversations/{cid}/messages", json={}), 422)
    assert "body" in error["message"]
    error = assert_error(desk.agent.get("/conversations", params={"limit": 0}), 422)
    assert error["field"] == "limit"
    bad_channel = {"channel": "pigeon", "contact": {"name": "x"}, "body": "hi"}
    error = assert_error(desk.admin.post("/inbound", json=bad_channel), 422)
    assert "channel" in error["message"]


def test_body_over_one_mebibyte_is_413_and_changes_nothing(desk: Desk) -> None:
    cid = inbound(desk)["conversation_id"]
    count = desk.agent.get(f"/conversations/{cid}").json()["message_count"]
    huge = {"body": "x" * (1024 * 1024 + 10)}
    assert_error(desk.agent.post(f"/conversations/{cid}/messages", json=huge), 413)
    assert desk.agent.get(f"/conversations/{cid}").json()["message_count"] == count


def test_unknown_route_is_404_in_the_error_shape(desk: Desk) -> None:
    assert_error(desk.agent.get("/no-such-thing"), 404)


def test_openapi_document_is_served(desk: Desk) -> None:
    document = httpx.get(f"{desk.api}/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/api/v1/conversations",
        "/api/v1/conversations/{conversation_id}/messages",
        "/api/v1/kb/search",
        "/api/v1/inbound",
    ):
        assert path in document["paths"]
    post = document["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]
    assert {"201", "400", "401", "409", "413", "422"} <= set(post["responses"])


def test_kb_links_in_replies_open_a_public_page(desk: Desk) -> None:
    hit = desk.agent.get("/kb/search", params={"q": "apn"}).json()["items"][0]
    page = httpx.get(f"{desk.url}/kb/{hit['id']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text.lower()
    assert httpx.get(f"{desk.url}/kb/999999").status_code == 404
