"""KPIs (`GET /api/v1/stats`) on the fixed desk of tests/stats_data.py, against the real desk
server. Every expected number is worked out by hand in the comments from that file's rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests import stats_data
from tests.conftest import ENGINES, Desk, new_database

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL


@pytest.fixture(scope="module")
def kpi_desk(request: pytest.FixtureRequest, engine: str, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    yield from stats_data.running_desk(new_database(request, engine, tmp_path_factory.mktemp("kpi")))


def stats(desk: Desk, **params: Any) -> dict[str, Any]:
    query = {"since": stats_data.SINCE, "until": stats_data.UNTIL, "tz": "UTC", **params}
    response = desk.agent.get("/stats", params=query)
    assert response.status_code == 200, response.text
    return response.json()


def group(rows: list[dict[str, Any]], ident: int | None) -> dict[str, Any]:
    return next(row for row in rows if row["id"] == ident)


def test_every_kpi_on_the_fixed_desk(kpi_desk) -> None:
    desk, agents, teams = kpi_desk
    body = stats(desk)
    # Created in the period: 1-6 (7 before, 8 after, 9 long before).
    assert body["conversations"] == 6
    # First responses (s): 1 60, 2 1200, 3 300, 4 600, 6 30 (5 unanswered) -> 30 60 300 600 1200.
    # Median: rank 2 = 300. p90: rank 0.9 * 4 = 3.6 -> 600 + 0.6 * (1200 - 600) = 960.
    assert body["first_response"] == {"count": 5, "median_s": 300.0, "p90_s": 960.0}
    # Resolved in the period: 1 7200, 3 7200, 6 3600, 7 86400 -> 3600 7200 7200 86400.
    # Median: rank 1.5 -> 7200. p90: rank 2.7 -> 7200 + 0.7 * (86400 - 7200) = 62640.
    assert body["resolution"] == {"count": 4, "median_s": 7200.0, "p90_s": 62640.0}
    # CSAT over those four: 1 rated 5, 3 rated 2, 7 rated 4, 6 not rated.
    assert body["csat"] == {
        "resolved": 4,
        "rated": 3,
        "response_rate": 0.75,
        "average": 3.6667,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    }
    # SLA cycles started in the period, for clocks the policy has a target for:
    # frt: 1, 3, 4, 6 met; 2 missed (Urgent 15 min, answered in 20); 5 running; 7 before.
    # nrt: 2 missed; 3 one met, then one missed (both cycles, though sla_clocks keeps one).
    # rt (Standard has 24 h here, Urgent none): 1, 3, 6 met; 4, 5 running; 2 not counted.
    assert body["sla"] == [
        {"clock": "frt", "met": 4, "missed": 1, "running": 1, "attainment": 0.8},
        {"clock": "nrt", "met": 1, "missed": 2, "running": 0, "attainment": 0.3333},
        {"clock": "rt", "met": 3, "missed": 0, "running": 2, "attainment": 1.0},
    ]
    # Latest bot outcome in the period: 1 handoff, 3 handoff (after resolving), 4 handoff,
    # 5 resolved, 6 resolved; 8's is after the period.
    assert body["bot"] == {
        "handled": 5,
        "resolved": 2,
        "handed_off": 3,
        "resolution_rate": 0.4,
        "handoff_rate": 0.6,
    }
    # Waiting now: 2 open urgent unassigned, 4 pending, 5 open high, 8 open normal
    # unassigned, 9 snoozed.
    assert body["backlog"] == {
        "total": 5,
        "by_status": {"open": 3, "pending": 1, "snoozed": 1},
        "open_by_priority": {"urgent": 1, "high": 1, "normal": 1, "low": 0},
        "open_unassigned": 2,
    }

    # Per team. Billing: created 1, 2, 6 (first responses 60, 1200, 30 -> median 60, p90 rank
    # 1.8 -> 60 + 0.8 * 1140 = 972); resolved 1 (7200) and 6 (3600) -> median 5400; rated 5;
    # waiting 2 and 9.
    billing = group(body["teams"], teams["Billing"])
    assert billing["name"] == "Billing"
    assert billing["conversations"] == 3
    assert billing["first_response"] == {"count": 3, "median_s": 60.0, "p90_s": 972.0}
    assert (billing["resolved"], billing["resolution"]["median_s"]) == (2, 5400.0)
    assert (billing["csat_average"], billing["csat_rated"], billing["backlog"]) == (5.0, 1, 2)
    # Tech: created 3, 4 (300, 600 -> 450); resolved 3 (7200), 7 (86400) -> 46800; rated 2, 4.
    tech = group(body["teams"], teams["Tech"])
    assert tech["conversations"] == 2
    assert tech["first_response"]["median_s"] == 450.0
    assert (tech["resolved"], tech["resolution"]["median_s"]) == (2, 46800.0)
    assert (tech["csat_average"], tech["csat_rated"], tech["backlog"]) == (3.0, 2, 2)
    # No team: 5 (unanswered, waiting).
    none = group(body["teams"], None)
    assert (none["conversations"], none["first_response"]["count"], none["backlog"]) == (1, 0, 1)
    assert [row["id"] for row in body["teams"]] == [teams["Billing"], teams["Tech"], None]

    # Per agent. Sam: created 1, 4, 5, 6 (60, 600, 30 -> 60); resolved 1, 6; rated 5; waiting 4, 5.
    sam = group(body["agents"], agents["sam"])
    assert sam["name"] == "Sam Agent"
    assert sam["conversations"] == 4
    assert sam["first_response"] == {"count": 3, "median_s": 60.0, "p90_s": 492.0}
    assert (sam["resolved"], sam["csat_average"], sam["backlog"]) == (2, 5.0, 2)
    # Avery: created 3 (300); resolved 3, 7 (46800); rated 2 and 4; waiting 9.
    avery = group(body["agents"], agents["avery"])
    assert (avery["conversations"], avery["first_response"]["median_s"]) == (1, 300.0)
    assert (avery["resolution"]["median_s"], avery["csat_average"], avery["backlog"]) == (46800.0, 3.0, 1)
    # Unassigned: created 2 (1200); waiting 2 and 8.
    nobody = group(body["agents"], None)
    assert (nobody["conversations"], nobody["first_response"]["median_s"], nobody["backlog"]) == (
        1,
        1200.0,
        2,
    )


def test_hours_of_day_follow_the_viewers_zone_across_a_dst_change(kpi_desk) -> None:
    desk, _, _ = kpi_desk

    def chart(body: dict[str, Any]) -> dict[int, tuple[int, float | None]]:
        return {
            h["hour"]: (h["conversations"], h["first_response_median_s"])
            for h in body["by_hour"]
            if h["conversations"]
        }

    utc = stats(desk)
    assert [h["hour"] for h in utc["by_hour"]] == list(range(24))
    # UTC: 1 and 5 at 10:00 (only 1 answered: 60); 2 and 6 at 23:30 (1200, 30 -> 615);
    # 3 at 00:30 (300); 4 at 01:30 (600).
    assert chart(utc) == {10: (2, 60.0), 23: (2, 615.0), 0: (1, 300.0), 1: (1, 600.0)}

    # Dublin is GMT until 2026-03-29T01:00Z, then IST (+1): 1 at 10, 2 at 23 and 3 at 00
    # (before the change); 4 at 02:30 and 5 at 11:00 (after it); 6 at 00:30 on the 31st.
    dublin = stats(desk, tz="Europe/Dublin")
    assert dublin["tz"] == "Europe/Dublin"
    assert chart(dublin) == {10: (1, 60.0), 23: (1, 1200.0), 0: (2, 165.0), 2: (1, 600.0), 11: (1, None)}

    # Tokyo (+9, no DST): 2 (23:30Z) and 6 (23:30Z) are at 08:30 the next day.
    tokyo = stats(desk, tz="Asia/Tokyo")
    assert chart(tokyo)[8] == (2, 615.0)


def test_a_date_means_midnight_in_the_zone(kpi_desk) -> None:
    desk, _, _ = kpi_desk
    # In Tokyo, 2026-03-29 starts at 2026-03-28T15:00Z: conversations 2-6 (1 is at 10:00Z).
    body = desk.agent.get("/stats", params={"since": "2026-03-29", "until": "2026-04-01", "tz": "Asia/Tokyo"})
    assert body.status_code == 200, body.text
    assert body.json()["since"].startswith("2026-03-28T15:00:00")
    assert body.json()["conversations"] == 5


def test_filters_by_team_and_agent(kpi_desk) -> None:
    desk, agents, teams = kpi_desk
    # Billing only: 1, 2, 6 created; 1 and 6 resolved (3600, 7200 -> median 5400, p90 rank
    # 0.9 -> 3600 + 0.9 * 3600 = 6840); bot: 1 handoff, 6 resolved; waiting: 2 and 9.
    billing = stats(desk, team=teams["Billing"])
    assert billing["team_id"] == teams["Billing"]
    assert billing["conversations"] == 3
    assert billing["first_response"] == {"count": 3, "median_s": 60.0, "p90_s": 972.0}
    assert billing["resolution"] == {"count": 2, "median_s": 5400.0, "p90_s": 6840.0}
    assert (billing["csat"]["rated"], billing["csat"]["response_rate"], billing["csat"]["average"]) == (
        1,
        0.5,
        5.0,
    )
    assert [(c["clock"], c["met"], c["missed"], c["running"]) for c in billing["sla"]] == [
        ("frt", 2, 1, 0),
        ("nrt", 0, 1, 0),
        ("rt", 2, 0, 0),
    ]
    assert (billing["bot"]["handled"], billing["bot"]["resolution_rate"]) == (2, 0.5)
    assert billing["backlog"]["total"] == 2
    assert billing["backlog"]["open_by_priority"]["urgent"] == 1
    assert [row["id"] for row in billing["teams"]] == [teams["Billing"]]

    # Sam only: created 1, 4, 5, 6 (60, 600, 30: p90 rank 1.8 -> 60 + 0.8 * 540 = 492);
    # bot: 1 and 4 handed off, 5 and 6 resolved; waiting: 4 (pending) and 5 (open, high).
    sam = stats(desk, agent=agents["sam"])
    assert sam["conversations"] == 4
    assert sam["first_response"] == {"count": 3, "median_s": 60.0, "p90_s": 492.0}
    assert (sam["bot"]["handled"], sam["bot"]["resolved"], sam["bot"]["handed_off"]) == (4, 2, 2)
    assert sam["backlog"]["by_status"] == {"open": 1, "pending": 1, "snoozed": 0}
    assert [row["id"] for row in sam["agents"]] == [agents["sam"]]

    both = stats(desk, team=teams["Tech"], agent=agents["avery"])
    assert both["conversations"] == 1  # 3
    assert both["resolution"]["count"] == 2  # 3 and 7


def test_an_empty_period_has_counts_of_zero_and_no_medians(kpi_desk) -> None:
    desk, _, _ = kpi_desk
    body = stats(desk, since="2025-01-01T00:00:00Z", until="2025-02-01T00:00:00Z")
    assert body["conversations"] == 0
    assert body["first_response"] == {"count": 0, "median_s": None, "p90_s": None}
    assert body["csat"]["average"] is None and body["csat"]["response_rate"] is None
    assert all(c["attainment"] is None for c in body["sla"])
    assert body["backlog"]["total"] == 5  # the backlog is now, whatever the period


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"tz": "Mars/Olympus"}, "tz", 422),
        ({"tz": ""}, "tz", 422),
        ({"since": "yesterday"}, "since", 422),
        ({"since": "2026-13-45"}, "since", 422),
        ({"until": "2026-03-01T10:00:00"}, "until", 422),  # no offset
        ({"since": "1900-01-01T00:00:00Z"}, "since", 422),
        ({"team": "x"}, "team", 422),
        ({"group_by": "team"}, "group_by", 422),
        # Each value fine alone, no period together: a conflict.
        ({"since": "2026-04-02T00:00:00Z"}, "since", 409),  # after until
        ({"since": "2000-01-01"}, "since", 409),  # over ten years
        # Well formed, naming nothing.
        ({"team": "999"}, "team", 404),
        ({"agent": "999"}, "agent", 404),
    ],
)
def test_bad_stats_questions_are_refused_naming_the_field(kpi_desk, params, field, status) -> None:
    desk, _, _ = kpi_desk
    query = {"since": stats_data.SINCE, "until": stats_data.UNTIL, **params}
    response = desk.agent.get("/stats", params=query)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field


def test_stats_need_a_token(kpi_desk) -> None:
    desk, _, _ = kpi_desk
    assert desk.client().get("/stats").status_code == 401


def test_stats_use_indexes(kpi_desk) -> None:
    """The period's rows are found through the KPI migration's indexes, not a table scan."""
    desk, _, _ = kpi_desk
    plans = {
        "created": "SELECT count(*) FROM conversations c WHERE c.created_at >= ? AND c.created_at < ?",
        "resolved": "SELECT count(*) FROM conversations c WHERE c.resolved_at >= ? AND c.resolved_at < ?",
        "team": "SELECT count(*) FROM conversations c WHERE c.created_at >= ? AND c.created_at < ?"
        " AND c.team_id = ?",
        "cycles": "SELECT count(*) FROM sla_cycles s WHERE s.started_at >= ? AND s.started_at < ?",
        "bot": "SELECT count(*) FROM bot_outcomes WHERE at >= ? AND at < ?",
    }
    for name, sql in plans.items():
        params = ["a", "b", 1][: sql.count("?")]
        if isinstance(desk.db, Path):
            conn = sqlite3.connect(desk.db)
            plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            conn.close()
            assert "USING" in plan and "INDEX" in plan, (name, plan)
        else:  # a few rows: PostgreSQL would scan them; asked not to, an index must serve
            import psycopg

            from agent_console.server.pg_connection import translate

            with psycopg.connect(desk.db) as pg:
                pg.execute("SET enable_seqscan = off")
                plan = " ".join(row[0] for row in pg.execute(f"EXPLAIN {translate(sql)}", params))
            assert "Index" in plan, (name, plan)
