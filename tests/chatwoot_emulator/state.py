"""The emulated Chatwoot account: its data, its rules, and its serializers.

Shapes follow Chatwoot's jbuilder views and `push_event_data` (what its dashboard reads);
the contract module checks each against the published document before it leaves. Where the
document allows no null, a value Chatwoot has not set is left out (Chatwoot itself writes
null or 0 there; the adapter reads missing, null and 0 alike).
"""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

CHANNEL_TYPES = {"web": "Channel::WebWidget", "email": "Channel::Email"}


@dataclass
class User:
    id: int
    name: str
    email: str
    role: str  # "agent" | "administrator"
    token: str
    pubsub_token: str
    availability: str = "offline"  # available | busy | offline


@dataclass
class Contact:
    id: int
    name: str
    email: str | None
    phone: str | None = None
    created_at: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)  # additional_attributes: timezone, language


@dataclass
class MessageRow:
    id: int
    conversation: int  # display id
    message_type: int  # 0 incoming, 1 outgoing, 2 activity
    content: str
    private: bool
    sender_type: str | None  # "contact" | "agent" | None (activity)
    sender_id: int | None
    created_at: int
    echo_id: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ConversationRow:
    display_id: int
    uuid: str
    inbox: str
    contact_id: int
    status: str = "open"
    priority: str | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    labels: list[str] = field(default_factory=list)
    snoozed_until: int | None = None
    created_at: int = 0
    last_activity_at: int = 0
    waiting_since: int = 0
    first_reply_created_at: int = 0
    agent_last_seen_at: int = 0
    subject: str | None = None


