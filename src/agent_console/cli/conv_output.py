"""How conversations print in text and CSV: what an agent needs to see of each row.

A conversation's summary is its subject, or for a chat (no subject) the last message the
customer can see. The wire's `last_message` is the latest message of any kind, a private
note included, so when it is a note the commands first look up the last customer-visible
one (`visible_last_messages`) and hand the answers to `conversation_spec`. A note never
shows as a summary or as `last_message` in text or CSV; JSON stays the wire object.

Imported inside the commands only (it pulls in `output`, msgspec and the core models).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from agent_console.cli.output import Column, Getter, Spec, relative
from agent_console.core.bot_view import full_line
from agent_console.core.clock import to_iso
from agent_console.core.visibility import customer_visible

if TYPE_CHECKING:
    from agent_console.client.backend import Backend

LOOKUPS_AT_ONCE = 8  # conversations whose visible message is looked up concurrently


def needs_lookup(conversation: Any) -> bool:
    """True when the wire's last message is not one the customer saw (a note)."""
    last = conversation.last_message
    return last is not None and not customer_visible(last)


async def visible_last_messages(
    backend: Backend, conversations: Iterable[Any], *, subjectless_only: bool = False
) -> dict[int, Any]:
    """conversation id -> its last customer-visible message (None if it has none), for the
    conversations whose wire `last_message` is a note. One request each, a few at a time.
    `subjectless_only`: only chats, when the subject is all a view shows of the others."""
    import asyncio

    from agent_console.client.errors import NotFound

    todo = [c for c in conversations if needs_lookup(c) and not (subjectless_only and c.subject)]
    if not todo:
        return {}
    gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def one(conversation: Any) -> tuple[int, Any]:
        async with gate:
            try:
                messages = await backend.messages(conversation.id)
            except NotFound:  # deleted since the list was read
                return conversation.id, None
        visible = (m for m in reversed(messages) if customer_visible(m))
        return conversation.id, next(visible, None)

    return dict(await asyncio.gather(*(one(c) for c in todo)))


def _status_style(value: Any) -> str | None:
    return {"open": "green", "pending": "yellow", "snoozed": "blue", "resolved": "dim"}.get(value)


def _priority_style(value: Any) -> str | None:
    return {"urgent": "bold red", "high": "red", "low": "dim"}.get(value)


def _due_text(conv: Any) -> str:
    return relative(conv.due_at)


def _due_style(value: Any) -> str | None:
    return "bold red" if isinstance(value, str) and value.endswith("late") else None


def _ref(attr: str, key: str) -> Getter:
    def get(item: Any) -> Any:
        ref = getattr(item, attr)
        return None if ref is None else getattr(ref, key)

    return get


