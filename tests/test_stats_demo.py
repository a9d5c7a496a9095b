"""The KPIs on the demo desk, and after the demo is moved to the present (`rebase_demo`): the
same figures over the same (moved) period, so a demo started days later shows the same
dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from agent_console.server import db
from agent_console.server.seed import rebase_demo, seed_demo
from agent_console.server.stats_store import Query, StatsQueries

DEMO_NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def test_the_demo_has_kpis_and_keeps_them_when_moved(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "desk.db")
    seed_demo(conn, now=DEMO_NOW)
    zone = ZoneInfo("Europe/Lisbon")

    def kpis(now: datetime):  # noqa: ANN202 - a Stats
        return StatsQueries(conn).stats(
            Query(
                since=now - timedelta(days=7), until=now + timedelta(minutes=1), zone=zone, tz="Europe/Lisbon"
            )
        )

    before = kpis(DEMO_NOW)
    assert before.conversations > 0 and before.first_response.count > 0
    assert before.resolution.count > 0  # the seeded resolved conversations have resolved_at
    assert any(c.met or c.missed for c in before.sla)
    cycles = conn.execute("SELECT count(*) FROM sla_cycles").fetchone()[0]

    shift = rebase_demo(conn, now=DEMO_NOW + timedelta(days=3, hours=5))
    after = kpis(DEMO_NOW + shift)
    assert conn.execute("SELECT count(*) FROM sla_cycles").fetchone()[0] == cycles  # moved, not doubled
    for name in ("conversations", "first_response", "resolution", "sla", "csat", "bot", "backlog"):
        assert getattr(after, name) == getattr(before, name), name
    conn.close()
