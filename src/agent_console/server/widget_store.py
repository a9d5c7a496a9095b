"""The web chat widget's storage: site keys, visitors (a contact and its browser token), the
customer's own view of their conversations, CSAT ratings, and the rate limits.

Everything a customer reads goes through the projections here (`widget_message`,
`widget_conversation`): they carry only customer-visible messages and no agent data beyond
the name shown on a reply. Writes join the store's transactions, so each one appends its
events in the same commit as the agent-side writes do.
"""

from __future__ import annotations

import json
import math
import secrets
import sqlite3
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec

from agent_console.core import sla
from agent_console.core.clock import from_iso, parse_optional, to_iso, utcnow
from agent_console.core.models import (
    Author,
    Csat,
    CsatSubmit,
    InboundContact,
    InboundMessage,
    WidgetAvailability,
    WidgetContact,
    WidgetConversation,
    WidgetMe,
    WidgetMessage,
    WidgetNewMessage,
    WidgetPosted,
)
from agent_console.core.visibility import CUSTOMER_VISIBLE
from agent_console.server.store import QUEUE_TAIL, Conflict, Invalid, NotFound, Store, hash_token

VISITOR_PREFIX = "acw_"  # customer tokens never pass as agent tokens (those start acd_)
SITE_KEY_PREFIX = "wk_"
DEFAULT_VISITOR_NAME = "Web visitor"
_VISIBLE_KINDS = tuple(sorted(CUSTOMER_VISIBLE))


@dataclass(frozen=True, slots=True)
class SiteKey:
    key: str
    name: str
    origins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Visitor:
    contact_id: int
    site_key: str


