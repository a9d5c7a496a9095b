"""`agent-console sla list|show|set|delete` end to end against the real desk server."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.cli_support import base_env, invoke, run_cli
from tests.conftest import Desk


def env_for(desk: Desk, token: str, tmp_path: Path) -> dict[str, str | None]:
    return base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=token)


def test_admin_sets_shows_and_deletes_a_policy(fresh_desk: Desk, tmp_path: Path) -> None:
    admin = env_for(fresh_desk, fresh_desk.admin_token, tmp_path)
    made = invoke(
        "sla", "set", "Chat", "--channel", "web_chat", "--frt", "2m", "--nrt", "10m", "--rt", "4h",
        "--position", "40", "-o", "json", env=admin,
    )  # fmt: skip
    assert made.code == 0, made
    policy = made.json()
    assert (policy["first_response_s"], policy["next_response_s"], policy["resolution_s"]) == (
        120,
        600,
        14400,
    )
    assert policy["channels"] == ["web_chat"] and policy["business_hours"] is None
    # The same name again changes it: only the options given.
    hours = invoke(
        "sla", "set", "chat", "--zone", "Europe/Berlin", "--hours", "mon-fri 09:00-17:00",
        "--holiday", "2026-12-25", "-o", "json", env=admin,
    )  # fmt: skip
    assert hours.code == 0, hours
    changed = hours.json()
    assert changed["id"] == policy["id"] and changed["first_response_s"] == 120
    assert [r["day"] for r in changed["business_hours"]["hours"]] == ["mon", "tue", "wed", "thu", "fri"]
    assert changed["business_hours"]["holidays"] == ["2026-12-25"]
    wire = fresh_desk.agent.get("/sla/policies").json()["items"]
    listed = invoke("sla", "list", "-o", "json", env=admin)
    assert listed.json() == wire
    quiet = invoke("sla", "list", "-q", env=admin)
    assert quiet.stdout.split() == [str(p["id"]) for p in wire]
    table = list(csv.DictReader(io.StringIO(invoke("sla", "list", "-o", "csv", env=admin).stdout)))
    row = next(r for r in table if r["name"] == "Chat")
    assert row["business_hours"].startswith("mon,tue,wed,thu,fri 09:00-17:00 Europe/Berlin")
    shown = invoke("sla", "show", "Chat", env=admin).stdout
    assert "First response" in shown and "2m" in shown and "Europe/Berlin" in shown
    back = invoke("sla", "set", "Chat", "--24-7", "--nrt", "none", "-o", "json", env=admin).json()
    assert back["business_hours"] is None and back["next_response_s"] is None
    gone = invoke("sla", "delete", "Chat", env=admin)
    assert gone.code == 0 and "deleted" in gone.stdout
    assert invoke("sla", "show", "Chat", env=admin).code == 4


def test_bad_values_are_usage_errors_or_the_servers_reason(fresh_desk: Desk, tmp_path: Path) -> None:
    admin = env_for(fresh_desk, fresh_desk.admin_token, tmp_path)
    before = fresh_desk.agent.get("/sla/policies").json()
    bad = invoke("sla", "set", "X", "--frt", "soon", env=admin)
    assert bad.code == 2 and "duration" in bad.stderr
    bad = invoke("sla", "set", "X", "--frt", "1m", "--hours", "someday 9-5", "--zone", "UTC", env=admin)
    assert bad.code == 2 and "mon-fri" in bad.stderr
    zone = invoke(
        "sla", "set", "X", "--frt", "1m", "--zone", "Mars/Base", "--hours", "mon 09:00-17:00", env=admin
    )
    assert zone.code == 1 and "business_hours.zone" in zone.stderr and "Mars/Base" in zone.stderr
    overlap = invoke(
        "sla", "set", "X", "--frt", "1m", "--zone", "UTC", "--hours", "mon-fri 09:00-17:00",
        "--hours", "fri 16:00-18:00", env=admin,
    )  # fmt: skip
    assert overlap.code == 5 and "overlaps" in overlap.stderr  # a conflict between two ranges
    assert fresh_desk.agent.get("/sla/policies").json() == before


def test_agents_may_list_but_not_change(fresh_desk: Desk, tmp_path: Path) -> None:
    agent = env_for(fresh_desk, fresh_desk.agent_token, tmp_path)
    assert invoke("sla", "list", env=agent).code == 0
    refused = run_cli("sla", "set", "Mine", "--frt", "1m", env=agent)
    assert refused.code == 3 and "admin" in refused.stderr
