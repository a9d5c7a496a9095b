"""Labels (issue 17, point 11): the desk's labels listed, stored case-folded, and chosen in
the console from a picker. The real server; the real console through the pilot."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from agent_console.core.labels import fold_label, label_problem
from agent_console.tui.screens.labels import LabelsScreen
from tests.backends import ChatwootDesk, ChatwootHelpdesk, Helpdesk
from tests.conftest import Desk
from tests.test_server_api import assert_error, inbound
from tests.test_tui_flows import WIDE, conversation, focus_conversation, make_app, new_customer, ready
from tests.tui_helpers import screen_text, wait_for


def set_labels(desk: Desk, conversation_id: int, labels: list[str]) -> httpx.Response:
    return desk.agent.patch(f"/conversations/{conversation_id}", json={"labels": labels})


def test_fold_and_check_labels() -> None:
    assert fold_label("  VIP ") == "vip"
    assert fold_label("Churn-Risk") == "churn-risk"
    assert label_problem("two words") is not None
    assert label_problem("a,b") is not None
    assert label_problem("ß" * 26) is not None  # 52 characters once folded
    assert label_problem("b2b_Priority") is None


def test_labels_lists_folded_labels_with_counts(fresh_desk: Desk) -> None:
    desk = fresh_desk
    first = inbound(desk)["conversation_id"]
    second = inbound(desk)["conversation_id"]
    third = inbound(desk)["conversation_id"]
    assert set_labels(desk, first, ["VIP", "Billing"]).json()["labels"] == ["vip", "billing"]
    assert set_labels(desk, second, ["vip", "VIP", "Churn-Risk"]).json()["labels"] == ["vip", "churn-risk"]
    # Resolved conversations still carry their labels: the desk uses them.
    resolved = {"labels": ["b2b"], "status": "resolved"}
    assert desk.agent.patch(f"/conversations/{third}", json=resolved).is_success

    response = desk.agent.get("/labels")
    assert response.status_code == 200
    assert response.json() == {
        "items": [
            # No colours yet: an admin gives a managed label its colour (`label new --color`).
            {"name": "b2b", "count": 1, "color": None},
            {"name": "billing", "count": 1, "color": None},
            {"name": "churn-risk", "count": 1, "color": None},
            {"name": "vip", "count": 2, "color": None},
        ]
    }
    # The queue's label filter folds too.
    found = desk.agent.get("/conversations", params={"label": "VIP"}).json()["items"]
    assert {c["id"] for c in found} == {first, second}

    assert set_labels(desk, first, []).json()["labels"] == []
    assert {"name": "vip", "count": 1, "color": None} in desk.agent.get("/labels").json()["items"]


def test_labels_needs_a_token_and_takes_no_parameters(desk: Desk) -> None:
    assert_error(desk.client().get("/labels"), 401, "unauthorized")
    assert_error(desk.client("not-a-token").get("/labels"), 401, "unauthorized")
    assert_error(desk.agent.get("/labels", params={"sort": "count"}), 422, "validation_failed")


def test_a_label_too_long_once_folded_is_refused(desk: Desk) -> None:
    cid = inbound(desk)["conversation_id"]
    error = assert_error(set_labels(desk, cid, ["ß" * 26]), 422)
    assert error["field"] == "labels"
    assert desk.agent.get(f"/conversations/{cid}").json()["labels"] == []


def test_labels_is_in_the_openapi_document(desk: Desk) -> None:
    document = httpx.get(f"{desk.api}/openapi.json").json()
    operation = document["paths"]["/api/v1/labels"]["get"]
    assert operation["security"] == [{"bearer": []}]
    assert "401" in operation["responses"]
    assert "LabelList" in document["components"]["schemas"]


# --- the console's picker ------------------------------------------------------------------


async def test_labels_picker_offers_the_desks_labels_creates_and_removes(desk: Desk, tmp_path: Path) -> None:
    # Desk server only: the picker's desk-wide labels with counts (GET /labels); Chatwoot has no
    # such list, and the picker says so (the last test).
    tag = uuid.uuid4().hex[:6]
    cid, name = new_customer(desk)
    assert set_labels(desk, cid, [f"old-{tag}", f"keep-{tag}"]).is_success
    # A label only a resolved conversation carries: the console cannot know it but from /labels.
    elsewhere = inbound(desk)["conversation_id"]
    assert desk.agent.patch(
        f"/conversations/{elsewhere}", json={"labels": [f"team-{tag}"], "status": "resolved"}
    ).is_success
    # A longer label, used more, that the typed name is a prefix of: the exact name still wins.
    for _ in range(2):
        assert set_labels(desk, inbound(desk)["conversation_id"], [f"team-{tag}-old"]).is_success

    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await wait_for(
            pilot,
            lambda: app.store.desk.conversations[cid].labels == [f"old-{tag}", f"keep-{tag}"],
            what="the labels in the console",
        )
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LabelsScreen), what="the labels picker")
        picker = app.screen
        assert picker.selected == [f"old-{tag}", f"keep-{tag}"]  # the current labels, pre-selected
        await wait_for(pilot, lambda: f"team-{tag}" in picker.counts, what="the desk's labels to arrive")

        # Choose an existing label by typing its name (in capitals: folded like the server).
        await pilot.press(*f"TEAM-{tag}")
        await wait_for(pilot, lambda: f"team-{tag}-old" in screen_text(app), what="the filtered labels")
        await pilot.press("enter")
        # Create one: the name is folded before it is offered.
        await pilot.press(*f"New-{tag}")
        await wait_for(pilot, lambda: f"create label new-{tag}" in screen_text(app), what="the create row")
        await pilot.press("enter")
        # Remove one with space.
        await pilot.press(*f"old-{tag}", "space")
        await wait_for(
            pilot,
            lambda: picker.selected == [f"keep-{tag}", f"team-{tag}", f"new-{tag}"],
            what="the selection",
        )
        assert f"selected: keep-{tag}, team-{tag}, new-{tag}" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: conversation(desk, cid)["labels"] == [f"keep-{tag}", f"team-{tag}", f"new-{tag}"],
            what="the server to hold the chosen labels",
        )
        assert not isinstance(app.screen, LabelsScreen)


async def test_labels_picker_escape_changes_nothing(helpdesk: Helpdesk, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    cid, name = helpdesk.new_customer()
    helpdesk.set_labels(cid, [f"stay-{tag}"])
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await wait_for(
            pilot, lambda: app.store.desk.conversations[cid].labels == [f"stay-{tag}"], what="the labels"
        )
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LabelsScreen), what="the labels picker")
        await pilot.press("enter", *"bad,name", "enter")  # unticks the first; a comma is refused
        await wait_for(pilot, lambda: "no spaces or commas" in screen_text(app), what="the refusal")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LabelsScreen), what="the picker to close")
        assert app.outbox.counts()["pending"] == 0
        assert helpdesk.conversation(cid)["labels"] == [f"stay-{tag}"]


async def test_chatwoot_says_what_it_lacks_in_the_console(chatwoot: ChatwootDesk, tmp_path: Path) -> None:
    app = make_app(ChatwootHelpdesk(chatwoot), tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, 3, "Lea Dubois")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LabelsScreen), what="labels picker")
        await wait_for(
            pilot,
            lambda: "not available on Chatwoot" in screen_text(app),
            what="the picker saying desk-wide label counts are not there",
        )
