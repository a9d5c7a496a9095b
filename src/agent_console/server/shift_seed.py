"""The demo desk's shifts (demo/shifts.toml): seeded with the rest of the demo, checked by the
same calendar rules as an admin's schedule, and the handoff note left for the demo agent."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

from agent_console.core import roster
from agent_console.core.business_hours import BusinessHours
from agent_console.core.clock import to_iso, utcnow
from agent_console.core.models import HandoffConversationNote, NewHandoff
from agent_console.demo.shifts import load_shifts


def seed_shifts(conn: sqlite3.Connection, now: datetime) -> None:
    """Inside the seed's transaction: schedules, languages and coverage windows."""
    seeds = load_shifts()
    for seed in seeds.schedules:
        row = conn.execute("SELECT id, timezone FROM agents WHERE email = ?", (seed.email,)).fetchone()
        if row is None:
            raise ValueError(f"shifts.toml: no agent {seed.email} in people.toml")
        schedule = roster.Schedule.build(row[1], seed.hours)  # a bad file fails here, loudly
        hours = [{"day": d, "start": s, "end": e} for d, s, e in seed.hours]
        ended = roster.last_shift_end(schedule, now)
        conn.execute(
            "INSERT OR REPLACE INTO agent_schedules(agent_id, hours, exceptions, last_end_applied,"
            " updated_at) VALUES (?, ?, '[]', ?, ?)",
            (row[0], json.dumps(hours), ended and to_iso(ended), to_iso(now)),
        )
        conn.execute(
            "UPDATE agents SET languages = ? WHERE id = ?", (json.dumps(list(seed.languages)), row[0])
        )
    for cover in seeds.coverage:
        team = conn.execute("SELECT id FROM teams WHERE name = ?", (cover.team,)).fetchone()
        if team is None:
            raise ValueError(f"shifts.toml: no team {cover.team} in people.toml")
        BusinessHours.build(cover.zone, cover.hours)
        hours = [{"day": d, "start": s, "end": e} for d, s, e in cover.hours]
        conn.execute(
            "INSERT OR REPLACE INTO team_coverage(team_id, zone, hours, min_agents) VALUES (?, ?, ?, ?)",
            (team[0], cover.zone, json.dumps(hours), cover.min_agents),
        )


def leave_demo_handoff(store: object, demo_email: str) -> int | None:
    """The demo agent joins every team (so routing reaches them: everyone else on the demo desk
    is offline), and the night shift's handoff waits for them, once a day: the colleague's open
    conversations move to the demo agent with the note. Returns the handoff's id, or None when
    there was no handoff to leave (one already waits, or the colleague holds nothing open)."""
    receiver = store.find_agent_by_email(demo_email)  # type: ignore[attr-defined]
    if receiver is None:
        return None
    with store._write():  # type: ignore[attr-defined]  # noqa: SLF001 - the store's own transaction
        store.conn.execute(  # type: ignore[attr-defined]
            "INSERT OR IGNORE INTO agent_teams(agent_id, team_id) SELECT ?, id FROM teams", (receiver.id,)
        )
    seed = load_shifts().handoff
    if seed is None:
        return None
    giver = store.find_agent_by_email(seed.from_email)  # type: ignore[attr-defined]
    receiver = store.find_agent_by_email(demo_email)  # type: ignore[attr-defined]
    if giver is None:
        return None
    recent = store.list_handoffs(  # type: ignore[attr-defined]
        for_agent=receiver, conversation_id=None, since=utcnow() - timedelta(hours=12), limit=1
    )
    if recent:
        return None
    ids = [
        r[0]
        for r in store.conn.execute(  # type: ignore[attr-defined]
            "SELECT id FROM conversations WHERE assignee_id = ? AND status = 'open'"
            " ORDER BY queue_key, id LIMIT ?",
            (giver.id, seed.conversations),
        )
    ]
    if not ids:
        return None
    notes = [HandoffConversationNote(conversation_id=ids[0], note=seed.first_note)] if seed.first_note else []
    made = store.create_handoff(  # type: ignore[attr-defined]
        NewHandoff(to_agent_ids=[receiver.id], note=seed.note, conversation_ids=ids, notes=notes), giver
    )
    return made.id
