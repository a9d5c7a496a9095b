"""Plain, immutable records describing the demo help desk.

The desk server turns these into rows; nothing here knows about storage or the wire
schema. Every datetime is tz-aware UTC. Agents are referred to by email address and
teams by name, so a seed can be written before anything has an id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AgentSeed:
    name: str
    email: str
    role: str  # "agent" or "admin"
    timezone: str  # IANA zone
    team: str  # TeamSeed.name


@dataclass(frozen=True, slots=True)
class TeamSeed:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class KbArticleSeed:
    slug: str
    title: str
    body: str  # Markdown, without the front matter
    tags: tuple[str, ...]
    locale: str
    updated_at: datetime  # tz-aware UTC


@dataclass(frozen=True, slots=True)
class CannedSeed:
    shortcode: str
    title: str
    body: str
    locale: str


@dataclass(frozen=True, slots=True)
class ContactSeed:
    key: int  # referenced by ConversationSeed.contact_key
    name: str
    email: str | None
    phone: str | None  # E.164
    language: str
    timezone: str  # IANA zone


@dataclass(frozen=True, slots=True)
class MessageSeed:
    kind: str  # incoming | outgoing | note | bot | activity
    body: str
    at: datetime  # tz-aware UTC
    author_agent: str | None  # agent email for outgoing and note, else None


@dataclass(frozen=True, slots=True)
class ConversationSeed:
    contact_key: int
    channel: str  # web_chat | email | whatsapp | sms | social
    status: str  # open | pending | snoozed | resolved
    priority: str  # urgent | high | normal | low
    subject: str | None
    language: str
    labels: tuple[str, ...]
    assignee: str | None  # agent email
    team: str | None  # team name
    created_at: datetime  # tz-aware UTC
    snoozed_until: datetime | None
    messages: tuple[MessageSeed, ...]


@dataclass(frozen=True, slots=True)
class DemoDataset:
    agents: tuple[AgentSeed, ...]
    teams: tuple[TeamSeed, ...]
    contacts: tuple[ContactSeed, ...]
    conversations: tuple[ConversationSeed, ...]
    kb_articles: tuple[KbArticleSeed, ...]
    canned: tuple[CannedSeed, ...]


@dataclass(frozen=True, slots=True)
class InboundSeed:
    """A brand-new customer message, as the traffic simulator delivers it."""

    channel: str
    contact_name: str
    contact_email: str | None
    contact_phone: str | None
    language: str
    timezone: str
    subject: str | None
    body: str
