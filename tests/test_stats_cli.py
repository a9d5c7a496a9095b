"""`agent-console stats` on the fixed desk of tests/stats_data.py: the report, JSON and CSV
show the server's figures, names resolve to ids, and bad values are usage errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests import stats_data
from tests.cli_support import base_env, invoke, run_cli

PERIOD = ("--since", stats_data.SINCE, "--until", stats_data.UNTIL)


@pytest.fixture(scope="module")
def kpi_desk(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    yield from stats_data.running_desk(tmp_path_factory.mktemp("kpi") / "desk.db")


def env_for(desk, tmp_path: Path, token: str | None = None) -> dict[str, str | None]:
    return base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=token or desk.agent_token)


def test_json_is_the_servers_answer(kpi_desk, tmp_path: Path) -> None:
    desk, _, teams = kpi_desk
    ran = invoke(
        "stats",
        *PERIOD,
        "--tz",
        "Europe/Dublin",
        "--team",
        "billing",
        "-o",
        "json",
        env=env_for(desk, tmp_path),
    )
    assert ran.code == 0, ran
    wire = desk.agent.get(
        "/stats",
        params={
            "since": stats_data.SINCE,
            "until": stats_data.UNTIL,
            "tz": "Europe/Dublin",
            "team": teams["Billing"],
        },
    ).json()
    assert ran.json() == wire
    assert ran.json()["team_id"] == teams["Billing"]


def test_the_report_reads_like_the_hand_worked_figures(kpi_desk, tmp_path: Path) -> None:
    desk, _, _ = kpi_desk
    ran = run_cli("stats", *PERIOD, "--tz", "UTC", env=env_for(desk, tmp_path))
    assert ran.code == 0, ran
    text = ran.stdout
    assert "KPIs Sat 28 Mar 2026 00:00 to Wed 01 Apr 2026 00:00 (UTC)" in text
    assert "Conversations    6 created" in text
    # 300 s and 960 s; 7200 s and 62640 s.
    assert "First response   median 5m, p90 16m (5 answered)" in text
    assert "Resolution       median 2h, p90 17h 24m (4 resolved)" in text
    assert "first response 80.0% (4 met, 1 missed, 1 running)" in text
    assert "next response 33.3% (1 met, 2 missed)" in text
    assert "CSAT             3.67/5 from 3 of 4 resolved (75.0% rated)" in text
    assert "Bot              5 finished: 40.0% resolved, 60.0% handed off" in text
    assert "Backlog          5 waiting: 3 open, 1 pending, 1 snoozed" in text
    assert "urgent 1 · high 1 · normal 1 · low 0 · unassigned 2" in text
    lines = text.splitlines()
    # The chart: 24 bars of 2 columns and a gap; hours 10 and 23 hold 2 conversations (the
    # tallest), 0 and 1 hold one (half height: the bottom three rows of six).
    top = lines.index("Conversations by hour of day (UTC); the tallest is 2") + 1
    chart = lines[top : top + 6]
    assert chart[0] == " " * 30 + "██" + " " * 37 + "██"
    assert chart[-1].startswith("██ ██") and chart[2].startswith("   ") and chart[3].startswith("██ ██")
    assert lines[top + 6].startswith("0        3        6        9        12")
    team_rows = [line for line in lines if line.startswith(("Billing", "Tech", "(no team)"))]
    assert [row.split()[0] for row in team_rows] == ["Billing", "Tech", "(no"]
    assert team_rows[0].split()[1:4] == ["3", "1m", "/"]  # 3 conversations, first response 60 s
    assert any(line.startswith("Sam Agent") and line.split()[2] == "4" for line in lines)
    assert any(line.startswith("(unassigned)") for line in lines)


def test_csv_has_one_figure_a_row(kpi_desk, tmp_path: Path) -> None:
    desk, agents, _ = kpi_desk
    ran = invoke(
        "stats",
        *PERIOD,
        "--tz",
        "UTC",
        "--agent",
        "sam@test.example",
        "-o",
        "csv",
        env=env_for(desk, tmp_path),
    )
    assert ran.code == 0, ran
    rows = list(csv.DictReader(io.StringIO(ran.stdout)))
    figure = {(r["section"], r["id"], r["metric"]): r["value"] for r in rows}
    assert figure[("overall", "", "conversations")] == "4"
    assert figure[("overall", "", "first_response_p90_s")] == "492.0"
    assert figure[("bot", "", "handled")] == "4"
    assert figure[("hour", "23", "conversations")] == "1"  # 6 at 23:30 (2 is unassigned)
    assert figure[("hour", "5", "first_response_median_s")] == ""
    assert figure[("agent", str(agents["sam"]), "backlog")] == "2"
    assert {r["section"] for r in rows} == {
        "period",
        "overall",
        "sla",
        "csat",
        "bot",
        "backlog",
        "hour",
        "team",
        "agent",
    }


def test_bad_values_are_usage_errors_or_the_servers_reason(kpi_desk, tmp_path: Path) -> None:
    desk, _, _ = kpi_desk
    env = env_for(desk, tmp_path)
    assert invoke("stats", "--since", "last tuesday", env=env).code == 2
    assert invoke("stats", "--since", "2026-03-01T10:00", env=env).code == 2  # no offset
    missing = invoke("stats", "--team", "Nobody", env=env)
    assert missing.code == 4 and "no team 'Nobody'" in missing.stderr
    zone = invoke("stats", "--tz", "Mars/Olympus", env=env)
    assert zone.code == 1 and "Mars/Olympus" in zone.stderr
