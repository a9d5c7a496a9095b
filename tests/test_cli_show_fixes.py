"""Two things a person reads in the CLI's detail views, against the real (seeded) desk server:
`conv ID` never prints an empty `Due:` line, and `team show` names the members."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli_support import base_env, invoke
from tests.conftest import Desk


def due_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip().startswith("Due")]
    assert len(lines) == 1, text
    return lines[0].split(":", 1)[1].strip()


def test_conv_says_when_the_answer_is_due_or_why_nothing_is(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    for status, expected in (
        ("pending", "nothing: SLA clocks are paused while pending"),
        ("snoozed", "nothing: SLA clocks are paused while snoozed"),
        ("resolved", "nothing: resolved"),
    ):
        page = desk.agent.get("/conversations", params={"status": status, "limit": 1}).json()
        shown = invoke("conv", str(page["items"][0]["id"]), env=env)
        assert shown.code == 0, shown
        assert due_line(shown.stdout) == expected
    item = desk.agent.get("/conversations", params={"status": "open", "limit": 1}).json()["items"][0]
    shown = invoke("conv", str(item["id"]), env=env)
    due = due_line(shown.stdout)
    clock = next(c["name"] for c in item["sla"]["clocks"] if c["due_at"] == item["due_at"])
    assert due.startswith(item["due_at"][:19]) and due.endswith(clock.upper()), due


def test_team_show_names_the_members(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.admin_token)
    team = next(t for t in desk.admin.get("/teams").json()["items"] if t["name"] == "Billing")
    detail = desk.admin.get(f"/teams/{team['id']}").json()
    names = {a["id"]: a["name"] for a in desk.admin.get("/agents").json()["items"]}
    shown = invoke("team", "show", "Billing", env=env)
    assert shown.code == 0, shown
    line = next(line for line in shown.stdout.splitlines() if line.strip().startswith("Members"))
    assert detail["member_ids"]
    assert re.findall(r"#(\d+)", line) == [str(i) for i in detail["member_ids"]]
    for member in detail["member_ids"]:
        assert f"{names[member]} (#{member})" in line
    # Machines keep the ids.
    assert (
        invoke("team", "show", "Billing", "-o", "json", env=env).json()["member_ids"] == detail["member_ids"]
    )
