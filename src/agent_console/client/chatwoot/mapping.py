"""Chatwoot's JSON <-> our core models. Pure functions: no I/O.

Chatwoot's quirks handled here, once:
- `message_type` is an integer in answers (0 incoming, 1 outgoing, 2 activity, 3 template);
- a conversation's `id` is its display id (what every route takes);
- times are unix seconds; a value Chatwoot has not set arrives as null, 0 or not at all;
- its priorities are urgent/high/medium/low/none(null): ours have no "medium", so medium and
  none both read as "normal", and "normal" is written as "none".

Every field is read with `.get`, so a field Chatwoot adds, drops or nulls never breaks a read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent_console.core.models import (
    Agent,
    AgentRef,
    Attachment,
    Author,
    CannedResponse,
    Contact,
    Conversation,
    KbArticle,
    KbHit,
    Message,
    MessagePreview,
    Team,
    TeamRef,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Chatwoot inbox channel types -> our channels (anything else is a social/API inbox).
_CHANNELS = {
    "Channel::WebWidget": "web_chat",
    "Channel::Email": "email",
    "Channel::Whatsapp": "whatsapp",
    "Channel::Sms": "sms",
    "Channel::TwilioSms": "sms",
}
_PRIORITY_IN = {"urgent": "urgent", "high": "high", "medium": "normal", "low": "low"}
PRIORITY_OUT = {"urgent": "urgent", "high": "high", "normal": "none", "low": "low"}
_PRESENCE_IN = {"available": "online", "online": "online", "busy": "busy", "offline": "offline"}
_STATUSES = ("open", "pending", "snoozed", "resolved")
# Chatwoot's Message model refuses longer content (422, an answer its document does not list).
MAX_CONTENT = 150_000


def when(value: Any) -> datetime | None:
    """Unix seconds (int, float or numeric string) -> aware UTC datetime; unset -> None."""
    if value in (None, "", 0):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def unix(value: datetime) -> int:
    return int(value.timestamp())


def presence(raw: Any) -> str:
    return _PRESENCE_IN.get(str(raw or "offline"), "offline")


def agent(raw: dict[str, Any]) -> Agent:
    role = "admin" if raw.get("role") == "administrator" else "agent"
    return Agent(
        id=int(raw["id"]),
        name=str(raw.get("available_name") or raw.get("name") or f"Agent {raw['id']}"),
        email=str(raw.get("email") or ""),
        role=role,
        timezone="UTC",  # Chatwoot keeps no per-agent time zone
        presence=presence(raw.get("availability_status") or raw.get("availability")),
    )


def profile_agent(raw: dict[str, Any], account_id: int) -> Agent:
    """GET /api/v1/profile: the user, with role and availability taken from this account."""
    account = next((a for a in raw.get("accounts") or [] if a.get("id") == account_id), {})
    merged = {**raw, "role": account.get("role", raw.get("role"))}
    merged["availability_status"] = account.get("availability_status") or account.get("availability")
    return agent(merged)


def team(raw: dict[str, Any]) -> Team:
    return Team(
        id=int(raw["id"]), name=str(raw.get("name") or ""), description=str(raw.get("description") or "")
    )


def contact(raw: dict[str, Any]) -> Contact:
    extra = raw.get("additional_attributes") or {}
    return Contact(
        id=int(raw["id"]),
        name=str(raw.get("name") or raw.get("email") or raw.get("phone_number") or f"Contact {raw['id']}"),
        email=raw.get("email") or None,
        phone=raw.get("phone_number") or None,
        language=str(extra.get("browser_language") or extra.get("language") or "en"),
        timezone=extra.get("timezone") or None,
    )


def channel(raw: Any) -> str:
    return _CHANNELS.get(str(raw or ""), "social")


def message_kind(raw: dict[str, Any]) -> str:
    kind = int(raw.get("message_type") or 0)
    if kind == 2:
        return "activity"
    if kind == 0:
        return "incoming"
    if raw.get("private"):
        return "note"
    if (
        raw.get("sender_type") in ("agent_bot", "AgentBot")
        or (raw.get("sender") or {}).get("type") == "agent_bot"
    ):
        return "bot"
    return "outgoing"


def author(raw: dict[str, Any]) -> Author:
    kind = message_kind(raw)
    sender = raw.get("sender") or {}
    sender_id = raw.get("sender_id") or sender.get("id")
    name = str(sender.get("available_name") or sender.get("name") or "")
    if kind == "activity":
        return Author(type="system", name=name)
    if kind == "incoming":
        return Author(type="contact", id=sender_id, name=name)
    if kind == "bot":
        return Author(type="bot", id=sender_id, name=name)
    return Author(type="agent", id=sender_id, name=name)


def message(raw: dict[str, Any], conversation_id: int | None = None) -> Message:
    return Message(
        id=int(raw["id"]),
        conversation_id=int(conversation_id if conversation_id is not None else raw["conversation_id"]),
        kind=message_kind(raw),  # type: ignore[arg-type]
        body=str(raw.get("content") or ""),
        author=author(raw),
        created_at=when(raw.get("created_at")) or EPOCH,
    )


def preview(raw: dict[str, Any] | None) -> MessagePreview | None:
    if not raw or "id" not in raw:
        return None
    return MessagePreview(
        id=int(raw["id"]),
        kind=message_kind(raw),  # type: ignore[arg-type]
        body=str(raw.get("content") or ""),
        created_at=when(raw.get("created_at")) or EPOCH,
    )


def conversation(raw: dict[str, Any], *, seq: int, message_count: int = 0) -> Conversation:
    """One conversation from a list, a detail read or a feed event (same serializer)."""
    meta = raw.get("meta") or {}
    sender = meta.get("sender") or {}
    assignee = meta.get("assignee") or None
    team_raw = meta.get("team") or None
    extra = raw.get("additional_attributes") or {}
    # The preview is the last thing someone wrote: activity lines ("Ana set the priority") are
    # events, not messages to show as the conversation's latest.
    said = [m for m in raw.get("messages") or [] if m and int(m.get("message_type") or 0) != 2]
    last = raw.get("last_non_activity_message") or (said[-1] if said else None)
    created = when(raw.get("created_at")) or EPOCH
    activity = when(raw.get("last_activity_at")) or when(raw.get("timestamp")) or created
    status = raw.get("status")
    return Conversation(
        id=int(raw["id"]),
        channel=channel(meta.get("channel")),  # type: ignore[arg-type]
        status=status if status in _STATUSES else "open",  # type: ignore[arg-type]
        priority=_PRIORITY_IN.get(str(raw.get("priority") or ""), "normal"),  # type: ignore[arg-type]
        subject=extra.get("mail_subject") or None,
        language=str((sender.get("additional_attributes") or {}).get("browser_language") or "en"),
        contact=contact(sender) if sender.get("id") is not None else Contact(id=0, name="(unknown)"),
        assignee=AgentRef(
            id=int(assignee["id"]), name=str(assignee.get("available_name") or assignee.get("name") or "")
        )
        if assignee and assignee.get("id") is not None
        else None,
        team=TeamRef(id=int(team_raw["id"]), name=str(team_raw.get("name") or ""))
        if team_raw and team_raw.get("id") is not None
        else None,
        labels=[str(label) for label in raw.get("labels") or []],
        created_at=created,
        updated_at=when(raw.get("updated_at")) or activity,
        last_activity_at=activity,
        first_response_at=when(raw.get("first_reply_created_at")),
        waiting_since=when(raw.get("waiting_since")),
        snoozed_until=when(raw.get("snoozed_until")) if status == "snoozed" else None,
        due_at=None,  # SLA deadlines are an enterprise add-on in Chatwoot: not read here
        unread_count=int(raw.get("unread_count") or 0),
        message_count=message_count,
        last_message=preview(last),
        seq=seq,
    )


def attachment(raw: dict[str, Any], message_id: int) -> Attachment:
    """One of a message's `attachments` (Chatwoot's attachment serializer)."""
    url = str(raw.get("data_url") or "")
    name = url.rsplit("/", 1)[-1].split("?", 1)[0] or f"attachment-{raw['id']}"
    kind = str(raw.get("file_type") or "file")
    return Attachment(
        id=int(raw["id"]),
        message_id=int(raw.get("message_id") or message_id),
        filename=name,
        content_type=kind if "/" in kind else f"{kind}/{raw.get('extension') or '*'}",
        size=int(raw.get("file_size") or 0),
    )


def canned(raw: dict[str, Any]) -> CannedResponse:
    code = str(raw.get("short_code") or "")
    return CannedResponse(
        id=int(raw["id"]), shortcode=code, title=code, body=str(raw.get("content") or ""), locale=""
    )


def kb_article(raw: dict[str, Any]) -> KbArticle:
    category = raw.get("category") or {}
    return KbArticle(
        id=int(raw["id"]),
        slug=str(raw.get("slug") or raw["id"]),
        title=str(raw.get("title") or ""),
        body=str(raw.get("content") or ""),
        tags=[str(category["name"])] if category.get("name") else [],
        locale=str(raw.get("locale") or category.get("locale") or "en"),
        updated_at=when(raw.get("updated_at")) or EPOCH,
    )


def kb_hit(raw: dict[str, Any], query: str, rank: int) -> KbHit:
    from agent_console.core.models import SNIPPET_CLOSE, SNIPPET_OPEN

    article = kb_article(raw)
    text = str(raw.get("description") or "") or article.body
    snippet = text[:200]
    lowered = snippet.lower()
    for term in sorted({t for t in query.lower().split() if t}, key=len, reverse=True):
        at = lowered.find(term)
        if at >= 0:
            snippet = (
                snippet[:at]
                + SNIPPET_OPEN
                + snippet[at : at + len(term)]
                + SNIPPET_CLOSE
                + snippet[at + len(term) :]
            )
            break
    return KbHit(
        id=article.id,
        title=article.title,
        locale=article.locale,
        tags=article.tags,
        snippet=snippet,
        score=1.0 / (1 + rank),  # Chatwoot ranks; it does not score
        updated_at=article.updated_at,
    )