class Account:
    """One Chatwoot account with agents, teams, inboxes, contacts, conversations and a help center."""

    def __init__(self, account_id: int = 1, name: str = "Acme Support", clock: Any = time.time) -> None:
        self.id = account_id
        self.name = name
        self.clock = clock
        self.users: dict[int, User] = {}
        self.teams: dict[int, dict[str, Any]] = {}
        self.contacts: dict[int, Contact] = {}
        self.conversations: dict[int, ConversationRow] = {}
        self.messages: dict[int, MessageRow] = {}
        self.canned: list[dict[str, Any]] = []
        self.portal = "help"
        self.articles: list[dict[str, Any]] = []
        self._ids = {kind: itertools.count(1) for kind in ("user", "team", "contact", "message", "canned")}
        self._display = itertools.count(1)
        self.listeners: list[Any] = []  # callables(event_name, data): the cable hub

    def now(self) -> int:
        return int(self.clock())

    # --- building ------------------------------------------------------------------------------

    def add_user(self, name: str, email: str, role: str = "agent") -> User:
        user = User(
            id=next(self._ids["user"]),
            name=name,
            email=email,
            role=role,
            token=secrets.token_urlsafe(18),
            pubsub_token=secrets.token_urlsafe(18),
        )
        self.users[user.id] = user
        return user

    def add_team(self, name: str, description: str = "") -> int:
        team_id = next(self._ids["team"])
        self.teams[team_id] = {"id": team_id, "name": name, "description": description}
        return team_id

    def add_contact(
        self, name: str, email: str | None = None, phone: str | None = None, **attributes: Any
    ) -> Contact:
        contact = Contact(next(self._ids["contact"]), name, email, phone, self.now(), dict(attributes))
        self.contacts[contact.id] = contact
        return contact

    def open_conversation(
        self, contact: Contact, text: str, *, inbox: str = "web", subject: str | None = None
    ) -> ConversationRow:
        now = self.now()
        row = ConversationRow(
            display_id=next(self._display),
            uuid=str(uuid.uuid4()),
            inbox=inbox,
            contact_id=contact.id,
            created_at=now,
            last_activity_at=now,
            subject=subject,
        )
        self.conversations[row.display_id] = row
        self.emit("conversation.created", self.conversation_json(row))
        self.customer_message(row.display_id, text)
        return row

    # --- rules -------------------------------------------------------------------------------

    def _message(self, row: ConversationRow, **fields: Any) -> MessageRow:
        message = MessageRow(
            id=next(self._ids["message"]), conversation=row.display_id, created_at=self.now(), **fields
        )
        self.messages[message.id] = message
        row.last_activity_at = max(row.last_activity_at, message.created_at)
        return message

    def customer_message(self, display_id: int, text: str) -> MessageRow:
        row = self.conversations[display_id]
        message = self._message(
            row, message_type=0, content=text, private=False, sender_type="contact", sender_id=row.contact_id
        )
        if not row.waiting_since:
            row.waiting_since = message.created_at
        if row.status in ("snoozed", "resolved"):
            row.status, row.snoozed_until = "open", None  # a customer's message reopens it
        self.emit("message.created", self.message_json(message))
        self.emit("conversation.updated", self.conversation_json(row))
        return message

    def agent_message(
        self, display_id: int, user: User, text: str, *, private: bool, echo_id: str | None = None
    ) -> MessageRow:
        row = self.conversations[display_id]
        message = self._message(
            row,
            message_type=1,
            content=text,
            private=private,
            sender_type="agent",
            sender_id=user.id,
            echo_id=echo_id,
        )
        if not private:
            row.waiting_since = 0
            row.first_reply_created_at = row.first_reply_created_at or message.created_at
        self.emit("message.created", self.message_json(message))
        return message

    def activity(self, row: ConversationRow, text: str, event: str = "conversation.updated") -> None:
        message = self._message(
            row, message_type=2, content=text, private=False, sender_type=None, sender_id=None
        )
        self.emit("message.created", self.message_json(message))
        self.emit(event, self.conversation_json(row))

    def set_status(self, row: ConversationRow, user: User, status: str, snoozed_until: int | None) -> None:
        row.status = status
        row.snoozed_until = snoozed_until if status == "snoozed" else None
        self.activity(row, f"Conversation was marked {status} by {user.name}", "conversation.status_changed")

    def set_priority(self, row: ConversationRow, user: User, priority: str | None) -> None:
        row.priority = priority
        self.activity(row, f"{user.name} set the priority to {priority or 'none'}")

    def assign(self, row: ConversationRow, user: User, assignee_id: int | None) -> None:
        row.assignee_id = assignee_id if assignee_id in self.users else None
        who = self.users[row.assignee_id].name if row.assignee_id else "nobody"
        self.activity(row, f"Assigned to {who} by {user.name}", "assignee.changed")

    def set_team(self, row: ConversationRow, user: User, team_id: int | None) -> None:
        row.team_id = team_id if team_id in self.teams else None
        self.activity(row, f"Team set by {user.name}", "team.changed")

    def set_labels(self, row: ConversationRow, user: User, labels: list[str]) -> None:
        row.labels = list(dict.fromkeys(label.strip().lower() for label in labels if label.strip()))
        self.activity(row, f"{user.name} changed the labels")

    def emit(self, name: str, data: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(name, {**data, "account_id": self.id})

    # --- reading -----------------------------------------------------------------------------

    def visible(self, row: ConversationRow, user: User, assignee_type: str, status: str) -> bool:
        if status != "all" and row.status != status:
            return False
        if assignee_type == "me":
            return row.assignee_id == user.id
        if assignee_type == "unassigned":
            return row.assignee_id is None
        if assignee_type == "assigned":
            return row.assignee_id is not None
        return True

    def ordered(self, rows: list[ConversationRow]) -> list[ConversationRow]:
        """Chatwoot's default order: latest activity first."""
        return sorted(rows, key=lambda r: (r.last_activity_at, r.display_id), reverse=True)

    def thread(self, display_id: int) -> list[MessageRow]:
        return sorted((m for m in self.messages.values() if m.conversation == display_id), key=lambda m: m.id)

    def unread(self, row: ConversationRow) -> int:
        return sum(
            1
            for m in self.thread(row.display_id)
            if m.message_type == 0 and m.created_at > row.agent_last_seen_at
        )

    # --- serializers (Chatwoot's jbuilder views) -------------------------------------------------

    def agent_json(self, user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "account_id": self.id,
            "availability_status": user.availability,
            "auto_offline": True,
            "confirmed": True,
            "email": user.email,
            "available_name": user.name,
            "name": user.name,
            "role": user.role,
            "thumbnail": "",
        }

    def profile_json(self, user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "access_token": user.token,
            "account_id": self.id,
            "available_name": user.name,
            "avatar_url": "",
            "confirmed": True,
            "display_name": None,
            "email": user.email,
            "name": user.name,
            "provider": "email",
            "pubsub_token": user.pubsub_token,
            "role": user.role,
            "ui_settings": {},
            "uid": user.email,
            "accounts": [
                {
                    "id": self.id,
                    "name": self.name,
                    "status": "active",
                    "role": user.role,
                    "permissions": [],
                    "availability": user.availability,
                    "availability_status": user.availability,
                    "auto_offline": True,
                    "custom_role_id": None,
                }
            ],
        }

    def contact_json(self, contact: Contact, *, list_item: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "additional_attributes": dict(contact.attributes),
            "availability_status": "offline",
            "id": contact.id,
            "name": contact.name,
            "blocked": False,
            "thumbnail": "",
            "custom_attributes": {},
            "created_at": contact.created_at,
        }
        if contact.email:
            out["email"] = contact.email
        if contact.phone:
            out["phone_number"] = contact.phone
        if list_item:
            out["last_activity_at"] = contact.created_at
        return out

    def message_json(self, m: MessageRow) -> dict[str, Any]:
        row = self.conversations[m.conversation]
        out: dict[str, Any] = {
            "id": m.id,
            "content": m.content,
            "account_id": self.id,
            "inbox_id": 1 if row.inbox == "web" else 2,
            "conversation_id": m.conversation,
            "message_type": m.message_type,
            "created_at": m.created_at,
            "updated_at": m.created_at,
            "private": m.private,
            "status": "sent",
            "content_type": "text",
            "content_attributes": {},
            "conversation": {
                "assignee_id": row.assignee_id,
                "unread_count": self.unread(row),
                "last_activity_at": row.last_activity_at,
                "contact_inbox": {"source_id": f"src-{row.contact_id}"},
            },
        }
        if m.sender_type is not None:
            out["sender_type"] = m.sender_type
            out["sender_id"] = m.sender_id
            if m.sender_type == "contact":
                contact = self.contacts[m.sender_id or 0]
                out["sender"] = {"id": contact.id, "name": contact.name, "type": "contact"}
            else:
                user = self.users[m.sender_id or 0]
                out["sender"] = {
                    "id": user.id,
                    "name": user.name,
                    "available_name": user.name,
                    "type": "user",
                }
        if m.echo_id is not None:
            out["echo_id"] = m.echo_id
        if m.attachments:
            # Chatwoot's attachment serializer (push_event_data), next to the document's `attachment`.
            out["attachments"] = [{**a, "message_id": m.id, "account_id": self.id} for a in m.attachments]
        return out

    def conversation_json(self, row: ConversationRow) -> dict[str, Any]:
        thread = self.thread(row.display_id)
        meta: dict[str, Any] = {
            "sender": self.contact_json(self.contacts[row.contact_id]),
            "channel": CHANNEL_TYPES[row.inbox],
            "hmac_verified": False,
        }
        if row.assignee_id is not None:
            meta["assignee"] = self.agent_json(self.users[row.assignee_id])
        if row.team_id is not None:
            meta["team"] = {**self.teams[row.team_id], "allow_auto_assign": False, "account_id": self.id}
        out: dict[str, Any] = {
            "meta": meta,
            "id": row.display_id,
            "messages": [self.message_json(thread[-1])] if thread else [],
            "account_id": self.id,
            "uuid": row.uuid,
            "additional_attributes": {"mail_subject": row.subject} if row.subject else {},
            "agent_last_seen_at": row.agent_last_seen_at,
            "assignee_last_seen_at": 0,
            "can_reply": True,
            "contact_last_seen_at": 0,
            "custom_attributes": {},
            "inbox_id": 1 if row.inbox == "web" else 2,
            "labels": list(row.labels),
            "muted": False,
            "status": row.status,
            "created_at": row.created_at,
            "timestamp": str(row.last_activity_at),
            "first_reply_created_at": row.first_reply_created_at,
            "unread_count": self.unread(row),
            "last_activity_at": row.last_activity_at,
            "waiting_since": row.waiting_since,
        }
        if row.snoozed_until is not None:
            out["snoozed_until"] = row.snoozed_until
        if row.priority is not None:
            out["priority"] = row.priority
        last_real = [m for m in thread if m.message_type != 2]
        if last_real:
            out["last_non_activity_message"] = self.message_json(last_real[-1])
        return out

    def team_json(self, team: dict[str, Any], user: User) -> dict[str, Any]:
        return {**team, "allow_auto_assign": False, "account_id": self.id, "is_member": False}

    def canned_json(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            **item,
            "account_id": self.id,
            "created_at": "2026-01-05T10:00:00Z",
            "updated_at": "2026-01-05T10:00:00Z",
        }

    def counts(self, user: User, status: str, rows: list[ConversationRow] | None = None) -> dict[str, int]:
        rows = [
            r
            for r in (rows if rows is not None else self.conversations.values())
            if self.visible(r, user, "all", status)
        ]
        return {
            "mine_count": sum(1 for r in rows if r.assignee_id == user.id),
            "unassigned_count": sum(1 for r in rows if r.assignee_id is None),
            "assigned_count": sum(1 for r in rows if r.assignee_id is not None),
            "all_count": len(rows),
        }


def demo_account(clock: Any = time.time) -> tuple[Account, User, User]:
    """A small, realistic account: two agents (one admin), two teams, a web and an email inbox,
    a dozen conversations in every state, canned responses and a help center."""
    account = Account(clock=clock)
    admin = account.add_user("Ana Ruiz", "ana@acme.example", "administrator")
    agent = account.add_user("Night Agent", "night@acme.example", "agent")
    account.add_user("Bo Chen", "bo@acme.example", "agent")
    billing = account.add_team("Billing", "Invoices, refunds and plans")
    account.add_team("Tech", "Bugs and integrations")
    people = [
        ("Maya Patel", "maya@cust.example", "My invoice shows the wrong VAT number"),
        ("Jonas Berg", "jonas@cust.example", "The widget does not load on Safari"),
        ("Lea Dubois", None, "Can I change my plan mid-month?"),
        ("Omar Haddad", "omar@cust.example", "Refund for order #4411 please"),
        ("Sara Kim", "sara@cust.example", "Password reset mail never arrives"),
        ("Tom Ward", "tom@cust.example", "Export to CSV is empty"),
    ]
    for n, (name, email, text) in enumerate(people):
        contact = account.add_contact(name, email, phone=f"+44 20 7946 0{n:03d}" if n % 2 else None)
        row = account.open_conversation(
            contact,
            text,
            inbox="email" if email and n % 3 == 0 else "web",
            subject=text if n % 3 == 0 else None,
        )
        if n == 1:
            account.assign(row, admin, agent.id)
            account.set_priority(row, admin, "urgent")
        if n == 2:
            account.set_team(row, admin, billing)
            account.set_labels(row, admin, ["billing", "plans"])
        if n == 3:
            account.set_status(row, admin, "pending", None)
        if n == 4:
            account.set_status(row, admin, "snoozed", account.now() + 3600)
        if n == 5:
            account.agent_message(row.display_id, admin, "Fixed in 4.2, sorry!", private=False)
            account.set_status(row, admin, "resolved", None)
    account.canned = [
        {"id": 1, "short_code": "hello", "content": "Hi {{contact.name}}, thanks for reaching out!"},
        {"id": 2, "short_code": "refund", "content": "Your refund is on its way: 3-5 working days."},
        {"id": 3, "short_code": "reset", "content": "Please check your spam folder for the reset mail."},
    ]
    account.articles = [
        {
            "id": 11,
            "slug": "change-plan",
            "title": "Changing your plan",
            "locale": "en",
            "content": "You can change your plan at any time from Settings > Billing.",
            "description": "Upgrade or downgrade mid-month",
            "category": {"id": 1, "name": "Billing", "slug": "billing", "locale": "en"},
        },
        {
            "id": 12,
            "slug": "password-reset",
            "title": "Password reset mail",
            "locale": "en",
            "content": "Reset mails come from no-reply@acme.example; check spam.",
            "description": "When the reset mail does not arrive",
            "category": {"id": 2, "name": "Account", "slug": "account", "locale": "en"},
        },
        {
            "id": 13,
            "slug": "refunds",
            "title": "Refunds",
            "locale": "en",
            "content": "Refunds take 3-5 working days to reach your card.",
            "description": "How refunds work",
            "category": {"id": 1, "name": "Billing", "slug": "billing", "locale": "en"},
        },
    ]
    return account, admin, agent