def conversation_spec(looked_up: Mapping[int, Any] | None = None) -> Spec:
    """The text and CSV columns for conversations. `looked_up` holds the answers of
    `visible_last_messages`; a conversation whose last message is a note and was not looked
    up shows no last message rather than the note."""
    known = looked_up or {}

    def last(conv: Any) -> Any:
        if conv.id in known:
            return known[conv.id]
        return None if needs_lookup(conv) else conv.last_message

    def last_get(key: str) -> Getter:
        def get(conv: Any) -> Any:
            message = last(conv)
            return None if message is None else getattr(message, key)

        return get

    def summary(conv: Any) -> str:
        if conv.subject:
            return conv.subject
        message = last(conv)
        return message.body if message is not None else ""

    def last_line(conv: Any) -> str:
        message = last(conv)
        return f"[{message.kind}] {message.body}" if message is not None else ""

    csv_columns = [
        Column("id", lambda c: c.id),
        Column("status", lambda c: c.status),
        Column("priority", lambda c: c.priority),
        Column("channel", lambda c: c.channel),
        Column("subject", lambda c: c.subject),
        Column("language", lambda c: c.language),
        Column("contact_id", lambda c: c.contact.id),
        Column("contact_name", lambda c: c.contact.name),
        Column("contact_email", lambda c: c.contact.email),
        Column("assignee_id", _ref("assignee", "id")),
        Column("assignee_name", _ref("assignee", "name")),
        Column("team_id", _ref("team", "id")),
        Column("team_name", _ref("team", "name")),
        Column("labels", lambda c: c.labels),
        Column("created_at", lambda c: c.created_at),
        Column("updated_at", lambda c: c.updated_at),
        Column("last_activity_at", lambda c: c.last_activity_at),
        Column("first_response_at", lambda c: c.first_response_at),
        Column("waiting_since", lambda c: c.waiting_since),
        Column("snoozed_until", lambda c: c.snoozed_until),
        Column("due_at", lambda c: c.due_at),
        Column("unread_count", lambda c: c.unread_count),
        Column("message_count", lambda c: c.message_count),
        Column("seq", lambda c: c.seq),
        # Appended, so scripts that read the columns above by position keep working.
        Column("summary", summary),
        Column("last_message_id", last_get("id")),
        Column("last_message_kind", last_get("kind")),
        Column("last_message_at", last_get("created_at")),
        Column("last_message", last_get("body")),
        Column("bot_status", lambda c: c.bot_status),
        Column("bot_reason", lambda c: c.bot_reason),
    ]
    return Spec(
        text_columns=[
            Column("ID", lambda c: c.id),
            Column("STATUS", lambda c: c.status, style=_status_style),
            Column("PRIORITY", lambda c: c.priority, style=_priority_style),
            Column("DUE", _due_text, style=_due_style),
            Column("ASSIGNEE", _ref("assignee", "name"), max_width=18, drop=2),
            Column("TEAM", _ref("team", "name"), max_width=14, drop=4),
            Column("CONTACT", lambda c: c.contact.name, max_width=22, drop=1),
            Column("CHANNEL", lambda c: c.channel, drop=5),
            Column("LABELS", lambda c: c.labels, max_width=24, drop=3),
            Column("SUMMARY", summary, max_width=60),
        ],
        csv_columns=csv_columns,
        title=lambda c: f"Conversation {c.id}: {c.subject or '(no subject)'}",
        fields=lambda c: [
            ("Status", c.status + (f" until {to_iso(c.snoozed_until)}" if c.snoozed_until else "")),
            ("Priority", c.priority),
            ("Channel", c.channel),
            ("Language", c.language),
            (
                "Contact",
                " ".join(
                    p
                    for p in (
                        c.contact.name,
                        f"<{c.contact.email}>" if c.contact.email else "",
                        c.contact.phone or "",
                    )
                    if p
                ),
            ),
            ("Assignee", c.assignee.name if c.assignee else "(unassigned)"),
            ("Team", c.team.name if c.team else ""),
            ("Labels", ", ".join(c.labels)),
            ("Due", due_text(c)),
            ("Waiting since", c.waiting_since),
            ("Created", c.created_at),
            ("Last activity", c.last_activity_at),
            ("Messages", f"{c.message_count} ({c.unread_count} unread)"),
            ("Last message", last_line(c)),
            ("Bot", full_line(c) or ""),
            *triage_fields(c),
        ],
    )


def due_text(c: Any) -> str:
    """When the next answer is due, or why nothing is (never an empty line)."""
    if c.due_at:
        clock = next((k.name.upper() for k in (c.sla.clocks if c.sla else ()) if k.due_at == c.due_at), "")
        return f"{to_iso(c.due_at)} ({relative(c.due_at)}){' ' + clock if clock else ''}"
    if c.status in ("pending", "snoozed"):
        return f"nothing: SLA clocks are paused while {c.status}"
    if c.status == "resolved":
        return "nothing: resolved"
    if c.sla is None:
        return "nothing: no SLA policy applies"
    return "nothing: no SLA clock is running"


def triage_fields(c: Any) -> list[tuple[str, str]]:
    """The language's source and the triage rules' suggestion, once the desk has triaged it."""
    triage = getattr(c, "triage", None)
    if triage is None:
        return []
    reasons = "; ".join(hit.reason for hit in triage.rules) or "no rule fired"
    suggested = f"suggests {triage.priority}: " if triage.priority else ""
    topics = f" (topics: {', '.join(triage.topics)})" if triage.topics else ""
    return [
        ("Language from", c.language_source),
        ("Triage", suggested + reasons + topics + (" · upset" if triage.upset else "")),
    ]


CONVERSATIONS = conversation_spec()
