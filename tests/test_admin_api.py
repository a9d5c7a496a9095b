"""Running the desk over REST: every admin endpoint, its role check, validation that names the
field, nothing changed on bad input, and the events each write emits. One seeded desk of this
module's own: these tests rename labels and deactivate agents, which the session desk's other
users must not see."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import ENGINES, Desk, start_desk

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    running = start_desk(tmp_path_factory.mktemp("admin") / "desk.db")
    yield running
    running.server.stop()


def head(desk: Desk) -> int:
    return desk.admin.get("/conversations", params={"limit": 1}).json()["head_seq"]


# What admin writes emit; the desk's own activity (SLA warnings, presence) goes on meanwhile.
ADMIN_TYPES = ("agent.", "team.", "canned.", "label.", "kb.article.")


def ours(frame: dict) -> bool:
    kind = frame["type"]
    relabelled = kind == "conversation.updated" and frame["data"].get("changed") == ["labels"]
    return kind.startswith(ADMIN_TYPES) or relabelled


def events_since(
    desk: Desk, since: int, wanted: int, timeout: float = 10.0, only: tuple[str, ...] = ()
) -> list[dict]:
    """The next `wanted` admin events after `since` (of the `only` kinds, if given)."""
    url = desk.url.replace("http://", "ws://") + f"/api/v1/events?since={since}&presence=0"
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    with connect(url, additional_headers={"Authorization": f"Bearer {desk.agent_token}"}) as socket:
        while len(found) < wanted:
            frame = json.loads(socket.recv(timeout=max(0.01, deadline - time.monotonic())))
            if frame["type"] not in ("ping", "resync_required") and ours(frame):
                if only and not frame["type"].startswith(only):
                    continue
                found.append(frame)
    return found


def no_admin_events_since(desk: Desk, since: int) -> None:
    """No admin event after `since`: a sentinel write's event is the first one that comes."""
    sentinel = f"sentinel-{uuid.uuid4().hex[:8]}"
    assert desk.admin.post("/labels", json={"name": sentinel}).status_code == 201
    first = events_since(desk, since, 1)[0]
    assert (first["type"], first["data"]["label"]["name"]) == ("label.created", sentinel), first


def snapshot(desk: Desk) -> dict:
    """Everything the admin endpoints can change."""
    admin = desk.admin
    return {
        "agents": admin.get("/agents", params={"include_inactive": "true"}).json(),
        "teams": [admin.get(f"/teams/{t['id']}").json() for t in admin.get("/teams").json()["items"]],
        "canned": admin.get("/canned-responses").json(),
        "labels": admin.get("/labels").json(),
        "kb": admin.get("/kb/articles").json(),
    }


