"""Routing unassigned conversations to agents on shift, and the runner that acts at shift ends.

`RoutingMixin.route_pending` reads the open, unassigned conversations in queue order (most
urgent first) and the agents with their load, asks `core/routing.decide` for each, and writes
every decision in one transaction: an assignment with an activity line and
`conversation.routed` (with its reason), or a wait in the team queue (`routing_waits`, one
`conversation.routed` event with the agent null when the reason changes, not on every pass).

`RoutingRunner` is woken by the events that can change an answer (a new or reopened
conversation, an unassignment, a bot hand-off, presence, a schedule) and also runs every
`interval` seconds, since shifts start and end without any event. Its memory is in the
database (the last shift end acted on, the waits), so a restart repeats nothing.

Off by default: routing changes who owns conversations, and the Unassigned view is the pick
queue every existing desk and client relies on; a desk turns it on (`serve --routing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent_console.core.clock import from_iso, to_iso, utcnow
from agent_console.core.models import Author, RoutingStatus, RoutingWait
from agent_console.core.routing import MODES, Candidate, decide
from agent_console.server.write_thread import IN_PLACE

if TYPE_CHECKING:
    from agent_console.server.store import PendingEvent, Store

    _Base = Store
else:
    _Base = object

log = logging.getLogger("agent_console.server")
BATCH = 500  # unassigned conversations read per pass, most urgent first
SLICE = 50  # assignments per transaction: a backlog goes in slices, between requests


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    mode: str = "off"  # off, round_robin or least_loaded
    cap: int = 5
    offline_at_shift_end: bool = True
    interval: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RoutingConfig:
        mode = env.get("AGENT_CONSOLE_ROUTING", "off")
        if mode not in (*MODES, "off"):
            raise ValueError(f"AGENT_CONSOLE_ROUTING: {mode!r} is not off, round_robin or least_loaded")
        return cls(
            mode=mode,
            cap=int(env.get("AGENT_CONSOLE_ROUTING_CAP", "5")),
            offline_at_shift_end=env.get("AGENT_CONSOLE_SHIFT_END_OFFLINE", "1") not in ("0", "false", "no"),
            interval=float(env.get("AGENT_CONSOLE_ROUTING_INTERVAL", "15")),
        )


class RoutingMixin(_Base):
    def _candidates(self, now: datetime) -> list[Candidate]:
        on = self.on_shift_now(now)
        loads = dict(
            self.conn.execute(
                "SELECT assignee_id, count(*) FROM conversations WHERE status = 'open'"
                " AND assignee_id IS NOT NULL GROUP BY assignee_id"
            ).fetchall()
        )
        last = {
            r[0]: from_iso(r[1])
            for r in self.conn.execute("SELECT agent_id, last_routed_at FROM routing_agents")
        }
        return [
            Candidate(
                agent_id=a.id,
                name=a.name,
                team_ids=tuple(a.team_ids),
                languages=tuple(a.languages),
                presence=a.presence,
                on_shift=on.get(a.id, True),  # no schedule: no hours to keep to
                open_count=loads.get(a.id, 0),
                last_routed_at=last.get(a.id),
            )
            for a in self.list_agents()
        ]

    def route_pending(self, mode: str, cap: int, now: datetime | None = None, *, limit: int = SLICE) -> int:
        """Place what can be placed, at most `limit` in one transaction; returns how many
        conversations were assigned (`limit`: call again, there may be more)."""
        rows = self.conn.execute(
            "SELECT c.id, c.team_id, c.language, t.name AS team FROM conversations c"
            " LEFT JOIN teams t ON t.id = c.team_id"
            " WHERE c.status = 'open' AND c.assignee_id IS NULL"
            # The bot's own conversations (server/bot_store.py) wait for its hand-off.
            " AND (c.bot_status IS NULL OR c.bot_status != 'active')"
            " ORDER BY c.queue_key, c.id LIMIT ?",
            (BATCH,),
        ).fetchall()
        waits = {r[0]: r[1] for r in self.conn.execute("SELECT conversation_id, reason FROM routing_waits")}
        pending = {row["id"] for row in rows}
        if not rows and not waits:
            return 0
        candidates = self._candidates(now or utcnow())
        by_id = {c.agent_id: c for c in candidates}
        routed = 0
        # Within a pass loads only grow, so a wait stays a wait: one decision per team and language.
        waits_for: dict[tuple[int | None, str | None], Any] = {}
        with self._write() as tx:
            for stale in set(waits) - pending:  # taken by hand, resolved, ...: no longer waiting
                tx.conn.execute("DELETE FROM routing_waits WHERE conversation_id = ?", (stale,))
            for row in rows:
                if routed >= limit:
                    break
                key = (row["team_id"], row["language"])
                decision = waits_for.get(key) or decide(
                    candidates,
                    team_id=row["team_id"],
                    team_name=row["team"],
                    language=row["language"],
                    cap=cap,
                    mode=mode,  # type: ignore[arg-type]
                )
                data: dict[str, Any] = {
                    "conversation_id": row["id"],
                    "agent_id": decision.agent_id,
                    "team_id": row["team_id"],
                    "outcome": decision.outcome,
                    "reason": decision.reason,
                }
                if decision.agent_id is None:
                    waits_for[key] = decision
                    if waits.get(row["id"]) == decision.reason:
                        continue
                    tx.conn.execute(
                        "INSERT INTO routing_waits(conversation_id, team_id, outcome, reason, since)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(conversation_id) DO UPDATE SET"
                        " outcome = excluded.outcome, reason = excluded.reason",
                        (row["id"], row["team_id"], decision.outcome, decision.reason, to_iso(tx.now)),
                    )
                    tx.emit("conversation.routed", data)
                    continue
                chosen = by_id[decision.agent_id]
                chosen.open_count += 1
                chosen.last_routed_at = tx.now
                tx.conn.execute("DELETE FROM routing_waits WHERE conversation_id = ?", (row["id"],))
                tx.conn.execute(
                    "INSERT INTO routing_agents(agent_id, last_routed_at) VALUES (?, ?)"
                    " ON CONFLICT(agent_id) DO UPDATE SET last_routed_at = excluded.last_routed_at",
                    (chosen.agent_id, to_iso(tx.now)),
                )
                tx.conn.execute(
                    "UPDATE conversations SET assignee_id = ? WHERE id = ?", (chosen.agent_id, row["id"])
                )
                note = self._insert_message(
                    tx,
                    row["id"],
                    kind="activity",
                    body=f"Routed to {chosen.name}: {decision.reason}",
                    author=Author(type="system", name=""),
                )
                tx.emit("message.created", {"message": note, "conversation": self._stamp(tx, row["id"])})
                conversation = self._stamp(tx, row["id"])
                tx.emit("conversation.updated", {"conversation": conversation, "changed": ["assignee"]})
                data["conversation"] = conversation
                tx.emit("conversation.routed", data)
                routed += 1
        return routed

    def routing_status(self, mode: str, cap: int) -> RoutingStatus:
        waiting = [
            RoutingWait(
                conversation_id=r["conversation_id"],
                team_id=r["team_id"],
                outcome=r["outcome"],
                reason=r["reason"],
                since=from_iso(r["since"]),
            )
            for r in self.conn.execute("SELECT * FROM routing_waits ORDER BY since, conversation_id")
        ]
        return RoutingStatus(mode=mode, cap=cap, waiting=waiting)  # type: ignore[arg-type]


# Events after which a routing pass may place something (or must stop placing).
_WAKE = {
    "conversation.created",
    "conversation.updated",
    "conversation.bot_handoff",
    "conversation.handed_over",
    "presence.updated",
    "agent.shift",
    "agent.updated",
    "team.updated",
}


class RoutingRunner:
    """Runs on the event loop like the SLA runner: shift ends, then a routing pass, whenever an
    event may change the answer and every `interval` seconds."""

    def __init__(self, store: Any, config: RoutingConfig) -> None:
        self.store = store
        self.config = config
        self.writes = IN_PLACE  # on PostgreSQL, the write thread: passes off the event loop
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def observe(self, events: list[PendingEvent]) -> None:
        """The store's listener hands every commit here; our own assignments wake us once more,
        which finds nothing to do."""
        if any(e.type in _WAKE for e in events):
            self._wake.set()

    @property
    def enabled(self) -> bool:
        return self.config.mode != "off" or self.config.offline_at_shift_end

    async def start(self, app: Any) -> None:
        if self.enabled:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, app: Any) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def run_once(self, *, shifts: bool = True) -> bool:
        """One pass; True when routing stopped at its slice and has more to place."""
        now = utcnow()
        if shifts and self.config.offline_at_shift_end:
            self.store.shift_end_offline(now)
        if self.config.mode != "off":
            return self.store.route_pending(self.config.mode, self.config.cap, now) >= SLICE
        return False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        checked = -float("inf")
        while True:
            self._wake.clear()
            # Shift ends are a matter of time, not of events: once per interval, however busy.
            shifts = loop.time() - checked >= self.config.interval
            if shifts:
                checked = loop.time()
            try:
                while await self.writes(self.run_once, shifts=shifts):
                    shifts = False
                    await asyncio.sleep(0)  # a backlog goes in slices, between requests
            except Exception as exc:  # keep the runner alive; the log says what broke
                log.error("routing run failed", exc_info=exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.interval)
            await asyncio.sleep(0.05)  # a burst of events is one pass


def env_config() -> RoutingConfig:
    return RoutingConfig.from_env(os.environ)
