"""`agent-console roster`, `handoff`, `agent schedule`, `team coverage` and `routing` against
the real desk server (in-process CLI, real HTTP)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.cli_support import base_env, invoke
from tests.conftest import Desk


def env_for(desk: Desk, tmp_path: Path, token: str) -> dict[str, str | None]:
    return base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=token)


def test_schedule_coverage_and_roster_in_the_viewers_zone(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    admin = env_for(desk, tmp_path, desk.admin_token)
    agent = env_for(desk, tmp_path, desk.agent_token)
    team = invoke("team", "new", "Tokyo desk", "--member", "sam@test.example", "-o", "json", env=admin)
    assert team.code == 0, team
    made = invoke(
        "agent", "schedule", "sam@test.example", "--zone", "Asia/Tokyo", "--hours", "mon-fri 09:00-18:00",
        "--off", "2026-03-11", "-o", "json", env=admin,
    )  # fmt: skip
    assert made.code == 0, made
    assert made.json()["timezone"] == "Asia/Tokyo" and len(made.json()["hours"]) == 5
    bad = invoke("agent", "schedule", "sam@test.example", "--hours", "mon 18:00-09:00", env=admin)
    assert bad.code == 5 and "schedule.hours[0]" in bad.stderr, bad  # a conflict, named
    refused = invoke("agent", "schedule", "sam@test.example", "--hours", "mon 09:00-10:00", env=agent)
    assert refused.code == 3, refused
    cover = invoke(
        "team", "coverage", "Tokyo desk", "--zone", "UTC", "--hours", "mon-fri 00:00-12:00", env=admin
    )
    assert cover.code == 0 and "1 on at once (UTC)" in cover.stdout, cover

    # Tuesday 10 March 2026, 08:00 UTC is 17:00 in Tokyo: Sam is on until 18:00 Tokyo time;
    # nobody covers the team from 09:00 UTC to noon, nor on Wednesday, Sam's day off.
    shown = invoke("roster", "--at", "2026-03-10T08:00:00+00:00", env=agent)
    assert shown.code == 0, shown
    lines = shown.stdout.splitlines()
    assert lines[0] == "Roster at Tue 10 Mar 17:00 (Asia/Tokyo)"
    assert "Sam Agent until 18:00 (offline)" in " ".join(" ".join(lines).split())
    assert any("warning: Tokyo desk 18:00-21:00: nobody on" in " ".join(line.split()) for line in lines), (
        lines
    )
    in_utc = invoke("roster", "--at", "2026-03-10T08:00:00+00:00", "--zone", "UTC", "-o", "json", env=agent)
    gaps = [(g["start"], g["end"]) for g in in_utc.json()["gaps"]]
    assert gaps == [
        ("2026-03-10T09:00:00Z", "2026-03-10T12:00:00Z"),
        ("2026-03-11T00:00:00Z", "2026-03-11T08:00:00Z"),  # the day off, to the 24 h horizon
    ]


def test_handoff_and_routing_commands(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    agent = env_for(desk, tmp_path, desk.agent_token)
    sam = desk.agent.get("/me").json()["id"]
    team = desk.admin.post("/teams", json={"name": f"Night {uuid.uuid4().hex[:4]}"}).json()
    payload = {
        "channel": "web_chat",
        "contact": {"name": "Pat", "email": f"{uuid.uuid4().hex[:8]}@c.example"},
        "body": "Still broken",
    }
    conversation = desk.admin.post("/inbound", json=payload).json()["conversation_id"]
    assert desk.agent.patch(f"/conversations/{conversation}", json={"assignee_id": sam}).status_code == 200
    unknown = invoke("handoff", "--to", "Nobody Here", env=agent)
    assert unknown.code == 2 and "no team or agent named" in unknown.stderr, unknown
    done = invoke("handoff", "--to", team["name"], "--note", "Bank replies after 9", env=agent)
    assert done.code == 0, done
    assert f"handed over to team {team['name']}: #{conversation}" in done.stdout
    moved = desk.admin.get(f"/conversations/{conversation}").json()
    assert moved["assignee"] is None and moved["team"]["id"] == team["id"]
    status = invoke("routing", "-o", "json", env=agent)
    assert status.code == 0 and status.json()["mode"] == "off", status
