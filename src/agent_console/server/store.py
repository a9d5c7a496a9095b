"""The desk server's store: every read and write of help desk state, over SQLite.

This class is the store interface the HTTP layer programs against. Every write is one
`BEGIN IMMEDIATE` transaction that also appends the events it causes to the event log,
so the live feed can never report a change that did not commit, nor miss one that did.
After commit, the events go to `listener` (the live-feed hub) for fan-out.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec

from agent_console.core import urgency
from agent_console.core.clock import from_iso, parse_optional, to_iso, utcnow
from agent_console.core.labels import fold_label, label_problem
from agent_console.core.models import (
    Agent,
    AgentRef,
    Author,
    CannedResponse,
    Contact,
    Conversation,
    ConversationCounts,
    ConversationPage,
    ConversationPatch,
    Desk,
    InboundMessage,
    InboundResult,
    KbArticle,
    KbHit,
    LabelCount,
    Message,
    MessagePreview,
    NewMessage,
    Team,
    TeamRef,
)
from agent_console.core.queue import QUEUE_TAIL, cursor_for
from agent_console.core.visibility import CUSTOMER_VISIBLE
from agent_console.server.admin_store import AdminStore
from agent_console.server.bot_store import BotStoreMixin
from agent_console.server.checks import is_id_text
from agent_console.server.reads import ReadsMixin
from agent_console.server.sla_store import SlaStoreMixin, decode_info
from agent_console.server.triage_store import TriageStoreMixin, decode_triage

PREVIEW_CHARS = 200
TOKEN_PREFIX = "acd_"


# --- errors the HTTP layer maps to statuses ------------------------------------------


class StoreError(Exception):
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(StoreError):
    code = "not_found"


class Invalid(StoreError):
    code = "validation_failed"


class Forbidden(StoreError):
    code = "forbidden"


class Conflict(StoreError):
    """Well formed, but not possible in the resource's state or at this time (a snooze
    without a wake-up time, or one that has already passed)."""

    code = "state_conflict"


class Stale(StoreError):
    """A reply was written against an old view of the conversation."""

    code = "conflict"

    def __init__(self, message: str, unseen: list[Message]) -> None:
        super().__init__(message)
        self.unseen = unseen


class IdempotencyMismatch(StoreError):
    code = "idempotency_key_reused"


# --- helpers ---------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def fts_query(text: str) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word, as a prefix."""
    words = re.findall(r"\w+", text)
    if not words:
        return None
    return " ".join(f'"{word}"*' for word in words[:12])


# A page cursor: the last row's queue key as 20 digits, a dash, its id. Any text of this
# shape is a position in the queue order, so the document can say exactly what is valid.
CURSOR_PATTERN = r"^[0-9]{20}-[0-9]{1,16}$"
_CURSOR = re.compile(CURSOR_PATTERN)


def encode_cursor(queue_key: str, conversation_id: int) -> str:
    return cursor_for(queue_key, conversation_id)


def decode_cursor(cursor: str) -> tuple[str, int]:
    """Back to (queue key, id); the key's text is rebuilt in the stored fixed-width form."""
    if not _CURSOR.fullmatch(cursor):
        raise Invalid("cursor is not one this server issued", field="cursor")
    d, _, ident = cursor.partition("-")
    key = f"{d[0:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}:{d[12:14]}.{d[14:20]}Z"
    return key, int(ident)


@dataclass(slots=True)
class PendingEvent:
    seq: int
    type: str
    at: str
    data: str  # JSON text

    def frame(self) -> str:
        """The event as sent on the live feed, without re-encoding its data."""
        return f'{{"seq":{self.seq},"type":{json.dumps(self.type)},"at":"{self.at}","data":{self.data}}}'


@dataclass(slots=True)
class _Tx:
    conn: sqlite3.Connection
    next_seq: int
    now: datetime
    events: list[PendingEvent] = field(default_factory=list)

    def emit(self, type_: str, data: Any) -> int:
        seq = self.next_seq
        self.next_seq += 1
        payload = msgspec.json.encode(data).decode()
        at = to_iso(self.now)
        self.conn.execute(
            "INSERT INTO events(seq, type, at, data) VALUES (?, ?, ?, ?)", (seq, type_, at, payload)
        )
        self.events.append(PendingEvent(seq, type_, at, payload))
        return seq

    def peek_seq(self) -> int:
        return self.next_seq


_CONVERSATION_SELECT = f"""
SELECT c.*, ct.name AS ct_name, ct.email AS ct_email, ct.phone AS ct_phone,
       ct.language AS ct_language, ct.timezone AS ct_timezone,
       a.name AS a_name, t.name AS t_name,
       m.kind AS m_kind, substr(m.body, 1, {PREVIEW_CHARS}) AS m_body, m.created_at AS m_created_at,
       v.kind AS v_kind, substr(v.body, 1, {PREVIEW_CHARS}) AS v_body, v.created_at AS v_created_at
FROM conversations c
JOIN contacts ct ON ct.id = c.contact_id
LEFT JOIN agents a ON a.id = c.assignee_id
LEFT JOIN teams t ON t.id = c.team_id
LEFT JOIN messages m ON m.id = c.last_message_id
LEFT JOIN messages v ON v.id = c.last_visible_message_id
"""


