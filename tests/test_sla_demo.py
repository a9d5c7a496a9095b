"""The demo desk's SLA policies, and a seeded desk that looks like a healthy night under them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_console.server import db
from agent_console.server.seed import seed_demo
from agent_console.server.store import Store
from agent_console.tui.sla_display import sla_label


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(db.connect(tmp_path / "demo.db"))


def test_demo_policies(store: Store) -> None:
    seed_demo(store.conn, now=datetime(2026, 11, 24, 9, 30, tzinfo=UTC))
    policies = {p.name: p for p in store.list_sla_policies()}
    targets = {name: (p.first_response_s, p.next_response_s, p.resolution_s) for name, p in policies.items()}
    assert targets["Chat"] == (120, 600, 4 * 3600)
    assert targets["Email"] == (3600, 4 * 3600, 24 * 3600)
    assert targets["Urgent chat"] < targets["Chat"] and targets["Urgent email"] < targets["Email"]
    office = [p for p in policies.values() if p.business_hours is not None]
    assert len(office) == 1 and office[0].team_ids and office[0].business_hours.zone == "America/New_York"
    assert [p.name for p in policies.values() if p.is_default] == ["Standard"]


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 25, 3, 0, tzinfo=UTC),  # a Wednesday night
        datetime(2026, 11, 28, 22, 15, tzinfo=UTC),  # Saturday evening
        datetime(2027, 3, 29, 1, 5, tzinfo=UTC),  # the night after Europe's clocks changed
    ],
)
def test_the_seeded_desk_is_a_healthy_night(store: Store, now: datetime) -> None:
    seed_demo(store.conn, now=now)
    page = store.list_conversations(me=0, statuses=("open",), limit=500)
    levels = Counter(sla_label(c, now)[1] for c in page.items)
    assert levels["breached"] in (2, 3), levels
    assert 3 <= levels["soon"] <= 8, levels
    assert levels["ok"] >= 0.85 * len(page.items), levels
    # Breaches were recorded as history at seeding, not announced as news.
    assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert len(store.sla_breaches()) == levels["breached"]
