"""The Urgent view holds what breaches within the urgent window (default 15 minutes), on the server
too: REST `view=urgent&breaching_within=`, `agent-console convs --view urgent`, and the console on a
desk larger than it holds (its urgent rows and count come from the server).

One desk: 30 social conversations under a 10-minute first-response policy (due within the window),
then 30 chats under the standard 4-hour one. None has priority urgent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_support import base_env, invoke
from tests.conftest import Desk, start_desk
from tests.test_tui_flows import WIDE, console, make_app, ready
from tests.tui_helpers import region_text, wait_for

pytestmark = pytest.mark.timeout(180)

SOON, LATER = 30, 30
PAGE, HOLD, WINDOW = 10, 15, 20


def soon_name(index: int) -> str:
    return f"Ur{index:02d} Soon"


@pytest.fixture(scope="module")
def window_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Desk, list[int], list[int]]]:
    desk = start_desk(tmp_path_factory.mktemp("urgent") / "desk.db", demo=False)
    policy = {
        "name": "Social",
        "position": 5,
        "channels": ["social"],
        "first_response_s": 600,
        "next_response_s": 600,
        "resolution_s": 86400,
    }
    assert desk.admin.post("/sla/policies", json=policy).status_code == 201
    ids: dict[str, list[int]] = {"social": [], "web_chat": []}
    for channel, count, name in (
        ("social", SOON, soon_name),
        ("web_chat", LATER, lambda i: f"Ok{i:02d} Later"),
    ):
        for index in range(count):
            payload = {"channel": channel, "contact": {"name": name(index)}, "body": f"question {index}"}
            response = desk.admin.post("/inbound", json=payload)
            assert response.status_code == 201, response.text
            ids[channel].append(response.json()["conversation_id"])
    yield desk, ids["social"], ids["web_chat"]
    desk.server.stop()


def urgent(desk: Desk, **params: object) -> dict:
    answer = desk.agent.get("/conversations", params={"view": "urgent", "limit": 100, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_rest_urgent_view_takes_the_window(window_desk) -> None:  # noqa: ANN001
    desk, soon, _later = window_desk
    plain = urgent(desk)
    assert plain["items"] == [] and plain["counts"]["urgent"] == 0  # priority only, as before
    within = urgent(desk, breaching_within=900)
    assert [c["id"] for c in within["items"]] == soon and within["counts"]["urgent"] == SOON
    assert within["counts"]["all"] == SOON + LATER
    assert urgent(desk, breaching_within=300)["counts"]["urgent"] == 0  # due in ~10 minutes
    # Keyset pages walk the same rows.
    seen, cursor = [], None
    while True:
        page = urgent(desk, breaching_within=900, limit=7, **({"cursor": cursor} if cursor else {}))
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == soon
    # A search counts every view in one pass: the window applies there too.
    assert urgent(desk, breaching_within=900, q="Soon")["counts"]["urgent"] == SOON


@pytest.mark.parametrize("value", ["-1", "abc", str(8 * 86400)])
def test_a_bad_window_is_a_clear_4xx(window_desk, value: str) -> None:  # noqa: ANN001
    desk = window_desk[0]
    answer = desk.agent.get("/conversations", params={"view": "urgent", "breaching_within": value})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "breaching_within"


def test_the_cli_urgent_view_uses_the_window(window_desk, tmp_path: Path) -> None:  # noqa: ANN001
    desk, soon, _later = window_desk
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    listed = invoke("convs", "--view", "urgent", "--limit", "100", "-q", env=env)
    assert listed.code == 0, listed
    assert listed.stdout.split() == [str(i) for i in soon]  # the default window: 15 minutes
    assert invoke("convs", "--view", "urgent", "--breaching-within", "5m", "-q", env=env).stdout == ""
    assert invoke("convs", "--view", "urgent", "--breaching-within", "none", "-q", env=env).stdout == ""
    (tmp_path / "config.toml").write_text("[tui]\nurgent_window = 5\n")  # the console's setting
    assert invoke("convs", "--view", "urgent", "-q", env=env).stdout == ""
    bad = invoke("convs", "--view", "urgent", "--breaching-within", "soon", env=env)
    assert bad.code == 2 and "--breaching-within" in bad.stderr


async def test_the_console_reads_urgent_rows_and_count_from_the_server(
    window_desk,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    desk, soon, _later = window_desk
    app = make_app(desk, tmp_path)
    app.queue_page, app.queue_hold, app.queue_window = PAGE, HOLD, WINDOW
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        assert soon[-1] not in app.store.desk.conversations  # beyond the held prefix
        await wait_for(pilot, lambda: app.store.counts()["urgent"] == SOON, what="the server's urgent count")
        await pilot.press("4")
        queue = console(app).queue
        await wait_for(pilot, lambda: soon_name(0) in region_text(app, queue), what="the urgent view")
        await pilot.press("end")
        await wait_for(
            pilot, lambda: queue.cursor_id == soon[-1], what="the last urgent row, from the server"
        )
        assert soon_name(SOON - 1) in region_text(app, queue)
        assert "Later" not in region_text(app, queue)
