"""The `Backend` protocol: all the TUI and CLI may know about a help desk.

One adapter per help desk implements it (native desk server first). Front ends program
against this and never learn which help desk is behind it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Protocol

from agent_console.core.models import (
    Agent,
    Attachment,
    CannedResponse,
    Contact,
    Conversation,
    ConversationPage,
    ConversationPatch,
    Desk,
    Event,
    KbArticle,
    KbHit,
    LabelCount,
    Message,
    ReadState,
    SlaBreachPage,
    SlaPolicy,
    SlaPolicyInput,
    SlaPolicyPatch,
    Stats,
    SuggestionList,
    Team,
)


class FeedItem:
    """One thing the live feed said: an event, a keepalive, or a resync demand."""

    __slots__ = ("kind", "event", "seq")

    def __init__(self, kind: str, *, event: Event | None = None, seq: int = 0) -> None:
        self.kind = kind  # "open" (handshake done) | "event" | "ping" | "resync_required"
        self.event = event
        self.seq = seq

    def __repr__(self) -> str:
        return f"FeedItem({self.kind!r}, seq={self.seq})"


def desk_key(backend_name: str, desk: Desk) -> str:
    """What local state (drafts, outbox) is filed under: the desk, not the URL it answers at."""
    return f"{backend_name}:{desk.id}"


class Backend(Protocol):
    """An open session with one help desk, as one agent."""

    name: str

    async def me(self) -> Agent: ...
    async def desk(self) -> Desk:
        """The desk's stable identity (and public URL): local state is keyed by `desk_key` of it."""
        ...

    async def agents(self) -> list[Agent]: ...
    async def teams(self) -> list[Team]: ...
    async def contacts(self, *, search: str | None = None, limit: int = 50) -> list[Contact]: ...
    async def contact(self, contact_id: int) -> Contact: ...

    async def conversations(
        self,
        *,
        view: str = "all",
        statuses: Sequence[str] = ("open",),
        query: str | None = None,
        label: str | None = None,
        contact_id: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
        before: str | None = None,  # the rows just before this position, in queue order
        # Seconds: the urgent view also holds what is due within this long (the console's window).
        breaching_within: int | None = None,
    ) -> ConversationPage: ...

    async def conversation(self, conversation_id: int) -> Conversation: ...
    async def update_conversation(self, conversation_id: int, patch: ConversationPatch) -> Conversation: ...
    async def messages(self, conversation_id: int, *, after: int | None = None) -> list[Message]: ...

    async def send_message(
        self,
        conversation_id: int,
        body: str,
        *,
        private: bool = False,
        last_seen_message_id: int | None = None,
        force: bool = False,
        idempotency_key: str | None = None,
        retry_since: float | None = None,
    ) -> Message:
        """`retry_since` (epoch seconds, when the reply was first queued): an earlier try may
        have landed. A help desk without idempotency keys reads back before sending again."""
        ...

    async def set_typing(self, conversation_id: int, *, active: bool, private: bool = False) -> None: ...
    async def set_viewing(self, conversation_id: int, *, active: bool) -> None: ...
    async def set_presence(self, presence: str) -> Agent: ...

    async def labels(self) -> list[LabelCount]:
        """The desk's labels in use (folded), with how many conversations carry each."""
        ...

    async def canned_responses(
        self, *, query: str | None = None, locale: str | None = None
    ) -> list[CannedResponse]: ...
    async def kb_search(self, query: str, *, locale: str | None = None, limit: int = 20) -> list[KbHit]: ...
    async def kb_article(self, article_id: int) -> KbArticle: ...

    def feed(self, since: int | None, *, presence: bool = True) -> AsyncIterator[FeedItem]:
        """One connection to the live feed; ends (or raises Unreachable) when it drops.

        With `presence=False` the connection does not mark the agent online or offline."""
        ...

    async def aclose(self) -> None: ...

    # SLA policies: anyone reads them, admins change them.
    async def sla_policies(self) -> list[SlaPolicy]: ...
    async def sla_policy(self, policy_id: int) -> SlaPolicy: ...
    async def create_sla_policy(self, policy: SlaPolicyInput) -> SlaPolicy: ...
    async def update_sla_policy(self, policy_id: int, patch: SlaPolicyPatch) -> SlaPolicy: ...
    async def delete_sla_policy(self, policy_id: int) -> None: ...
    async def sla_breaches(
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
        """Recorded SLA breaches, newest first (keyset pages)."""
        ...

    async def mark_read(
        self, conversation_id: int, *, message_id: int | None = None, unread: bool = False
    ) -> ReadState:
        """Move this agent's read mark: read up to `message_id`, or (`unread`) make the newest
        message from the customer or a colleague unread again. Marks live on the server."""
        ...

    # Email attachments (a help desk without them lists none).
    async def attachments(self, conversation_id: int) -> list[Attachment]: ...
    async def attachment(self, attachment_id: int) -> Attachment: ...
    async def attachment_content(self, attachment_id: int) -> bytes: ...

    # KPIs (a help desk without them raises NotAvailable).
    async def stats(
        self,
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        team_id: int | None = None,
        agent_id: int | None = None,
        tz: str | None = None,
    ) -> Stats:
        """KPIs over [since, until) (default: the last 7 days); hours in `tz` (default: the
        agent's own zone); a date means midnight in that zone."""
        ...

    # Triage: an agent's correction of the language the desk detected (kept from then on).
    async def set_language(self, conversation_id: int, language: str) -> Conversation: ...
    # Suggested replies: canned responses and KB articles for the customer's last messages.
    async def suggestions(self, conversation_id: int) -> SuggestionList: ...
