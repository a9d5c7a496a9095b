"""The SLA part of the store: policies, each conversation's clocks, and the durable schedule
that turns due clocks into `sla.warning` / `sla.breached` events exactly once.

A mixin of `Store`: it uses the store's one write transaction (`_write`), so a clock's change,
its schedule rows and the events it causes commit together. The math is `core/sla.py` and
`core/business_hours.py`; this module only keeps state.

Exactly once: every warning or breach is a row of `sla_schedule` keyed by (conversation, clock,
cycle start, kind). Firing sets `fired_at` in the same transaction that appends the event, and
only an unfired row can fire, so neither a restart nor a clock that stops late fires it twice.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from agent_console.core import sla
from agent_console.core.business_hours import ALWAYS
from agent_console.core.clock import from_iso, parse_optional, to_iso
from agent_console.core.models import (
    AgentRef,
    SlaBreach,
    SlaBreachPage,
    SlaInfo,
    SlaPolicy,
    SlaPolicyInput,
    SlaPolicyPatch,
    TeamRef,
)
from agent_console.core.queue import cursor_for

if TYPE_CHECKING:
    from agent_console.server.store_base import Transaction

# The queue's tail, repeated from store.py (which imports this module).
_QUEUE_TAIL = "9999-12-31T23:59:59.999999Z"
_POLICY_FIELDS = tuple(SlaPolicyInput.__struct_fields__)


def _errors() -> Any:
    from agent_console.server import store

    return store


class SlaStoreMixin:
    conn: sqlite3.Connection

    # --- policies ------------------------------------------------------------------------

    def list_sla_policies(self) -> list[SlaPolicy]:
        rows = self.conn.execute("SELECT * FROM sla_policies ORDER BY is_default, position, id").fetchall()
        return [_policy(row) for row in rows]

    def get_sla_policy(self, policy_id: int) -> SlaPolicy:
        row = self.conn.execute("SELECT * FROM sla_policies WHERE id = ?", (policy_id,)).fetchone()
        if row is None:
            raise _errors().NotFound(f"no SLA policy with id {policy_id}")
        return _policy(row)

    def create_sla_policy(self, data: SlaPolicyInput) -> SlaPolicy:
        values = {name: getattr(data, name) for name in _POLICY_FIELDS}
        with self._write() as tx:  # type: ignore[attr-defined]
            policy_id = self._save_policy(tx, None, values)
            self._sla_reapply(tx)
        return self.get_sla_policy(policy_id)

    def update_sla_policy(self, policy_id: int, patch: SlaPolicyPatch) -> SlaPolicy:
        with self._write() as tx:  # type: ignore[attr-defined]
            current = self.get_sla_policy(policy_id)
            values = {name: getattr(current, name) for name in _POLICY_FIELDS}
            for name in _POLICY_FIELDS:
                value = getattr(patch, name)
                if value is not msgspec.UNSET:
                    values[name] = value
            self._save_policy(tx, policy_id, values)
            self._sla_reapply(tx)
        return self.get_sla_policy(policy_id)

    def delete_sla_policy(self, policy_id: int) -> None:
        with self._write() as tx:  # type: ignore[attr-defined]
            policy = self.get_sla_policy(policy_id)
            others = tx.conn.execute(
                "SELECT count(*) FROM sla_policies WHERE id != ?", (policy_id,)
            ).fetchone()
            if policy.is_default and others[0]:
                raise _errors().Conflict(
                    "this is the default policy: make another policy the default first", field="is_default"
                )
            tx.conn.execute("DELETE FROM sla_policies WHERE id = ?", (policy_id,))
            self._sla_reapply(tx)

    def _save_policy(self, tx: Transaction, policy_id: int | None, values: dict[str, Any]) -> int:
        errors = _errors()
        values["priorities"] = list(dict.fromkeys(values["priorities"]))  # each once
        values["channels"] = list(dict.fromkeys(values["channels"]))
        values["team_ids"] = list(dict.fromkeys(values["team_ids"]))
        candidate = SlaPolicy(id=policy_id or 0, **values)
        try:
            sla.check_policy(candidate)
        except sla.PolicyError as exc:
            # Cross-field rules the document cannot state are conflicts (409), as elsewhere.
            raise (errors.Conflict if exc.conflict else errors.Invalid)(str(exc), field=exc.field) from None
        for team_id in candidate.team_ids:
            if tx.conn.execute("SELECT 1 FROM teams WHERE id = ?", (team_id,)).fetchone() is None:
                raise errors.NotFound(f"team_ids: no team with id {team_id}", field="team_ids")
        clash = tx.conn.execute(
            "SELECT name FROM sla_policies WHERE position = ? AND id IS NOT ? AND is_default = 0",
            (candidate.position, policy_id),
        ).fetchone()
        if clash is not None and not candidate.is_default:
            raise errors.Conflict(
                f"position {candidate.position} is taken by policy {clash[0]!r}: positions decide which"
                " policy wins, so each is used once",
                field="position",
            )
        if policy_id is not None and not candidate.is_default and self.get_sla_policy(policy_id).is_default:
            raise errors.Conflict(
                "this is the default policy: make another policy the default instead", field="is_default"
            )
        if candidate.is_default:
            # One default: naming a new one takes the mark from the old.
            tx.conn.execute("UPDATE sla_policies SET is_default = 0 WHERE id IS NOT ?", (policy_id,))
        row = (
            candidate.name,
            candidate.position,
            int(candidate.is_default),
            json.dumps(list(candidate.priorities)),
            json.dumps(list(candidate.channels)),
            json.dumps(list(candidate.team_ids)),
            candidate.first_response_s,
            candidate.next_response_s,
            candidate.resolution_s,
            candidate.warn_share,
            None
            if candidate.business_hours is None
            else msgspec.json.encode(candidate.business_hours).decode(),
        )
        columns = (
            "name, position, is_default, priorities, channels, team_ids, first_response_s,"
            " next_response_s, resolution_s, warn_share, business_hours"
        )
        try:
            if policy_id is None:
                cursor = tx.conn.execute(
                    f"INSERT INTO sla_policies({columns}) VALUES ({', '.join('?' * 11)}) RETURNING id",
                    row,
                )
                return cursor.fetchone()[0]
            assignments = ", ".join(f"{c.strip()} = ?" for c in columns.split(","))
            tx.conn.execute(f"UPDATE sla_policies SET {assignments} WHERE id = ?", (*row, policy_id))
            return policy_id
        except sqlite3.IntegrityError:
            raise errors.Conflict(f"an SLA policy named {candidate.name!r} exists", field="name") from None

    def _sla_reapply(self, tx: Transaction) -> None:
        """Policies changed: every conversation still in play follows the new rules now."""
        ids = [r[0] for r in tx.conn.execute("SELECT id FROM conversations WHERE status != 'resolved'")]
        policies = self.list_sla_policies()  # read once for all of them
        for conversation_id in ids:
            if self._sla_refresh(tx, conversation_id, policies=policies):
                conversation = self._stamp(tx, conversation_id)  # type: ignore[attr-defined]
                tx.emit("conversation.updated", {"conversation": conversation, "changed": ["sla"]})

    # --- clocks --------------------------------------------------------------------------

    def _sla_refresh(
        self,
        tx: Transaction,
        conversation_id: int,
        *,
        emit: bool = True,
        policies: list[SlaPolicy] | None = None,
    ) -> bool:
        """Bring one conversation's clocks, schedule, `sla`, `due_at` and queue key up to date
        with its status, replies and policy. True when what clients see of the SLA changed."""
        row = tx.conn.execute(
            "SELECT id, status, priority, channel, team_id, assignee_id, created_at, first_response_at,"
            " waiting_since, sla_paused_since, sla, due_at, sla_policy_id, queue_key FROM conversations"
            " WHERE id = ?",
            (conversation_id,),
        ).fetchone()
        now = tx.now
        policy = sla.choose(
            self.list_sla_policies() if policies is None else policies,
            priority=row["priority"],
            channel=row["channel"],
            team_id=row["team_id"],
        )
        calendar = ALWAYS if policy is None else sla.calendar_of(policy)
        rows = tx.conn.execute("SELECT * FROM sla_clocks WHERE conversation_id = ?", (conversation_id,))
        # As stored, so that only what changed is written: most refreshes (a customer writing
        # again) change nothing of the clocks, and every statement is time under the write lock.
        stored = {r["clock"]: (r["started_at"], r["paused_s"], r["stopped_at"], r["missed_at"]) for r in rows}
        records = {
            name: sla.ClockRecord(
                name=name,
                started_at=parse_optional(started),  # type: ignore[arg-type]
                paused_s=paused_s,
                stopped_at=parse_optional(stopped),
                missed_at=parse_optional(missed),
            )
            for name, (started, paused_s, stopped, missed) in stored.items()
        }
        pending = {
            (r[0], r[1], r[2]): r[3]
            for r in tx.conn.execute(
                "SELECT clock, started_at, kind, fire_at FROM sla_schedule"
                " WHERE conversation_id = ? AND fired_at IS NULL",
                (conversation_id,),
            )
        }
        status = row["status"]
        paused = status in sla.PAUSING_STATUSES
        paused_since = parse_optional(row["sla_paused_since"])
        created = parse_optional(row["created_at"])
        first = parse_optional(row["first_response_at"])
        waiting = parse_optional(row["waiting_since"])

        if paused and paused_since is None:
            paused_since = now
        elif not paused and paused_since is not None:
            rt = records.get("rt")
            if rt is not None and rt.stopped_at is not None:
                rt.stopped_at = None  # reopened: resolution counts again, from where it stood
            length = calendar.between(paused_since, now)
            for record in records.values():
                if record.stopped_at is None:
                    record.paused_s += length
            paused_since = None

        def stop(record: sla.ClockRecord, at: datetime) -> None:
            if paused and paused_since is not None and paused_since < at:
                record.paused_s += calendar.between(paused_since, at)  # stopped during a pause
            record.stopped_at = at

        frt = records.setdefault("frt", sla.ClockRecord("frt", created))  # type: ignore[arg-type]
        if first is not None and frt.stopped_at is None:
            stop(frt, first)
        nrt = records.get("nrt")
        if nrt is not None and nrt.stopped_at is None and waiting != nrt.started_at:
            stop(nrt, now)  # an agent answered: this cycle ends
        if first is not None and waiting is not None and (nrt is None or nrt.started_at != waiting):
            records["nrt"] = sla.ClockRecord("nrt", waiting)  # the customer wrote again: a new cycle
        rt = records.setdefault("rt", sla.ClockRecord("rt", created))  # type: ignore[arg-type]
        if status == "resolved" and rt.stopped_at is None:
            stop(rt, now)

        views = []
        for name in sla.CLOCKS:
            record = records.get(name)
            seconds = None if policy is None or record is None else sla.threshold(policy, name)
            if record is None or seconds is None:
                self._unschedule(tx, conversation_id, name, pending)
                continue
            due = sla.due(record, seconds, calendar)
            warn = sla.warn_at(record, seconds, policy.warn_share, calendar)  # type: ignore[union-attr]
            if record.stopped_at is None and not paused:
                self._schedule(tx, conversation_id, record, "warning", warn, pending)
                self._schedule(tx, conversation_id, record, "breach", due, pending)
            else:
                self._unschedule(tx, conversation_id, name, pending)
                if record.stopped_at is not None and record.stopped_at > due:
                    self._breach(tx, row, policy, record, due, record.stopped_at, emit=emit)  # type: ignore[arg-type]
            views.append(sla.clock_view(record, due, paused=paused, warn_at=warn))

        for record in records.values():
            now_stored = (
                to_iso(record.started_at),
                record.paused_s,
                _iso(record.stopped_at),
                _iso(record.missed_at),
            )
            if stored.get(record.name) == now_stored:
                continue
            # Replaced, not updated: the insert is what copies a cycle to sla_cycles (the KPIs),
            # on either engine (an update copies only while started_at stays).
            if record.name in stored:
                tx.conn.execute(
                    "DELETE FROM sla_clocks WHERE conversation_id = ? AND clock = ?",
                    (conversation_id, record.name),
                )
            tx.conn.execute(
                "INSERT INTO sla_clocks(conversation_id, clock, started_at, paused_s, stopped_at,"
                " missed_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    record.name,
                    to_iso(record.started_at),
                    record.paused_s,
                    _iso(record.stopped_at),
                    _iso(record.missed_at),
                ),
            )
        info = None if policy is None or not views else sla.info(policy, views, resolved=status == "resolved")
        nearest = None if paused or info is None else sla.nearest(info.clocks)
        due_text = None if nearest is None else to_iso(nearest.due_at)
        info_text = None if info is None else msgspec.json.encode(info).decode()
        wanted = (
            None if policy is None else policy.id,
            _iso(paused_since),
            info_text,
            due_text,
            due_text or _QUEUE_TAIL,
        )
        if wanted != (
            row["sla_policy_id"],
            row["sla_paused_since"],
            row["sla"],
            row["due_at"],
            row["queue_key"],
        ):
            tx.conn.execute(
                "UPDATE conversations SET sla_policy_id = ?, sla_paused_since = ?, sla = ?, due_at = ?,"
                " queue_key = ? WHERE id = ?",
                (*wanted, conversation_id),
            )
        return info_text != row["sla"] or due_text != row["due_at"]

    def _schedule(
        self,
        tx: Transaction,
        conversation_id: int,
        record: sla.ClockRecord,
        kind: str,
        at: datetime,
        pending: dict[tuple[str, str, str], str],
    ) -> None:
        """Fire `kind` for this clock cycle at `at` (`pending`: what is scheduled and unfired
        now, (clock, started_at, kind) -> fire_at; the same time again writes nothing)."""
        if pending.get((record.name, to_iso(record.started_at), kind)) == to_iso(at):
            return
        tx.conn.execute(
            "INSERT INTO sla_schedule(conversation_id, clock, started_at, kind, fire_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, clock, started_at, kind)"
            " DO UPDATE SET fire_at = excluded.fire_at"
            " WHERE sla_schedule.fired_at IS NULL",
            (conversation_id, record.name, to_iso(record.started_at), kind, to_iso(at)),
        )

    @staticmethod
    def _unschedule(
        tx: Transaction, conversation_id: int, clock: str, pending: dict[tuple[str, str, str], str]
    ) -> None:
        if not any(key[0] == clock for key in pending):
            return  # nothing unfired to take back
        tx.conn.execute(
            "DELETE FROM sla_schedule WHERE conversation_id = ? AND clock = ? AND fired_at IS NULL",
            (conversation_id, clock),
        )

    def _claim(
        self, tx: Transaction, conversation_id: int, record: sla.ClockRecord, kind: str, at: datetime
    ) -> bool:
        """Mark (conversation, clock cycle, kind) fired; False if it already was."""
        key = (conversation_id, record.name, to_iso(record.started_at), kind)
        cursor = tx.conn.execute(
            "UPDATE sla_schedule SET fired_at = ? WHERE conversation_id = ? AND clock = ? AND started_at = ?"
            " AND kind = ? AND fired_at IS NULL",
            (to_iso(tx.now), *key),
        )
        if cursor.rowcount:
            return True
        cursor = tx.conn.execute(
            "INSERT OR IGNORE INTO sla_schedule(conversation_id, clock, started_at, kind, fire_at, fired_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (*key, to_iso(at), to_iso(tx.now)),
        )
        return bool(cursor.rowcount)

    def _breach(
        self,
        tx: Transaction,
        row: sqlite3.Row,
        policy: SlaPolicy,
        record: sla.ClockRecord,
        due: datetime,
        when: datetime,
        *,
        emit: bool,
    ) -> None:
        """Record that `record` passed its due time (once), and say so on the feed."""
        conversation_id = row["id"]
        late = max(0, int((when - due).total_seconds()))
        started = to_iso(record.started_at)
        if record.missed_at is not None:
            # Already recorded while it ran: now that it stopped, keep how late it was in the end.
            tx.conn.execute(
                "UPDATE sla_breaches SET breached_by_s = ? WHERE conversation_id = ? AND clock = ?"
                " AND started_at = ?",
                (late, conversation_id, record.name, started),
            )
            return
        if not self._claim(tx, conversation_id, record, "breach", due):
            return
        record.missed_at = when
        tx.conn.execute(
            "INSERT OR IGNORE INTO sla_breaches(conversation_id, clock, started_at, policy_id, policy,"
            " due_at, breached_at, breached_by_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (conversation_id, record.name, started, policy.id, policy.name, to_iso(due), to_iso(when), late),
        )
        if emit:
            tx.emit(
                "sla.breached", {**_payload(row, conversation_id, record, due, policy), "breached_by_s": late}
            )

    def sla_fire_due(
        self,
        limit: int = 500,
        *,
        now: datetime | None = None,
        emit: bool = True,
        only: list[int] | None = None,
    ) -> int:
        """Fire the warnings and breaches whose time has come (the server's background task
        calls this every second or so; after a restart it catches up on what fell due while
        the server was down). Returns how many schedule rows it settled."""
        now_text = to_iso(now or self.clock())  # type: ignore[attr-defined]
        listed = f"SELECT CAST(j.value AS INTEGER) FROM {self.conn.json_values('?')}"
        among = "" if only is None else f" AND conversation_id IN ({listed})"
        extra: tuple[Any, ...] = () if only is None else (json.dumps(only),)
        if (
            self.conn.execute(
                f"SELECT 1 FROM sla_schedule WHERE fired_at IS NULL AND fire_at <= ?{among} LIMIT 1",
                (now_text, *extra),
            ).fetchone()
            is None
        ):
            return 0  # the common case: one indexed probe, no write transaction
        fired = 0
        with self._write() as tx:  # type: ignore[attr-defined]
            tx.now = now or tx.now
            rows = tx.conn.execute(
                f"SELECT * FROM sla_schedule WHERE fired_at IS NULL AND fire_at <= ?{among}"
                " ORDER BY fire_at LIMIT ?",
                (to_iso(tx.now), *extra, limit),
            ).fetchall()
            changed: set[int] = set()
            for item in rows:
                conversation_id = item["conversation_id"]
                conv = tx.conn.execute(
                    "SELECT id, assignee_id, team_id, sla_policy_id FROM conversations WHERE id = ?",
                    (conversation_id,),
                ).fetchone()
                clock = tx.conn.execute(
                    "SELECT * FROM sla_clocks WHERE conversation_id = ? AND clock = ? AND started_at = ?",
                    (conversation_id, item["clock"], item["started_at"]),
                ).fetchone()
                policy_row = tx.conn.execute(
                    "SELECT * FROM sla_policies WHERE id = ?", (conv["sla_policy_id"],)
                ).fetchone()
                if clock is None or policy_row is None or clock["stopped_at"] is not None:
                    # The clock moved on without a refresh seeing it (cannot happen in one store,
                    # but a stale row must not fire): retire it.
                    tx.conn.execute(
                        "DELETE FROM sla_schedule WHERE conversation_id = ? AND clock = ? AND started_at = ?"
                        " AND kind = ?",
                        (conversation_id, item["clock"], item["started_at"], item["kind"]),
                    )
                    fired += 1
                    continue
                policy = _policy(policy_row)
                record = sla.ClockRecord(
                    name=clock["clock"],
                    started_at=parse_optional(clock["started_at"]),  # type: ignore[arg-type]
                    paused_s=clock["paused_s"],
                    missed_at=parse_optional(clock["missed_at"]),
                )
                seconds = sla.threshold(policy, record.name) or 0
                due = sla.due(record, seconds, sla.calendar_of(policy))
                if item["kind"] == "warning":
                    fired += 1
                    if self._claim(tx, conversation_id, record, "warning", due) and emit:
                        tx.emit("sla.warning", _payload(conv, conversation_id, record, due, policy))
                        changed.add(conversation_id)  # its colour changes on every screen now
                    continue
                if record.missed_at is None:
                    self._breach(tx, conv, policy, record, due, tx.now, emit=emit)
                    tx.conn.execute(
                        "UPDATE sla_clocks SET missed_at = ? WHERE conversation_id = ? AND clock = ?",
                        (to_iso(tx.now), conversation_id, record.name),
                    )
                    fired += 1
                    changed.add(conversation_id)
                else:
                    self._claim(tx, conversation_id, record, "breach", due)
                    fired += 1
            for conversation_id in sorted(changed):
                self._sla_refresh(tx, conversation_id, emit=emit)
                if not emit:
                    continue
                conversation = self._stamp(tx, conversation_id)  # type: ignore[attr-defined]
                tx.emit("conversation.updated", {"conversation": conversation, "changed": ["sla"]})
        return fired

    def sla_backfill(self, *, now: datetime | None = None, everything: bool = False) -> int:
        """Give clocks to conversations that have none yet (a database from before SLA
        policies, or a freshly seeded one; `everything` redoes them all, as after a demo
        re-base), and record what is already late, without events: this is bootstrapping,
        not activity."""
        where = "status != 'resolved'"
        if not everything:
            where += (
                " AND sla IS NULL AND NOT EXISTS (SELECT 1 FROM sla_clocks k WHERE k.conversation_id = c.id)"
            )
        ids = [r[0] for r in self.conn.execute(f"SELECT id FROM conversations c WHERE {where}")]
        if ids:
            with self._write() as tx:  # type: ignore[attr-defined]
                tx.now = now or tx.now
                for conversation_id in ids:
                    self._sla_refresh(tx, conversation_id, emit=False)
        # What was already late before these clocks existed is recorded, not announced.
        while ids and self.sla_fire_due(now=now, emit=False, only=ids):
            pass
        return len(ids)

    def list_sla_breaches(
        self,
        *,
        since: datetime | None = None,
        conversation_id: int | None = None,
        team_id: int | None = None,
        agent_id: int | None = None,
        clock: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> SlaBreachPage:
        """Recorded breaches, newest first, in keyset pages (`cursor`: the last row's breach time
        and id). Team and agent are the conversation's now. An unknown conversation, team or
        agent is an error, not an empty list: a typo should not read as a clean record."""
        store = _errors()
        where, params = ["1 = 1"], []
        for value, table, column, field in (
            (conversation_id, "conversations", "b.conversation_id", "conversation_id"),
            (team_id, "teams", "c.team_id", "team_id"),
            (agent_id, "agents", "c.assignee_id", "agent_id"),
        ):
            if value is None:
                continue
            if self.conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (value,)).fetchone() is None:
                raise store.NotFound(f"{field}: nothing with id {value}", field=field)
            where.append(f"{column} = ?")
            params.append(value)
        if clock is not None:
            where.append("b.clock = ?")
            params.append(clock)
        if since is not None:
            where.append("b.breached_at >= ?")
            params.append(to_iso(since))
        if cursor is not None:
            key, after = store.decode_cursor(cursor)
            where.append("(b.breached_at < ? OR (b.breached_at = ? AND b.id < ?))")
            params += [key, key, after]
        rows = self.conn.execute(
            "SELECT b.*, c.team_id, t.name AS t_name, c.assignee_id, a.name AS a_name"
            " FROM sla_breaches b JOIN conversations c ON c.id = b.conversation_id"
            " LEFT JOIN teams t ON t.id = c.team_id LEFT JOIN agents a ON a.id = c.assignee_id"
            f" WHERE {' AND '.join(where)} ORDER BY b.breached_at DESC, b.id DESC LIMIT ?",
            (*params, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            SlaBreach(
                id=r["id"],
                conversation_id=r["conversation_id"],
                clock=r["clock"],
                policy_id=r["policy_id"],
                policy=r["policy"],
                started_at=from_iso(r["started_at"]),
                due_at=from_iso(r["due_at"]),
                breached_at=from_iso(r["breached_at"]),
                breached_by_s=r["breached_by_s"],
                team=None if r["team_id"] is None else TeamRef(id=r["team_id"], name=r["t_name"]),
                assignee=None
                if r["assignee_id"] is None
                else AgentRef(id=r["assignee_id"], name=r["a_name"]),
            )
            for r in rows
        ]
        last = rows[-1] if more and rows else None
        return SlaBreachPage(
            items=items, next_cursor=None if last is None else cursor_for(last["breached_at"], last["id"])
        )

    def sla_breaches(self, conversation_id: int | None = None) -> list[dict[str, Any]]:
        """Recorded breaches, oldest first (for KPIs and tests)."""
        sql = "SELECT * FROM sla_breaches"
        params: tuple[Any, ...] = ()
        if conversation_id is not None:
            sql += " WHERE conversation_id = ?"
            params = (conversation_id,)
        return [dict(r) for r in self.conn.execute(sql + " ORDER BY breached_at, id", params)]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else to_iso(moment)


def _payload(
    row: sqlite3.Row, conversation_id: int, record: sla.ClockRecord, due: datetime, policy: SlaPolicy
) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "clock": record.name,
        "due_at": to_iso(due),
        "policy": policy.name,
        "assignee_id": row["assignee_id"],
        "team_id": row["team_id"],
    }


def _policy(row: sqlite3.Row) -> SlaPolicy:
    hours = row["business_hours"]
    return msgspec.convert(
        {
            **dict(row),
            "is_default": bool(row["is_default"]),
            "priorities": json.loads(row["priorities"]),
            "channels": json.loads(row["channels"]),
            "team_ids": json.loads(row["team_ids"]),
            "business_hours": None if hours is None else json.loads(hours),
        },
        SlaPolicy,
        strict=False,  # holidays are stored as ISO text
    )


def decode_info(text: str | None) -> SlaInfo | None:
    return None if text is None else msgspec.json.decode(text, type=SlaInfo)
