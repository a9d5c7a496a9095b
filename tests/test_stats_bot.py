"""The bot's outcomes in the KPIs, from the real FAQ bot on a store seeded with the demo desk:
a customer the bot helped (bot-resolved) and one it handed to a person, counted from the events
the bot writes (copied out of the pruned event log by the KPI migration's trigger)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from agent_console.core.models import InboundContact, InboundMessage
from agent_console.server import db
from agent_console.server.seed import seed_demo
from agent_console.server.stats_store import Query, StatsQueries
from agent_console.server.store import Store

DEMO_NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def say(store: Store, email: str, text: str, conversation_id: int | None = None) -> int:
    result = store.inbound(
        InboundMessage(
            channel="web_chat",
            contact=InboundContact(name="Cass", email=email, language="en"),
            body=text,
            conversation_id=conversation_id,
        )
    )
    return result.conversation_id


def test_bot_resolutions_and_handoffs_are_counted(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "desk.db")
    seed_demo(conn, now=DEMO_NOW)
    store = Store(conn)
    store.set_bot_channel("web_chat", True)
    # The seeded demo happened days ago: this hour holds only what the test does.
    now = datetime.now(UTC)
    query = Query(
        since=now - timedelta(hours=1), until=now + timedelta(hours=1), zone=ZoneInfo("UTC"), tz="UTC"
    )
    before = StatsQueries(conn).stats(query)
    assert (before.bot.handled, before.resolution.count) == (0, 0)

    helped = say(store, "helped@customers.example", "How do I install the eSIM on my iPhone?")
    say(store, "helped@customers.example", "Yes, that solved it", helped)
    handed = say(store, "handed@customers.example", "I want to talk to a human agent please")
    assert store.get_conversation(helped).status == "resolved"
    assert store.get_conversation(handed).bot_status == "handed_off"

    after = StatsQueries(conn).stats(query)
    assert (after.bot.handled, after.bot.resolved, after.bot.handed_off) == (2, 1, 1)
    assert (after.bot.resolution_rate, after.bot.handoff_rate) == (0.5, 0.5)
    # The bot's resolution is a resolution (the status trigger kept resolved_at).
    assert after.resolution.count == 1
    assert after.conversations == 2
    conn.close()
