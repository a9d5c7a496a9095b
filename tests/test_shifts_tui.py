"""Shifts in the real console (Textual's pilot) against the real desk server: the handoff
screen end to end, the note pinned for the receiver, the roster, and auto-away."""

from __future__ import annotations

import uuid
from pathlib import Path

from textual.widgets import SelectionList

from agent_console.client.drafts import Drafts
from agent_console.client.native import NativeBackend
from agent_console.tui.app import ConsoleApp
from agent_console.tui.screens.handoff import HandoffScreen, YesScreen
from agent_console.tui.screens.pickers import PromptScreen
from agent_console.tui.screens.roster import FOLLOW_EVERY, RosterScreen
from tests.conftest import Desk
from tests.test_tui_flows import focus_conversation, ready
from tests.tui_helpers import poll, screen_text, wait_for

WIDE = (160, 48)


def make_app(desk: Desk, token: str, tmp_path: Path, **kwargs) -> ConsoleApp:
    local = tmp_path / f"local-{uuid.uuid4().hex[:6]}.db"
    return ConsoleApp(
        NativeBackend(desk.url, token), drafts=Drafts(local, desk.url), outbox_path=local, **kwargs
    )


def customer(desk: Desk, name: str) -> int:
    payload = {
        "channel": "web_chat",
        "contact": {"name": name, "email": f"{uuid.uuid4().hex[:8]}@c.example", "language": "en"},
        "body": "My eSIM will not activate",
    }
    answer = desk.admin.post("/inbound", json=payload)
    assert answer.status_code == 201, answer.text
    return answer.json()["conversation_id"]


async def highlight(pilot, chooser: SelectionList, wanted) -> None:
    for _ in range(len(chooser.options) + 1):
        index = chooser.highlighted
        if index is not None and chooser.get_option_at_index(index).value == wanted:
            return
        await pilot.press("down")
    raise AssertionError(f"{wanted} is not in the list")


async def test_handoff_from_the_console_reaches_the_next_shift_with_the_note_pinned(
    fresh_desk: Desk, tmp_path: Path
) -> None:
    desk = fresh_desk
    sam = desk.agent.get("/me").json()["id"]
    made = desk.admin.post(
        "/agents", json={"name": "Kai Night", "email": f"kai-{uuid.uuid4().hex[:6]}@t.example"}
    )
    kai, kai_token = made.json()["agent"]["id"], made.json()["token"]
    names = [f"Hoff{uuid.uuid4().hex[:5]} Customer" for _ in range(2)]
    mine = [customer(desk, name) for name in names]
    for conversation_id in mine:
        assert (
            desk.agent.patch(f"/conversations/{conversation_id}", json={"assignee_id": sam}).status_code
            == 200
        )
    before = {c: desk.admin.get(f"/conversations/{c}").json() for c in mine}

    app = make_app(desk, desk.agent_token, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(
            pilot, lambda: all(c in app.store.desk.conversations for c in mine), what="both in state"
        )
        await pilot.press("H")
        await wait_for(pilot, lambda: isinstance(app.screen, HandoffScreen), what="the handoff screen")
        screen = app.screen
        await pilot.press(*"Carrier outage until 6")
        await pilot.press("tab")
        receivers = screen.query_one("#handoff-receivers", SelectionList)
        await wait_for(pilot, lambda: receivers.has_focus, what="the receivers list")
        from agent_console.tui.screens.handoff import Receiver

        await highlight(pilot, receivers, Receiver("agent", kai))
        await pilot.press("space")
        await pilot.press("tab")
        chooser = screen.query_one("#handoff-conversations", SelectionList)
        await wait_for(pilot, lambda: chooser.has_focus, what="the conversation list")
        assert sorted(chooser.selected) == mine  # all of them go unless unticked
        await highlight(pilot, chooser, mine[0])
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="the note prompt")
        await pilot.press(*"Call back at 9", "enter")
        await wait_for(pilot, lambda: app.screen is screen, what="back on the handoff screen")
        assert "note: Call back at 9" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, YesScreen), what="the confirmation")
        assert "Hand 2 conversation(s) to Kai Night?" in screen_text(app)
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: all(
                (app.store.desk.conversations[c].assignee or None)
                and app.store.desk.conversations[c].assignee.id == kai
                for c in mine
            ),
            what="the conversations to move to Kai",
        )

    for c in mine:
        after = desk.admin.get(f"/conversations/{c}").json()
        assert after["assignee"]["id"] == kai
        assert (after["due_at"], after["sla"]) == (before[c]["due_at"], before[c]["sla"])  # clocks kept

    # Kai starts the console: the summary, and the note pinned on the conversation.
    receiver = make_app(desk, kai_token, tmp_path)
    async with receiver.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: receiver.shifts.summary is not None, what="the handoff summary")
        assert "Sam Agent handed over" in receiver.shifts.summary
        assert "Carrier outage until 6" in receiver.shifts.summary
        await focus_conversation(pilot, mine[0], names[0])
        header = str(receiver.screen.pane._header.render())  # noqa: SLF001
        await wait_for(
            pilot, lambda: "handoff from Sam Agent" in screen_text(receiver), what="the pinned note"
        )
        text = screen_text(receiver)
        assert "Carrier outage until 6 — Call back at 9" in text, header