def refused(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    if field is not None:
        assert error.get("field") == field, error
    return error


def new_agent(desk: Desk, email: str, **extra: object) -> dict:
    response = desk.admin.post("/agents", json={"name": "Kim Lee", "email": email, **extra})
    assert response.status_code == 201, response.text
    return response.json()


# --- roles --------------------------------------------------------------------------------------

WRITES = [
    ("POST", "/agents", {"name": "X Y", "email": "x@role.example"}),
    ("PATCH", "/agents/1", {"name": "Renamed"}),
    ("POST", "/agents/1/token", None),
    ("POST", "/teams", {"name": "Role test"}),
    ("PATCH", "/teams/1", {"name": "Role test"}),
    ("POST", "/canned-responses", {"shortcode": "rt", "title": "T", "body": "b", "locale": "en"}),
    ("PATCH", "/canned-responses/1", {"title": "T"}),
    ("DELETE", "/canned-responses/1", None),
    ("POST", "/labels", {"name": "role-test"}),
    ("PATCH", "/labels/billing", {"name": "role-test"}),
    ("POST", "/kb/articles", {"slug": "rt", "title": "T", "body": "b", "locale": "en"}),
    ("POST", "/kb/import", {"slug": "rt", "title": "T", "body": "b", "locale": "en"}),
    ("PATCH", "/kb/articles/1", {"status": "draft"}),
    ("GET", "/kb/articles/1/revisions", None),
    ("GET", "/kb/gaps", None),
]


def test_every_admin_endpoint_is_403_for_agents_and_changes_nothing(desk: Desk) -> None:
    quiet, before = head(desk), snapshot(desk)
    for method, path, body in WRITES:
        response = (
            desk.agent.request(method, path, json=body)
            if body is not None
            else desk.agent.request(method, path)
        )
        refused(response, 403)
        assert "admin" in response.json()["error"]["message"]
    assert snapshot(desk) == before
    no_admin_events_since(desk, quiet)


def test_every_admin_endpoint_is_401_without_a_token(desk: Desk) -> None:
    for method, path, body in WRITES:
        refused(desk.client().request(method, path, json=body or {}), 401)
        refused(desk.client("acd_nope").request(method, path, json=body or {}), 401)


# --- agents ---------------------------------------------------------------------------------------


def test_invite_agent_token_shown_once_then_deactivation_cuts_it_off_even_on_an_open_feed(desk: Desk) -> None:
    since = head(desk)
    made = new_agent(
        desk, "kim@admin.example", role="agent", timezone="Europe/Berlin", languages=["de", "en"]
    )
    agent, token = made["agent"], made["token"]
    assert (
        agent["languages"] == ["de", "en"]
        and agent["active"] is True
        and agent["timezone"] == "Europe/Berlin"
    )
    assert token not in json.dumps(snapshot(desk))  # shown once: no read hands it out again
    kim = desk.client(token)
    assert kim.get("/me").json()["email"] == "kim@admin.example"
    created = events_since(desk, since, 1)[0]
    assert created["type"] == "agent.created" and created["data"]["agent"]["id"] == agent["id"]
    assert token not in json.dumps(created)

    url = desk.url.replace("http://", "ws://") + "/api/v1/events"
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as socket:
        since = head(desk)
        response = desk.admin.patch(f"/agents/{agent['id']}", json={"active": False})
        assert response.status_code == 200 and response.json()["active"] is False
        deadline = time.monotonic() + 10
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() < deadline:
                socket.recv(timeout=max(0.01, deadline - time.monotonic()))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    refused(kim.get("/me"), 401)
    assert agent["id"] not in [a["id"] for a in desk.admin.get("/agents").json()["items"]]
    listed = desk.admin.get("/agents", params={"include_inactive": "true"}).json()["items"]
    assert [a["active"] for a in listed if a["id"] == agent["id"]] == [False]  # never deleted
    updated = [e for e in events_since(desk, since, 1) if e["type"] == "agent.updated"]
    assert updated and updated[0]["data"]["agent"]["active"] is False


def test_rotate_token_shows_a_new_one_once_and_the_old_one_stops(desk: Desk) -> None:
    made = new_agent(desk, "rotate@admin.example")
    agent_id, old = made["agent"]["id"], made["token"]
    url = desk.url.replace("http://", "ws://") + "/api/v1/events"
    with connect(url, additional_headers={"Authorization": f"Bearer {old}"}) as socket:
        response = desk.admin.post(f"/agents/{agent_id}/token")
        assert response.status_code == 200, response.text
        new = response.json()["token"]
        with pytest.raises(ConnectionClosed):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                socket.recv(timeout=max(0.01, deadline - time.monotonic()))
    assert new != old
    refused(desk.client(old).get("/me"), 401)
    assert desk.client(new).get("/me").json()["id"] == agent_id
    me = desk.admin.get("/me").json()["id"]
    quiet, before = head(desk), snapshot(desk)
    refused(desk.admin.post(f"/agents/{me}/token"), 409)  # it would cut this very session off
    assert snapshot(desk) == before
    no_admin_events_since(desk, quiet)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A B", "email": "not-an-email"}, "email"),
        ({"name": "A B", "email": "tz@admin.example", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "A B", "email": "role@admin.example", "role": "root"}, "role"),
        ({"name": "", "email": "name@admin.example"}, "name"),
        ({"name": "A B", "email": "lang@admin.example", "languages": ["english!"]}, "languages[0]"),
        ({"name": "A B", "email": "x@admin.example", "token": "mine"}, None),
    ],
)
def test_invalid_agent_is_422_naming_the_field_and_changes_nothing(
    desk: Desk, body: dict, field: str
) -> None:
    quiet, before = head(desk), snapshot(desk)
    refused(desk.admin.post("/agents", json=body), 422, field)
    assert snapshot(desk) == before
    no_admin_events_since(desk, quiet)


