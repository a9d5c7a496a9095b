"""Running the desk: the admin writes to agents, teams, canned responses and labels, as a mixin
of the store (the knowledge base's are `kb_admin_store.py`).

Each write is one transaction of the store's (`_write`) with its events, so the feed reports
exactly what committed. Everything is checked before the first row changes: a bad field is
a 422 naming it and leaves the database as it was (the transaction rolls back if anything
fails later). The row-level helpers at the bottom (`upsert_canned`) are also what the
demo seed calls, so bundled content goes in through the same checks.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

import msgspec

from agent_console.core.clock import to_iso
from agent_console.core.labels import fold_label, label_problem
from agent_console.core.models import (
    Agent,
    AgentUpdate,
    CannedResponse,
    CannedUpdate,
    LabelCount,
    LabelUpdate,
    NewAgent,
    NewCanned,
    NewLabel,
    NewTeam,
    TeamDetail,
    TeamUpdate,
)
from agent_console.core.templates import placeholder_problem
from agent_console.server import store_base as _st

if TYPE_CHECKING:
    from agent_console.server.store import Store

    _Base = Store
else:
    _Base = object

UNSET = msgspec.UNSET


@functools.cache
def known_timezones() -> frozenset[str]:
    """The IANA zones this machine knows: what an agent's time zone may be (the document
    lists them as an enum, so it allows exactly what this check takes)."""
    return frozenset(available_timezones() | {"UTC"})


def _check_timezone(name: str) -> None:
    if name not in known_timezones():
        raise _st.Invalid(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Lisbon)", field="timezone"
        )


def check_title(title: str, field: str = "title") -> str:
    if any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in title) or not title.strip():
        raise _st.Invalid(f"{field} must be one line of text", field=field)
    return " ".join(title.split())


class AdminStore(_Base):
    """Mixed into `Store`: uses its `conn`, `_write`, `get_agent`, `_stamp`."""

    # --- agents ---------------------------------------------------------------------------

    def _team_ids_exist(self, team_ids: list[int], field: str = "team_ids") -> list[int]:
        wanted = list(dict.fromkeys(team_ids))
        for team_id in wanted:
            if self.conn.execute("SELECT 1 FROM teams WHERE id = ?", (team_id,)).fetchone() is None:
                raise _st.NotFound(f"no team with id {team_id}", field=field)
        return wanted

    def add_agent_account(self, new: NewAgent) -> tuple[Agent, str]:
        """Invite an agent: the answer carries its token, shown this once."""
        check_title(new.name, "name")
        _check_timezone(new.timezone)
        team_ids = self._team_ids_exist(new.team_ids)
        if self.find_agent_by_email(new.email) is not None:
            raise _st.Conflict(f"an agent with email {new.email} already exists", field="email")
        token = _st.new_token()
        with self._write() as tx:
            cursor = tx.conn.execute(
                "INSERT INTO agents(name, email, role, timezone, languages, token_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    " ".join(new.name.split()),
                    new.email.strip(),
                    new.role,
                    new.timezone,
                    json.dumps(list(dict.fromkeys(new.languages))),
                    _st.hash_token(token),
                    to_iso(tx.now),
                ),
            )
            agent_id = cursor.fetchone()[0]
            tx.conn.executemany(
                "INSERT INTO agent_teams(agent_id, team_id) VALUES (?, ?)", [(agent_id, t) for t in team_ids]
            )
            agent = self.get_agent(agent_id)
            tx.emit("agent.created", {"agent": agent})
        return agent, token

    def _account(self, agent_id: int) -> Agent:
        agent = self.get_agent(agent_id)
        if agent.role == "integration":
            # Integrations are machine accounts, made with `server add-agent`: not people to manage.
            raise _st.NotFound(f"no agent with id {agent_id}")
        return agent

    def edit_agent_account(self, agent_id: int, update: AgentUpdate, actor: Agent) -> Agent:
        current = self._account(agent_id)
        sets: dict[str, Any] = {}
        if update.name is not UNSET:
            sets["name"] = check_title(update.name, "name")
        if update.timezone is not UNSET:
            _check_timezone(update.timezone)
            sets["timezone"] = update.timezone
        if update.languages is not UNSET:
            sets["languages"] = json.dumps(list(dict.fromkeys(update.languages)))
        if update.role is not UNSET:
            if agent_id == actor.id and update.role != "admin":
                raise _st.Conflict("you cannot take the admin role from yourself", field="role")
            sets["role"] = update.role
        if update.active is not UNSET:
            if agent_id == actor.id and not update.active:
                raise _st.Conflict("you cannot deactivate yourself", field="active")
            sets["active"] = int(update.active)
            if not update.active:
                sets["presence"] = "offline"
        team_ids = None if update.team_ids is UNSET else self._team_ids_exist(update.team_ids)
        with self._write() as tx:
            if sets:
                assignments = ", ".join(f"{name} = ?" for name in sets)
                tx.conn.execute(f"UPDATE agents SET {assignments} WHERE id = ?", [*sets.values(), agent_id])
            if team_ids is not None:
                tx.conn.execute("DELETE FROM agent_teams WHERE agent_id = ?", (agent_id,))
                tx.conn.executemany(
                    "INSERT INTO agent_teams(agent_id, team_id) VALUES (?, ?)",
                    [(agent_id, t) for t in team_ids],
                )
            agent = self.get_agent(agent_id)
            if agent != current:
                tx.emit("agent.updated", {"agent": agent})
        return agent

    def rotate_agent_token(self, agent_id: int, actor: Agent) -> tuple[Agent, str]:
        agent = self._account(agent_id)
        if agent_id == actor.id:
            raise _st.Conflict(
                "a token cannot replace itself over the API (this request would lose its own"
                " access); another admin, or `agent-console server add-agent` on the server, rotates it"
            )
        if not agent.active:
            raise _st.Conflict(f"agent {agent_id} is deactivated: activate it before handing out a token")
        token = _st.new_token()
        with self._write() as tx:
            tx.conn.execute(
                "UPDATE agents SET token_hash = ? WHERE id = ?", (_st.hash_token(token), agent_id)
            )
            # No token in the event: only that it changed.
            tx.emit("agent.updated", {"agent": agent, "token_rotated": True})
        return agent, token

    # --- teams ----------------------------------------------------------------------------

    def _members_exist(self, member_ids: list[int]) -> list[int]:
        wanted = list(dict.fromkeys(member_ids))
        for agent_id in wanted:
            row = self.conn.execute("SELECT role FROM agents WHERE id = ?", (agent_id,)).fetchone()
            if row is None or row[0] == "integration":
                raise _st.NotFound(f"no agent with id {agent_id}", field="member_ids")
        return wanted

    def team_detail(self, team_id: int) -> TeamDetail:
        row = self.conn.execute("SELECT * FROM teams WHERE id = ?", (team_id,)).fetchone()
        if row is None:
            raise _st.NotFound(f"no team with id {team_id}")
        members = [
            r[0]
            for r in self.conn.execute(
                "SELECT agent_id FROM agent_teams WHERE team_id = ? ORDER BY agent_id", (team_id,)
            )
        ]
        return TeamDetail(id=row["id"], name=row["name"], description=row["description"], member_ids=members)

    def _team_name_free(self, name: str, team_id: int | None = None) -> None:
        row = self.conn.execute("SELECT id FROM teams WHERE name = ?", (name,)).fetchone()
        if row is not None and row[0] != team_id:
            raise _st.Conflict(f"a team named {name!r} already exists", field="name")

    def add_team(self, new: NewTeam) -> TeamDetail:
        name = check_title(new.name, "name")
        self._team_name_free(name)
        members = self._members_exist(new.member_ids)
        with self._write() as tx:
            cursor = tx.conn.execute(
                "INSERT INTO teams(name, description) VALUES (?, ?) RETURNING id",
                (name, new.description.strip()),
            )
            team_id = cursor.fetchone()[0]
            tx.conn.executemany(
                "INSERT INTO agent_teams(agent_id, team_id) VALUES (?, ?)", [(a, team_id) for a in members]
            )
            team = self.team_detail(team_id)
            tx.emit("team.created", {"team": team})
        return team

    def edit_team(self, team_id: int, update: TeamUpdate) -> TeamDetail:
        current = self.team_detail(team_id)
        sets: dict[str, Any] = {}
        if update.name is not UNSET:
            sets["name"] = check_title(update.name, "name")
            self._team_name_free(sets["name"], team_id)
        if update.description is not UNSET:
            sets["description"] = update.description.strip()
        members = None if update.member_ids is UNSET else self._members_exist(update.member_ids)
        with self._write() as tx:
            if sets:
                assignments = ", ".join(f"{name} = ?" for name in sets)
                tx.conn.execute(f"UPDATE teams SET {assignments} WHERE id = ?", [*sets.values(), team_id])
            if members is not None:
                tx.conn.execute("DELETE FROM agent_teams WHERE team_id = ?", (team_id,))
                tx.conn.executemany(
                    "INSERT INTO agent_teams(agent_id, team_id) VALUES (?, ?)",
                    [(a, team_id) for a in members],
                )
            team = self.team_detail(team_id)
            if team != current:
                tx.emit("team.updated", {"team": team})
        return team

    # --- canned responses -------------------------------------------------------------------

    def get_canned(self, canned_id: int) -> CannedResponse:
        row = self.conn.execute("SELECT * FROM canned_responses WHERE id = ?", (canned_id,)).fetchone()
        if row is None:
            raise _st.NotFound(f"no canned response with id {canned_id}")
        return msgspec.convert(dict(row), CannedResponse)

    def add_canned(self, new: NewCanned) -> CannedResponse:
        with self._write() as tx:
            canned_id, outcome = upsert_canned(
                tx.conn,
                shortcode=new.shortcode,
                locale=new.locale,
                title=new.title,
                body=new.body,
                replace=False,
            )
            canned = self.get_canned(canned_id)
            tx.emit("canned.created", {"canned": canned})
        return canned

    def edit_canned(self, canned_id: int, update: CannedUpdate) -> CannedResponse:
        current = self.get_canned(canned_id)
        merged = msgspec.structs.replace(
            current,
            **{
                name: getattr(update, name)
                for name in update.__struct_fields__
                if getattr(update, name) is not UNSET
            },
        )
        with self._write() as tx:
            check_canned(
                tx.conn, merged.shortcode, merged.locale, merged.title, merged.body, canned_id=canned_id
            )
            tx.conn.execute(
                "UPDATE canned_responses SET shortcode = ?, locale = ?, title = ?, body = ? WHERE id = ?",
                (merged.shortcode, merged.locale, check_title(merged.title), merged.body.strip(), canned_id),
            )
            canned = self.get_canned(canned_id)
            if canned != current:
                tx.emit("canned.updated", {"canned": canned})
        return canned

    def delete_canned(self, canned_id: int) -> None:
        current = self.get_canned(canned_id)
        with self._write() as tx:
            tx.conn.execute("DELETE FROM canned_responses WHERE id = ?", (canned_id,))
            tx.emit("canned.deleted", {"canned": current})

    # --- labels -------------------------------------------------------------------------------

    def _label(self, name: str) -> LabelCount:
        found = next((item for item in self.list_labels() if item.name == name), None)
        if found is None:
            raise _st.NotFound(f"no label {name!r}")
        return found

    def add_label(self, new: NewLabel) -> LabelCount:
        problem = label_problem(new.name)
        if problem:
            raise _st.Invalid(problem, field="name")
        name = fold_label(new.name)
        if self.conn.execute("SELECT 1 FROM labels WHERE name = ?", (name,)).fetchone() is not None:
            raise _st.Conflict(f"the label {name!r} exists already", field="name")
        with self._write() as tx:
            tx.conn.execute("INSERT INTO labels(name, color) VALUES (?, ?)", (name, new.color))
            label = self._label(name)
            tx.emit("label.created", {"label": label})
        return label

    def edit_label(self, name: str, update: LabelUpdate) -> LabelCount:
        """Recolour, or rename: conversations carrying the old label carry the new one after
        (one label each time, so a rename onto an existing label merges the two)."""
        old = fold_label(name)
        current = self._label(old)
        new = old
        if update.name is not UNSET:
            problem = label_problem(update.name)
            if problem:
                raise _st.Invalid(problem, field="name")
            new = fold_label(update.name)
        with self._write() as tx:
            colour = current.color if update.color is UNSET else update.color
            if new != old:
                target = tx.conn.execute("SELECT color FROM labels WHERE name = ?", (new,)).fetchone()
                if update.color is UNSET and target is not None:
                    colour = target[0]  # merging into a label that has its colour keeps it
                tx.conn.execute("DELETE FROM labels WHERE name = ?", (old,))
                self._relabel(tx, old, new)
            if colour is not None:
                tx.conn.execute(
                    "INSERT INTO labels(name, color) VALUES (?, ?)"
                    " ON CONFLICT(name) DO UPDATE SET color = excluded.color",
                    (new, colour),
                )
            label = self._label(new)
            if new != old or label != current:
                tx.emit("label.updated", {"label": label, "renamed_from": old if new != old else None})
        return label

    def _relabel(self, tx: Any, old: str, new: str) -> None:
        rows = tx.conn.execute(
            f"SELECT DISTINCT c.id, c.labels FROM conversations c, {tx.conn.json_values('c.labels')}"
            " WHERE lower(j.value) = ? OR j.value = ?",
            (old, old),
        ).fetchall()
        for conversation_id, raw in rows:
            labels = [fold_label(value) for value in json.loads(raw)]
            if old not in labels:
                continue  # lower() matched a spelling that folds elsewhere
            relabelled = list(dict.fromkeys(new if value == old else value for value in labels))
            tx.conn.execute(
                "UPDATE conversations SET labels = ? WHERE id = ?", (json.dumps(relabelled), conversation_id)
            )
            conversation = self._stamp(tx, conversation_id)
            tx.emit("conversation.updated", {"conversation": conversation, "changed": ["labels"]})


# --- row-level helpers: the store above and the demo seed both write through these ----------


def check_canned(
    conn: sqlite3.Connection, shortcode: str, locale: str, title: str, body: str, *, canned_id: int | None
) -> None:
    problem = placeholder_problem(body)
    if problem:
        raise _st.Invalid(problem, field="body")
    check_title(title)
    row = conn.execute(
        "SELECT id FROM canned_responses WHERE shortcode = ? AND locale = ?", (shortcode, locale)
    ).fetchone()
    if row is not None and row[0] != canned_id:
        raise _st.Conflict(f"/{shortcode} exists already in {locale} (id {row[0]})", field="shortcode")


def upsert_canned(
    conn: sqlite3.Connection, *, shortcode: str, locale: str, title: str, body: str, replace: bool = True
) -> tuple[int, str]:
    """Insert a canned response, or (with `replace`) update the one with this shortcode and
    locale. Returns (id, created | updated | unchanged)."""
    row = conn.execute(
        "SELECT * FROM canned_responses WHERE shortcode = ? AND locale = ?", (shortcode, locale)
    ).fetchone()
    check_canned(conn, shortcode, locale, title, body, canned_id=row["id"] if row and replace else None)
    title, body = check_title(title), body.strip()
    if row is None:
        cursor = conn.execute(
            "INSERT INTO canned_responses(shortcode, title, body, locale) VALUES (?, ?, ?, ?) RETURNING id",
            (shortcode, title, body, locale),
        )
        return cursor.fetchone()[0], "created"
    if (row["title"], row["body"]) == (title, body):
        return row["id"], "unchanged"
    conn.execute("UPDATE canned_responses SET title = ?, body = ? WHERE id = ?", (title, body, row["id"]))
    return row["id"], "updated"
