"""Conversations, as a mixin of the store: the queue's pages (views, filters, counts, keyset
cursors), one conversation as the wire sees it, and the patches agents make to one (status,
snooze, priority, assignee, team, labels) with the activity notes and events they cause.

Every change is stamped with the seq of the event that reports it (`_stamp`), inside the
store's one transaction-and-events helper (`store_base.StoreBase._write`).
"""

from __future__ import annotations

import heapq
import itertools
import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from agent_console.core.clock import from_iso, parse_optional, to_iso
from agent_console.core.labels import fold_label, label_problem
from agent_console.core.models import (
    Agent,
    AgentRef,
    Author,
    Contact,
    Conversation,
    ConversationCounts,
    ConversationPage,
    ConversationPatch,
    MessagePreview,
    TeamRef,
)
from agent_console.core.queue import cursor_for
from agent_console.server import pg_search
from agent_console.server.checks import is_id_text
from agent_console.server.knowledge_store import fts_query
from agent_console.server.sla_store import decode_info
from agent_console.server.store_base import Conflict, Invalid, NotFound, Transaction
from agent_console.server.triage_store import decode_triage

if TYPE_CHECKING:
    from agent_console.server.store import Store

    _Base = Store
else:
    _Base = object

PREVIEW_CHARS = 200

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


_STATUS_VERBS = {"open": "reopened", "pending": "set to pending", "resolved": "resolved"}


# The text-search configuration of the messages index on PostgreSQL (server/pg_schema.py).
MESSAGE_CONFIG = "'desk_simple'::regconfig"


class ConversationStoreMixin(_Base):
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
            "all": ("1 = 1", []),
        }
        # Only a text search reads the contact: counting and ordering run on the queue indexes.
        join = " JOIN contacts ct ON ct.id = c.contact_id" if query else ""
        head = self.head_seq()  # read before the page: replaying from here misses nothing
        counts = {}
        if query:
            # A text search scans: count every view in the one pass.
            row = self.conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE c.assignee_id = ?),"
                " count(*) FILTER (WHERE c.assignee_id IS NULL),"
                f" count(*) FILTER (WHERE {urgent[0]}) FROM conversations c{join} WHERE {where}",
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
            clauses.append(f"EXISTS (SELECT 1 FROM {self.conn.json_values('c.labels')} WHERE j.value = ?)")
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
            if self.conn.dialect == "postgresql":
                words = pg_search.query_words(query)
                if words:  # every word a prefix, accents folded: as messages_fts on SQLite
                    text += (
                        " OR c.id IN (SELECT m.conversation_id FROM messages m WHERE"
                        f" to_tsvector({MESSAGE_CONFIG}, m.body) @@ to_tsquery({MESSAGE_CONFIG}, ?))"
                    )
                    params.append(" & ".join(f"{word}:*" for word in words))
            elif match:
                text += (
                    " OR c.id IN (SELECT m.conversation_id FROM messages m WHERE m.id IN"
                    " (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?))"
                )
                params.append(match)
            clauses.append(text + ")")
        return (" AND ".join(clauses) or "1 = 1"), params

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

    def _refresh_due(self, tx: Transaction, conversation_id: int) -> None:
        """Recompute the SLA clocks, due_at and queue_key (server/sla_store.py)."""
        self._sla_refresh(tx, conversation_id)

    def _stamp(self, tx: Transaction, conversation_id: int) -> Conversation:
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