async def test_roster_screen_shows_who_is_on(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    sam = desk.agent.get("/me").json()["id"]
    week = [
        {"day": d, "start": "00:00", "end": "24:00"}
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ]
    assert desk.admin.patch(f"/agents/{sam}/schedule", json={"hours": week}).status_code == 200
    app = make_app(desk, desk.agent_token, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, RosterScreen), what="the roster")
        await wait_for(pilot, lambda: "Sam Agent until" in screen_text(app), what="Sam on shift")
        assert "(Asia/Manila)" in screen_text(app)  # times in the agent's own zone
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RosterScreen), what="the roster to close")


async def test_an_open_roster_follows_the_desk_without_a_reload(fresh_desk: Desk, tmp_path: Path) -> None:
    """The lead leaves the roster open: a colleague's shift set meanwhile, and the colleague
    going away, show up without pressing r."""
    desk = fresh_desk
    week = [
        {"day": d, "start": "00:00", "end": "24:00"}
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ]
    app = make_app(desk, desk.agent_token, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, RosterScreen), what="the roster")
        await wait_for(pilot, lambda: "loading" not in screen_text(app), what="the roster read")
        assert "Kai Night" not in screen_text(app)
        await pilot.pause(FOLLOW_EVERY + 0.2)  # a change long after the last read is read at once
        made = desk.admin.post(
            "/agents", json={"name": "Kai Night", "email": f"kai-{uuid.uuid4().hex[:6]}@t.example"}
        )
        kai, kai_token = made.json()["agent"]["id"], made.json()["token"]
        assert desk.admin.patch(f"/agents/{kai}/schedule", json={"hours": week}).status_code == 200
        await wait_for(pilot, lambda: "Kai Night until" in screen_text(app), what="Kai's shift, live")
        before = screen_text(app)
        kai_client = desk.client(kai_token)
        assert kai_client.patch("/me", json={"presence": "away"}).status_code == 200
        await wait_for(pilot, lambda: screen_text(app) != before, what="Kai's presence, live")
        assert "away" in screen_text(app)
        assert isinstance(app.screen, RosterScreen)


async def test_auto_away_after_idle_and_back_on_a_key(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    now = [1000.0]
    app = make_app(desk, desk.agent_token, tmp_path, away_after=60.0, idle_clock=lambda: now[0])
    app.auto_away_interval = 0.1
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: app.store.me.presence == "online", what="online while connected")
        now[0] += 59  # not yet
        await pilot.pause(0.5)
        assert desk.agent.get("/me").json()["presence"] == "online"
        now[0] += 2
        await wait_for(pilot, lambda: app.store.me.presence == "away", what="auto-away")
        poll(lambda: desk.agent.get("/me").json()["presence"] == "away", what="away on the server")
        await pilot.press("j")
        await wait_for(pilot, lambda: app.store.me.presence == "online", what="back online on a key")
        poll(lambda: desk.agent.get("/me").json()["presence"] == "online", what="online on the server")
        # Away by choice stays away, whatever the keys.
        app.set_presence("away")
        await wait_for(pilot, lambda: app.store.me.presence == "away", what="away by choice")
        await pilot.press("j")
        await pilot.pause(0.5)
        assert app.store.me.presence == "away"


async def test_the_lead_sees_conversations_waiting_at_the_cap(tmp_path: Path) -> None:
    from tests.conftest import start_desk
    from tests.test_shifts_server import ROUTING, arrive, new_agent, presence

    desk = start_desk(tmp_path / "desk.db", demo=False, extra_args=ROUTING)
    try:
        team = desk.admin.post("/teams", json={"name": "Queue"}).json()["id"]
        _, ben = new_agent(desk, "Ben", ["en"], [team])
        presence(ben, "online")
        presence(desk.admin, "busy")  # the lead watches; busy: routing gives them nothing
        lead = make_app(desk, desk.admin_token, tmp_path)
        async with lead.run_test(size=WIDE) as pilot:
            await ready(pilot)
            assert "waiting for routing" not in screen_text(lead)
            for _ in range(3):  # Ben takes two (the cap); the third waits in the team queue
                arrive(desk, team, "en")
            await wait_for(pilot, lambda: "⚑ 1 waiting for routing" in screen_text(lead), what="the mark")
            await pilot.press("w")
            await wait_for(
                pilot, lambda: "at the cap of 2" in screen_text(lead), what="the reason in the roster"
            )
    finally:
        desk.server.stop()


def test_presence_config_is_read_strictly(tmp_path: Path) -> None:
    import pytest

    from agent_console.client.config import ConfigError, load_config
    from agent_console.tui.presence import parse_span

    good = tmp_path / "good.toml"
    good.write_text('[presence]\naway_after = "15m"\n')
    assert parse_span(load_config(good).presence.away_after) == 900.0
    off = tmp_path / "off.toml"
    off.write_text("[presence]\naway_after = 0\n")
    assert parse_span(load_config(off).presence.away_after) == 0.0
    assert parse_span(None) == 600.0  # the default: ten minutes
    bad = tmp_path / "bad.toml"
    bad.write_text('[presence]\naway_after = "soon"\n')
    with pytest.raises(ConfigError, match="away_after"):
        load_config(bad)