class Store(SlaStoreMixin, ReadsMixin, AdminStore, TriageStoreMixin, BotStoreMixin):
    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        listener: Callable[[list[PendingEvent]], None] | None = None,
        event_window: int = 100_000,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.conn = conn
        self.listener = listener
        # Where every write reads the time (a test may drive a desk through simulated minutes).
        self.clock = clock
        # How many events the log keeps; older `since` values get `resync_required`.
        self.event_window = event_window

    # --- transactions ------------------------------------------------------------------

    _tx: _Tx | None = None

    @contextmanager
    def _write(self) -> Iterator[_Tx]:
        """One write transaction; a nested call joins the outer one."""
        if self._tx is not None:
            yield self._tx
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            tx = self._tx = _Tx(self.conn, (row[0] if row else 0) + 1, self.clock())
            yield tx
            if tx.events and tx.events[-1].seq % 1000 < len(tx.events):
                self._prune_events(tx.events[-1].seq)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        finally:
            self._tx = None
        if tx.events and self.listener is not None:
            self.listener(tx.events)

    def _prune_events(self, head: int) -> None:
        self.conn.execute("DELETE FROM events WHERE seq <= ?", (head - self.event_window,))

    # --- the desk itself --------------------------------------------------------------

    def desk(self) -> Desk:
        row = self.conn.execute("SELECT id, name, public_url FROM desk").fetchone()
        return Desk(id=row[0], name=row[1], public_url=row[2])

    def configure_desk(self, *, public_url: str) -> Desk:
        """Set the desk's public base URL (the caller validated it)."""
        with self._write() as tx:
            tx.conn.execute("UPDATE desk SET public_url = ?", (public_url.rstrip("/"),))
        return self.desk()

    # --- agents, teams, auth -----------------------------------------------------------

    def create_agent(
        self,
        *,
        name: str,
        email: str,
        role: str = "agent",
        timezone: str = "UTC",
        teams: Sequence[str] = (),
    ) -> tuple[Agent, str]:
        """Create an agent and return it with its API token (shown once, stored hashed)."""
        if role not in ("agent", "admin", "integration"):
            raise Invalid(f"role must be agent, admin or integration, not {role!r}", field="role")
        token = new_token()
        with self._write() as tx:
            try:
                cursor = tx.conn.execute(
                    "INSERT INTO agents(name, email, role, timezone, token_hash, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (name, email, role, timezone, hash_token(token), to_iso(tx.now)),
                )
            except sqlite3.IntegrityError as exc:
                raise Invalid(f"an agent with email {email} already exists", field="email") from exc
            agent_id = cursor.lastrowid
            for team in teams:
                team_row = tx.conn.execute("SELECT id FROM teams WHERE name = ?", (team,)).fetchone()
                if team_row is None:
                    raise Invalid(f"no team named {team!r}", field="team")
                tx.conn.execute(
                    "INSERT INTO agent_teams(agent_id, team_id) VALUES (?, ?)", (agent_id, team_row[0])
                )
        return self.get_agent(agent_id), token

    def rotate_token(self, email: str) -> str:
        token = new_token()
        with self._write() as tx:
            cursor = tx.conn.execute(
                "UPDATE agents SET token_hash = ? WHERE email = ?", (hash_token(token), email)
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no agent with email {email}")
        return token

    def create_team(self, name: str, description: str = "") -> Team:
        with self._write() as tx:
            cursor = tx.conn.execute(
                "INSERT INTO teams(name, description) VALUES (?, ?)", (name, description)
            )
        return Team(id=cursor.lastrowid, name=name, description=description)

    def authenticate(self, token: str) -> Agent | None:
        row = self.conn.execute(
            "SELECT id FROM agents WHERE token_hash = ? AND active = 1", (hash_token(token),)
        ).fetchone()
        return None if row is None else self.get_agent(row[0])

    def get_agent(self, agent_id: int) -> Agent:
        row = self.conn.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
        if row is None:
            raise NotFound(f"no agent with id {agent_id}")
        return self._agent(row)

    def find_agent_by_email(self, email: str) -> Agent | None:
        row = self.conn.execute("SELECT * FROM agents WHERE email = ?", (email,)).fetchone()
        return None if row is None else self._agent(row)

    def list_agents(self, *, include_inactive: bool = False) -> list[Agent]:
        active = "" if include_inactive else " AND active = 1"
        rows = self.conn.execute(
            f"SELECT * FROM agents WHERE role != 'integration'{active} ORDER BY name"
        ).fetchall()
        return [self._agent(row) for row in rows]

    def _agent(self, row: sqlite3.Row) -> Agent:
        team_ids = [
            r[0]
            for r in self.conn.execute(
                "SELECT team_id FROM agent_teams WHERE agent_id = ? ORDER BY team_id", (row["id"],)
            )
        ]
        fields = {**dict(row), "team_ids": team_ids}
        fields["languages"] = json.loads(fields.get("languages") or "[]")
        fields["active"] = bool(fields.get("active", 1))
        return msgspec.convert(fields, Agent)

    def list_teams(self) -> list[Team]:
        rows = self.conn.execute("SELECT * FROM teams ORDER BY name").fetchall()
        return [msgspec.convert(dict(r), Team) for r in rows]

    def set_presence(self, agent_id: int, presence: str) -> Agent:
        with self._write() as tx:
            old = tx.conn.execute("SELECT presence FROM agents WHERE id = ?", (agent_id,)).fetchone()
            if old is None:
                raise NotFound(f"no agent with id {agent_id}")
            if old[0] != presence:
                tx.conn.execute("UPDATE agents SET presence = ? WHERE id = ?", (presence, agent_id))
                tx.emit("presence.updated", {"agent_id": agent_id, "presence": presence})
        return self.get_agent(agent_id)

    def sync_presence(self, connected: dict[int, bool]) -> None:
        """Presence that follows live connections: an agent with one is at least online, one
        without is offline. Every change of one call goes out as ONE `presence.updated`
        event: `{agent_id, presence}` for one agent, `{agents: [{agent_id, presence}, ...]}`
        for several (a thousand agents connecting must not cost a thousand events)."""
        changes: list[dict[str, Any]] = []
        with self._write() as tx:
            for agent_id, online in sorted(connected.items()):
                row = tx.conn.execute(
                    "SELECT presence, role FROM agents WHERE id = ?", (agent_id,)
                ).fetchone()
                if row is None or row["role"] == "integration":
                    continue
                if online and row["presence"] == "offline":
                    new = "online"
                elif not online and row["presence"] != "offline":
                    new = "offline"
                else:
                    continue
                tx.conn.execute("UPDATE agents SET presence = ? WHERE id = ?", (new, agent_id))
                changes.append({"agent_id": agent_id, "presence": new})
            if len(changes) == 1:
                tx.emit("presence.updated", changes[0])
            elif changes:
                tx.emit("presence.updated", {"agents": changes})

    def reset_presence(self) -> None:
        """At start-up nobody is connected (the last run may have crashed): all offline."""
        rows = self.conn.execute("SELECT id FROM agents WHERE presence != 'offline'").fetchall()
        if rows:
            self.sync_presence({row[0]: False for row in rows})

    # --- contacts ------------------------------------------------------------------------

    def list_contacts(self, search: str | None, limit: int) -> list[Contact]:
        if search:
            pattern = f"%{search}%"
            rows = self.conn.execute(
                "SELECT * FROM contacts WHERE name LIKE ? OR email LIKE ? OR phone LIKE ?"
                " ORDER BY name LIMIT ?",
                (pattern, pattern, pattern, limit),
            ).fetchall()
        else:
            rows = self.conn.execute("SELECT * FROM contacts ORDER BY name LIMIT ?", (limit,)).fetchall()
        return [self._contact(r) for r in rows]

    def get_contact(self, contact_id: int) -> Contact:
        row = self.conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        if row is None:
            raise NotFound(f"no contact with id {contact_id}")
        return self._contact(row)

    @staticmethod
    def _contact(row: sqlite3.Row) -> Contact:
        return msgspec.convert(dict(row), Contact)  # columns named as the fields; extras ignored

    # --- conversations -------------------------------------------------------------------

    def head_seq(self) -> int:
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return row[0] if row else 0

    def oldest_seq(self) -> int | None:
        row = self.conn.execute("SELECT min(seq) FROM events").fetchone()
        return row[0]

    def list_conversations(
        self,
        *,
        me: int,
        view: str = "all",
        statuses: Sequence[str] = ("open",),
        query: str | None = None,
        label: str | None = None,
        contact_id: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
        before: str | None = None,
        breaching_within: int | None = None,
    ) -> ConversationPage:
        """One page of a view in `(queue_key, id)` order: after `cursor`, or the rows just
        before `before` (then `next_cursor` points further back); with both, the rows between
        them from `cursor` on. `breaching_within` (seconds): the urgent view also holds what is
        due by then (late ones included), as the console's Urgent view does."""
        where, params = self._filters(statuses=statuses, query=query, label=label, contact_id=contact_id)
        urgent: tuple[str, list[Any]] = ("c.priority = 'urgent'", [])
        if breaching_within is not None:
            # queue_key is due_at (or the tail): the queue index answers the window too.
            horizon = to_iso(self.clock() + timedelta(seconds=breaching_within))
            urgent = ("(c.priority = 'urgent' OR c.queue_key <= ?)", [horizon])
        view_where = {
            "mine": ("c.assignee_id = ?", [me]),
            "unassigned": ("c.assignee_id IS NULL", []),
            "urgent": urgent,
            "all": ("1", []),
        }
        # Only a text search reads the contact: counting and ordering run on the queue indexes.
        join = " JOIN contacts ct ON ct.id = c.contact_id" if query else ""
        head = self.head_seq()  # read before the page: replaying from here misses nothing
        counts = {}
        if query:
            # A text search scans: count every view in the one pass.
            row = self.conn.execute(
                "SELECT count(*), sum(c.assignee_id = ?), sum(c.assignee_id IS NULL),"
                f" sum({urgent[0]}) FROM conversations c{join} WHERE {where}",
                [me, *urgent[1], *params],
            ).fetchone()
            counts = {"all": row[0], "mine": row[1] or 0, "unassigned": row[2] or 0, "urgent": row[3] or 0}
        for name, (clause, extra) in view_where.items() if not query else ():
            counts[name] = self.conn.execute(
                f"SELECT count(*) FROM conversations c WHERE {where} AND {clause}",
                [*params, *extra],
            ).fetchone()[0]
        clause, extra = view_where[view]
        page_where = f"{where} AND {clause}"
        page_params = [*params, *extra]
        order = "c.queue_key, c.id"
        if cursor:
            key, after_id = decode_cursor(cursor)
            page_where += " AND (c.queue_key > ? OR (c.queue_key = ? AND c.id > ?))"
            page_params += [key, key, after_id]
        if before:
            key, before_id = decode_cursor(before)
            page_where += " AND (c.queue_key < ? OR (c.queue_key = ? AND c.id < ?))"
            page_params += [key, key, before_id]
        backwards = bool(before) and not cursor
        if backwards:
            order = "c.queue_key DESC, c.id DESC"
        # The page's ids from the index first; the joins then run for those rows only. Several
        # statuses: one index walk each, merged (an IN over them would sort the whole view).
        keyset = page_where[len(where) :]
        walks = []
        for one in [(status,) for status in statuses] if len(statuses) > 1 else [statuses]:
            one_where, one_params = self._filters(
                statuses=one, query=query, label=label, contact_id=contact_id
            )
            walks.append(
                [
                    (row[0], row[1])  # plain tuples: the merge compares them
                    for row in self.conn.execute(
                        f"SELECT c.queue_key, c.id FROM conversations c{join} WHERE {one_where}{keyset}"
                        f" ORDER BY {order} LIMIT ?",
                        [*one_params, *page_params[len(params) :], limit + 1],
                    )
                ]
            )
        merged = heapq.merge(*walks, reverse=backwards) if len(walks) > 1 else iter(walks[0])
        ids = [row[1] for row in itertools.islice(merged, limit + 1)]
        more = len(ids) > limit
        ids = ids[:limit]
        if backwards:
            ids.reverse()
        found = {
            row["id"]: row
            for row in self.conn.execute(
                f"{_CONVERSATION_SELECT} WHERE c.id IN ({','.join('?' * len(ids))})", ids
            )
        }
        rows = [found[i] for i in ids if i in found]
        edge = (rows[0] if backwards else rows[-1]) if rows else None
        next_cursor = encode_cursor(edge["queue_key"], edge["id"]) if more and edge is not None else None
        return ConversationPage(
            items=[self._conversation(r) for r in rows],
            next_cursor=next_cursor,
            counts=ConversationCounts(**counts),
            head_seq=head,
        )

    def _filters(
        self,
        *,
        statuses: Sequence[str],
        query: str | None,
        label: str | None,
        contact_id: int | None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if statuses:
            clauses.append(f"c.status IN ({','.join('?' * len(statuses))})")
            params += list(statuses)
        if label:
            clauses.append("EXISTS (SELECT 1 FROM json_each(c.labels) WHERE value = ?)")
            params.append(fold_label(label))
        if contact_id is not None:
            clauses.append("c.contact_id = ?")
            params.append(contact_id)
        if query:
            pattern = f"%{query}%"
            match = fts_query(query)
            text = "(ct.name LIKE ? OR ct.email LIKE ? OR c.subject LIKE ?"
            params += [pattern, pattern, pattern]
            if is_id_text(query.strip()):  # `²` and `①` are digits to isdigit(), not ids
                text += " OR c.id = ?"
                params.append(int(query.strip()))
            if match:
                text += (
                    " OR c.id IN (SELECT m.conversation_id FROM messages m WHERE m.id IN"
                    " (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?))"
                )
                params.append(match)
            clauses.append(text + ")")
        return (" AND ".join(clauses) or "1"), params

    def get_conversation(self, conversation_id: int) -> Conversation:
        row = self.conn.execute(f"{_CONVERSATION_SELECT} WHERE c.id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise NotFound(f"no conversation with id {conversation_id}")
        return self._conversation(row)

    @staticmethod
    def _conversation(row: sqlite3.Row) -> Conversation:
        last = None
        if row["last_message_id"] is not None and row["m_kind"] is not None:
            last = MessagePreview(
                id=row["last_message_id"],
                kind=row["m_kind"],
                body=row["m_body"],
                created_at=from_iso(row["m_created_at"]),
            )
        visible = None
        if row["last_visible_message_id"] is not None and row["v_kind"] is not None:
            visible = MessagePreview(
                id=row["last_visible_message_id"],
                kind=row["v_kind"],
                body=row["v_body"],
                created_at=from_iso(row["v_created_at"]),
            )
        return Conversation(
            id=row["id"],
            channel=row["channel"],
            status=row["status"],
            priority=row["priority"],
            subject=row["subject"],
            language=row["language"],
            contact=Contact(
                id=row["contact_id"],
                name=row["ct_name"],
                email=row["ct_email"],
                phone=row["ct_phone"],
                language=row["ct_language"],
                timezone=row["ct_timezone"],
            ),
            assignee=AgentRef(id=row["assignee_id"], name=row["a_name"])
            if row["assignee_id"] is not None
            else None,
            team=TeamRef(id=row["team_id"], name=row["t_name"]) if row["team_id"] is not None else None,
            labels=json.loads(row["labels"]),
            created_at=from_iso(row["created_at"]),
            updated_at=from_iso(row["updated_at"]),
            last_activity_at=from_iso(row["last_activity_at"]),
            first_response_at=parse_optional(row["first_response_at"]),
            waiting_since=parse_optional(row["waiting_since"]),
            snoozed_until=parse_optional(row["snoozed_until"]),
            due_at=parse_optional(row["due_at"]),
            unread_count=row["unread_count"],
            message_count=row["message_count"],
            last_message=last,
            last_visible=visible,
            seq=row["seq"],
            sla=decode_info(row["sla"]),
            language_source=row["language_source"],
            triage=decode_triage(row["triage"]),
            bot_status=row["bot_status"],
            bot_reason=row["bot_reason"],
            bot_reason_text=row["bot_reason_text"],
        )

    def _refresh_due(self, tx: _Tx, conversation_id: int) -> None:
        """Recompute the SLA clocks, due_at and queue_key (server/sla_store.py)."""
        self._sla_refresh(tx, conversation_id)

    def _stamp(self, tx: _Tx, conversation_id: int) -> Conversation:
        """Mark the conversation as changed by the next event and return its new state."""
        tx.conn.execute(
            "UPDATE conversations SET seq = ?, updated_at = ? WHERE id = ?",
            (tx.peek_seq(), to_iso(tx.now), conversation_id),
        )
        return self.get_conversation(conversation_id)

    def patch_conversation(
        self, conversation_id: int, patch: ConversationPatch, actor: Agent
    ) -> Conversation:
        with self._write() as tx:
            current = self.get_conversation(conversation_id)
            sets: dict[str, Any] = {}
            notes: list[str] = []
            changed: list[str] = []
            unset = msgspec.UNSET

            status = current.status if patch.status is unset else patch.status
            if patch.bot is not unset:
                status = self._bot_back_status(current, patch)  # back to the bot: pending (bot_store)
            snoozed_until = current.snoozed_until
            if patch.snoozed_until is not unset:
                snoozed_until = patch.snoozed_until
                if snoozed_until is not None and patch.status is unset:
                    status = "snoozed"  # giving a wake-up time means "snooze"
            if status == "snoozed":
                if snoozed_until is None:
                    raise Conflict("snoozing needs snoozed_until", field="snoozed_until")
                if snoozed_until.tzinfo is None:
                    raise Invalid("snoozed_until needs a time zone", field="snoozed_until")
                if snoozed_until <= tx.now:
                    raise Conflict("snoozed_until must be in the future", field="snoozed_until")
            else:
                snoozed_until = None
            if status != current.status:
                sets["status"] = status
                changed.append("status")
                notes.append(
                    f"{actor.name} snoozed the conversation until {to_iso(snoozed_until)}"
                    if status == "snoozed"
                    else f"{actor.name} {_STATUS_VERBS[status]} the conversation"
                )
            if snoozed_until != current.snoozed_until:
                sets["snoozed_until"] = None if snoozed_until is None else to_iso(snoozed_until)
                if "snoozed_until" not in changed:
                    changed.append("snoozed_until")
            if patch.priority is not unset and patch.priority != current.priority:
                sets["priority"] = patch.priority
                changed.append("priority")
                notes.append(f"{actor.name} set priority to {patch.priority}")
            if patch.assignee_id is not unset:
                current_id = current.assignee.id if current.assignee else None
                if patch.assignee_id != current_id:
                    if patch.assignee_id is None:
                        notes.append(f"{actor.name} unassigned the conversation")
                    else:
                        assignee = self._assignable(patch.assignee_id)
                        notes.append(
                            f"{actor.name} self-assigned the conversation"
                            if assignee.id == actor.id
                            else f"{actor.name} assigned the conversation to {assignee.name}"
                        )
                    sets["assignee_id"] = patch.assignee_id
                    changed.append("assignee")
            if patch.team_id is not unset:
                current_team = current.team.id if current.team else None
                if patch.team_id != current_team:
                    if patch.team_id is None:
                        notes.append(f"{actor.name} removed the team")
                    else:
                        team = tx.conn.execute(
                            "SELECT name FROM teams WHERE id = ?", (patch.team_id,)
                        ).fetchone()
                        if team is None:
                            raise NotFound(f"no team with id {patch.team_id}", field="team_id")
                        notes.append(f"{actor.name} assigned the conversation to team {team[0]}")
                    sets["team_id"] = patch.team_id
                    changed.append("team")
            if patch.labels is not unset:
                # Folded, so `VIP` and `vip` are one label whichever client sent it.
                labels = list(dict.fromkeys(fold_label(label) for label in patch.labels))
                for label in labels:
                    if problem := label_problem(label):
                        raise Invalid(f"labels: {label!r}: {problem}", field="labels")
                if labels != current.labels:
                    sets["labels"] = json.dumps(labels)
                    changed.append("labels")
                    notes.append(
                        f"{actor.name} set labels: {', '.join(labels)}"
                        if labels
                        else f"{actor.name} removed all labels"
                    )
            self._bot_patch(tx, current, patch, changed, notes, actor.name)
            if not changed:
                return current
            if sets:
                assignments = ", ".join(f"{column} = ?" for column in sets)
                tx.conn.execute(
                    f"UPDATE conversations SET {assignments} WHERE id = ?",
                    [*sets.values(), conversation_id],
                )
            if {"status", "priority", "team"} & set(changed):
                self._refresh_due(tx, conversation_id)
            for note in notes:
                message = self._insert_message(
                    tx,
                    conversation_id,
                    kind="activity",
                    body=note,
                    author=Author(type="system", name=""),
                )
                tx.emit(
                    "message.created",
                    {"message": message, "conversation": self._stamp(tx, conversation_id)},
                )
            conversation = self._stamp(tx, conversation_id)
            tx.emit("conversation.updated", {"conversation": conversation, "changed": changed})
        return conversation

    def _assignable(self, agent_id: int) -> Agent:
        row = self.conn.execute(
            "SELECT * FROM agents WHERE id = ? AND role != 'integration'", (agent_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no agent with id {agent_id}", field="assignee_id")
        return self._agent(row)

    # --- messages ------------------------------------------------------------------------

    def list_messages(self, conversation_id: int, *, after: int | None, limit: int) -> list[Message]:
        self._require_conversation(conversation_id)
        rows = self.conn.execute(
            "SELECT * FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?",
            (conversation_id, max(after or 0, 0), limit),
        ).fetchall()
        return [self._message(r) for r in rows]

    def _require_conversation(self, conversation_id: int) -> None:
        if (
            self.conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            is None
        ):
            raise NotFound(f"no conversation with id {conversation_id}")

    @staticmethod
    def _message(row: sqlite3.Row) -> Message:
        return Message(
            id=row["id"],
            conversation_id=row["conversation_id"],
            kind=row["kind"],
            body=row["body"],
            author=Author(type=row["author_type"], id=row["author_id"], name=row["author_name"]),
            created_at=from_iso(row["created_at"]),
        )

    def _insert_message(
        self,
        tx: _Tx,
        conversation_id: int,
        *,
        kind: str,
        body: str,
        author: Author,
        at: datetime | None = None,
    ) -> Message:
        """Insert a message and keep the conversation's derived fields in step."""
        at_text = to_iso(at or tx.now)
        cursor = tx.conn.execute(
            "INSERT INTO messages(conversation_id, kind, body, author_type, author_id, author_name,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (conversation_id, kind, body, author.type, author.id, author.name, at_text),
        )
        message_id = cursor.lastrowid
        updates = ["message_count = message_count + 1", "last_activity_at = ?"]
        params: list[Any] = [at_text]
        if kind != "activity":
            updates.append("last_message_id = ?")
            params.append(message_id)
        if kind in CUSTOMER_VISIBLE:
            updates.append("last_visible_message_id = ?")
            params.append(message_id)
        if kind == "incoming":
            updates += [
                "waiting_since = COALESCE(waiting_since, ?)",
                "unread_count = unread_count + 1",
            ]
            params.append(at_text)
        elif kind == "outgoing":
            updates += [
                "waiting_since = NULL",
                "unread_count = 0",
                "first_response_at = COALESCE(first_response_at, ?)",
            ]
            params.append(at_text)
        tx.conn.execute(
            f"UPDATE conversations SET {', '.join(updates)} WHERE id = ?", [*params, conversation_id]
        )
        if kind in ("incoming", "outgoing"):
            self._refresh_due(tx, conversation_id)
        return Message(
            id=message_id,
            conversation_id=conversation_id,
            kind=kind,  # type: ignore[arg-type]
            body=body,
            author=author,
            created_at=from_iso(at_text),
        )

    def post_message(self, conversation_id: int, new: NewMessage, actor: Agent) -> Message:
        with self._write() as tx:
            self._require_conversation(conversation_id)
            if new.last_seen_message_id is not None and not new.force:
                unseen = [
                    self._message(r)
                    for r in tx.conn.execute(
                        "SELECT * FROM messages WHERE conversation_id = ? AND id > ?"
                        " AND kind != 'activity'"
                        " AND NOT (author_type = 'agent' AND author_id IS ?) ORDER BY id",
                        (conversation_id, new.last_seen_message_id, actor.id),
                    )
                ]
                if unseen:
                    raise Stale(
                        f"{len(unseen)} new message(s) since the one you last saw;"
                        " review them, then send with force",
                        unseen,
                    )
            message = self._insert_message(
                tx,
                conversation_id,
                kind="note" if new.private else "outgoing",
                body=new.body,
                author=Author(type="agent", id=actor.id, name=actor.name),
            )
            self._advance_mark(tx.conn, actor.id, conversation_id, message.id)
            tx.emit(
                "message.created",
                {"message": message, "conversation": self._stamp(tx, conversation_id)},
            )
        return message

    def inbound(
        self, inbound: InboundMessage, *, on_message: Callable[[_Tx, Message], None] | None = None
    ) -> InboundResult:
        """A customer wrote in on a channel: create or continue a conversation.

        `on_message` runs in the same transaction right after the message is written and
        before its event goes out (a channel's extras, e.g. an email's attachments)."""
        with self._write() as tx:
            created = inbound.conversation_id is None
            if created:
                contact_id = self._find_or_create_contact(tx, inbound)
                language = inbound.contact.language or self.get_contact(contact_id).language
                stamp = to_iso(tx.now)
                cursor = tx.conn.execute(
                    "INSERT INTO conversations(channel, status, priority, subject, language,"
                    " contact_id, created_at, updated_at, last_activity_at, queue_key)"
                    " VALUES (?, 'open', 'normal', ?, ?, ?, ?, ?, ?, ?)",
                    (
                        inbound.channel,
                        inbound.subject,
                        language,
                        contact_id,
                        stamp,
                        stamp,
                        stamp,
                        QUEUE_TAIL,
                    ),
                )
                conversation_id = cursor.lastrowid
                self._bot_claim(tx, conversation_id, inbound.channel)
            else:
                # Continuing a conversation: its own contact is the author.
                conversation_id = inbound.conversation_id
                row = tx.conn.execute(
                    "SELECT status, contact_id FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()
                if row is None:
                    raise NotFound(f"no conversation with id {conversation_id}")
                contact_id = row["contact_id"]
                if row["status"] != "open" and not self._bot_holds(tx, conversation_id):
                    # A customer writing again reopens the conversation for the team.
                    tx.conn.execute(
                        "UPDATE conversations SET status = 'open', snoozed_until = NULL WHERE id = ?",
                        (conversation_id,),
                    )
            contact = self.get_contact(contact_id)
            # A customer who says it is urgent is heard (core/urgency.py): before the message
            # goes in, so its due time is computed at the raised priority.
            priority = tx.conn.execute(
                "SELECT priority FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()[0]
            raised = urgency.raised_priority(priority, inbound.body)
            if raised is not None:
                tx.conn.execute(
                    "UPDATE conversations SET priority = ? WHERE id = ?", (raised, conversation_id)
                )
            message = self._insert_message(
                tx,
                conversation_id,
                kind="incoming",
                body=inbound.body,
                author=Author(type="contact", id=contact.id, name=contact.name),
            )
            if on_message is not None:
                on_message(tx, message)
            triaged = self._triage_incoming(tx, conversation_id)
            conversation = self._stamp(tx, conversation_id)
            if created:
                tx.emit("conversation.created", {"conversation": conversation})
                conversation = self._stamp(tx, conversation_id)
            tx.emit("message.created", {"message": message, "conversation": conversation})
            if triaged:
                self._announce_triage(tx, conversation_id)
            if raised is not None:
                note = self._insert_message(
                    tx,
                    conversation_id,
                    kind="activity",
                    body=f"Priority raised from {priority} to {raised}: the customer wrote that it is urgent",
                    author=Author(type="system", name=""),
                )
                conversation = self._stamp(tx, conversation_id)
                tx.emit("message.created", {"message": note, "conversation": conversation})
                if not created:
                    tx.emit("conversation.updated", {"conversation": conversation, "changed": ["priority"]})
            self._bot_turn(tx, conversation_id, message)  # the FAQ bot answers or hands off (bot_store)
        return InboundResult(conversation_id=conversation_id, message=message, created=created)

    def _find_or_create_contact(self, tx: _Tx, inbound: InboundMessage) -> int:
        person = inbound.contact
        # Blank means unknown: "" must neither match nor claim the one empty address.
        email = (person.email or "").strip() or None
        phone = (person.phone or "").strip() or None
        row = None
        if email:
            row = tx.conn.execute("SELECT id FROM contacts WHERE email = ?", (email,)).fetchone()
        if row is None and phone:
            row = tx.conn.execute("SELECT id FROM contacts WHERE phone = ?", (phone,)).fetchone()
        if row is not None:
            return row[0]
        cursor = tx.conn.execute(
            "INSERT INTO contacts(name, email, phone, language, timezone, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                person.name,
                email,
                phone,
                person.language or "en",
                person.timezone,
                to_iso(tx.now),
            ),
        )
        return cursor.lastrowid

    # --- ephemeral signals (still logged, so every event has a seq) ----------------------

    def typing(self, conversation_id: int, author: Author, *, active: bool, private: bool) -> None:
        with self._write() as tx:
            self._require_conversation(conversation_id)
            tx.emit(
                "typing",
                {
                    "conversation_id": conversation_id,
                    "author": author,
                    "active": active,
                    "private": private,
                },
            )

    def viewing(self, conversation_id: int, agent: Agent, *, active: bool) -> None:
        with self._write() as tx:
            self._require_conversation(conversation_id)
            tx.emit(
                "viewing",
                {
                    "conversation_id": conversation_id,
                    "agent": AgentRef(id=agent.id, name=agent.name),
                    "active": active,
                },
            )

    # --- idempotency -----------------------------------------------------------------------

    def idempotent(
        self,
        principal_id: int,
        key: str | None,
        request: bytes,
        action: Callable[[], tuple[int, Any]],
    ) -> tuple[int, bytes]:
        """Run `action` at most once per (principal, key); a retry gets the first answer.

        The stored answer commits in the same transaction as the change it describes,
        so a crash cannot keep one without the other.
        """
        if not key:
            status, body = action()
            return status, msgspec.json.encode(body)
        if len(key) > 200:
            raise Invalid("Idempotency-Key is longer than 200 characters", field="Idempotency-Key")
        request_hash = hashlib.sha256(request).hexdigest()
        with self._write() as tx:
            row = tx.conn.execute(
                "SELECT request_hash, status, response FROM idempotency WHERE principal_id = ? AND key = ?",
                (principal_id, key),
            ).fetchone()
            if row is not None:
                if row["request_hash"] != request_hash:
                    raise IdempotencyMismatch(
                        "this Idempotency-Key was already used for a different request",
                        field="Idempotency-Key",
                    )
                return row["status"], bytes(row["response"])
            status, body = action()
            encoded = msgspec.json.encode(body)
            tx.conn.execute(
                "INSERT INTO idempotency(principal_id, key, request_hash, status, response,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (principal_id, key, request_hash, status, encoded, to_iso(tx.now)),
            )
        return status, encoded

    # --- labels ---------------------------------------------------------------------------

    def list_labels(self) -> list[LabelCount]:
        """Every label in use or on the managed list (with its colour), with how many
        conversations carry it, by name.

        Folded here too: rows written before labels were folded count with their folded form."""
        colours = {row[0]: row[1] for row in self.conn.execute("SELECT name, color FROM labels")}
        counts: dict[str, int] = dict.fromkeys(colours, 0)
        rows = self.conn.execute(
            "SELECT value, count(*) FROM conversations c, json_each(c.labels) GROUP BY value"
        ).fetchall()
        for value, count in rows:
            name = fold_label(value)
            counts[name] = counts.get(name, 0) + count
        return [LabelCount(name=name, count=counts[name], color=colours.get(name)) for name in sorted(counts)]

    # --- canned responses and knowledge base ----------------------------------------------

    def list_canned(self, *, query: str | None, locale: str | None) -> list[CannedResponse]:
        clauses, params = [], []
        if query:
            pattern = f"%{query}%"
            clauses.append("(shortcode LIKE ? OR title LIKE ? OR body LIKE ?)")
            params += [pattern, pattern, pattern]
        if locale:
            clauses.append("locale = ?")
            params.append(locale)
        where = " AND ".join(clauses) or "1"
        rows = self.conn.execute(
            f"SELECT * FROM canned_responses WHERE {where} ORDER BY shortcode, locale", params
        ).fetchall()
        return [msgspec.convert(dict(r), CannedResponse) for r in rows]

    def kb_search(
        self, query: str, *, locale: str | None, limit: int, agent_id: int | None = None
    ) -> list[KbHit]:
        """Published articles matching `query`, best first. A search with no confident hit is
        logged for the KB gap report (admin_store.record_kb_search)."""
        match = fts_query(query)
        if match is None:
            return []
        sql = (
            "SELECT a.id, a.title, a.locale, a.tags, a.updated_at,"
            " snippet(kb_fts, 1, char(57344), char(57345), '…', 24) AS snip,"
            " bm25(kb_fts, 10.0, 1.0, 4.0) AS score"
            # Every match is ranked, so each is checked for status and locale: in the covering
            # index (the planner would read each article's row, body and all, twice as slow).
            " FROM kb_fts JOIN kb_articles a INDEXED BY kb_articles_live ON a.id = kb_fts.rowid"
            " WHERE kb_fts MATCH ? AND a.status = 'published'"
        )
        params: list[Any] = [match]
        if locale:
            sql += " AND a.locale = ?"
            params.append(locale)
        sql += " ORDER BY score LIMIT ?"
        params.append(limit)
        hits = [
            KbHit(
                id=r["id"],
                title=r["title"],
                locale=r["locale"],
                tags=json.loads(r["tags"]),
                snippet=r["snip"],
                score=-r["score"],  # bm25 is lower-is-better; hand out higher-is-better
                updated_at=from_iso(r["updated_at"]),
            )
            for r in self.conn.execute(sql, params)
        ]
        self.record_kb_search(query, locale=locale, best=hits[0] if hits else None, agent_id=agent_id)
        return hits

    def get_kb_article(self, article_id: int, *, drafts: bool = False) -> KbArticle:
        row = self.conn.execute("SELECT * FROM kb_articles WHERE id = ?", (article_id,)).fetchone()
        if row is None or (row["status"] != "published" and not drafts):
            raise NotFound(f"no knowledge-base article with id {article_id}")
        return msgspec.convert({**dict(row), "tags": json.loads(row["tags"])}, KbArticle)

    # --- the event log -----------------------------------------------------------------------

    def events_after(self, since: int, limit: int = 1000) -> list[PendingEvent]:
        rows = self.conn.execute(
            "SELECT seq, type, at, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (since, limit)
        ).fetchall()
        return [PendingEvent(r[0], r[1], r[2], r[3]) for r in rows]


_STATUS_VERBS = {"open": "reopened", "pending": "set to pending", "resolved": "resolved"}


def ensure_agent(store: Store, *, email: str, name: str, role: str, timezone: str) -> tuple[Agent, str]:
    """Create the agent if missing, and hand out a fresh token for it either way."""
    agent = store.find_agent_by_email(email)
    if agent is None:
        return store.create_agent(name=name, email=email, role=role, timezone=timezone)
    return agent, store.rotate_token(email)
