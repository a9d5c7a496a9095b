"""Shifts as a mixin of the store: agents' schedules, teams' coverage, the roster, handoffs and
presence going offline when a shift ends.

Schedules are checked by `core/roster.Schedule` (the same calendar rules as SLA business
hours) before anything is written: an unknown zone or a bad time is a 422, ranges that run
backwards or overlap a 409, and the database is left as it was. Handoffs move conversations
with a plain column update: no SLA refresh, so every clock keeps its due time, and the
history gains an activity line and the note.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from agent_console.core import roster as core_roster
from agent_console.core.business_hours import BusinessHours, CalendarError
from agent_console.core.clock import from_iso, to_iso
from agent_console.core.models import (
    Agent,
    AgentRef,
    AgentSchedule,
    CoverageInput,
    Handoff,
    HandoffItem,
    NewHandoff,
    RosterGap,
    RosterShift,
    RosterView,
    ScheduleInput,
    ShiftException,
    SlaHoursRange,
    TeamCoverage,
    TeamRef,
)
from agent_console.server import store_base as _st

if TYPE_CHECKING:
    from agent_console.server.store import Store

    _Base = Store
else:
    _Base = object

HANDED = ("open", "pending", "snoozed")  # what "my open conversations" means for a handoff


def _calendar_error(exc: CalendarError) -> Exception:
    return (_st.Conflict if exc.conflict else _st.Invalid)(str(exc), field=exc.field)


def build_schedule(zone: str, hours: list[Any], exceptions: list[Any]) -> core_roster.Schedule:
    return core_roster.Schedule.build(
        zone,
        [(h["day"], h["start"], h["end"]) for h in hours],
        [
            (datetime.fromisoformat(e["date"]).date(), e["kind"], e.get("start"), e.get("end"))
            for e in exceptions
        ],
    )


class ShiftStoreMixin(_Base):
    # --- schedules ---------------------------------------------------------------------

    def get_schedule(self, agent_id: int) -> AgentSchedule:
        agent = self._account(agent_id)
        row = self.conn.execute(
            "SELECT hours, exceptions FROM agent_schedules WHERE agent_id = ?", (agent_id,)
        ).fetchone()
        hours, exceptions = (json.loads(row[0]), json.loads(row[1])) if row else ([], [])
        return AgentSchedule(
            agent_id=agent_id,
            timezone=agent.timezone,
            hours=msgspec.convert(hours, list[SlaHoursRange]),
            exceptions=msgspec.convert(exceptions, list[ShiftException]),
        )

    def set_schedule(self, agent_id: int, data: ScheduleInput, actor: Agent) -> AgentSchedule:
        agent = self._account(agent_id)
        zone = agent.timezone if data.timezone is msgspec.UNSET else data.timezone
        current = self.get_schedule(agent_id)
        hours = msgspec.to_builtins(current.hours if data.hours is msgspec.UNSET else data.hours)
        given = current.exceptions if data.exceptions is msgspec.UNSET else data.exceptions
        exceptions = msgspec.to_builtins(given)
        for i, exc in enumerate(given):
            if exc.kind == "off" and (exc.start is not None or exc.end is not None):
                raise _st.Conflict(
                    f"schedule.exceptions[{i}]: a day off has no start or end",
                    field=f"schedule.exceptions[{i}]",
                )
        try:
            schedule = build_schedule(zone, hours, exceptions)
        except CalendarError as exc:
            raise _calendar_error(exc) from None
        with self._write() as tx:
            if zone != agent.timezone:
                tx.conn.execute("UPDATE agents SET timezone = ? WHERE id = ?", (zone, agent_id))
            if not hours and not exceptions:
                tx.conn.execute("DELETE FROM agent_schedules WHERE agent_id = ?", (agent_id,))
            else:
                # A shift that already ended is not acted on again: only ends from now on.
                ended = core_roster.last_shift_end(schedule, tx.now)
                tx.conn.execute(
                    "INSERT INTO agent_schedules(agent_id, hours, exceptions, last_end_applied, updated_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT(agent_id) DO UPDATE SET hours = excluded.hours,"
                    " exceptions = excluded.exceptions, last_end_applied = excluded.last_end_applied,"
                    " updated_at = excluded.updated_at",
                    (
                        agent_id,
                        json.dumps(hours),
                        json.dumps(exceptions),
                        ended and to_iso(ended),
                        to_iso(tx.now),
                    ),
                )
            result = self.get_schedule(agent_id)
            tx.emit("agent.shift", {"schedule": result, "by": actor.id})
        return result

    def _schedules(self) -> dict[int, core_roster.Schedule]:
        out: dict[int, core_roster.Schedule] = {}
        for row in self.conn.execute(
            "SELECT s.agent_id, s.hours, s.exceptions, a.timezone FROM agent_schedules s"
            " JOIN agents a ON a.id = s.agent_id WHERE a.active = 1"
        ):
            out[row[0]] = build_schedule(row[3], json.loads(row[1]), json.loads(row[2]))
        return out

    # --- team coverage ---------------------------------------------------------------------

    def get_coverage(self, team_id: int) -> TeamCoverage:
        self.team_detail(team_id)
        row = self.conn.execute("SELECT * FROM team_coverage WHERE team_id = ?", (team_id,)).fetchone()
        if row is None:
            raise _st.NotFound(f"team {team_id} has no coverage window")
        return TeamCoverage(
            team_id=team_id,
            zone=row["zone"],
            hours=msgspec.convert(json.loads(row["hours"]), list[SlaHoursRange]),
            min_agents=row["min_agents"],
        )

    def set_coverage(self, team_id: int, data: CoverageInput) -> TeamCoverage:
        self.team_detail(team_id)
        try:
            BusinessHours.build(data.zone, [(h.day, h.start, h.end) for h in data.hours], field="coverage")
        except CalendarError as exc:
            if exc.field == "coverage.zone":
                exc.field = "zone"
            raise _calendar_error(exc) from None
        with self._write() as tx:
            tx.conn.execute(
                "INSERT INTO team_coverage(team_id, zone, hours, min_agents) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(team_id) DO UPDATE SET zone = excluded.zone, hours = excluded.hours,"
                " min_agents = excluded.min_agents",
                (team_id, data.zone, json.dumps(msgspec.to_builtins(data.hours)), data.min_agents),
            )
            coverage = self.get_coverage(team_id)
            tx.emit("team.updated", {"team": self.team_detail(team_id), "coverage": coverage})
        return coverage

    def clear_coverage(self, team_id: int) -> None:
        self.get_coverage(team_id)
        with self._write() as tx:
            tx.conn.execute("DELETE FROM team_coverage WHERE team_id = ?", (team_id,))
            tx.emit("team.updated", {"team": self.team_detail(team_id), "coverage": None})

    # --- the roster ------------------------------------------------------------------------

    def roster_view(self, at: datetime) -> RosterView:
        if not 2 <= at.year <= 9998:  # the week around it must stay inside the calendar
            raise _st.Conflict("at: a roster is for a time between the years 2 and 9998", field="at")
        schedules = self._schedules()
        people = []
        for agent in self.list_agents():
            if agent.id in schedules:
                people.append(
                    core_roster.Person(
                        agent.id, agent.name, schedules[agent.id], tuple(agent.team_ids), agent.presence
                    )
                )
        coverage = []
        for row in self.conn.execute(
            "SELECT c.*, t.name FROM team_coverage c JOIN teams t ON t.id = c.team_id ORDER BY t.name"
        ):
            window = BusinessHours.build(
                row["zone"], [(h["day"], h["start"], h["end"]) for h in json.loads(row["hours"])]
            )
            coverage.append(core_roster.Coverage(row["team_id"], row["name"], window, row["min_agents"]))
        result = core_roster.roster(people, coverage, at)

        def shift(s: core_roster.OnShift) -> RosterShift:
            return RosterShift(
                agent_id=s.agent_id,
                name=s.name,
                start=s.start,
                end=s.end,
                team_ids=list(s.team_ids),
                presence=s.presence,  # type: ignore[arg-type]
            )

        return RosterView(
            at=result.at,
            on=[shift(s) for s in result.on],
            next=[shift(s) for s in result.next],
            gaps=[
                RosterGap(team_id=g.team_id, team=g.team, start=g.start, end=g.end, have=g.have, need=g.need)
                for g in result.gaps
            ],
        )

    def on_shift_now(self, now: datetime) -> dict[int, bool]:
        """Per scheduled agent: on shift now? (Agents without a schedule are not listed.)"""
        return {
            agent_id: core_roster.on_shift(s, now) is not None for agent_id, s in self._schedules().items()
        }

    # --- presence at the end of a shift --------------------------------------------------------

    def shift_end_offline(self, now: datetime) -> list[int]:
        """Agents whose shift ended since the last end acted on go offline, once per end: the
        end is recorded in the same transaction, so a restart or a second run never repeats it
        and an agent who comes back for overtime stays online."""
        rows = self.conn.execute(
            "SELECT s.agent_id, s.hours, s.exceptions, s.last_end_applied, a.timezone, a.presence"
            " FROM agent_schedules s JOIN agents a ON a.id = s.agent_id WHERE a.active = 1"
        ).fetchall()
        due: list[tuple[int, datetime, bool]] = []
        for row in rows:
            schedule = build_schedule(
                row["timezone"], json.loads(row["hours"]), json.loads(row["exceptions"])
            )
            ended = core_roster.last_shift_end(schedule, now)
            if ended is None:
                continue
            applied = row["last_end_applied"]
            if applied is not None and from_iso(applied) >= ended:
                continue
            still_on = core_roster.on_shift(schedule, now) is not None
            due.append((row["agent_id"], ended, not still_on and row["presence"] != "offline"))
        if not due:
            return []
        gone: list[int] = []
        with self._write() as tx:
            for agent_id, ended, offline in due:
                tx.conn.execute(
                    "UPDATE agent_schedules SET last_end_applied = ? WHERE agent_id = ?",
                    (to_iso(ended), agent_id),
                )
                if offline:
                    tx.conn.execute("UPDATE agents SET presence = 'offline' WHERE id = ?", (agent_id,))
                    tx.emit(
                        "presence.updated",
                        {"agent_id": agent_id, "presence": "offline", "reason": "shift_end"},
                    )
                    gone.append(agent_id)
        return gone

    # --- handoffs ----------------------------------------------------------------------------

    def create_handoff(self, data: NewHandoff, actor: Agent) -> Handoff:
        if data.to_team_id is None and not data.to_agent_ids:
            raise _st.Conflict(
                "name a team (to_team_id) or agents (to_agent_ids) to hand over to", field="to_team_id"
            )
        team = None
        if data.to_team_id is not None:
            row = self.conn.execute("SELECT id, name FROM teams WHERE id = ?", (data.to_team_id,)).fetchone()
            if row is None:
                raise _st.NotFound(f"no team with id {data.to_team_id}", field="to_team_id")
            team = TeamRef(id=row[0], name=row[1])
        receivers: list[Agent] = []
        for agent_id in dict.fromkeys(data.to_agent_ids):
            row = self.conn.execute(
                "SELECT * FROM agents WHERE id = ? AND role != 'integration' AND active = 1", (agent_id,)
            ).fetchone()
            if row is None:
                raise _st.NotFound(f"no active agent with id {agent_id}", field="to_agent_ids")
            if agent_id == actor.id:
                raise _st.Conflict("you cannot hand over to yourself", field="to_agent_ids")
            receivers.append(self._agent(row))
        if data.conversation_ids is None:
            ids = [
                r[0]
                for r in self.conn.execute(
                    f"SELECT id FROM conversations WHERE assignee_id = ? AND status IN {HANDED} ORDER BY id",
                    (actor.id,),
                )
            ]
        else:
            ids = list(dict.fromkeys(data.conversation_ids))
            for conversation_id in ids:
                row = self.conn.execute(
                    "SELECT assignee_id, status FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()
                if row is None:
                    raise _st.NotFound(f"no conversation with id {conversation_id}", field="conversation_ids")
                if row[0] != actor.id and actor.role != "admin":
                    raise _st.Conflict(
                        f"conversation {conversation_id} is not yours to hand over", field="conversation_ids"
                    )
        per_conversation: dict[int, str] = {}
        for i, item in enumerate(data.notes):
            if item.conversation_id not in ids:
                raise _st.Conflict(
                    f"notes[{i}]: conversation {item.conversation_id} is not among those handed over",
                    field=f"notes[{i}].conversation_id",
                )
            per_conversation[item.conversation_id] = item.note
        with self._write() as tx:
            cursor = tx.conn.execute(
                "INSERT INTO handoffs(from_agent_id, to_team_id, to_agent_ids, note, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (
                    actor.id,
                    team and team.id,
                    json.dumps([a.id for a in receivers]),
                    data.note,
                    to_iso(tx.now),
                ),
            )
            handoff_id = cursor.fetchone()[0]
            for n, conversation_id in enumerate(ids):
                receiver = receivers[n % len(receivers)] if receivers else None
                self._hand_one(
                    tx,
                    handoff_id,
                    conversation_id,
                    actor,
                    receiver,
                    team,
                    data.note,
                    per_conversation.get(conversation_id, ""),
                )
        return self.get_handoff(handoff_id)

    def _hand_one(
        self,
        tx: Any,
        handoff_id: int,
        conversation_id: int,
        actor: Agent,
        receiver: Agent | None,
        team: TeamRef | None,
        note: str,
        own_note: str,
    ) -> None:
        from agent_console.core.models import Author

        sets = {"assignee_id": receiver.id if receiver else None}
        if team is not None:
            sets["team_id"] = team.id
        # A plain column update: no SLA refresh, so every clock keeps its due time.
        tx.conn.execute(
            f"UPDATE conversations SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
            [*sets.values(), conversation_id],
        )
        tx.conn.execute(
            "INSERT INTO handoff_items(handoff_id, conversation_id, note, to_agent_id, to_team_id)"
            " VALUES (?, ?, ?, ?, ?)",
            (handoff_id, conversation_id, own_note, receiver and receiver.id, team and team.id),
        )
        to = receiver.name if receiver else f"team {team.name}"  # type: ignore[union-attr]
        lines = [
            (
                f"{actor.name} handed the conversation over to {to} at the end of the shift",
                "activity",
                "system",
            )
        ]
        text = "\n\n".join(t for t in (note, own_note) if t)
        if text:
            lines.append((f"Handoff note: {text}", "note", "agent"))
        for body, kind, author_type in lines:
            author = (
                Author(type="agent", id=actor.id, name=actor.name)
                if author_type == "agent"
                else Author(type="system", name="")
            )
            message = self._insert_message(tx, conversation_id, kind=kind, body=body, author=author)
            tx.emit("message.created", {"message": message, "conversation": self._stamp(tx, conversation_id)})
        conversation = self._stamp(tx, conversation_id)
        tx.emit("conversation.updated", {"conversation": conversation, "changed": ["assignee", "team"]})
        tx.emit(
            "conversation.handed_over",
            {
                "handoff_id": handoff_id,
                "conversation_id": conversation_id,
                "from_agent": AgentRef(id=actor.id, name=actor.name),
                "to_agent": receiver and AgentRef(id=receiver.id, name=receiver.name),
                "to_team": team,
                "note": note,
                "conversation_note": own_note,
                "conversation": conversation,
            },
        )

    def get_handoff(self, handoff_id: int) -> Handoff:
        row = self.conn.execute(
            "SELECT h.*, a.name AS from_name, t.name AS team_name FROM handoffs h"
            " JOIN agents a ON a.id = h.from_agent_id LEFT JOIN teams t ON t.id = h.to_team_id"
            " WHERE h.id = ?",
            (handoff_id,),
        ).fetchone()
        if row is None:
            raise _st.NotFound(f"no handoff with id {handoff_id}")
        return self._handoff(row)

    def _handoff(self, row: sqlite3.Row) -> Handoff:
        names = {r[0]: r[1] for r in self.conn.execute("SELECT id, name FROM agents")}
        teams = {r[0]: r[1] for r in self.conn.execute("SELECT id, name FROM teams")}
        items = [
            HandoffItem(
                conversation_id=r["conversation_id"],
                note=r["note"],
                to_agent=None
                if r["to_agent_id"] is None
                else AgentRef(id=r["to_agent_id"], name=names[r["to_agent_id"]]),
                to_team=None
                if r["to_team_id"] is None
                else TeamRef(id=r["to_team_id"], name=teams[r["to_team_id"]]),
            )
            for r in self.conn.execute(
                "SELECT * FROM handoff_items WHERE handoff_id = ? ORDER BY conversation_id", (row["id"],)
            )
        ]
        return Handoff(
            id=row["id"],
            from_agent=AgentRef(id=row["from_agent_id"], name=row["from_name"]),
            to_team=None
            if row["to_team_id"] is None
            else TeamRef(id=row["to_team_id"], name=row["team_name"]),
            to_agents=[AgentRef(id=i, name=names[i]) for i in json.loads(row["to_agent_ids"])],
            note=row["note"],
            created_at=from_iso(row["created_at"]),
            items=items,
        )

    def list_handoffs(
        self, *, for_agent: Agent | None, conversation_id: int | None, since: datetime, limit: int
    ) -> list[Handoff]:
        """Newest first. `for_agent`: handed to them, to one of their teams, or holding one of
        their conversations now (a team handoff that routing then gave them)."""
        clauses = ["h.created_at >= ?"]
        params: list[Any] = [to_iso(since)]
        if conversation_id is not None:
            clauses.append("h.id IN (SELECT handoff_id FROM handoff_items WHERE conversation_id = ?)")
            params.append(conversation_id)
        if for_agent is not None:
            teams = ",".join(str(int(t)) for t in for_agent.team_ids) or "NULL"
            clauses.append(
                "(h.to_agent_ids LIKE ? OR h.to_team_id IN (" + teams + ") OR h.id IN (SELECT i.handoff_id"
                " FROM handoff_items i JOIN conversations c ON c.id = i.conversation_id"
                " WHERE c.assignee_id = ?))"
            )
            params += [f"%{for_agent.id}%", for_agent.id]
        rows = self.conn.execute(
            "SELECT h.*, a.name AS from_name, t.name AS team_name FROM handoffs h"
            " JOIN agents a ON a.id = h.from_agent_id LEFT JOIN teams t ON t.id = h.to_team_id"
            f" WHERE {' AND '.join(clauses)} ORDER BY h.id DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        out = [self._handoff(r) for r in rows]
        if for_agent is not None:
            # The LIKE is a coarse filter over the JSON list; keep exact matches only.
            out = [
                h
                for h in out
                if for_agent.id in {a.id for a in h.to_agents}
                or (h.to_team is not None and h.to_team.id in for_agent.team_ids)
                or any(self._assignee(i.conversation_id) == for_agent.id for i in h.items)
            ]
        return out

    def _assignee(self, conversation_id: int) -> int | None:
        row = self.conn.execute(
            "SELECT assignee_id FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        return None if row is None else row[0]


def default_since(now: datetime) -> datetime:
    return now - timedelta(hours=24)
