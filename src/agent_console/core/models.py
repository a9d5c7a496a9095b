"""The wire and domain schema, shared by the desk server and every client.

msgspec Structs: strict validation, fast decode, tiny import cost. The server's OpenAPI
document is generated from these same classes, so a field exists in exactly one place.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

Channel = Literal["web_chat", "email", "whatsapp", "sms", "social"]
Status = Literal["open", "pending", "snoozed", "resolved"]
Priority = Literal["urgent", "high", "normal", "low"]
MessageKind = Literal["incoming", "outgoing", "note", "bot", "activity"]
Role = Literal["agent", "admin", "integration"]
Presence = Literal["online", "busy", "away", "offline"]
View = Literal["mine", "unassigned", "all", "urgent"]
AuthorType = Literal["contact", "agent", "bot", "system"]
BotStatus = Literal["active", "handed_off", "resolved", "stopped"]

CHANNELS: tuple[str, ...] = ("web_chat", "email", "whatsapp", "sms", "social")
STATUSES: tuple[str, ...] = ("open", "pending", "snoozed", "resolved")
PRIORITIES: tuple[str, ...] = ("urgent", "high", "normal", "low")
PRESENCES: tuple[str, ...] = ("online", "busy", "away", "offline")

# Bounded strings keep one bad client from storing megabytes in a name.
ShortText = Annotated[str, Meta(min_length=1, max_length=200)]
# No comma and none of the characters Python's str.isspace() counts, spelt out: `\s` means
# fewer characters to a JSON Schema (ECMA) regex than to Python's, and the document must
# allow exactly what the server takes.
LABEL_PATTERN = r"^[^,\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$"
Label = Annotated[str, Meta(min_length=1, max_length=50, pattern=LABEL_PATTERN)]
Body = Annotated[str, Meta(min_length=1, max_length=200_000)]
Id = Annotated[int, Meta(ge=1, le=2**53)]


class Agent(Struct, kw_only=True):
    id: int
    name: str
    email: str
    role: Role
    timezone: str
    presence: Presence
    team_ids: list[int] = []
    languages: list[str] = []
    active: bool = True  # a deactivated agent keeps its history; its token no longer works


class Desk(Struct, kw_only=True):
    """The help desk itself: `id` is made once and never changes, whatever its URL."""

    id: str
    name: str
    # Where customers reach the desk's public pages (KB links in replies); None until set.
    public_url: str | None = None


class Team(Struct, kw_only=True):
    id: int
    name: str
    description: str = ""


class Contact(Struct, kw_only=True):
    id: int
    name: str
    email: str | None = None
    phone: str | None = None
    language: str = "en"
    timezone: str | None = None


class AgentRef(Struct, kw_only=True):
    id: int
    name: str


class TeamRef(Struct, kw_only=True):
    id: int
    name: str


class MessagePreview(Struct, kw_only=True):
    id: int
    kind: MessageKind
    body: str
    created_at: datetime


class Conversation(Struct, kw_only=True):
    id: int
    channel: Channel
    status: Status
    priority: Priority
    subject: str | None
    language: str
    contact: Contact
    assignee: AgentRef | None
    team: TeamRef | None
    labels: list[str]
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    first_response_at: datetime | None
    waiting_since: datetime | None
    snoozed_until: datetime | None
    # When the next answer is due under the SLA policy; None when nobody is waiting.
    due_at: datetime | None
    unread_count: int
    message_count: int
    last_message: MessagePreview | None
    # Sequence number of the last event that changed this conversation: a client keeps
    # whichever copy has the higher seq, so a late event never overwrites newer state.
    seq: int
    # Every SLA clock of the applied policy (None: no policy applies, or an older server).
    sla: SlaInfo | None = None
    # The asking agent's read mark (REST answers only; the feed's copies are not personal,
    # see docs/PROTOCOL.md "Unread"): the newest message id they have read here (0: none),
    # and the seq of the `conversation.read` event that last set it.
    last_read_message_id: int = 0
    read_seq: int = 0
    # Where `language` came from: the contact's profile, the text (core/language.py) or an
    # agent's correction (which detection then leaves alone); and the latest triage.
    language_source: LanguageSource = "contact"
    triage: Triage | None = None
    # The FAQ bot (server/bot.py): "active" while it answers (status pending), then
    # "handed_off" (with the reason's code and text), "resolved", or "stopped" (an agent took
    # over); None when the bot never had it.
    bot_status: BotStatus | None = None
    bot_reason: str | None = None
    bot_reason_text: str | None = None
    # The last message the customer saw (incoming, outgoing, bot): the queue's preview when
    # a note came after it. None from desks that do not say (the preview then uses last_message).
    last_visible: MessagePreview | None = None


class Author(Struct, kw_only=True):
    type: AuthorType
    id: int | None = None
    name: str = ""


class Message(Struct, kw_only=True):
    id: int
    conversation_id: int
    kind: MessageKind
    body: str
    author: Author
    created_at: datetime
    # Files that came with it (email); described below, next to the other email types.
    attachments: list[Attachment] = []


class CannedResponse(Struct, kw_only=True):
    id: int
    shortcode: str
    title: str
    body: str
    locale: str


class KbHit(Struct, kw_only=True):
    id: int
    title: str
    locale: str
    tags: list[str]
    # Plain text; the matched terms are wrapped in the U+E000/U+E001 private-use markers
    # (SNIPPET_OPEN/SNIPPET_CLOSE) so a client can highlight them without parsing markup.
    snippet: str
    score: float
    updated_at: datetime


SNIPPET_OPEN = "\ue000"
SNIPPET_CLOSE = "\ue001"


class KbArticle(Struct, kw_only=True):
    id: int
    slug: str
    title: str
    body: str
    tags: list[str]
    locale: str
    updated_at: datetime
    status: Literal["draft", "published"] = "published"  # agents see published ones only
    # Articles sharing this key are translations of one article.
    translation_key: str = ""
    revision: int = 1
    updated_by: str | None = None


# --- list envelopes -------------------------------------------------------------------


class ConversationCounts(Struct, kw_only=True):
    mine: int
    unassigned: int
    all: int
    urgent: int


class ConversationPage(Struct, kw_only=True):
    items: list[Conversation]
    next_cursor: str | None
    counts: ConversationCounts
    # The event log's head when this page was read: resume the live feed from here.
    head_seq: int


class MessagePage(Struct, kw_only=True):
    items: list[Message]


class AgentList(Struct, kw_only=True):
    items: list[Agent]


class TeamList(Struct, kw_only=True):
    items: list[Team]


class ContactList(Struct, kw_only=True):
    items: list[Contact]


class CannedList(Struct, kw_only=True):
    items: list[CannedResponse]


class LabelCount(Struct, kw_only=True):
    name: str
    count: int  # conversations carrying it, whatever their status
    color: str | None = None  # "#rrggbb" for a label on the managed list


class LabelList(Struct, kw_only=True):
    items: list[LabelCount]


class KbSearchResult(Struct, kw_only=True):
    items: list[KbHit]


# --- requests -------------------------------------------------------------------------


class ConversationPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out stay as they are; `null` clears assignee, team or snooze."""

    status: Status | msgspec.UnsetType = msgspec.UNSET
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    assignee_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    team_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    labels: Annotated[list[Label], Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET
    snoozed_until: datetime | None | msgspec.UnsetType = msgspec.UNSET
    # true: send the conversation back to the FAQ bot (status pending, the bot answers again).
    bot: Literal[True] | msgspec.UnsetType = msgspec.UNSET


class NewMessage(Struct, kw_only=True, forbid_unknown_fields=True):
    body: Body
    private: bool = False
    # The newest message the agent has seen; if anyone wrote since, the server answers 409.
    last_seen_message_id: Id | None = None
    force: bool = False


class InboundContact(Struct, kw_only=True, forbid_unknown_fields=True):
    name: ShortText
    email: Annotated[str, Meta(max_length=200)] | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None
    language: Annotated[str, Meta(min_length=2, max_length=16)] | None = None
    timezone: Annotated[str, Meta(max_length=64)] | None = None


class InboundMessage(Struct, kw_only=True, forbid_unknown_fields=True):
    channel: Channel
    contact: InboundContact
    body: Body
    subject: Annotated[str, Meta(max_length=300)] | None = None
    conversation_id: Id | None = None


class InboundResult(Struct, kw_only=True):
    conversation_id: int
    message: Message
    created: bool


class PresenceUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    presence: Presence


class TypingUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    active: bool
    private: bool = False


class ViewingUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    active: bool


class InboundTyping(Struct, kw_only=True, forbid_unknown_fields=True):
    conversation_id: Id
    active: bool


# --- errors ---------------------------------------------------------------------------


class ErrorBody(Struct, kw_only=True, omit_defaults=True):
    code: str
    message: str
    # For 409 stale replies: the messages the agent has not seen yet.
    unseen: list[Message] | None = None
    field: str | None = None


class ErrorResponse(Struct, kw_only=True):
    error: ErrorBody


# --- live feed ------------------------------------------------------------------------


class Event(Struct, kw_only=True):
    """One entry of the server's event log, as sent on the live feed."""

    seq: int
    type: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


EVENT_TYPES: tuple[str, ...] = (
    "conversation.created",
    "conversation.updated",
    "message.created",
    "presence.updated",
    "typing",
    "viewing",
    "sla.warning",
    "sla.breached",
    "conversation.read",
    "csat.submitted",
    "conversation.triaged",
)


# --- SLA policies ---------------------------------------------------------------------

SlaClockName = Literal["frt", "nrt", "rt"]
SlaClockState = Literal["running", "paused", "hit", "missed"]
SlaStatus = Literal["active", "hit", "missed", "active_with_misses"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Seconds = Annotated[int, Meta(ge=1, le=366 * 86400)]
ClockText = Annotated[str, Meta(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]


class SlaClock(Struct, kw_only=True):
    name: SlaClockName
    due_at: datetime
    state: SlaClockState
    # How late the clock stopped (missed ones that stopped); None while running or on time.
    breached_by_s: int | None = None
    # From when only the policy's warning share of the target is left (colour it "soon").
    warn_at: datetime | None = None


class SlaInfo(Struct, kw_only=True):
    policy_id: int
    policy: str
    status: SlaStatus
    clocks: list[SlaClock]


class SlaHoursRange(Struct, kw_only=True, forbid_unknown_fields=True):
    day: Weekday
    start: ClockText
    end: ClockText


class SlaBusinessHours(Struct, kw_only=True, forbid_unknown_fields=True):
    """Weekly opening hours in an IANA zone, and dates (in that zone) the desk is closed."""

    zone: Annotated[str, Meta(min_length=1, max_length=64)]
    hours: Annotated[list[SlaHoursRange], Meta(min_length=1, max_length=100)]
    holidays: Annotated[list[date], Meta(max_length=1000)] = []


class SlaPolicy(Struct, kw_only=True):
    id: int
    name: str
    # Lower first; the first policy that matches a conversation applies.
    position: int
    is_default: bool
    priorities: list[Priority]
    channels: list[Channel]
    team_ids: list[int]
    first_response_s: int | None
    next_response_s: int | None
    resolution_s: int | None
    warn_share: float
    business_hours: SlaBusinessHours | None


class SlaPolicyList(Struct, kw_only=True):
    items: list[SlaPolicy]


class SlaPolicyInput(Struct, kw_only=True, forbid_unknown_fields=True):
    """A new policy. Empty priorities/channels/team_ids match any; null thresholds mean no
    target for that clock; no business_hours means 24/7."""

    name: ShortText
    position: Annotated[int, Meta(ge=0, le=100_000)] = 100
    is_default: bool = False
    priorities: Annotated[list[Priority], Meta(max_length=4)] = []
    channels: Annotated[list[Channel], Meta(max_length=5)] = []
    team_ids: Annotated[list[Id], Meta(max_length=100)] = []
    first_response_s: Seconds | None = None
    next_response_s: Seconds | None = None
    resolution_s: Seconds | None = None
    warn_share: Annotated[float, Meta(gt=0, lt=1)] = 0.25
    business_hours: SlaBusinessHours | None = None


class SlaPolicyPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out stay as they are."""

    name: ShortText | msgspec.UnsetType = msgspec.UNSET
    position: Annotated[int, Meta(ge=0, le=100_000)] | msgspec.UnsetType = msgspec.UNSET
    is_default: bool | msgspec.UnsetType = msgspec.UNSET
    priorities: Annotated[list[Priority], Meta(max_length=4)] | msgspec.UnsetType = msgspec.UNSET
    channels: Annotated[list[Channel], Meta(max_length=5)] | msgspec.UnsetType = msgspec.UNSET
    team_ids: Annotated[list[Id], Meta(max_length=100)] | msgspec.UnsetType = msgspec.UNSET
    first_response_s: Seconds | None | msgspec.UnsetType = msgspec.UNSET
    next_response_s: Seconds | None | msgspec.UnsetType = msgspec.UNSET
    resolution_s: Seconds | None | msgspec.UnsetType = msgspec.UNSET
    warn_share: Annotated[float, Meta(gt=0, lt=1)] | msgspec.UnsetType = msgspec.UNSET
    business_hours: SlaBusinessHours | None | msgspec.UnsetType = msgspec.UNSET


# --- read marks (unread counts per agent) ------------------------------------------------


class ReadUpTo(Struct, kw_only=True, forbid_unknown_fields=True, tag_field="mark", tag="read"):
    """`{"mark": "read", "message_id": N}`: read up to N (a mark only moves forward this way)."""

    message_id: Id


class MarkUnread(Struct, kw_only=True, forbid_unknown_fields=True, tag_field="mark", tag="unread"):
    """`{"mark": "unread"}`: the newest message from the customer or a colleague is unread again."""


ReadUpdate = ReadUpTo | MarkUnread


class ReadState(Struct, kw_only=True):
    """One agent's read mark in one conversation; also the `conversation.read` event's data."""

    conversation_id: int
    agent_id: int
    last_read_message_id: int
    # That agent's unread count when the mark was set: messages after it from the customer
    # or a colleague (never the agent's own, never activity lines).
    unread_count: int


# --- running the desk: admin writes (issue 18) ----------------------------------------

EVENT_TYPES += (
    "agent.created",
    "agent.updated",
    "team.created",
    "team.updated",
    "canned.created",
    "canned.updated",
    "canned.deleted",
    "label.created",
    "label.updated",
    "kb.article.created",
    "kb.article.updated",
)

Locale = Annotated[str, Meta(min_length=2, max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
# IANA names; the server's document lists the zones it knows as an enum.
TimeZone = Annotated[str, Meta(min_length=1, max_length=64)]
# Whitespace spelt out as in LABEL_PATTERN, so the document and the decoder agree exactly.
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
Email = Annotated[str, Meta(min_length=3, max_length=200, pattern=f"^[^@{_SPACE}]+@[^@{_SPACE}]+$")]
# Something to read: a character that is neither white space, a control nor a bidi override.
_VISIBLE = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202a-\u202f\u205f\u2066-\u2069\u3000]"
# One line: no control characters, and something visible on it.
OneLine = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=f"^[^\\x00-\\x1f\\x7f-\\x9f]*{_VISIBLE}[^\\x00-\\x1f\\x7f-\\x9f]*$",
    ),
]
Shortcode = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")]
Slug = Annotated[str, Meta(min_length=1, max_length=120, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Tag = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Colour = Annotated[str, Meta(pattern=r"^#[0-9a-f]{6}$")]
ArticleStatus = Literal["draft", "published"]
KB_STATUSES: tuple[str, ...] = ("draft", "published")
Title = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=300,
        pattern=f"^[^\\x00-\\x1f\\x7f-\\x9f]*{_VISIBLE}[^\\x00-\\x1f\\x7f-\\x9f]*$",
    ),
]
# 50,000 characters is a long article (the demo's longest is 2,500); schemathesis cannot build
# 200,000-character strings that match a pattern, so the bound stays where it can test it.
ArticleBody = Annotated[str, Meta(min_length=1, max_length=50_000, pattern=_VISIBLE)]
CannedBody = Annotated[str, Meta(min_length=1, max_length=20_000, pattern=_VISIBLE)]


class AgentToken(Struct, kw_only=True):
    """The token is in this answer only: the desk keeps its hash, never the token."""

    agent: Agent
    token: str


class NewAgent(Struct, kw_only=True, forbid_unknown_fields=True):
    name: OneLine
    email: Email
    role: Literal["agent", "admin"] = "agent"
    timezone: TimeZone = "UTC"
    languages: Annotated[list[Locale], Meta(max_length=20)] = []
    team_ids: Annotated[list[Id], Meta(max_length=50)] = []


class AgentUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out stay; `active: false` deactivates (its token stops working at once)."""

    name: OneLine | msgspec.UnsetType = msgspec.UNSET
    role: Literal["agent", "admin"] | msgspec.UnsetType = msgspec.UNSET
    timezone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    languages: Annotated[list[Locale], Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    team_ids: Annotated[list[Id], Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class NewTeam(Struct, kw_only=True, forbid_unknown_fields=True):
    name: OneLine
    description: Annotated[str, Meta(max_length=500)] = ""
    member_ids: Annotated[list[Id], Meta(max_length=500)] = []


class TeamUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    """`member_ids` replaces the members (agents join and leave in the same write)."""

    name: OneLine | msgspec.UnsetType = msgspec.UNSET
    description: Annotated[str, Meta(max_length=500)] | msgspec.UnsetType = msgspec.UNSET
    member_ids: Annotated[list[Id], Meta(max_length=500)] | msgspec.UnsetType = msgspec.UNSET


class TeamDetail(Struct, kw_only=True):
    id: int
    name: str
    description: str
    member_ids: list[int]


class NewCanned(Struct, kw_only=True, forbid_unknown_fields=True):
    shortcode: Shortcode
    title: Title
    body: CannedBody
    locale: Locale


class CannedUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    shortcode: Shortcode | msgspec.UnsetType = msgspec.UNSET
    title: Title | msgspec.UnsetType = msgspec.UNSET
    body: CannedBody | msgspec.UnsetType = msgspec.UNSET
    locale: Locale | msgspec.UnsetType = msgspec.UNSET


class NewLabel(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Label
    color: Colour = "#808080"


class LabelUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    """A new `name` renames; if that label exists already, the two merge into it."""

    name: Label | msgspec.UnsetType = msgspec.UNSET
    color: Colour | msgspec.UnsetType = msgspec.UNSET


class KbArticleList(Struct, kw_only=True):
    items: list[KbArticle]


class KbArticleInput(Struct, kw_only=True, forbid_unknown_fields=True):
    """Create an article, or (on import) create or update the one with this slug and locale."""

    slug: Slug
    title: Title
    body: ArticleBody
    locale: Locale
    tags: Annotated[list[Tag], Meta(max_length=30)] = []
    status: ArticleStatus = "draft"
    # The slug of the article this one translates (its group); none: a group of its own.
    translation_key: Slug | None = None


class KbArticleUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    body: ArticleBody | msgspec.UnsetType = msgspec.UNSET
    tags: Annotated[list[Tag], Meta(max_length=30)] | msgspec.UnsetType = msgspec.UNSET
    status: ArticleStatus | msgspec.UnsetType = msgspec.UNSET
    translation_key: Slug | msgspec.UnsetType = msgspec.UNSET


class KbImportResult(Struct, kw_only=True):
    article: KbArticle
    outcome: Literal["created", "updated", "unchanged"]


class KbRevision(Struct, kw_only=True):
    revision: int
    title: str
    body: str
    tags: list[str]
    status: ArticleStatus
    author_id: int | None
    author_name: str
    at: datetime


class KbRevisionList(Struct, kw_only=True):
    items: list[KbRevision]


class KbGap(Struct, kw_only=True):
    """Questions that found no confident article, grouped by wording and language."""

    key: str  # the normalised words the group shares
    locale: str  # "" when the search named no language
    count: int
    example: str  # the wording seen most often
    sources: list[str]
    last_at: datetime


class KbGapReport(Struct, kw_only=True):
    items: list[KbGap]
    since: datetime
    threshold: float


# --- web chat widget: the customer side (server/widget_*.py) ------------------------------

WIDGET_MAX_BODY = 4000  # a chat line, not a document: customers get a smaller limit than agents
# One address, no spaces or angle brackets: enough to reach a person, not a full RFC 5322 parser.
EMAIL_PATTERN = r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$"


class Csat(Struct, kw_only=True):
    """A customer's rating of a resolved conversation (1-5) and what they wrote."""

    conversation_id: int
    rating: int
    comment: str
    created_at: datetime


class CsatSubmit(Struct, kw_only=True, forbid_unknown_fields=True):
    rating: Annotated[int, Meta(ge=1, le=5)]
    comment: Annotated[str, Meta(max_length=2000)] = ""


class WidgetSessionRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=80)] | None = None
    language: Annotated[str, Meta(min_length=2, max_length=16)] | None = None


class WidgetContact(Struct, kw_only=True):
    """What a customer may see of themselves (no ids of other records, no agent data)."""

    name: str
    email: str | None


class WidgetSession(Struct, kw_only=True):
    token: str  # shown once; the browser keeps it, the server keeps its hash
    contact: WidgetContact


class WidgetMessage(Struct, kw_only=True):
    id: int
    conversation_id: int
    kind: Literal["incoming", "outgoing", "bot"]
    body: str
    author_type: AuthorType
    author_name: str
    created_at: datetime


class WidgetConversation(Struct, kw_only=True):
    id: int
    status: Status
    created_at: datetime
    last_activity_at: datetime
    csat: Csat | None = None


class WidgetMe(Struct, kw_only=True):
    contact: WidgetContact
    conversations: list[WidgetConversation]  # newest first
    # The event log's head when this was read: open the customer feed with since=seq.
    seq: int


class WidgetMessagePage(Struct, kw_only=True):
    items: list[WidgetMessage]


class WidgetNewMessage(Struct, kw_only=True, forbid_unknown_fields=True):
    body: Annotated[str, Meta(min_length=1, max_length=WIDGET_MAX_BODY)]
    # None starts a new conversation.
    conversation_id: Id | None = None


class WidgetPosted(Struct, kw_only=True):
    conversation: WidgetConversation
    message: WidgetMessage


class WidgetEmail(Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, Meta(min_length=3, max_length=200, pattern=EMAIL_PATTERN)]


class WidgetAvailability(Struct, kw_only=True):
    """Who can answer now, said honestly: agents online, and how fast they answered lately."""

    online: bool
    agents_online: int
    # Median minutes to a first answer over recent conversations; None when too few to say.
    typical_reply_minutes: int | None
    # Nobody on shift: the widget offers the offline form and says the answer comes by email.
    reply_by_email: bool
    # Outside the web chat SLA policy's business hours: when the desk opens again.
    opens_at: datetime | None = None


class WidgetConfig(Struct, kw_only=True):
    desk_name: str
    availability: WidgetAvailability
    max_body: int


# --- email attachments ---------------------------------------------------------------------


class Attachment(Struct, kw_only=True):
    """A file that came with a message (email). `filename` and `content_type` are what the
    sender claimed: untrusted text, never a path. `stored` is False when the file was over the
    size limit and only its description was kept."""

    id: int
    message_id: int
    filename: str
    content_type: str
    size: int
    stored: bool = True


class AttachmentList(Struct, kw_only=True):
    items: list[Attachment]


# --- triage (core/triage.py, server/triage_store.py) --------------------------------------

LanguageSource = Literal["contact", "detected", "agent"]
LanguageCode = Annotated[str, Meta(pattern=r"^[a-z]{2,3}$")]


class TriageHit(Struct, kw_only=True):
    rule: str
    # Quotes the customer's words: render as plain text, never as markup.
    reason: str


class Triage(Struct, kw_only=True):
    """The rules' suggestion for a conversation, from its customer's unanswered messages."""

    priority: Priority | None
    topics: list[str]
    upset: bool
    urgent: bool
    rules: list[TriageHit]
    at: datetime


class LanguageUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    """An agent's correction of a conversation's language (ISO 639-1, e.g. "es")."""

    language: LanguageCode


# --- SLA breaches ---------------------------------------------------------------------------


class SlaBreach(Struct, kw_only=True):
    """A clock that passed its due time, as recorded (once per clock cycle). `breached_by_s` is
    how late the clock stopped; while it still runs, what was known when it was recorded (0 when
    the breach was caught on time by the schedule). `team` and `assignee` are the conversation's
    now, not at the breach."""

    id: int
    conversation_id: int
    clock: SlaClockName
    policy_id: int | None = None
    policy: str
    started_at: datetime
    due_at: datetime
    breached_at: datetime
    breached_by_s: int
    team: TeamRef | None = None
    assignee: AgentRef | None = None


class SlaBreachPage(Struct, kw_only=True):
    """Newest first; `next_cursor` reads on (older ones), None at the end."""

    items: list[SlaBreach]
    next_cursor: str | None = None


# --- CSAT through the inbound API, and KPIs (server/stats_*.py) -----------------------------


class CsatInbound(Struct, kw_only=True, forbid_unknown_fields=True):
    """A customer's rating, relayed by an integration (a survey tool, an SMS gateway)."""

    conversation_id: Id
    rating: Annotated[int, Meta(ge=1, le=5)]
    comment: Annotated[str, Meta(max_length=2000)] = ""


class Percentiles(Struct, kw_only=True):
    """A duration over `count` conversations, in seconds (linear interpolation between ranks)."""

    count: int
    median_s: float | None
    p90_s: float | None


class SlaAttainment(Struct, kw_only=True):
    """One SLA clock's cycles that started in the period: met, missed and still running.
    `attainment` is met / (met + missed); None when none has finished."""

    clock: Literal["frt", "nrt", "rt"]
    met: int
    missed: int
    running: int
    attainment: float | None


class CsatStats(Struct, kw_only=True):
    """Ratings of the conversations resolved in the period."""

    resolved: int
    rated: int
    response_rate: float | None  # rated / resolved
    average: float | None
    distribution: dict[str, int]  # "1".."5": how many ratings of each


class BotStats(Struct, kw_only=True):
    """Conversations the bot finished in the period, by its latest outcome."""

    handled: int
    resolved: int
    handed_off: int
    resolution_rate: float | None
    handoff_rate: float | None


class Backlog(Struct, kw_only=True):
    """Conversations waiting now (not limited to the period)."""

    total: int
    by_status: dict[str, int]  # open, pending, snoozed
    open_by_priority: dict[str, int]  # urgent, high, normal, low
    open_unassigned: int


class HourStats(Struct, kw_only=True):
    hour: int  # 0-23 in the viewer's zone
    conversations: int
    first_response_median_s: float | None


class GroupStats(Struct, kw_only=True):
    """One team's or agent's share; `id` None is the conversations with no team / assignee."""

    id: int | None
    name: str
    conversations: int
    first_response: Percentiles
    resolved: int
    resolution: Percentiles
    csat_average: float | None
    csat_rated: int
    backlog: int


class Stats(Struct, kw_only=True):
    """KPIs over [since, until): conversations created in it (volume, first response),
    resolved in it (resolution, CSAT), SLA cycles started in it, bot outcomes in it."""

    since: datetime
    until: datetime
    tz: str
    team_id: int | None
    agent_id: int | None
    conversations: int
    first_response: Percentiles
    resolution: Percentiles
    sla: list[SlaAttainment]
    csat: CsatStats
    bot: BotStats
    backlog: Backlog
    by_hour: list[HourStats]
    teams: list[GroupStats]
    agents: list[GroupStats]


# --- shifts, roster, handoff and routing (issue 12) ------------------------------------

EVENT_TYPES += ("conversation.routed", "conversation.handed_over", "agent.shift")

ShiftNote = Annotated[str, Meta(max_length=4000)]


class ShiftException(Struct, kw_only=True, forbid_unknown_fields=True):
    """A date (in the agent's zone) off, or an extra shift on it (`start`-`end`)."""

    date: date
    kind: Literal["off", "extra"]
    start: ClockText | None = None
    end: ClockText | None = None


class AgentSchedule(Struct, kw_only=True):
    agent_id: int
    timezone: str
    hours: list[SlaHoursRange]
    exceptions: list[ShiftException]


class ScheduleInput(Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields given replace the agent's weekly pattern or exceptions; `timezone` also sets the
    agent's zone. Both empty clears the schedule (routing then treats the agent as always on)."""

    timezone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    hours: Annotated[list[SlaHoursRange], Meta(max_length=100)] | msgspec.UnsetType = msgspec.UNSET
    exceptions: Annotated[list[ShiftException], Meta(max_length=500)] | msgspec.UnsetType = msgspec.UNSET


class TeamCoverage(Struct, kw_only=True):
    team_id: int
    zone: str
    hours: list[SlaHoursRange]
    min_agents: int


class CoverageInput(Struct, kw_only=True, forbid_unknown_fields=True):
    """When the team wants someone on, in `zone`, and how many at once."""

    zone: Annotated[str, Meta(min_length=1, max_length=64)]
    hours: Annotated[list[SlaHoursRange], Meta(min_length=1, max_length=100)]
    min_agents: Annotated[int, Meta(ge=1, le=1000)] = 1


class RosterShift(Struct, kw_only=True):
    agent_id: int
    name: str
    start: datetime
    end: datetime
    team_ids: list[int]
    presence: Presence


class RosterGap(Struct, kw_only=True):
    team_id: int
    team: str
    start: datetime
    end: datetime
    have: int
    need: int


class RosterView(Struct, kw_only=True):
    """Who is on at `at`, who starts next (within 24 h) and the coverage gaps in those 24 h."""

    at: datetime
    on: list[RosterShift]
    next: list[RosterShift]
    gaps: list[RosterGap]


class HandoffConversationNote(Struct, kw_only=True, forbid_unknown_fields=True):
    conversation_id: Id
    note: Annotated[str, Meta(min_length=1, max_length=4000)]


class NewHandoff(Struct, kw_only=True, forbid_unknown_fields=True):
    """Hand the caller's open conversations (or those listed) to a team or to named agents
    (round-robin among them); the note is pinned on every one of them."""

    to_team_id: Id | None = None
    to_agent_ids: Annotated[list[Id], Meta(max_length=50)] = []
    note: ShiftNote = ""
    conversation_ids: Annotated[list[Id], Meta(max_length=1000)] | None = None
    notes: Annotated[list[HandoffConversationNote], Meta(max_length=1000)] = []


class HandoffItem(Struct, kw_only=True):
    conversation_id: int
    note: str
    to_agent: AgentRef | None
    to_team: TeamRef | None


class Handoff(Struct, kw_only=True):
    id: int
    from_agent: AgentRef
    to_team: TeamRef | None
    to_agents: list[AgentRef]
    note: str
    created_at: datetime
    items: list[HandoffItem]


class HandoffList(Struct, kw_only=True):
    items: list[Handoff]


class RoutingWait(Struct, kw_only=True):
    """An open, unassigned conversation routing could not place, and why."""

    conversation_id: int
    team_id: int | None
    outcome: Literal["at_cap", "nobody"]
    reason: str
    since: datetime


class RoutingStatus(Struct, kw_only=True):
    mode: Literal["off", "round_robin", "least_loaded"]
    cap: int
    waiting: list[RoutingWait]


# --- the FAQ bot (issue 16) ------------------------------------------------------------------

EVENT_TYPES += ("conversation.bot_handoff", "conversation.bot_resolved")

# Why the bot handed a conversation to people (the `reason` of `conversation.bot_handoff`).
BOT_HANDOFF_REASONS: tuple[str, ...] = (
    "low_confidence",
    "asked_for_human",
    "upset",
    "urgent",
    "unhelpful",
    "error",
)


class BotChannel(Struct, kw_only=True):
    channel: Channel
    enabled: bool


class BotChannelList(Struct, kw_only=True):
    items: list[BotChannel]


class BotChannelUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool


SuggestionKind = Literal["canned", "kb"]


class Suggestion(Struct, kw_only=True):
    """A canned response or KB article that may answer the customer's last messages."""

    kind: SuggestionKind
    id: int
    title: str
    locale: str
    # True when it is not in the conversation's language (nothing good enough was).
    fallback: bool
    score: float
    # The customer's words it matched, for the agent to judge it by.
    matched: list[str]
    canned: CannedResponse | None = None  # the whole response (kind "canned"), to fill and insert
    snippet: str = ""  # KB: plain text with SNIPPET_OPEN/SNIPPET_CLOSE around matched terms


class SuggestionList(Struct, kw_only=True):
    language: str
    items: list[Suggestion]
