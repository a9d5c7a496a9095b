"""Load the demo data set into an empty desk-server database.

Seeding is bootstrapping, not activity: rows go in directly in one transaction and the
event log stays empty, so a console that connects afterwards starts from a snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from importlib import resources

from agent_console.core.clock import from_iso, to_iso, utcnow
from agent_console.core.kbdoc import parse_kb_file
from agent_console.core.urgency import raised_priority
from agent_console.core.visibility import CUSTOMER_VISIBLE
from agent_console.demo.dataset import build_dataset
from agent_console.demo.seeds import ConversationSeed, DemoDataset
from agent_console.demo.sla import DEMO_POLICIES
from agent_console.server.admin_store import upsert_canned
from agent_console.server.kb_admin_store import upsert_article
from agent_console.server.shift_seed import seed_shifts
from agent_console.server.store import QUEUE_TAIL, Store, hash_token, new_token

DEMO_AGENT_EMAIL = "demo@lumo.example"
SIMULATOR_EMAIL = "simulator@lumo.example"
DEMO_DESK_NAME = "Lumo Mobile Support"

# Every column that holds an instant, per table: what a re-base moves.
_TIME_COLUMNS = {
    "conversations": (
        "created_at",
        "updated_at",
        "last_activity_at",
        "first_response_at",
        "waiting_since",
        "snoozed_until",
        "due_at",
        "sla_paused_since",
        "resolved_at",
    ),
    "messages": ("created_at",),
    "sla_clocks": ("started_at", "stopped_at", "missed_at"),
    "sla_schedule": ("started_at", "fire_at", "fired_at"),
    "sla_breaches": ("started_at", "due_at", "breached_at"),
    "contacts": ("created_at",),
    "agents": ("created_at",),
    "kb_articles": ("updated_at",),
    "sla_cycles": ("started_at", "stopped_at", "missed_at"),
    "bot_outcomes": ("at",),
    "csat_ratings": ("created_at",),
}


def is_empty(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0


def seed_demo(
    conn: sqlite3.Connection,
    *,
    seed: int = 7,
    now: datetime | None = None,
    conversations: int = 240,
) -> DemoDataset:
    """Insert the demo data set; the database must hold no conversations yet."""
    now = now or utcnow()
    data = build_dataset(seed=seed, now=now, conversations=conversations)
    conn.execute("BEGIN IMMEDIATE")
    try:
        _insert(conn, data, now)
        conn.execute("UPDATE desk SET name = ?", (DEMO_DESK_NAME,))
        _insert_policies(conn)
        seed_shifts(conn, now)  # schedules, languages, coverage (demo/shifts.toml)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    # The clocks follow from each thread's history, as the live store would have kept them.
    Store(conn).sla_backfill(now=now)
    return data


def _insert_policies(conn: sqlite3.Connection) -> None:
    """The demo desk's SLA policies (demo/sla.py) instead of the built-in ones."""
    conn.execute("DELETE FROM sla_policies")
    teams = {name: ident for ident, name in conn.execute("SELECT id, name FROM teams")}
    for policy in DEMO_POLICIES:
        conn.execute(
            "INSERT INTO sla_policies(name, position, is_default, priorities, channels, team_ids,"
            " first_response_s, next_response_s, resolution_s, warn_share, business_hours)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0.25, ?)",
            (
                policy.name,
                policy.position,
                int(policy.is_default),
                json.dumps(list(policy.priorities)),
                json.dumps(list(policy.channels)),
                json.dumps([teams[name] for name in policy.teams if name in teams]),
                policy.first_response_s,
                policy.next_response_s,
                policy.resolution_s,
                None if policy.business_hours is None else json.dumps(policy.business_hours),
            ),
        )


def is_demo_desk(conn: sqlite3.Connection) -> bool:
    """A database the demo seeded (its desk name), or one `demo` ran on (its simulator)."""
    name = conn.execute("SELECT name FROM desk").fetchone()[0]
    simulator = conn.execute("SELECT 1 FROM agents WHERE email = ?", (SIMULATOR_EMAIL,)).fetchone()
    return name == DEMO_DESK_NAME or simulator is not None