def test_taken_or_unknown_references_are_409_or_404_naming_the_field(desk: Desk) -> None:
    quiet, before = head(desk), snapshot(desk)
    refused(desk.admin.post("/agents", json={"name": "A B", "email": "ADMIN@test.example"}), 409, "email")
    refused(
        desk.admin.post("/agents", json={"name": "A B", "email": "t@a.example", "team_ids": [999999]}),
        404,
        "team_ids",
    )
    lost = {**ARTICLE, "slug": "lost", "translation_key": "no-such-article"}
    refused(desk.admin.post("/kb/articles", json=lost), 404, "translation_key")
    refused(desk.admin.post("/kb/import", json=lost), 404, "translation_key")
    assert snapshot(desk) == before
    no_admin_events_since(desk, quiet)


def test_update_agent_validates_and_guards_the_admin_itself(desk: Desk) -> None:
    agent_id = new_agent(desk, "update@admin.example")["agent"]["id"]
    me = desk.admin.get("/me").json()["id"]
    quiet, before = head(desk), snapshot(desk)
    refused(desk.admin.patch(f"/agents/{agent_id}", json={"timezone": "Nowhere/Land"}), 422, "timezone")
    refused(desk.admin.patch(f"/agents/{agent_id}", json={"team_ids": [1, 999999]}), 404, "team_ids")
    # An admin cannot lock themselves out: a conflict with who is asking, not a bad value.
    refused(desk.admin.patch(f"/agents/{me}", json={"active": False}), 409, "active")
    refused(desk.admin.patch(f"/agents/{me}", json={"role": "agent"}), 409, "role")
    refused(desk.admin.patch("/agents/999999", json={"name": "Nobody"}), 404)
    assert snapshot(desk) == before
    no_admin_events_since(desk, quiet)
    team = desk.admin.get("/teams").json()["items"][0]["id"]
    changed = desk.admin.patch(
        f"/agents/{agent_id}", json={"role": "admin", "languages": ["pt-BR"], "team_ids": [team]}
    ).json()
    assert (changed["role"], changed["languages"], changed["team_ids"]) == ("admin", ["pt-BR"], [team])


# --- teams ------------------------------------------------------------------------------------------


def test_teams_create_rename_and_members_with_events(desk: Desk) -> None:
    a = new_agent(desk, "team-a@admin.example")["agent"]["id"]
    b = new_agent(desk, "team-b@admin.example")["agent"]["id"]
    since = head(desk)
    created = desk.admin.post("/teams", json={"name": "Night shift", "member_ids": [a]})
    assert created.status_code == 201, created.text
    team = created.json()
    assert team["member_ids"] == [a]
    renamed = desk.admin.patch(f"/teams/{team['id']}", json={"name": "Nights", "member_ids": [b]}).json()
    assert renamed["name"] == "Nights" and renamed["member_ids"] == [b]
    assert desk.agent.get(f"/teams/{team['id']}").json() == renamed
    assert team["id"] in desk.client(desk.admin_token).get(f"/agents/{b}").json()["team_ids"]
    kinds = [(e["type"], e["data"]["team"]["name"]) for e in events_since(desk, since, 2, only=("team.",))]
    assert kinds == [("team.created", "Night shift"), ("team.updated", "Nights")]
    quiet, before = head(desk), snapshot(desk)
    refused(desk.admin.post("/teams", json={"name": "nights"}), 409, "name")  # names are unique, any case
    refused(desk.admin.patch(f"/teams/{team['id']}", json={"member_ids": [a, 999999]}), 404, "member_ids")
    refused(desk.admin.patch(f"/teams/{team['id']}", json={"name": ""}), 422, "name")
    refused(desk.admin.patch("/teams/999999", json={"name": "X"}), 404)
    assert snapshot(desk) == before
    no_admin_events_since(desk, quiet)


