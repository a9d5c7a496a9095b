"""The KB screen on a desk that is being run: agents see article changes live, and an admin
edits an article in $EDITOR (the real console through the pilot, a real editor process)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_console.client.drafts import Drafts
from agent_console.client.native import NativeBackend
from agent_console.tui.app import ConsoleApp
from agent_console.tui.screens.kb import KbScreen
from tests.conftest import Desk, start_desk
from tests.test_tui_flows import WIDE, focus_conversation, new_customer, ready
from tests.tui_helpers import screen_text, wait_for


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A seeded desk of this module's own: its articles change under the tests."""
    running = start_desk(tmp_path_factory.mktemp("kbtui") / "desk.db")
    yield running
    running.server.stop()


def make_app(desk: Desk, tmp_path: Path, token: str) -> ConsoleApp:
    local = tmp_path / "local.db"
    return ConsoleApp(NativeBackend(desk.url, token), drafts=Drafts(local, desk.url), outbox_path=local)


def article_by_slug(desk: Desk, slug: str) -> dict:
    return next(
        a
        for a in desk.admin.get("/kb/articles", params={"locale": "en"}).json()["items"]
        if a["slug"] == slug
    )


async def open_kb(pilot, desk: Desk, query: str) -> KbScreen:
    cid, name = new_customer(desk)
    await ready(pilot)
    await focus_conversation(pilot, cid, name)
    await pilot.press("ctrl+g")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, KbScreen), what="the KB modal")
    await pilot.press(*query)
    kb = pilot.app.screen
    await wait_for(pilot, lambda: kb.hits, what="search results")
    return kb


async def test_agent_sees_article_updates_live(desk: Desk, tmp_path: Path) -> None:
    app = make_app(desk, tmp_path, desk.agent_token)
    async with app.run_test(size=WIDE) as pilot:
        kb = await open_kb(pilot, desk, "hotspot")
        target = kb.hits[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: kb.article is not None and kb.has_class("-reading"), what="the reader")
        assert "Zebra-crossing tip" not in screen_text(app) and "ctrl+e" not in screen_text(app)
        body = kb.article.body.replace("\n", "\n\nZebra-crossing tip: restart the phone first.\n", 1)
        assert desk.admin.patch(f"/kb/articles/{target.id}", json={"body": body}).status_code == 200
        await wait_for(pilot, lambda: "Zebra-crossing tip" in kb.article.body, what="the reader to reload")
        await wait_for(pilot, lambda: "updated just now: revision 2" in screen_text(app), what="the notice")
        await wait_for(pilot, lambda: "Zebra-crossing tip" in screen_text(app), what="the new text on screen")

        await pilot.press("escape")  # back to the result list, still searching "hotspot"
        new = {
            "slug": "hotspot-on-tablets",
            "title": "Hotspot on tablets",
            "body": "Tablets share data too.\n",
        }
        created = desk.admin.post("/kb/articles", json={**new, "locale": "en", "status": "published"})
        assert created.status_code == 201
        await wait_for(
            pilot, lambda: created.json()["id"] in [h.id for h in kb.hits], what="the list to refresh"
        )
        desk.admin.patch(f"/kb/articles/{created.json()['id']}", json={"status": "draft"})
        await wait_for(
            pilot, lambda: created.json()["id"] not in [h.id for h in kb.hits], what="unpublished: gone"
        )
        # Agents have no editor key: pressing it changes nothing.
        await pilot.press("ctrl+e")
        await pilot.pause(0.2)
        assert article_by_slug(desk, target_slug(desk, target.id))["revision"] == 2


def target_slug(desk: Desk, article_id: int) -> str:
    return desk.admin.get(f"/kb/articles/{article_id}").json()["slug"]


EDITOR = """
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
text = text.replace("tags: ", "tags: edited, ", 1) + "\\nEdited in the editor.\\n"
open(path, "w", encoding="utf-8").write(text)
"""


async def test_admin_edits_an_article_in_editor_and_cancels_by_leaving_it_unchanged(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    noop = tmp_path / "noop.py"
    noop.write_text("import sys\n")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {noop}")
    app = make_app(desk, tmp_path, desk.admin_token)
    async with app.run_test(size=WIDE) as pilot:
        kb = await open_kb(pilot, desk, "apn")
        await pilot.press("enter")
        await wait_for(pilot, lambda: kb.article is not None and kb.has_class("-reading"), what="the reader")
        article_id, before = kb.article.id, kb.article.revision
        assert "ctrl+e edit in $EDITOR" in screen_text(app)  # the key shows for admins

        await pilot.press("ctrl+e")  # the editor saves nothing: a cancel
        await wait_for(
            pilot, lambda: "unchanged: nothing saved" in screen_text(app), what="the cancel notice"
        )
        assert desk.admin.get(f"/kb/articles/{article_id}").json()["revision"] == before

        monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
        await pilot.press("ctrl+e")
        await wait_for(
            pilot,
            lambda: desk.admin.get(f"/kb/articles/{article_id}").json()["revision"] == before + 1,
            what="the edit to be saved",
        )
        await wait_for(pilot, lambda: f"revision {before + 1} of APN" in screen_text(app), what="the notice")
        saved = desk.admin.get(f"/kb/articles/{article_id}").json()
        assert saved["body"].endswith("Edited in the editor.\n") and saved["tags"][0] == "edited"
        assert saved["updated_by"] == "Avery Admin"
        await wait_for(
            pilot, lambda: "Edited in the editor." in kb.article.body, what="the reader to show it"
        )
    revisions = desk.admin.get(f"/kb/articles/{article_id}/revisions").json()["items"]
    assert revisions[0]["author_name"] == "Avery Admin" and revisions[0]["revision"] == before + 1