def last_activity(conn: sqlite3.Connection) -> datetime | None:
    """When the demo desk was last alive: its newest message or event (a console leaving)."""
    row = conn.execute(
        "SELECT max(at) FROM (SELECT max(created_at) AS at FROM messages"
        " UNION ALL SELECT max(at) FROM events) latest"
    ).fetchone()
    return None if row[0] is None else from_iso(row[0])


def rebase_demo(conn: sqlite3.Connection, *, now: datetime | None = None) -> timedelta:
    """Move every instant of a reused demo desk forward by the time it was switched off.

    The desk then looks as it did when it was left (a customer who had waited 5 minutes
    still has), instead of every row days late. Ids, threads, the agent's own replies and
    notes all stay, so drafts and the outbox still point at the right conversations.
    Returns the shift (zero when the desk was used a moment ago).
    """
    now = now or utcnow()
    last = last_activity(conn)
    if last is None or now - last < timedelta(minutes=1):
        return timedelta(0)
    shift = now - last
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table, columns in _TIME_COLUMNS.items():
            rows = conn.execute(f"SELECT {conn.rowid}, {', '.join(columns)} FROM {table}").fetchall()
            moved = [
                (*(None if value is None else to_iso(from_iso(value) + shift) for value in row[1:]), row[0])
                for row in rows
            ]
            assignments = ", ".join(f"{column} = ?" for column in columns)
            conn.executemany(f"UPDATE {table} SET {assignments} WHERE {conn.rowid} = ?", moved)
        conn.execute("UPDATE conversations SET queue_key = COALESCE(due_at, ?)", (QUEUE_TAIL,))
        _shift_sla(conn, shift)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return shift


def _shift_sla(conn: sqlite3.Connection, shift: timedelta) -> None:
    """Each conversation's published clocks move with everything else (as it was left)."""
    rows = conn.execute("SELECT id, sla FROM conversations WHERE sla IS NOT NULL").fetchall()
    moved = []
    for conversation_id, text in rows:
        info = json.loads(text)
        for clock in info["clocks"]:
            for key in ("due_at", "warn_at"):
                if clock.get(key):
                    clock[key] = to_iso(from_iso(clock[key]) + shift)
        moved.append((json.dumps(info, separators=(",", ":")), conversation_id))
    conn.executemany("UPDATE conversations SET sla = ? WHERE id = ?", moved)


def _insert(conn: sqlite3.Connection, data: DemoDataset, now: datetime) -> None:
    stamp = to_iso(now)
    team_ids: dict[str, int] = {}
    for team in data.teams:
        conn.execute(
            "INSERT OR IGNORE INTO teams(name, description) VALUES (?, ?)", (team.name, team.description)
        )
        team_ids[team.name] = conn.execute("SELECT id FROM teams WHERE name = ?", (team.name,)).fetchone()[0]
    agent_ids: dict[str, int] = {}
    for agent in data.agents:
        existing = conn.execute("SELECT id FROM agents WHERE email = ?", (agent.email,)).fetchone()
        if existing is not None:
            agent_ids[agent.email] = existing[0]
            continue
        # Seeded colleagues get a token nobody knows; `server add-agent` or a rotate hands out real ones.
        cursor = conn.execute(
            "INSERT INTO agents(name, email, role, timezone, presence, token_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                agent.name,
                agent.email,
                agent.role,
                agent.timezone,
                "online" if len(agent_ids) % 3 else "away",
                hash_token(new_token()),
                stamp,
            ),
        )
        agent_ids[agent.email] = agent_id = cursor.fetchone()[0]
        if agent.team in team_ids:
            conn.execute(
                "INSERT INTO agent_teams(agent_id, team_id) VALUES (?, ?)",
                (agent_id, team_ids[agent.team]),
            )
    contact_ids: dict[int, int] = {}
    for contact in data.contacts:
        cursor = conn.execute(
            "INSERT INTO contacts(name, email, phone, language, timezone, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (contact.name, contact.email, contact.phone, contact.language, contact.timezone, stamp),
        )
        contact_ids[contact.key] = cursor.fetchone()[0]
    names = {agent.email: agent.name for agent in data.agents}
    for conversation in data.conversations:
        _insert_conversation(conn, conversation, contact_ids, agent_ids, team_ids, names)
    # The bundled KB and canned responses go in through the import path an admin uses
    # (`kb import`, POST /canned-responses): the same parser, checks and revisions.
    for name, text in demo_kb_files():
        doc = parse_kb_file(name, text)
        upsert_article(
            conn,
            now=now,
            slug=doc.slug,
            locale=doc.locale,
            title=doc.title,
            body=doc.body,
            tags=doc.tags,
            status=doc.status,
            translation_key=doc.translation_key,
            author_id=None,
            author_name="demo seed",
            updated_at=doc.updated,
        )
    for canned in data.canned:
        upsert_canned(
            conn, shortcode=canned.shortcode, locale=canned.locale, title=canned.title, body=canned.body
        )