# --- canned responses -------------------------------------------------------------------------------


def test_canned_crud_with_known_placeholders_only(desk: Desk) -> None:
    since = head(desk)
    body = {"shortcode": "refund-eta", "title": "Refund time", "locale": "en"}
    created = desk.admin.post(
        "/canned-responses", json={**body, "body": "Hi {{contact.first_name}}, 5 days."}
    )
    assert created.status_code == 201, created.text
    canned = created.json()
    german = desk.admin.post(
        "/canned-responses", json={**body, "locale": "de", "body": "Hallo {{ contact.first_name }}, 5 Tage."}
    )
    assert german.status_code == 201, german.text  # one shortcode, one response per locale
    quiet, before = head(desk), snapshot(desk)
    error = refused(
        desk.admin.post("/canned-responses", json={**body, "shortcode": "x", "body": "Hi {{customer.name}}"}),
        422,
        "body",
    )
    assert "{{customer.name}}" in error["message"] and "{{contact.first_name}}" in error["message"]
    refused(desk.admin.post("/canned-responses", json={**body, "body": "Again"}), 409, "shortcode")
    refused(
        desk.admin.post("/canned-responses", json={**body, "shortcode": "Bad Code", "body": "x"}),
        422,
        "shortcode",
    )
    refused(
        desk.admin.patch(f"/canned-responses/{canned['id']}", json={"body": "{{cursor}} {{cursor}}"}),
        422,
        "body",
    )
    refused(desk.admin.patch(f"/canned-responses/{canned['id']}", json={"locale": "de"}), 409, "shortcode")
    assert snapshot(desk) == before
    no_admin_events_since(desk, quiet)
    changed = desk.admin.patch(f"/canned-responses/{canned['id']}", json={"title": "Refunds: when"}).json()
    assert (
        changed["title"] == "Refunds: when"
        and desk.agent.get(f"/canned-responses/{canned['id']}").json() == changed
    )
    assert desk.admin.delete(f"/canned-responses/{canned['id']}").status_code == 204
    refused(desk.agent.get(f"/canned-responses/{canned['id']}"), 404)
    refused(desk.admin.delete(f"/canned-responses/{canned['id']}"), 404)
    kinds = [e["type"] for e in events_since(desk, since, 4, only=("canned.",))]
    assert kinds == ["canned.created", "canned.created", "canned.updated", "canned.deleted"]


# --- labels ---------------------------------------------------------------------------------------


def inbound(desk: Desk, body: str) -> int:
    payload = {"channel": "sms", "contact": {"name": "Label Tester", "phone": "+15550199"}, "body": body}
    response = desk.admin.post("/inbound", json=payload)
    assert response.status_code == 201
    return response.json()["conversation_id"]


def test_labels_managed_with_colours_and_rename_merges(desk: Desk) -> None:
    one, two = inbound(desk, "first"), inbound(desk, "second")
    assert desk.admin.patch(f"/conversations/{one}", json={"labels": ["Returns-Q", "vip"]}).status_code == 200
    assert (
        desk.admin.patch(f"/conversations/{two}", json={"labels": ["return-q", "returns-q"]}).status_code
        == 200
    )
    created = desk.admin.post("/labels", json={"name": "RETURN-Q", "color": "#d4a017"})
    assert created.status_code == 201, created.text
    assert created.json() == {"name": "return-q", "count": 1, "color": "#d4a017"}
    quiet, before = head(desk), snapshot(desk)
    refused(desk.admin.post("/labels", json={"name": "return-q"}), 409, "name")
    refused(desk.admin.post("/labels", json={"name": "two words"}), 422, "name")
    refused(desk.admin.post("/labels", json={"name": "ok", "color": "gold"}), 422, "color")
    refused(desk.admin.patch("/labels/returns-q", json={"name": "a,b"}), 422, "name")
    refused(desk.admin.patch("/labels/never-used", json={"color": "#000000"}), 404)
    assert snapshot(desk) == before
    no_admin_events_since(desk, quiet)

    since = head(desk)
    merged = desk.admin.patch("/labels/RETURNS-Q", json={"name": "return-q"})
    assert merged.status_code == 200, merged.text
    assert merged.json() == {
        "name": "return-q",
        "count": 2,
        "color": "#d4a017",
    }  # the target keeps its colour
    assert desk.agent.get(f"/conversations/{one}").json()["labels"] == ["return-q", "vip"]
    assert desk.agent.get(f"/conversations/{two}").json()["labels"] == ["return-q"]  # once, merged
    names = [item["name"] for item in desk.agent.get("/labels").json()["items"]]
    assert "returns-q" not in names and "return-q" in names
    found = events_since(desk, since, 3)
    assert sorted(e["type"] for e in found) == [
        "conversation.updated",
        "conversation.updated",
        "label.updated",
    ]
    label_event = next(e for e in found if e["type"] == "label.updated")
    assert label_event["data"]["renamed_from"] == "returns-q"
    assert {e["data"]["conversation"]["id"] for e in found if e["type"] == "conversation.updated"} == {
        one,
        two,
    }


