"""The fixed desk the KPI tests run on: every row written with explicit timestamps, so each
expected figure in tests/test_stats_server.py can be worked out by hand from this file.

The period is 2026-03-28T00:00Z to 2026-04-01T00:00Z. Europe/Dublin moves from GMT (+0) to
IST (+1) at 2026-03-29T01:00Z, inside it, so hours of day differ by zone and by side of the
change. Written straight into the desk server's database while it runs (WAL lets two
processes write); the triggers of the KPI migration see these writes like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from agent_console.server import db as database
from tests.conftest import Desk, start_desk

SINCE = "2026-03-28T00:00:00Z"
UNTIL = "2026-04-01T00:00:00Z"
STANDARD, URGENT = 4, 1  # the starting SLA policies' ids (server/db.py)


def ts(text: str) -> str:
    """`03-28 10:00:00` (2026, UTC) in the stored fixed-width form."""
    return "2026-" + text.replace(" ", "T") + ".000000Z"


# id, created, first response, resolved, status, priority, team, assignee ("sam"/"avery"/None)
CONVERSATIONS = (
    (1, "03-28 10:00:00", "03-28 10:01:00", "03-28 12:00:00", "resolved", "normal", "Billing", "sam"),
    (2, "03-28 23:30:00", "03-28 23:50:00", None, "open", "urgent", "Billing", None),
    (3, "03-29 00:30:00", "03-29 00:35:00", "03-29 02:30:00", "resolved", "normal", "Tech", "avery"),
    (4, "03-29 01:30:00", "03-29 01:40:00", None, "pending", "normal", "Tech", "sam"),
    (5, "03-30 10:00:00", None, None, "open", "high", None, "sam"),
    (6, "03-30 23:30:00", "03-30 23:30:30", "03-31 00:30:00", "resolved", "normal", "Billing", "sam"),
    # Created before the period, resolved inside it: resolution and CSAT only.
    (7, "03-27 12:00:00", "03-27 12:15:00", "03-28 12:00:00", "resolved", "normal", "Tech", "avery"),
    # Created after the period: the backlog only.
    (8, "04-02 09:00:00", None, None, "open", "normal", "Tech", None),
    (9, "03-20 09:00:00", "03-20 09:05:00", None, "snoozed", "low", "Billing", "avery"),
)
RATINGS = ((1, 5, "quick and kind"), (3, 2, ""), (7, 4, "slow but solved"))
# conversation, clock, started, stopped, missed: written to sla_clocks in this order, so
# conversation 3's second nrt cycle replaces its first there (sla_cycles keeps both).
CLOCKS = (
    (1, "frt", "03-28 10:00:00", "03-28 10:01:00", None),
    (1, "rt", "03-28 10:00:00", "03-28 12:00:00", None),
    (2, "frt", "03-28 23:30:00", "03-28 23:50:00", "03-28 23:45:00"),
    (2, "nrt", "03-29 00:00:00", None, "03-29 00:15:00"),
    (2, "rt", "03-28 23:30:00", None, None),  # Urgent has no resolution target: not counted
    (3, "frt", "03-29 00:30:00", "03-29 00:35:00", None),
    (3, "nrt", "03-29 01:00:00", "03-29 01:10:00", None),
    (3, "nrt", "03-29 02:00:00", "03-29 04:10:00", "03-29 04:00:00"),
    (3, "rt", "03-29 00:30:00", "03-29 02:30:00", None),
    (4, "frt", "03-29 01:30:00", "03-29 01:40:00", None),
    (4, "rt", "03-29 01:30:00", None, None),
    (5, "frt", "03-30 10:00:00", None, None),
    (5, "rt", "03-30 10:00:00", None, None),
    (6, "frt", "03-30 23:30:00", "03-30 23:30:30", None),
    (6, "rt", "03-30 23:30:00", "03-31 00:30:00", None),
    (7, "frt", "03-27 12:00:00", "03-27 12:15:00", None),  # started before the period
)
# Events as the bot writes them (either payload shape): (type, at, data)
BOT_EVENTS = (
    ("conversation.bot_handoff", "03-28 10:00:30", {"conversation": {"id": 1}, "reason": "asked_human"}),
    ("conversation.bot_resolved", "03-29 00:31:00", {"conversation_id": 3}),
    ("conversation.bot_handoff", "03-29 00:40:00", {"conversation_id": 3, "reason": "no_answer"}),
    ("conversation.bot_handoff", "03-29 01:31:00", {"conversation_id": 4, "reason": "upset"}),
    ("conversation.bot_resolved", "03-30 10:01:00", {"conversation_id": 5}),
    ("conversation.bot_resolved", "03-30 23:31:00", {"conversation": {"id": 6}}),
    ("conversation.bot_resolved", "04-02 09:01:00", {"conversation_id": 8}),  # after the period
)


def write(db: Path | str, agents: dict[str, int]) -> dict[str, int]:
    """Write the desk; returns the team ids by name. `agents`: "sam"/"avery" to agent ids.
    Through the store's own connection, so the same SQL writes SQLite and PostgreSQL."""
    conn = database.connect(db)
    try:
        conn.execute("BEGIN IMMEDIATE")
        teams = {}
        for name in ("Billing", "Tech"):
            teams[name] = conn.execute("INSERT INTO teams(name) VALUES (?) RETURNING id", (name,)).fetchone()[
                0
            ]
        # The Standard policy gets a resolution target, so resolution cycles count.
        conn.execute("UPDATE sla_policies SET resolution_s = 86400 WHERE id = ?", (STANDARD,))
        contact = conn.execute(
            "INSERT INTO contacts(name, email, language, created_at) VALUES ('Kim Park', 'kim@example.com',"
            " 'en', ?) RETURNING id",
            (ts("03-01 00:00:00"),),
        ).fetchone()[0]
        for cid, created, first, resolved, status, priority, team, agent in CONVERSATIONS:
            conn.execute(
                "INSERT INTO conversations(id, channel, status, priority, language, contact_id, assignee_id,"
                " team_id, created_at, updated_at, last_activity_at, first_response_at, resolved_at,"
                " queue_key, sla_policy_id) VALUES (?, 'email', ?, ?, 'en', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    status,
                    priority,
                    contact,
                    None if agent is None else agents[agent],
                    None if team is None else teams[team],
                    ts(created),
                    ts(created),
                    ts(created),
                    None if first is None else ts(first),
                    None if resolved is None else ts(resolved),
                    "9999-12-31T23:59:59.999999Z",
                    URGENT if priority == "urgent" else STANDARD,
                ),
            )
        for cid, rating, comment in RATINGS:
            conn.execute(
                "INSERT INTO csat_ratings(conversation_id, rating, comment, created_at) VALUES (?, ?, ?, ?)",
                (cid, rating, comment, ts("03-31 12:00:00")),
            )
        for cid, clock, started, stopped, missed in CLOCKS:
            # A clock's next cycle replaces its row, as the store does; each insert is a cycle.
            conn.execute("DELETE FROM sla_clocks WHERE conversation_id = ? AND clock = ?", (cid, clock))
            conn.execute(
                "INSERT INTO sla_clocks(conversation_id, clock, started_at, stopped_at, missed_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (cid, clock, ts(started), stopped and ts(stopped), missed and ts(missed)),
            )
        for kind, at, data in BOT_EVENTS:
            conn.execute(
                "INSERT INTO events(seq, type, at, data)"
                " VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM events), ?, ?, ?)",
                (kind, ts(at), json.dumps(data)),
            )
        conn.execute("COMMIT")
        return teams
    finally:
        conn.close()


def running_desk(
    db: Path | str,
) -> Iterator[tuple[Desk, dict[str, int], dict[str, int]]]:
    """A desk server holding only this data set, with the agents' and teams' ids (for a
    module-scoped fixture: its tests only read)."""
    desk = start_desk(db, demo=False)
    try:
        agents = {"avery": desk.admin.get("/me").json()["id"], "sam": desk.agent.get("/me").json()["id"]}
        teams = write(desk.db, agents)
        yield desk, agents, teams
    finally:
        desk.server.stop()
