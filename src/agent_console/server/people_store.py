"""People on the desk, as a mixin of the store: agents (created, tokens, sign-in), teams,
presence, and the customers' contact records.

Writes go through the store's one transaction-and-events helper (`store_base.StoreBase._write`).
Changing agents and teams as an admin (with its checks) is `admin_store.py`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from agent_console.core.clock import to_iso
from agent_console.core.models import Agent, Contact, Team
from agent_console.server.store_base import Invalid, NotFound, hash_token, new_token

if TYPE_CHECKING:
    from agent_console.server.store import Store

    _Base = Store
else:
    _Base = object


class PeopleStoreMixin(_Base):
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
                    " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (name, email, role, timezone, hash_token(token), to_iso(tx.now)),
                )
            except sqlite3.IntegrityError as exc:
                raise Invalid(f"an agent with email {email} already exists", field="email") from exc
            agent_id = cursor.fetchone()[0]
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
                "INSERT INTO teams(name, description) VALUES (?, ?) RETURNING id", (name, description)
            )
            team_id = cursor.fetchone()[0]
        return Team(id=team_id, name=name, description=description)

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

    def sync_presence(self, connected: dict[int, Any], *, ledger: Any = None) -> None:
        """Presence that follows live connections: an agent with one is at least online, one
        without is offline. Every change of one call goes out as ONE `presence.updated`
        event: `{agent_id, presence}` for one agent, `{agents: [{agent_id, presence}, ...]}`
        for several (a thousand agents connecting must not cost a thousand events).
        `connected`: this process's sockets (a count or a flag) per agent. With several
        processes, `ledger(tx, connected)` turns them into "a socket on any process"
        (server/pg_shared.PresenceLedger), in the same transaction."""
        changes: list[dict[str, Any]] = []
        with self._write() as tx:
            if ledger is not None:
                connected = ledger(tx, connected)
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


def ensure_agent(store: Store, *, email: str, name: str, role: str, timezone: str) -> tuple[Agent, str]:
    """Create the agent if missing, and hand out a fresh token for it either way."""
    agent = store.find_agent_by_email(email)
    if agent is None:
        return store.create_agent(name=name, email=email, role=role, timezone=timezone)
    return agent, store.rotate_token(email)