# --- knowledge base -------------------------------------------------------------------------------


ARTICLE = {
    "slug": "reset-your-pin",
    "title": "Reset your SIM PIN",
    "body": "Type **PUK** then a new PIN.\n",
    "locale": "en",
    "tags": ["sim", "pin"],
}


def test_kb_draft_publish_edit_revisions_and_translations(desk: Desk) -> None:
    since = head(desk)
    created = desk.admin.post("/kb/articles", json=ARTICLE)
    assert created.status_code == 201, created.text
    article = created.json()
    assert (article["status"], article["revision"], article["translation_key"]) == (
        "draft",
        1,
        "reset-your-pin",
    )
    # A draft: not for agents, search or customers.
    refused(desk.agent.get(f"/kb/articles/{article['id']}"), 404)
    assert article["id"] not in [
        h["id"] for h in desk.agent.get("/kb/search", params={"q": "PUK"}).json()["items"]
    ]
    assert httpx.get(f"{desk.url}/kb/{article['id']}").status_code == 404
    refused(desk.agent.get("/kb/articles", params={"status": "draft"}), 403, "status")

    published = desk.admin.patch(f"/kb/articles/{article['id']}", json={"status": "published"}).json()
    assert published["status"] == "published" and published["revision"] == 2
    assert article["id"] in [
        h["id"] for h in desk.agent.get("/kb/search", params={"q": "PUK"}).json()["items"]
    ]
    edited = desk.admin.patch(
        f"/kb/articles/{article['id']}", json={"body": "Type the PUK from your card."}
    ).json()
    assert edited["revision"] == 3 and edited["updated_by"] == "Avery Admin"
    same = desk.admin.patch(
        f"/kb/articles/{article['id']}", json={"body": "Type the PUK from your card.\n"}
    ).json()
    assert same["revision"] == 3  # no change, no revision

    revisions = desk.admin.get(f"/kb/articles/{article['id']}/revisions").json()["items"]
    assert [r["revision"] for r in revisions] == [3, 2, 1]
    assert [r["status"] for r in revisions] == ["published", "published", "draft"]
    assert (
        revisions[2]["body"] == ARTICLE["body"] and revisions[0]["body"] == "Type the PUK from your card.\n"
    )
    assert {r["author_name"] for r in revisions} == {"Avery Admin"} and all(r["at"] for r in revisions)

    german = desk.admin.post(
        "/kb/articles",
        json={**ARTICLE, "slug": "pin-zuruecksetzen", "locale": "de", "translation_key": "reset-your-pin"},
    ).json()
    assert german["translation_key"] == "reset-your-pin"
    linked = desk.admin.get("/kb/articles").json()["items"]
    assert {(a["locale"], a["slug"]) for a in linked if a["translation_key"] == "reset-your-pin"} == {
        ("en", "reset-your-pin"),
        ("de", "pin-zuruecksetzen"),
    }
    kinds = [e["type"] for e in events_since(desk, since, 4, only=("kb.",))]
    assert kinds == ["kb.article.created", "kb.article.updated", "kb.article.updated", "kb.article.created"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ARTICLE, "slug": "Not A Slug"}, "slug"),
        ({**ARTICLE, "slug": "bad-locale", "locale": "english"}, "locale"),
        ({**ARTICLE, "slug": "bad-tags", "tags": ["two words"]}, "tags[0]"),
        ({**ARTICLE, "slug": "no-title", "title": ""}, "title"),
        ({**ARTICLE, "slug": "two-lines", "title": "one\ntwo"}, "title"),
        ({**ARTICLE, "slug": "empty", "body": "\n\n"}, "body"),
        ({**ARTICLE, "slug": "odd", "status": "archived"}, "status"),
    ],
)
def test_invalid_article_is_422_naming_the_field_and_changes_nothing(
    desk: Desk, body: dict, field: str
) -> None:
    quiet, before = head(desk), snapshot(desk)
    refused(desk.admin.post("/kb/articles", json=body), 422, field)
    refused(desk.admin.post("/kb/import", json=body), 422, field)
    assert snapshot(desk) == before
    no_admin_events_since(desk, quiet)