def demo_kb_files() -> list[tuple[str, str]]:
    """The demo's bundled articles as (file name, text), read from the package."""
    folder = resources.files("agent_console.demo").joinpath("kb")
    entries = sorted((e for e in folder.iterdir() if e.name.endswith(".md")), key=lambda e: e.name)
    return [(entry.name, entry.read_text(encoding="utf-8")) for entry in entries]


def _insert_conversation(
    conn: sqlite3.Connection,
    seed: ConversationSeed,
    contact_ids: dict[int, int],
    agent_ids: dict[str, int],
    team_ids: dict[str, int],
    names: dict[str, str],
) -> None:
    # Derive what the store keeps in step on every live write.
    waiting_since = first_response = None
    unread = 0
    # Seeded history follows the desk's inbound rule (core/urgency.py): a customer who wrote
    # that it is urgent is at least high, so the demo never shows "this is urgent" as normal.
    priority = seed.priority
    for message in seed.messages:
        if message.kind == "incoming":
            waiting_since = waiting_since or message.at
            unread += 1
            priority = raised_priority(priority, message.body) or priority
        elif message.kind == "outgoing":
            waiting_since = None
            unread = 0
            first_response = first_response or message.at
    due = None  # the SLA clocks are worked out after the insert (Store.sla_backfill)
    last_at = seed.messages[-1].at if seed.messages else seed.created_at

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else to_iso(moment)

    cursor = conn.execute(
        "INSERT INTO conversations(channel, status, priority, subject, language, contact_id,"
        " assignee_id, team_id, labels, created_at, updated_at, last_activity_at,"
        " first_response_at, waiting_since, snoozed_until, due_at, queue_key, unread_count,"
        " message_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            seed.channel,
            seed.status,
            priority,
            seed.subject,
            seed.language,
            contact_ids[seed.contact_key],
            agent_ids.get(seed.assignee) if seed.assignee else None,
            team_ids.get(seed.team) if seed.team else None,
            json.dumps(list(seed.labels)),
            to_iso(seed.created_at),
            to_iso(last_at),
            to_iso(last_at),
            iso(first_response),
            iso(waiting_since),
            iso(seed.snoozed_until),
            iso(due),
            iso(due) or QUEUE_TAIL,
            unread,
            len(seed.messages),
        ),
    )
    conversation_id = cursor.fetchone()[0]
    contact_id = contact_ids[seed.contact_key]
    contact_name = conn.execute("SELECT name FROM contacts WHERE id = ?", (contact_id,)).fetchone()[0]
    last_id = visible_id = None
    for message in seed.messages:
        if message.kind == "incoming":
            author = ("contact", contact_id, contact_name)
        elif message.kind in ("outgoing", "note") and message.author_agent:
            author = ("agent", agent_ids.get(message.author_agent), names.get(message.author_agent, ""))
        elif message.kind == "bot":
            author = ("bot", None, "Lumo Assistant")
        else:
            author = ("system", None, "")
        message_id = conn.execute(
            "INSERT INTO messages(conversation_id, kind, body, author_type, author_id, author_name,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (conversation_id, message.kind, message.body, *author, to_iso(message.at)),
        ).fetchone()[0]
        if message.kind != "activity":
            last_id = message_id
        if message.kind in CUSTOMER_VISIBLE:
            visible_id = message_id
    conn.execute(
        "UPDATE conversations SET last_message_id = ?, last_visible_message_id = ? WHERE id = ?",
        (last_id, visible_id, conversation_id),
    )
    if seed.status == "resolved":  # what the status trigger keeps on a live write (KPIs)
        conn.execute(
            "UPDATE conversations SET resolved_at = ? WHERE id = ?",
            (to_iso(last_at), conversation_id),
        )
