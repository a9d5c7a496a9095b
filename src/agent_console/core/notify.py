"""Notifications: what deserves the agent's attention, how often, and the terminal bytes.

Pure (no I/O, no clock read: `now` is passed in). The console (tui/notifications.py) feeds
it the events it applies and writes what comes back to the terminal driver.

- `decide` turns one feed event into a `Notice`, or None: a new conversation in the agent's
  views, a customer reply in a conversation of theirs, an SLA warning or breach on theirs
  (assigned to them, or unassigned in one of their teams), an `@mention` of them in a colleague's
  private note. Never for the agent's own actions, never for the conversation on their screen.
- `Throttle` lets the first notice out at once, then holds what follows for `interval`
  seconds and lets it out as one summary: a burst of sixty chats rings once, then once more.
- `terminal_bytes` is the BEL, and the desktop notice as OSC 9 (iTerm2, WezTerm, Ghostty) or
  OSC 777 (urxvt, foot), wrapped in tmux's DCS passthrough inside tmux.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from agent_console.core.models import Conversation, Event
from agent_console.core.sanitize import sanitize_line

KINDS: tuple[str, ...] = ("new_conversation", "customer_reply", "sla_warning", "sla_breached", "mention")
CLOCKS = {"frt": "first response", "nrt": "next response", "rt": "resolution"}
_WHAT = {
    "new_conversation": ("new conversation", "new conversations"),
    "customer_reply": ("customer reply", "customer replies"),
    "sla_warning": ("SLA warning", "SLA warnings"),
    "sla_breached": ("SLA breach", "SLA breaches"),
    "mention": ("mention", "mentions"),
}
TEXT_LIMIT = 160  # a desktop notice is a glance, and a terminal's OSC buffer is finite


@dataclass(frozen=True, slots=True)
class Me:
    id: int
    name: str
    email: str = ""
    team_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str
    conversation_id: int
    title: str  # plain text, sanitized
    body: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """What goes out at once: one notice, or a summary of several."""

    title: str
    body: str
    count: int
    conversation_ids: tuple[int, ...]


# --- what deserves a notice -------------------------------------------------------------------


def mentions(body: str, me: Me) -> bool:
    """`@Sam`, `@Sam Agent`, `@sam.agent`, `@SamAgent`, `@sam_agent` or `@` + the local part of
    their email, case-insensitive, and not the start of a longer name (`@Samantha`)."""
    words = me.name.split()
    handles = {me.name, "".join(words), ".".join(words), "_".join(words)}
    if words:
        handles.add(words[0])
    if me.email:
        handles.add(me.email.partition("@")[0])
    handles = {h for h in handles if h}
    if not handles:
        return False
    pattern = "|".join(re.escape(h) for h in sorted(handles, key=len, reverse=True))
    return re.search(rf"(?<![\w@])@(?:{pattern})(?![\w.-]*\w)", body, re.IGNORECASE) is not None


def _is_theirs(
    conversation: Conversation | None, assignee_id: int | None, team_id: int | None, me: Me
) -> bool:
    if conversation is not None:
        assignee_id = conversation.assignee.id if conversation.assignee else None
        team_id = conversation.team.id if conversation.team else None
    if assignee_id is not None:
        return assignee_id == me.id
    return team_id is not None and team_id in me.team_ids


def _who(conversation: Conversation | None, conversation_id: int) -> str:
    name = sanitize_line(conversation.contact.name) if conversation is not None else ""
    return f"#{conversation_id} {name}".rstrip()


def _line(text: str) -> str:
    flat = " ".join(sanitize_line(text).split())
    return flat if len(flat) <= TEXT_LIMIT else flat[: TEXT_LIMIT - 1] + "…"


def decide(
    event: Event,
    *,
    me: Me,
    lookup: Callable[[int], Conversation | None],
    looking_at: int | None,
    in_views: Callable[[Conversation], bool],
    kinds: Collection[str] = KINDS,
) -> Notice | None:
    """The notice one feed event deserves, if any (see the module docstring)."""
    data = event.data
    notice: Notice | None = None
    if event.type == "conversation.created":
        conversation = _as_of_event(data)
        cid = conversation.id if conversation is not None else None
        if conversation is not None and cid is not None and in_views(conversation):
            preview = conversation.last_message.body if conversation.last_message else ""
            notice = Notice(
                "new_conversation",
                cid,
                _line(f"New conversation {_who(conversation, cid)}"),
                _line(conversation.subject or preview),
            )
    elif event.type == "message.created":
        raw = data.get("message") or {}
        if not isinstance(raw, dict):
            return None
        cid = raw.get("conversation_id")
        author = raw.get("author") or {}
        if not isinstance(cid, int) or not isinstance(author, dict):
            return None
        if author.get("type") == "agent" and author.get("id") == me.id:
            return None  # one's own reply or note
        # As the conversation was when the message came (a batch applies later events first).
        conversation = _as_of_event(data) or lookup(cid)
        body = str(raw.get("body") or "")
        kind = raw.get("kind")
        if kind == "note" and author.get("type") == "agent" and mentions(body, me):
            who = sanitize_line(str(author.get("name") or "A colleague"))
            notice = Notice("mention", cid, _line(f"{who} mentioned you in #{cid}"), _line(body))
        elif kind == "incoming" and conversation is not None and conversation.assignee is not None:
            if conversation.assignee.id == me.id:  # a customer reply counts when it is theirs
                notice = Notice(
                    "customer_reply", cid, _line(f"Reply from {_who(conversation, cid)}"), _line(body)
                )
    elif event.type in ("sla.warning", "sla.breached"):
        cid = data.get("conversation_id")
        if not isinstance(cid, int):
            return None
        conversation = lookup(cid)
        assignee = data.get("assignee_id")
        team = data.get("team_id")
        # The event says whose it is when it was raised; without that, the held copy does.
        held = None if "assignee_id" in data or "team_id" in data else conversation
        if not _is_theirs(
            held, assignee if isinstance(assignee, int) else None, team if isinstance(team, int) else None, me
        ):
            return None
        clock = CLOCKS.get(str(data.get("clock")), str(data.get("clock") or "SLA"))
        policy = str(data.get("policy") or "")
        if event.type == "sla.warning":
            due = _when(data.get("due_at"))
            title = f"SLA warning {_who(conversation, cid)}"
            body = f"{clock} due {due}" if due else f"{clock} due soon"
            notice = Notice("sla_warning", cid, _line(title), _line(f"{body} ({policy})" if policy else body))
        else:
            late = data.get("breached_by_s")
            by = f" by {_duration(late)}" if isinstance(late, (int, float)) and late > 0 else ""
            title = f"SLA breached {_who(conversation, cid)}"
            body = f"{clock} missed{by}"
            notice = Notice(
                "sla_breached", cid, _line(title), _line(f"{body} ({policy})" if policy else body)
            )
    if notice is None or notice.kind not in kinds or notice.conversation_id == looking_at:
        return None
    return notice


def _as_of_event(data: dict) -> Conversation | None:
    """The conversation copy an event carries: its state right after that event."""
    raw = data.get("conversation")
    if not isinstance(raw, dict):
        return None
    try:
        return msgspec.convert(raw, Conversation, strict=False)
    except msgspec.ValidationError:
        return None


def _when(value: object) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%H:%M UTC")
    except ValueError:
        return ""


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)}s"
    if minutes < 120:
        return f"{minutes}m"
    return f"{minutes // 60}h {minutes % 60}m"


# --- how often --------------------------------------------------------------------------------


def summarize(notices: list[Notice]) -> Delivery:
    if len(notices) == 1:
        only = notices[0]
        return Delivery(only.title, only.body, 1, (only.conversation_id,))
    counts: dict[str, int] = {}
    for notice in notices:
        counts[notice.kind] = counts.get(notice.kind, 0) + 1
    parts = [f"{n} {_WHAT[kind][n != 1]}" for kind in KINDS if (n := counts.get(kind))]
    ids = tuple(dict.fromkeys(n.conversation_id for n in notices))
    shown = ", ".join(f"#{cid}" for cid in ids[:6]) + (", …" if len(ids) > 6 else "")
    return Delivery(
        f"{len(notices)} things need you", _line(f"{', '.join(parts)}: {shown}"), len(notices), ids
    )


@dataclass
class Throttle:
    """At most one delivery per `interval` seconds: the first at once, the rest as one summary."""

    interval: float = 10.0
    open_at: float = float("-inf")
    held: list[Notice] = field(default_factory=list)

    def offer(self, notices: list[Notice], now: float) -> Delivery | None:
        if not notices:
            return None
        if now >= self.open_at and not self.held:
            self.open_at = now + self.interval
            return summarize(notices)
        self.held += notices
        return None

    def due(self, now: float) -> Delivery | None:
        """The held summary, once the interval has passed."""
        if not self.held or now < self.open_at:
            return None
        held, self.held = self.held, []
        self.open_at = now + self.interval
        return summarize(held)

    def next_due(self) -> float | None:
        return self.open_at if self.held else None


# --- the bytes --------------------------------------------------------------------------------

OSC9_PROGRAMS = {"iTerm.app", "WezTerm", "ghostty"}


def desktop_protocol(env: Mapping[str, str], setting: str = "auto") -> str | None:
    """ "osc9", "osc777" or None (no desktop notices) for this terminal."""
    if setting in ("osc9", "osc777"):
        return setting
    if setting == "off":
        return None
    program = env.get("TERM_PROGRAM", "")
    term = env.get("TERM", "")
    if program in OSC9_PROGRAMS or env.get("LC_TERMINAL") == "iTerm2":
        return "osc9"
    if term.startswith("rxvt") or term.startswith("foot"):
        return "osc777"
    return None


def in_tmux(env: Mapping[str, str]) -> bool:
    return bool(env.get("TMUX"))


def _osc_text(text: str) -> str:
    """Sanitized (no ESC or BEL can end the sequence early), on one line, no `;`."""
    return _line(text).replace(";", ",")


def tmux_wrap(sequence: str) -> str:
    """tmux passes a sequence to the outer terminal inside DCS `tmux;` with every ESC doubled
    (tmux 3.3 and later also need `set -g allow-passthrough on`)."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def desktop_bytes(delivery: Delivery, protocol: str | None, *, tmux: bool) -> str:
    if protocol == "osc9":
        sequence = f"\x1b]9;{_osc_text(delivery.title + ': ' + delivery.body)}\x07"
    elif protocol == "osc777":
        sequence = f"\x1b]777;notify;{_osc_text(delivery.title)};{_osc_text(delivery.body)}\x07"
    else:
        return ""
    return tmux_wrap(sequence) if tmux else sequence


BEL = "\x07"
