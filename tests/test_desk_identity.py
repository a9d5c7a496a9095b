"""The desk's stable identity and public URL, and local state keyed by them.

Drafts and the outbox are filed under the desk's id (`native:<id>`), not the URL it
answers at, so a desk that comes back on another port (every demo start) or host keeps
them; rows filed under a URL by an older console are carried over on first connect.
KB links for customers use the desk's public URL, never the console's own server URL.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agent_console.client.drafts import Drafts
from agent_console.client.native import NativeBackend
from agent_console.client.outbox import Outbox
from agent_console.server.process import ServerProcess
from agent_console.tui.app import ConsoleApp
from agent_console.tui.screens.kb import KbScreen
from tests.conftest import PUBLIC_URL, Desk, add_agent, start_desk
from tests.test_tui_flows import WIDE, console, focus_conversation, new_customer, ready
from tests.tui_helpers import wait_for

# --- the server side ------------------------------------------------------------------


def test_desk_says_who_it_is_to_a_signed_in_agent(desk: Desk) -> None:
    answer = desk.agent.get("/desk")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"id", "name", "public_url"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert body["name"] == "Lumo Mobile Support"  # the demo seed names its desk
    assert body["public_url"] == PUBLIC_URL
    anonymous = desk.client().get("/desk")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    document = desk.agent.get("/openapi.json").json()
    operation = document["paths"]["/api/v1/desk"]["get"]
    assert operation["security"] == [{"bearer": []}] and "401" in operation["responses"]
    assert set(document["components"]["schemas"]["Desk"]["properties"]) == {"id", "name", "public_url"}


def test_the_desk_id_survives_a_restart_on_another_port(tmp_path: Path) -> None:
    running = start_desk(tmp_path / "desk.db", demo=False)
    try:
        first = running.agent.get("/desk").json()["id"]
    finally:
        running.server.stop()
    again = ServerProcess(tmp_path / "desk.db", port=0)
    with again:
        answer = Desk(again.url, running.db, "", running.agent_token, again).agent.get("/desk")
        assert answer.json()["id"] == first
        assert answer.json()["public_url"] is None  # never set


def serve_and_fail(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "agent_console", "serve", "--port", "0", "--db", str(tmp_path / "d.db")]
    return subprocess.run(
        [*argv, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    "url", ["ftp://help.example.com", "help.example.com", "http://", "https://help.example.com/?a=1"]
)
def test_a_bad_public_url_is_refused_at_start(tmp_path: Path, url: str) -> None:
    result = serve_and_fail(tmp_path, "--public-url", url)
    assert result.returncode == 2
    assert "--public-url" in result.stderr and "http" in result.stderr


def test_the_public_url_can_come_from_the_environment(tmp_path: Path) -> None:
    refused = serve_and_fail(tmp_path, env={"AGENT_CONSOLE_PUBLIC_URL": "not a url"})
    assert refused.returncode == 2 and "public URL" in refused.stderr
    server = ServerProcess(
        tmp_path / "e.db", port=0, env={"AGENT_CONSOLE_PUBLIC_URL": "https://help.example.com/"}
    )
    with server:
        token = add_agent(tmp_path / "e.db", name="Env Test", email="env@test.example")
        answer = httpx.get(f"{server.url}/api/v1/desk", headers={"Authorization": f"Bearer {token}"})
        assert answer.json()["public_url"] == "https://help.example.com"


# --- local state keyed by the desk -----------------------------------------------------


def app_for(url: str, token: str, local: Path) -> ConsoleApp:
    return ConsoleApp(NativeBackend(url, token), drafts=Drafts(local, url), outbox_path=local)


async def test_a_draft_survives_the_desk_coming_back_on_a_new_port(tmp_path: Path) -> None:
    first = start_desk(tmp_path / "desk.db", demo=False)
    local = tmp_path / "local.db"
    try:
        cid, name = new_customer(first)
        app = app_for(first.url, first.agent_token, local)
        async with app.run_test(size=WIDE) as pilot:
            await ready(pilot)
            await focus_conversation(pilot, cid, name)
            await pilot.press("r", *"written before the move")
    finally:
        first.server.stop()
    # Hold the old port, so the desk surely comes back on another one.
    old_port = socket.socket()
    old_port.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    old_port.bind(("127.0.0.1", int(first.url.rsplit(":", 1)[1])))
    old_port.listen()
    moved = ServerProcess(tmp_path / "desk.db", port=0)
    with old_port, moved:
        assert moved.url != first.url
        again = app_for(moved.url, first.agent_token, local)
        async with again.run_test(size=WIDE) as pilot:
            await ready(pilot)
            await focus_conversation(pilot, cid, name)
            composer = console(again).pane.composer
            await wait_for(pilot, lambda: composer.text == "written before the move", what="the draft back")


async def test_rows_filed_under_the_url_are_carried_over_on_first_connect(desk: Desk, tmp_path: Path) -> None:
    """What a console from before desk ids left behind: a draft and a queued reply."""
    cid, name = new_customer(desk)
    local = tmp_path / "local.db"
    me = desk.agent.get("/me").json()
    Drafts(local, desk.url).save(cid, "draft from the old version", private=False)
    left = Outbox(local, desk.url, account=str(me["id"]))
    left.enqueue_message(cid, "queued by the old version")
    left.close()
    app = app_for(desk.url, desk.agent_token, local)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        composer = console(app).pane.composer
        await wait_for(pilot, lambda: composer.text == "draft from the old version", what="the old draft")

        def sent() -> bool:
            items = desk.agent.get(f"/conversations/{cid}/messages").json()["items"]
            return [m["body"] for m in items].count("queued by the old version") == 1

        await wait_for(pilot, sent, what="the old queued reply on the server")
        key = app.local_key()
    assert key == f"native:{desk.agent.get('/desk').json()['id']}"
    assert Drafts(local, desk.url).load(cid) is None  # moved, not copied


def test_adopting_keeps_the_newer_of_two_drafts(tmp_path: Path) -> None:
    drafts = Drafts(tmp_path / "local.db", "http://127.0.0.1:9999")
    drafts.save(1, "old url, older", private=False)
    drafts.save(2, "only under the url", private=True)
    newer = Drafts(tmp_path / "local.db", "native:abc")
    newer.save(1, "desk key, newer", private=False)
    assert drafts.adopt("native:abc") == 1
    assert drafts.load(1) == ("desk key, newer", False)
    assert drafts.load(2) == ("only under the url", True)


# --- KB links for customers --------------------------------------------------------------


async def insert_kb_link(pilot, app: ConsoleApp, cid: int, name: str) -> KbScreen:
    await ready(pilot)
    await focus_conversation(pilot, cid, name)
    await pilot.press("ctrl+g")
    await wait_for(pilot, lambda: isinstance(app.screen, KbScreen), what="the KB search")
    kb = app.screen
    await pilot.press(*"apn")
    await wait_for(pilot, lambda: kb.hits, what="search results")
    await pilot.press("ctrl+l")
    return kb


async def test_kb_links_use_the_desks_public_url(desk: Desk, tmp_path: Path) -> None:
    cid, name = new_customer(desk)
    app = app_for(desk.url, desk.agent_token, tmp_path / "local.db")
    async with app.run_test(size=WIDE) as pilot:
        kb = await insert_kb_link(pilot, app, cid, name)
        composer = console(app).pane.composer
        link = f"{PUBLIC_URL}/kb/{kb.hits[0].id}"
        await wait_for(pilot, lambda: link in composer.text, what="the public link")
        assert desk.url not in composer.text and "127.0.0.1" not in composer.text


async def test_without_a_public_url_no_link_is_inserted_and_the_agent_is_told(tmp_path: Path) -> None:
    running = start_desk(tmp_path / "desk.db")  # seeded (a knowledge base), no public URL
    try:
        cid, name = new_customer(running)
        app = app_for(running.url, running.agent_token, tmp_path / "local.db")
        notes: list[str] = []
        original = app.notify

        def notify(message: str, **kwargs) -> None:  # noqa: ANN003
            notes.append(str(message))
            original(message, **kwargs)

        app.notify = notify
        async with app.run_test(size=WIDE) as pilot:
            kb = await insert_kb_link(pilot, app, cid, name)
            await wait_for(pilot, lambda: any("--public-url" in note for note in notes), what="the warning")
            assert app.screen is kb  # still searching: the agent can quote instead
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, KbScreen), what="the KB closed")
            composer = console(app).pane.composer
            assert "/kb/" not in composer.text and running.url not in composer.text
    finally:
        running.server.stop()
