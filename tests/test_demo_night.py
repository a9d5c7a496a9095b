"""The demo left alone for a quarter of an hour still looks like a night, not a fire.

The real desk application (`create_app`, its store and SLA schedule) on a seeded demo database,
with its clock injected, and the real simulator talking HTTP to it in process: 15 simulated
minutes in 5-second ticks take a few seconds. Nobody acts at the console.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from agent_console.client.simulator import Simulator
from agent_console.core.clock import to_iso
from agent_console.core.urgency import says_urgent
from agent_console.demo.dataset import load_agents
from agent_console.server import db
from agent_console.server.app import create_app
from agent_console.server.seed import SIMULATOR_EMAIL, seed_demo
from agent_console.server.store import Store, ensure_agent

WINDOW = 15 * 60  # the console's default urgent window, in seconds
TICK = timedelta(seconds=5)


@dataclass
class Night:
    open: int
    urgent: int  # the Urgent view: priority urgent, or due within the window (late ones too)
    late: int  # open conversations past their due time now
    breaches: int  # recorded since the demo started
    sent: int
    replies: int
    taken: int
    urgent_words: list[str]  # priorities of new conversations whose customer said it is urgent


def _counts(store: Store, now: datetime) -> tuple[int, int, int]:
    page = store.list_conversations(me=0, view="urgent", limit=1, breaching_within=WINDOW)
    late = store.conn.execute(
        "SELECT count(*) FROM conversations WHERE status = 'open' AND due_at < ?", (to_iso(now),)
    ).fetchone()[0]
    return page.counts.all, page.counts.urgent, late


def run_night(tmp_path: Path, start: datetime, seed: int, *, colleagues: bool = True) -> tuple[Night, Night]:
    """The desk as seeded at `start`, and after 15 simulated minutes of the simulator alone."""
    now = [start]
    path = tmp_path / "demo.db"
    conn = db.connect(path)
    seed_demo(conn, now=start)
    setup = Store(conn, clock=lambda: now[0])
    _, sim_token = ensure_agent(
        setup, email=SIMULATOR_EMAIL, name="Channel simulator", role="integration", timezone="UTC"
    )
    tokens = {agent.email: setup.rotate_token(agent.email) for agent in load_agents()} if colleagues else {}
    conn.close()
    app = create_app(path, sla_interval=None, clock=lambda: now[0])
    store = app.state.store
    seeded = len(store.sla_breaches())
    newest = store.conn.execute("SELECT max(id) FROM conversations").fetchone()[0]
    first = Night(*_counts(store, start), seeded, 0, 0, 0, [])

    async def drive() -> Simulator:
        sim = Simulator(
            "http://desk.test",
            sim_token,
            seed=seed,
            rate=4.0,  # the demo's default pace
            colleagues=tokens,
            transport=httpx.ASGITransport(app=app),
        )
        try:
            while now[0] < start + timedelta(minutes=15):
                now[0] += TICK
                await sim.advance(now[0])
                store.sla_fire_due()  # what the server's SLA runner does every second
        finally:
            await sim.aclose()
        return sim

    sim = asyncio.run(drive())
    rows = store.conn.execute(
        "SELECT c.priority, m.body FROM conversations c JOIN messages m ON m.conversation_id = c.id"
        " WHERE c.id > ? AND m.kind = 'incoming'",
        (newest,),
    ).fetchall()
    said = [priority for priority, body in rows if says_urgent(body)]
    last = Night(
        *_counts(store, now[0]), len(store.sla_breaches()) - seeded, sim.sent, sim.replies, sim.taken, said
    )
    return first, last


@pytest.mark.parametrize(
    ("start", "seed"),
    [
        (datetime(2026, 11, 25, 3, 0, tzinfo=UTC), 1),  # a Wednesday night
        (datetime(2026, 11, 28, 22, 15, tzinfo=UTC), 2),  # Saturday evening
    ],
)
def test_a_quarter_of_an_hour_alone_is_still_a_night(tmp_path: Path, start: datetime, seed: int) -> None:
    first, last = run_night(tmp_path, start, seed)
    # As seeded: a handful close, two or three late, the Urgent view a small part of the desk.
    assert first.late in (2, 3) and first.breaches == first.late, first
    assert first.urgent <= 0.25 * first.open, first
    # Fifteen minutes on: customers wrote (new ones and replies) and colleagues kept up.
    assert last.sent >= 30 and last.replies >= 15 and last.taken >= 5, last
    assert last.open > first.open
    assert last.urgent <= 0.25 * last.open, last
    assert last.late <= 10, last
    assert last.breaches <= 15, last
    # A new customer who wrote that it is urgent is heard: high, never normal or low.
    assert last.urgent_words and all(p in ("high", "urgent") for p in last.urgent_words), last


def test_without_colleagues_it_would_be_a_fire(tmp_path: Path) -> None:
    """What the colleagues are for: the same night with nobody but the console's agent."""
    _, alone = run_night(tmp_path, datetime(2026, 11, 25, 3, 0, tzinfo=UTC), 1, colleagues=False)
    assert alone.replies == 0
    assert alone.late > 20 and alone.urgent > 0.35 * alone.open, alone


def test_the_demo_hands_the_simulator_a_token_for_each_colleague(tmp_path: Path) -> None:
    from agent_console.cli.demo import issue_colleague_tokens

    path = tmp_path / "demo.db"
    conn = db.connect(path)
    seed_demo(conn, now=datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    conn.close()
    tokens = issue_colleague_tokens(path)
    store = Store(db.connect(path))
    assert sorted(tokens) == sorted(agent.email for agent in load_agents())
    for email, token in tokens.items():
        agent = store.authenticate(token)
        assert agent is not None and agent.email == email and agent.role in ("agent", "admin")