def normalize_origin(text: str) -> str:
    """`https://shop.example:443/x` -> `https://shop.example`; ValueError when it is no origin."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"origin {text!r} must look like https://shop.example (scheme and host)")
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ValueError(f"origin {text!r} must be a scheme, a host and maybe a port, nothing else")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    port = parts.port
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def widget_message(row: sqlite3.Row | dict[str, Any]) -> WidgetMessage:
    """A stored message (a row, or the `message` of an event) as the customer sees it."""
    if isinstance(row, sqlite3.Row):
        author_type, author_name = row["author_type"], row["author_name"]
    else:
        author_type, author_name = row["author"]["type"], row["author"].get("name", "")
    return WidgetMessage(
        id=row["id"],
        conversation_id=row["conversation_id"],
        kind=row["kind"],
        body=row["body"],
        author_type=author_type,
        author_name=author_name,
        created_at=from_iso(row["created_at"]) if isinstance(row["created_at"], str) else row["created_at"],
    )


def follow_up_note(email: str) -> str:
    return f"The customer left an email for follow-up (not verified): {email}"


class WidgetStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def conn(self) -> Any:
        return self.store.conn  # the calling thread's session (store_base.StoreBase.conn)

    # --- site keys ------------------------------------------------------------------------

    def create_site_key(self, name: str, origins: Iterable[str]) -> SiteKey:
        try:
            allowed = tuple(dict.fromkeys(normalize_origin(origin) for origin in origins))
        except ValueError as exc:
            raise Invalid(str(exc), field="origins") from None
        key = SITE_KEY_PREFIX + secrets.token_urlsafe(18)
        with self.store._write() as tx:
            tx.conn.execute(
                "INSERT INTO widget_site_keys(key, name, origins, created_at) VALUES (?, ?, ?, ?)",
                (key, name, json.dumps(list(allowed)), to_iso(tx.now)),
            )
        return SiteKey(key, name, allowed)

    def site_key(self, key: str) -> SiteKey | None:
        row = self.conn.execute("SELECT * FROM widget_site_keys WHERE key = ?", (key,)).fetchone()
        return None if row is None else SiteKey(row["key"], row["name"], tuple(json.loads(row["origins"])))

    def site_keys(self) -> list[SiteKey]:
        rows = self.conn.execute("SELECT * FROM widget_site_keys ORDER BY created_at").fetchall()
        return [SiteKey(r["key"], r["name"], tuple(json.loads(r["origins"]))) for r in rows]

    def any_site_allows(self, origin: str) -> bool:
        return any(origin in key.origins for key in self.site_keys())

    # --- visitors ---------------------------------------------------------------------------

    def start_session(
        self, site_key: str, *, name: str | None, language: str | None
    ) -> tuple[str, WidgetContact]:
        """A new contact for a browser, and the token that browser keeps (shown once)."""
        token = VISITOR_PREFIX + secrets.token_urlsafe(32)
        name = (name or "").strip() or DEFAULT_VISITOR_NAME
        with self.store._write() as tx:
            cursor = tx.conn.execute(
                "INSERT INTO contacts(name, email, phone, language, timezone, created_at)"
                " VALUES (?, NULL, NULL, ?, NULL, ?) RETURNING id",
                (name, (language or "en").lower(), to_iso(tx.now)),
            )
            tx.conn.execute(
                "INSERT INTO widget_visitors(contact_id, token_hash, site_key, created_at)"
                " VALUES (?, ?, ?, ?)",
                (cursor.fetchone()[0], hash_token(token), site_key, to_iso(tx.now)),
            )
        return token, WidgetContact(name=name, email=None)

    def visitor(self, token: str) -> Visitor | None:
        if not token.startswith(VISITOR_PREFIX):
            return None
        row = self.conn.execute(
            "SELECT contact_id, site_key FROM widget_visitors WHERE token_hash = ?", (hash_token(token),)
        ).fetchone()
        return None if row is None else Visitor(row[0], row[1])

    def contact(self, contact_id: int) -> WidgetContact:
        row = self.conn.execute(
            "SELECT ct.name, COALESCE(v.follow_up_email, ct.email) AS email FROM contacts ct"
            " LEFT JOIN widget_visitors v ON v.contact_id = ct.id WHERE ct.id = ?",
            (contact_id,),
        ).fetchone()
        if row is None:
            raise NotFound("no such contact")
        return WidgetContact(name=row["name"], email=row["email"])

    def contact_of(self, conversation_id: int) -> int | None:
        row = self.conn.execute(
            "SELECT contact_id FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        return None if row is None else row[0]

    def _own(self, contact_id: int, conversation_id: int) -> None:
        # Someone else's conversation reads as missing: its existence is not the customer's business.
        if self.contact_of(conversation_id) != contact_id:
            raise NotFound(f"no conversation with id {conversation_id}", field="conversation_id")

    # --- what the customer reads --------------------------------------------------------------

    def conversation(self, conversation_id: int) -> WidgetConversation:
        row = self.conn.execute(
            "SELECT c.id, c.status, c.created_at, c.last_activity_at, r.rating, r.comment,"
            " r.created_at AS rated_at FROM conversations c"
            " LEFT JOIN csat_ratings r ON r.conversation_id = c.id WHERE c.id = ?",
            (conversation_id,),
        ).fetchone()
        return self._conversation(row)

    @staticmethod
    def _conversation(row: sqlite3.Row) -> WidgetConversation:
        csat = None
        if row["rating"] is not None:
            csat = Csat(
                conversation_id=row["id"],
                rating=row["rating"],
                comment=row["comment"],
                created_at=from_iso(row["rated_at"]),
            )
        return WidgetConversation(
            id=row["id"],
            status=row["status"],
            created_at=from_iso(row["created_at"]),
            last_activity_at=from_iso(row["last_activity_at"]),
            csat=csat,
        )

    def me(self, contact_id: int) -> WidgetMe:
        seq = self.store.head_seq()  # read first: replaying from here misses nothing
        rows = self.conn.execute(
            "SELECT c.id, c.status, c.created_at, c.last_activity_at, r.rating, r.comment,"
            " r.created_at AS rated_at FROM conversations c"
            " LEFT JOIN csat_ratings r ON r.conversation_id = c.id"
            " WHERE c.contact_id = ? ORDER BY c.id DESC LIMIT 20",
            (contact_id,),
        ).fetchall()
        return WidgetMe(
            contact=self.contact(contact_id), conversations=[self._conversation(r) for r in rows], seq=seq
        )

    def messages(
        self, contact_id: int, conversation_id: int, *, after: int, limit: int
    ) -> list[WidgetMessage]:
        self._own(contact_id, conversation_id)
        rows = self.conn.execute(
            f"SELECT * FROM messages WHERE conversation_id = ? AND id > ?"
            f" AND kind IN ({','.join('?' * len(_VISIBLE_KINDS))}) ORDER BY id LIMIT ?",
            (conversation_id, after, *_VISIBLE_KINDS, limit),
        ).fetchall()
        return [widget_message(r) for r in rows]

    # --- what the customer writes --------------------------------------------------------------

    def post(self, contact_id: int, new: WidgetNewMessage) -> WidgetPosted:
        """A customer message: into their conversation, or a new one on the web chat channel."""
        store = self.store
        with store._write() as tx:
            contact = store.get_contact(contact_id)
            conversation_id = new.conversation_id
            if conversation_id is None:
                stamp = to_iso(tx.now)
                cursor = tx.conn.execute(
                    "INSERT INTO conversations(channel, status, priority, subject, language,"
                    " contact_id, created_at, updated_at, last_activity_at, queue_key)"
                    " VALUES ('web_chat', 'open', 'normal', NULL, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (contact.language, contact_id, stamp, stamp, stamp, QUEUE_TAIL),
                )
                conversation_id = cursor.fetchone()[0]
                store._bot_claim(tx, conversation_id, "web_chat")  # the FAQ bot, if on for web chat
                tx.emit("conversation.created", {"conversation": store._stamp(tx, conversation_id)})
            else:
                self._own(contact_id, conversation_id)
            # The agent-side path for a customer's message (reopen, urgency, SLA): one rule.
            result = store.inbound(
                InboundMessage(
                    channel="web_chat",
                    contact=InboundContact(name=contact.name),
                    body=new.body,
                    conversation_id=conversation_id,
                )
            )
            if new.conversation_id is None:
                # Left before writing (the offline form): the new conversation says where to answer.
                email = self.contact(contact_id).email
                if email:
                    self._activity(tx, conversation_id, follow_up_note(email))
        message = result.message
        return WidgetPosted(
            conversation=self.conversation(conversation_id),
            message=WidgetMessage(
                id=message.id,
                conversation_id=conversation_id,
                kind="incoming",
                body=message.body,
                author_type="contact",
                author_name=message.author.name,
                created_at=message.created_at,
            ),
        )

    def set_email(self, contact_id: int, email: str) -> WidgetContact:
        """Keep the customer's follow-up address, and tell the agents in their latest conversation.

        Unverified, so it stays with the widget's visitor and never becomes the contact's email:
        mail threads by that, and a stranger who typed someone else's address must not be
        handed that person's mail or history."""
        store = self.store
        with store._write() as tx:
            tx.conn.execute(
                "UPDATE widget_visitors SET follow_up_email = ? WHERE contact_id = ?", (email, contact_id)
            )
            latest = tx.conn.execute(
                "SELECT id FROM conversations WHERE contact_id = ? ORDER BY id DESC LIMIT 1", (contact_id,)
            ).fetchone()
            if latest is not None:
                self._activity(tx, latest[0], follow_up_note(email))
        return self.contact(contact_id)

    def rate(self, contact_id: int, conversation_id: int, submit: CsatSubmit) -> Csat:
        with self.store._write():
            self._own(contact_id, conversation_id)
            return self.record_rating(conversation_id, submit)

    def record_rating(self, conversation_id: int, submit: CsatSubmit) -> Csat:
        """Keep the rating of a resolved conversation; a second one replaces the first (the
        customer changed their mind: the KPIs count what they think now). Used by the widget
        (after checking the conversation is the visitor's) and the inbound API."""
        store = self.store
        with store._write() as tx:
            row = tx.conn.execute(
                "SELECT status FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no conversation with id {conversation_id}", field="conversation_id")
            status = row[0]
            if status != "resolved":
                raise Conflict("a conversation can be rated once it is resolved", field="conversation_id")
            comment = submit.comment.strip()
            tx.conn.execute(
                "INSERT INTO csat_ratings(conversation_id, rating, comment, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(conversation_id) DO UPDATE SET rating = excluded.rating,"
                " comment = excluded.comment, created_at = excluded.created_at",
                (conversation_id, submit.rating, comment, to_iso(tx.now)),
            )
            csat = Csat(
                conversation_id=conversation_id, rating=submit.rating, comment=comment, created_at=tx.now
            )
            said = f": {comment}" if comment else ""
            self._activity(
                tx, conversation_id, f"The customer rated this conversation {submit.rating}/5{said}"
            )
            tx.emit("csat.submitted", {"conversation_id": conversation_id, "csat": csat})
        return csat

    def csat(self, conversation_id: int) -> Csat:
        """The rating of a conversation (agent API)."""
        self.store._require_conversation(conversation_id)
        row = self.conn.execute(
            "SELECT * FROM csat_ratings WHERE conversation_id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"conversation {conversation_id} has no CSAT rating yet")
        return Csat(
            conversation_id=conversation_id,
            rating=row["rating"],
            comment=row["comment"],
            created_at=from_iso(row["created_at"]),
        )

    def _activity(self, tx: Any, conversation_id: int, text: str) -> None:
        store = self.store
        note = store._insert_message(
            tx, conversation_id, kind="activity", body=text, author=Author(type="system", name="")
        )
        tx.emit("message.created", {"message": note, "conversation": store._stamp(tx, conversation_id)})

    # --- who can answer ------------------------------------------------------------------------

    def availability(self) -> WidgetAvailability:
        """Agents on shift now (online or busy; away and offline are not answering), and the
        median time to a first answer over the last 50 answered conversations."""
        online = self.conn.execute(
            "SELECT count(*) FROM agents WHERE role != 'integration' AND presence IN ('online', 'busy')"
        ).fetchone()[0]
        rows = self.conn.execute(
            "SELECT created_at, first_response_at FROM conversations WHERE first_response_at IS NOT NULL"
            " ORDER BY id DESC LIMIT 50"
        ).fetchall()
        waits = sorted(
            max((parse_optional(r[1]) - from_iso(r[0])).total_seconds(), 0.0)  # type: ignore[operator]
            for r in rows
        )
        typical = None
        if len(waits) >= 3:
            typical = max(1, math.ceil(waits[len(waits) // 2] / 60))
        return WidgetAvailability(
            online=online > 0,
            agents_online=online,
            typical_reply_minutes=typical if online else None,
            reply_by_email=online == 0,
            opens_at=None if online else self._opens_at(),
        )

    def _opens_at(self) -> datetime | None:
        """When the business hours of the policy a new web chat falls under open next, if they
        are closed now (None: open now, or no hours set)."""
        policy = sla.choose(
            self.store.list_sla_policies(), priority="normal", channel="web_chat", team_id=None
        )
        if policy is None:
            return None
        calendar = sla.calendar_of(policy)
        now = utcnow()
        if calendar.is_open(now):
            return None
        return next((opened for opened, _ in calendar.open_intervals(now)), None)


# --- rate limits ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WidgetLimits:
    """How much one browser (contact) and one address (IP) may do. Each is (count, seconds)."""

    sessions_per_ip: tuple[int, float] = (20, 3600.0)
    conversations_per_contact: tuple[int, float] = (5, 3600.0)
    conversations_per_ip: tuple[int, float] = (20, 3600.0)
    messages_per_contact: tuple[int, float] = (20, 60.0)
    messages_per_ip: tuple[int, float] = (60, 60.0)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> WidgetLimits:
        """AGENT_CONSOLE_WIDGET_LIMITS="messages_per_contact=3/60,sessions_per_ip=5/3600" overrides
        some (tests use small ones)."""
        text = env.get("AGENT_CONSOLE_WIDGET_LIMITS", "").strip()
        if not text:
            return cls()
        values: dict[str, tuple[int, float]] = {}
        for part in text.split(","):
            name, _, rule = part.strip().partition("=")
            count, _, seconds = rule.partition("/")
            if name not in cls.__dataclass_fields__ or not count.isdigit():
                raise ValueError(f"AGENT_CONSOLE_WIDGET_LIMITS: {part!r} is not name=count/seconds")
            values[name] = (int(count), float(seconds or 60))
        return cls(**values)


class RateLimited(Exception):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class RateLimiter:
    """Sliding-window counters in memory (one server process; a restart forgets them)."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, str], deque[float]] = {}
        self.calls = 0

    def check(self, rules: list[tuple[str, str, tuple[int, float], str]]) -> None:
        """Each rule: (kind, who, (count, seconds), what to say). All must pass, then all count."""
        now = time.monotonic()
        self.calls += 1
        if self.calls % 1000 == 0:
            self._sweep(now)
        for kind, who, (count, seconds), what in rules:
            times = self.hits.get((kind, who))
            if times is None:
                continue
            while times and times[0] <= now - seconds:
                times.popleft()
            if len(times) >= count:
                retry = max(1, math.ceil(times[0] + seconds - now))
                raise RateLimited(
                    f"too many {what}: at most {count} per {seconds:g} s; try again in {retry} s", retry
                )
        for kind, who, _, _ in rules:
            self.hits.setdefault((kind, who), deque()).append(now)

    def _sweep(self, now: float) -> None:
        longest = 3600.0
        for key in [k for k, times in self.hits.items() if not times or times[-1] <= now - longest]:
            del self.hits[key]


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)
