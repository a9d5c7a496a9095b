"""The dashboard (`D`) in the real console, through the pilot, against the real desk server:
the figures are the server's, the chart and tables fit 80x24 (low-bandwidth mode too), the team
and period keys ask again, a refresh shows new work, and an unchanged answer redraws nothing."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_console.client.drafts import Drafts
from agent_console.client.native import NativeBackend
from agent_console.tui.app import ConsoleApp
from agent_console.tui.screens.dashboard import DashboardScreen
from tests.conftest import Desk, start_desk
from tests.test_tui_flows import NARROW, ready
from tests.tui_helpers import screen_text, wait_for

HOSTILE_TEAM = "Night\x1b[31m Ops"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Desk, int]]:
    """A quiet desk of this module's own: three conversations today, one in a team."""
    running = start_desk(tmp_path_factory.mktemp("dash") / "desk.db", demo=False)
    try:
        team = running.admin.post("/teams", json={"name": "Night Ops"}).json()["id"]
        # The server refuses control characters in names; a database written by something
        # else may still hold them, and the console must not send them to the terminal.
        with sqlite3.connect(running.db) as conn:
            conn.execute("UPDATE teams SET name = ? WHERE id = ?", (HOSTILE_TEAM, team))
        ids = [customer_writes(running) for _ in range(3)]
        for conversation_id in ids[:2]:
            assert running.agent.post(
                f"/conversations/{conversation_id}/messages", json={"body": "On it"}
            ).is_success
        running.agent.patch(f"/conversations/{ids[0]}", json={"status": "resolved", "team_id": team})
        sam = running.agent.get("/me").json()["id"]
        running.agent.patch(f"/conversations/{ids[1]}", json={"assignee_id": sam})
        running.admin.post("/inbound/csat", json={"conversation_id": ids[0], "rating": 5})
        yield running, team
    finally:
        running.server.stop()


def customer_writes(desk: Desk) -> int:
    body = {
        "channel": "web_chat",
        "contact": {"name": f"Ola {uuid.uuid4().hex[:5]}", "email": f"{uuid.uuid4().hex[:8]}@cust.example"},
        "body": "Hello?",
    }
    response = desk.admin.post("/inbound", json=body)
    assert response.status_code == 201, response.text
    return response.json()["conversation_id"]


def make_app(desk: Desk, tmp_path: Path, *, low_bandwidth: bool = False) -> ConsoleApp:
    local = tmp_path / "local.db"
    return ConsoleApp(
        NativeBackend(desk.url, desk.agent_token),
        drafts=Drafts(local, desk.url),
        outbox_path=local,
        low_bandwidth=low_bandwidth,
    )


def row(label: str, text: str) -> str:
    return f"{label:<15} {text}"


async def open_dashboard(pilot) -> DashboardScreen:
    await ready(pilot)
    await pilot.press("D")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), what="the dashboard")
    dashboard = pilot.app.screen
    await wait_for(
        pilot, lambda: dashboard.loads >= 1 and dashboard.stats is not None, what="the first answer"
    )
    return dashboard


async def scroll_to_end(pilot, condition, timeout: float = 10.0) -> None:
    """Press `end` until `condition()` holds (the tables may still be growing the page)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never reached; the screen shows:\n{screen_text(pilot.app)}")
        await pilot.press("end")
        await pilot.pause(0.05)


@pytest.mark.parametrize("low_bandwidth", [False, True])
async def test_the_dashboard_shows_the_servers_figures_at_80x24(
    desk, tmp_path: Path, low_bandwidth: bool
) -> None:
    running, _ = desk
    wire = running.agent.get("/stats").json()  # the agent's own zone, the last 7 days
    app = make_app(running, tmp_path, low_bandwidth=low_bandwidth)
    async with app.run_test(size=NARROW) as pilot:
        dashboard = await open_dashboard(pilot)
        text = screen_text(app)
        assert "KPIs · last 7 days · all teams · Asia/Manila · updated" in text  # Sam's zone
        assert row("Conversations", f"{wire['conversations']} created") in text
        assert row("Conversations", "3 created") in text
        assert "(3 answered)" not in text and "(2 answered)" in text
        assert row("CSAT", "5.00/5 from 1 of 1 resolved (100.0% rated)") in text
        assert row("Backlog", "2 waiting: 2 open, 0 pending, 0 snoozed") in text
        assert all(len(line) <= 80 for line in text.splitlines())
        # The chart and the tables are below: scroll to them.
        await scroll_to_end(pilot, lambda: "(unassigned)" in screen_text(app))
        text = screen_text(app)
        assert "0        3        6        9        12       15       18       21" in text
        assert "█" in text
        assert "Sam Agent" in text and "(unassigned)" in text
        assert "Night␛[31m Ops" in text
        # The team's name came from the server: its escape code is shown, never sent raw.
        assert "\x1b" not in text and "Night" in text
        assert dashboard.error is None


async def test_team_and_period_keys_ask_again_and_refresh_shows_new_work(desk, tmp_path: Path) -> None:
    running, team = desk
    app = make_app(running, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        dashboard = await open_dashboard(pilot)
        await pilot.press("t")  # the first (only) team
        await wait_for(
            pilot, lambda: dashboard.stats is not None and dashboard.stats.team_id == team, what="team"
        )
        text = screen_text(app)
        assert "· team Night" in text
        assert row("Conversations", "1 created") in text
        await pilot.press("t")  # back to all teams
        await wait_for(
            pilot, lambda: dashboard.stats is not None and dashboard.stats.team_id is None, what="all"
        )
        await pilot.press("p")
        await wait_for(
            pilot, lambda: "last 30 days" in screen_text(app) and dashboard.stats is not None, what="30d"
        )
        created = dashboard.stats.conversations

        # Nothing changed: a refresh redraws nothing (no flicker, no bytes over SSH).
        loads, redraws = dashboard.loads, dashboard.redraws
        await pilot.press("r")
        await wait_for(pilot, lambda: dashboard.loads > loads, what="the refresh")
        assert dashboard.redraws - redraws <= 1  # at most the title's "updated HH:MM"

        customer_writes(running)
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: row("Conversations", f"{created + 1} created") in screen_text(app),
            what="the new conversation counted",
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DashboardScreen), what="back to the console")


async def test_the_dashboard_is_in_help_and_remappable(desk, tmp_path: Path) -> None:
    from agent_console.tui.keys import check_keymap

    accepted, problems = check_keymap({"stats.dashboard": "f9", "dashboard.period": "P"})
    assert accepted == {"stats.dashboard": "f9", "dashboard.period": "P"} and not problems
    running, _ = desk
    app = make_app(running, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: hasattr(app.screen, "rows"), what="help")
        assert ("D", "Dashboard (KPIs)", "stats.dashboard") in app.screen.rows
