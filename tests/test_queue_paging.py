"""Issue 19, P3: a large queue is paged from the server, not capped.

One desk of 300 open conversations; the console is set to read pages of 50, hold the first 100
and keep a window of 120 rows, so every path of a 100,000-row desk runs at a size a test can
afford: the first page before the rest, scrolling to the last row and back, home/end, counts
from the server kept right by the feed, the filter on the server, and the sync engine's parts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from agent_console.client.native import NativeBackend
from agent_console.client.sync import Snapshot, SyncEngine
from agent_console.core.models import Conversation
from agent_console.core.queue import END_CURSOR, server_order
from agent_console.server import db
from agent_console.server.store import Store
from tests.conftest import Desk, start_desk
from tests.test_tui_flows import NARROW, WIDE, console, make_app, new_customer, ready
from tests.tui_helpers import region_text, wait_async, wait_for

pytestmark = pytest.mark.timeout(180)

SIZE = 300
PAGE, HOLD, WINDOW = 50, 100, 120


def name_of(index: int) -> str:
    return f"Pg{index:03d} Row"


@pytest.fixture(scope="module")
def big_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Desk, list[int]]]:
    """300 waiting customers, created in order: the queue (by due time) shows them in that order."""
    desk = start_desk(tmp_path_factory.mktemp("paging") / "desk.db", demo=False)
    ids = []
    for index in range(SIZE):
        payload = {
            "channel": "web_chat",
            "contact": {"name": name_of(index), "email": f"pg{index:03d}@cust.example"},
            "body": f"question number {index}" + (" zanzibarite" if index == 250 else ""),
        }
        response = desk.admin.post("/inbound", json=payload)
        assert response.status_code == 201, response.text
        ids.append(response.json()["conversation_id"])
    # A word only in an earlier message of a held conversation: the row previews the later one,
    # so only the server's search (message text) can find it.
    for body in ("my order code is quokkaberry", "any news?"):
        payload = {
            "channel": "web_chat",
            "contact": {"name": name_of(50)},
            "body": body,
            "conversation_id": ids[50],
        }
        assert desk.admin.post("/inbound", json=payload).status_code == 201
    yield desk, ids
    desk.server.stop()


def paged_app(desk: Desk, tmp_path: Path):  # noqa: ANN201
    app = make_app(desk, tmp_path)
    app.queue_page, app.queue_hold, app.queue_window = PAGE, HOLD, WINDOW
    return app


def queue_text(app) -> str:  # noqa: ANN001
    return region_text(app, console(app).queue)


def tabs_text(app) -> str:  # noqa: ANN001
    return region_text(app, console(app).query_one("#view-tabs"))


def all_count(app) -> int | None:  # noqa: ANN001
    return app.store.counts()["all"] if app.store.loaded else None


# --- the server ------------------------------------------------------------------------------


def test_pages_backwards_with_before(big_desk) -> None:  # noqa: ANN001
    desk, ids = big_desk
    client = desk.agent
    last = client.get("/conversations", params={"limit": 50, "before": END_CURSOR}).json()
    assert [c["id"] for c in last["items"]] == ids[-50:]  # the last page, in queue order
    earlier = client.get("/conversations", params={"limit": 50, "before": last["next_cursor"]}).json()
    assert [c["id"] for c in earlier["items"]] == ids[-100:-50]
    forward = client.get("/conversations", params={"limit": 50, "cursor": earlier["next_cursor"]}).json()
    assert [c["id"] for c in forward["items"]][:1] == [ids[-99]]  # cursors from either side agree
    # Both: the rows between the two positions, from `cursor` on.
    between = client.get(
        "/conversations",
        params={"limit": 500, "cursor": earlier["next_cursor"], "before": last["next_cursor"]},
    ).json()
    assert [c["id"] for c in between["items"]] == ids[-99:-50] and between["next_cursor"] is None


# --- the sync engine -------------------------------------------------------------------------


async def test_the_first_page_is_handed_over_before_the_rest_with_the_servers_counts(big_desk) -> None:  # noqa: ANN001
    desk, ids = big_desk
    parts: list[Snapshot] = []
    engine = SyncEngine(
        NativeBackend(desk.url, desk.agent_token),
        on_snapshot=parts.append,
        on_events=lambda events: None,
        on_state=lambda state: None,
        page_size=PAGE,
        hold=HOLD,
        early_first_page=True,
    )
    task = asyncio.create_task(engine.run())
    try:
        await wait_async(lambda: parts and parts[-1].last, what="the snapshot's last part")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    first, rest = parts[0], parts[1:]
    assert not first.last and [c.id for c in first.conversations] == ids[:PAGE]
    assert first.counts is not None and first.counts["all"] == SIZE  # correct before the rest is in
    held = [c.id for part in parts for c in part.conversations]
    assert held == ids[:HOLD]  # the first HOLD in queue order, each once: a prefix of every view
    assert rest[-1].last and not rest[-1].complete


# --- the console -----------------------------------------------------------------------------


async def test_scrolling_reaches_the_last_conversation_and_memory_stays_bounded(
    big_desk, tmp_path: Path
) -> None:  # noqa: ANN001
    desk, ids = big_desk
    app = paged_app(desk, tmp_path)
    async with app.run_test(size=NARROW) as pilot:  # one pane: the cursor walk opens nothing
        await ready(pilot)
        assert all_count(app) == SIZE and "All 300" in tabs_text(app)  # the server's count, not what is held
        await wait_for(pilot, lambda: name_of(0) in queue_text(app), what="the first row")
        most = 0
        for _ in range(60):
            if name_of(SIZE - 1) in queue_text(app):
                break
            await pilot.press("pagedown")
            await pilot.pause(0.05)
            most = max(most, len(app.store.desk.conversations))
        await wait_for(pilot, lambda: name_of(SIZE - 1) in queue_text(app), what="the last conversation")
        await pilot.press("pagedown")
        assert console(app).queue.cursor_id == ids[-1]
        # The prefix, a window and a page in flight: never the whole desk.
        assert most <= HOLD + WINDOW + PAGE < SIZE
        # Back up row by row from the last: every row is there, in order, with no gap.
        queue = console(app).queue
        seen = [queue.cursor_id]
        for _ in range(SIZE - 1):
            await pilot.press("up")
            if queue.cursor_id == seen[-1]:
                await wait_for(pilot, lambda: queue.cursor_row > 0, what="the rows above to be read")
                await pilot.press("up")
            seen.append(queue.cursor_id)
        assert seen == ids[::-1]


async def test_home_and_end_jump_across_the_whole_view(big_desk, tmp_path: Path) -> None:  # noqa: ANN001
    desk, ids = big_desk
    app = paged_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: name_of(0) in queue_text(app), what="the first row")
        queue = console(app).queue
        await pilot.press("end")
        await wait_for(pilot, lambda: queue.cursor_id == ids[-1], what="the cursor on the last row")
        assert name_of(SIZE - 1) in queue_text(app) and name_of(0) not in queue_text(app)
        # The pane follows the cursor there, in the frame after the one that moved it.
        await wait_for(pilot, lambda: console(app).pane.thread.wanted == ids[-1], what="the pane to follow")
        await pilot.press("home")
        await wait_for(pilot, lambda: queue.cursor_id == ids[0], what="the cursor on the first row")
        assert name_of(0) in queue_text(app)


async def test_the_filter_finds_on_the_server_what_the_console_does_not_hold(
    big_desk, tmp_path: Path
) -> None:  # noqa: ANN001
    desk, ids = big_desk
    app = paged_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        assert ids[250] not in app.store.desk.conversations  # beyond what the console holds
        # A word only in that customer's message: no local match can find it.
        await pilot.press("slash", *"zanzibarite")
        await wait_for(pilot, lambda: name_of(250) in queue_text(app), what="the server's match")
        assert console(app).queue.rows == [ids[250]]
        await pilot.press("escape")
        await wait_for(pilot, lambda: name_of(0) in queue_text(app), what="the queue unfiltered")
        # Held, but the match is in an older message: the server finds it, the console could not.
        assert ids[50] in app.store.desk.conversations
        await pilot.press("slash", *"quokkaberry")
        await wait_for(
            pilot, lambda: console(app).queue.rows == [ids[50]], what="the held row the server found"
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: name_of(0) in queue_text(app), what="the queue unfiltered")
        # A name beyond the held prefix, typed fast: the last question wins.
        await pilot.press("slash", *name_of(201).split()[0])
        await wait_for(pilot, lambda: console(app).queue.rows == [ids[201]], what="only Pg201")
        assert name_of(201) in queue_text(app)


async def test_counts_follow_the_feed_for_rows_held_or_not(big_desk, tmp_path: Path) -> None:  # noqa: ANN001
    desk, ids = big_desk
    app = paged_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        start = all_count(app)
        pending = app.store.counts()["pending"]
        held, not_held = ids[5], ids[270]
        assert held in app.store.desk.conversations and not_held not in app.store.desk.conversations
        response = desk.admin.patch(f"/conversations/{held}", json={"status": "pending"})
        assert response.status_code == 200
        await wait_for(pilot, lambda: all_count(app) == start - 1, what="All one down")
        assert app.store.counts()["pending"] == pending + 1
        response = desk.admin.patch(f"/conversations/{not_held}", json={"status": "pending"})
        assert response.status_code == 200
        await wait_for(pilot, lambda: all_count(app) == start - 2, what="All down by the one not held")
        await wait_for(pilot, lambda: f"All {start - 2}" in tabs_text(app), what="the tab's count")
        new_id, _name = new_customer(desk)
        await wait_for(pilot, lambda: all_count(app) == start - 1, what="a new conversation counted")
        for cid in (held, not_held):
            assert desk.admin.patch(f"/conversations/{cid}", json={"status": "open"}).status_code == 200
        assert desk.admin.patch(f"/conversations/{new_id}", json={"status": "resolved"}).status_code == 200
        await wait_for(pilot, lambda: all_count(app) == start, what="back where it was")
        server = desk.agent.get("/conversations", params={"limit": 1}).json()["counts"]["all"]
        assert all_count(app) == server


def test_a_search_counts_every_view_in_one_pass_and_agrees_with_its_pages(big_desk) -> None:  # noqa: ANN001
    desk, ids = big_desk
    target = ids[210]  # Pg210: made urgent and given to the agent, then put back
    me = desk.agent.get("/me").json()["id"]
    assert (
        desk.admin.patch(
            f"/conversations/{target}", json={"priority": "urgent", "assignee_id": me}
        ).status_code
        == 200
    )
    try:
        page = desk.agent.get("/conversations", params={"q": "Pg2", "limit": 500}).json()
        assert len(page["items"]) == 100 and page["counts"] == {
            "mine": 1,
            "unassigned": 99,
            "all": 100,
            "urgent": 1,
        }
        for view, expected in (("mine", [target]), ("urgent", [target])):
            items = desk.agent.get("/conversations", params={"q": "Pg2", "view": view}).json()["items"]
            assert [c["id"] for c in items] == expected
    finally:
        desk.admin.patch(f"/conversations/{target}", json={"priority": "normal", "assignee_id": None})


def test_pages_over_several_statuses_merge_in_queue_order(big_desk) -> None:  # noqa: ANN001
    desk, ids = big_desk
    parked = [ids[3], ids[120]]  # pending: nobody waits on them, so they sort last, by id
    for cid in parked:
        assert desk.admin.patch(f"/conversations/{cid}", json={"status": "pending"}).status_code == 200
    try:
        seen, cursor = [], None
        while True:
            params = {"status": "open,pending", "limit": 70, **({"cursor": cursor} if cursor else {})}
            page = desk.agent.get("/conversations", params=params).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        # The queue order by its definition, from each status on its own (earlier tests may
        # have moved a due time: a reopened conversation is due again from then).
        single = [
            msgspec.convert(item, Conversation)
            for status in ("open", "pending")
            for item in desk.agent.get("/conversations", params={"status": status, "limit": 500}).json()[
                "items"
            ]
        ]
        assert seen == [c.id for c in sorted(single, key=server_order)]
        assert seen[-2:] == parked  # nobody waits on them: last, by id
        last = desk.agent.get(
            "/conversations", params={"status": "open,pending", "before": END_CURSOR}
        ).json()
        assert [c["id"] for c in last["items"]][-2:] == parked
    finally:
        for cid in parked:
            desk.admin.patch(f"/conversations/{cid}", json={"status": "open"})


def test_pages_and_counts_walk_the_queue_indexes(big_desk) -> None:  # noqa: ANN001
    """Every statement a page runs for its ids and counts is planned on a covering index (the
    ids on a `conv_*_queue` one), with no sort of the whole view (SQLite hands the statements
    over with their values bound)."""
    desk, _ids = big_desk
    conn = db.connect(desk.db)
    statements: list[str] = []
    try:
        conn.set_trace_callback(statements.append)
        store = Store(conn)
        for view in ("all", "mine", "unassigned", "urgent"):
            page = store.list_conversations(
                me=2, view=view, statuses=("open", "pending", "snoozed"), limit=50
            )
            if page.next_cursor:
                store.list_conversations(
                    me=2, view=view, statuses=("open",), limit=50, cursor=page.next_cursor
                )
            store.list_conversations(me=2, view=view, statuses=("open",), limit=50, before=END_CURSOR)
        conn.set_trace_callback(None)
        walks = [q for q in statements if q.startswith(("SELECT c.queue_key, c.id", "SELECT count(*)"))]
        assert len(walks) >= 4 * 6
        for statement in walks:
            plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}"))
            assert "USING COVERING INDEX conv_" in plan, (statement, plan)
            if statement.startswith("SELECT c.queue_key"):  # a count may use any covering index
                assert "_queue" in plan, (statement, plan)  # (the KPIs' conv_backlog counts too)
            assert "TEMP B-TREE" not in plan, (statement, plan)
    finally:
        conn.close()