def test_import_is_idempotent_by_slug_and_locale(desk: Desk) -> None:
    doc = {**ARTICLE, "slug": "import-once", "status": "published"}
    first = desk.admin.post("/kb/import", json=doc).json()
    assert first["outcome"] == "created"
    since = head(desk)
    again = desk.admin.post("/kb/import", json=doc).json()
    assert again["outcome"] == "unchanged" and again["article"]["id"] == first["article"]["id"]
    no_admin_events_since(desk, since)  # nothing changed: no event
    changed = desk.admin.post("/kb/import", json={**doc, "title": "Reset your PIN (new)"}).json()
    assert changed["outcome"] == "updated" and changed["article"]["revision"] == 2
    assert [e["type"] for e in events_since(desk, since, 1, only=("kb.",))] == ["kb.article.updated"]
    refused(desk.admin.post("/kb/articles", json=doc), 409, "slug")  # create never overwrites


def test_public_page_renders_markdown_without_raw_html(desk: Desk) -> None:
    hostile = (
        "# Heading\n\nSee **this**.\n\n<script>alert('kb')</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) [safe](https://help.example/ok) <iframe src=https://evil.example>\n"
    )
    doc = {**ARTICLE, "slug": "hostile", "body": hostile, "status": "published"}
    article = desk.admin.post("/kb/import", json=doc).json()["article"]
    page = httpx.get(f"{desk.url}/kb/{article['id']}")
    assert page.status_code == 200 and page.headers["content-security-policy"] == "default-src 'none'"
    text = page.text.lower()
    assert "<strong>this</strong>" in text and "<h1>heading</h1>" in text  # Markdown is rendered
    for tag in ("<script", "<img", "<iframe", 'href="javascript'):
        assert tag not in text, tag
    assert "&lt;script&gt;" in text  # shown as text, not dropped silently
    assert '<a href="https://help.example/ok">safe</a>' in text


def test_demo_kb_and_canned_came_in_through_the_import_path(desk: Desk) -> None:
    """The seed loads the bundled files with the `kb import` parser and the admin upserts:
    each article has its first revision by the seed, and importing a bundled file again
    (as `kb import` would send it) finds nothing to change."""
    from agent_console.core.kbdoc import parse_kb_file
    from agent_console.server.seed import demo_kb_files

    name, text = demo_kb_files()[0]
    doc = parse_kb_file(name, text)
    held = next(a for a in desk.admin.get("/kb/articles").json()["items"] if a["slug"] == doc.slug)
    revisions = desk.admin.get(f"/kb/articles/{held['id']}/revisions").json()["items"]
    assert [(r["revision"], r["author_name"]) for r in revisions[-1:]] == [(1, "demo seed")]
    again = {
        "slug": doc.slug,
        "title": doc.title,
        "body": doc.body,
        "locale": doc.locale,
        "tags": list(doc.tags),
        "status": doc.status,
    }
    assert desk.admin.post("/kb/import", json=again).json()["outcome"] == "unchanged"
    canned = desk.agent.get("/canned-responses", params={"q": "greet", "locale": "en"}).json()["items"]
    assert canned and "{{contact.first_name}}" in canned[0]["body"]
