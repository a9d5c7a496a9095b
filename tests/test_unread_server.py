"""Unread on the desk server: each agent's read mark per conversation, `POST .../read`, the
`conversation.read` event, personal unread counts in REST answers, and marks that outlive a
server restart."""

from __future__ import annotations

from agent_console.server.process import ServerProcess
from tests.conftest import ENGINES, Desk, add_agent
from tests.test_feed import feed, frames, post_inbound

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL


def unread(desk: Desk, client, cid: int) -> int:  # noqa: ANN001 - httpx.Client
    return client.get(f"/conversations/{cid}").json()["unread_count"]


def head(desk: Desk) -> int:
    return desk.agent.get("/conversations", params={"limit": 1}).json()["head_seq"]


def test_counts_are_per_agent_and_exclude_ones_own(fresh_desk: Desk) -> None:
    desk = fresh_desk
    first = post_inbound(desk, "Hello?")
    cid = first["conversation_id"]
    post_inbound(desk, "Anyone there?", cid)
    assert unread(desk, desk.agent, cid) == 2
    assert unread(desk, desk.admin, cid) == 2
    # A colleague's note counts for the agent; the writer's own never counts for the writer.
    note = desk.admin.post(f"/conversations/{cid}/messages", json={"body": "checking", "private": True})
    assert note.status_code == 201
    assert unread(desk, desk.agent, cid) == 3
    assert unread(desk, desk.admin, cid) == 0  # writing there means having read it
    # Marking unread after one's own reply makes the customer's message unread, not the reply.
    reply = desk.agent.post(f"/conversations/{cid}/messages", json={"body": "Looking into it"})
    assert reply.status_code == 201 and unread(desk, desk.agent, cid) == 0
    back = desk.agent.post(f"/conversations/{cid}/read", json={"mark": "unread"}).json()
    assert back["unread_count"] == 1 and back["last_read_message_id"] < note.json()["id"]
    # The queue page carries the same personal count.
    page = desk.agent.get("/conversations", params={"limit": 500}).json()
    assert next(c for c in page["items"] if c["id"] == cid)["unread_count"] == 1


def test_mark_read_and_unread_emit_conversation_read(fresh_desk: Desk) -> None:
    desk = fresh_desk
    created = post_inbound(desk, "My card was charged twice")
    cid, message_id = created["conversation_id"], created["message"]["id"]
    me = desk.agent.get("/me").json()["id"]
    since = head(desk)
    answer = desk.agent.post(f"/conversations/{cid}/read", json={"mark": "read", "message_id": message_id})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "conversation_id": cid,
        "agent_id": me,
        "last_read_message_id": message_id,
        "unread_count": 0,
    }
    assert unread(desk, desk.agent, cid) == 0
    assert unread(desk, desk.admin, cid) == 1  # the admin's mark did not move
    # The same mark again changes nothing and says nothing.
    assert (
        desk.agent.post(
            f"/conversations/{cid}/read", json={"mark": "read", "message_id": message_id}
        ).status_code
        == 200
    )
    marked = desk.agent.post(f"/conversations/{cid}/read", json={"mark": "unread"})
    assert marked.status_code == 200 and marked.json()["unread_count"] == 1
    assert unread(desk, desk.agent, cid) == 1
    with feed(desk, desk.agent_token, since=since) as socket:
        got = frames(socket, 2)
    assert [f["type"] for f in got] == ["conversation.read", "conversation.read"]
    assert got[0]["data"] == {
        "conversation_id": cid,
        "agent_id": me,
        "last_read_message_id": message_id,
        "unread_count": 0,
    }
    assert got[1]["data"]["unread_count"] == 1 and got[1]["data"]["last_read_message_id"] < message_id
    # Reading an older message never moves the mark back.
    newer = post_inbound(desk, "Second charge is pending too", cid)["message"]["id"]
    desk.agent.post(f"/conversations/{cid}/read", json={"mark": "read", "message_id": newer})
    desk.agent.post(f"/conversations/{cid}/read", json={"mark": "read", "message_id": message_id})
    assert unread(desk, desk.agent, cid) == 0


def test_bad_read_requests_get_a_clear_4xx_and_change_nothing(fresh_desk: Desk) -> None:
    desk = fresh_desk
    cid = post_inbound(desk, "first")["conversation_id"]
    other = post_inbound(desk, "elsewhere")
    before = head(desk)
    cases = [
        ({}, 422, None),
        ({"message_id": 1}, 422, None),
        ({"mark": "read"}, 422, None),
        ({"mark": "read", "message_id": other["message"]["id"]}, 404, "message_id"),
        ({"mark": "read", "message_id": 10**9}, 404, "message_id"),
        ({"mark": "read", "message_id": 0}, 422, None),
        ({"mark": "read", "message_id": "7"}, 422, None),
        ({"mark": "unread", "message_id": 1}, 422, None),
        ({"mark": "seen"}, 422, None),
        ({"mark": "read", "message_id": 1, "extra": 1}, 422, None),
    ]
    for body, status, field in cases:
        response = desk.agent.post(f"/conversations/{cid}/read", json=body)
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert error["code"] and error["message"]
        if field:
            assert error["field"] == field, (body, error)
    missing = desk.agent.post("/conversations/999999/read", json={"mark": "unread"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    garbage = desk.agent.post(f"/conversations/{cid}/read", content=b"{not json")
    assert garbage.status_code == 400
    assert head(desk) == before  # no event: nothing changed
    assert unread(desk, desk.agent, cid) == 1


def test_a_new_agent_starts_with_what_exists_read(fresh_desk: Desk) -> None:
    desk = fresh_desk
    cid = post_inbound(desk, "old news")["conversation_id"]
    token = add_agent(desk.db, name="Nell New", email="nell@test.example")
    nell = desk.client(token)
    assert unread(desk, nell, cid) == 0
    post_inbound(desk, "new news", cid)
    assert unread(desk, nell, cid) == 1


def test_marks_survive_a_server_restart(fresh_desk: Desk) -> None:
    desk = fresh_desk
    cid = post_inbound(desk, "one")["conversation_id"]
    post_inbound(desk, "two", cid)
    post_inbound(desk, "three", cid)
    messages = desk.agent.get(f"/conversations/{cid}/messages").json()["items"]
    desk.agent.post(f"/conversations/{cid}/read", json={"mark": "read", "message_id": messages[0]["id"]})
    assert unread(desk, desk.agent, cid) == 2
    desk.server.stop()
    restarted = ServerProcess(desk.db, demo=False)
    restarted.start()
    try:
        client = Desk(restarted.url, desk.db, desk.admin_token, desk.agent_token, restarted).agent
        assert client.get(f"/conversations/{cid}").json()["unread_count"] == 2
    finally:
        restarted.stop()
