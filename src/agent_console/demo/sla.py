"""The demo desk's SLA policies: what Lumo Mobile promises, by channel and priority.

Chats (web chat, WhatsApp, SMS, social) are answered in minutes, email within the hour,
urgent conversations tighter still. Billing works office hours in New York (its payment
partner's day), so its clocks stop at night, at weekends and on the listed holidays.
First match by position wins; "Standard" catches the rest.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from agent_console.demo.seeds import ConversationSeed

CHATS = ("web_chat", "whatsapp", "sms", "social")
MINUTE = 60
HOUR = 3600

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
BILLING_HOURS: dict[str, Any] = {
    "zone": "America/New_York",
    "hours": [{"day": day, "start": "08:00", "end": "20:00"} for day in _WEEKDAYS],
    "holidays": ["2026-11-26", "2026-12-25", "2027-01-01"],
}


@dataclass(frozen=True, slots=True)
class PolicySeed:
    name: str
    position: int
    priorities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()  # TeamSeed.name
    first_response_s: int | None = None
    next_response_s: int | None = None
    resolution_s: int | None = None
    business_hours: dict[str, Any] | None = None
    is_default: bool = False


DEMO_POLICIES: tuple[PolicySeed, ...] = (
    PolicySeed("Urgent chat", 10, ("urgent",), CHATS, (), 1 * MINUTE, 5 * MINUTE, 2 * HOUR),
    PolicySeed("Urgent email", 20, ("urgent",), ("email",), (), 30 * MINUTE, 2 * HOUR, 8 * HOUR),
    PolicySeed(
        "Billing office hours", 30, (), (), ("Billing",), 1 * HOUR, 4 * HOUR, 24 * HOUR, BILLING_HOURS
    ),
    PolicySeed("Chat", 40, (), CHATS, (), 2 * MINUTE, 10 * MINUTE, 4 * HOUR),
    PolicySeed("Email", 50, (), ("email",), (), 1 * HOUR, 4 * HOUR, 24 * HOUR),
    PolicySeed("Standard", 1000, (), (), (), 1 * HOUR, 4 * HOUR, 24 * HOUR, is_default=True),
)


# --- a healthy night ------------------------------------------------------------------------

CLOSE = 5  # waiting customers with under a quarter of their target left
BREACHED = 3  # and the ones already late


def targets(conversation: ConversationSeed) -> PolicySeed:
    """The policy that applies to a seeded conversation (first match by position)."""
    ordered = sorted(DEMO_POLICIES, key=lambda p: (p.is_default, p.position))
    for policy in ordered:
        if policy.is_default:
            return policy
        if (
            (not policy.priorities or conversation.priority in policy.priorities)
            and (not policy.channels or conversation.channel in policy.channels)
            and (not policy.teams or conversation.team in policy.teams)
        ):
            return policy
    return ordered[-1]


def _waiting_index(conversation: ConversationSeed) -> int | None:
    """The customer's oldest unanswered message, if the conversation is open and waits on us."""
    if conversation.status != "open":
        return None
    kinds = [m.kind for m in conversation.messages]
    last_out = max((i for i, k in enumerate(kinds) if k == "outgoing"), default=-1)
    return next((i for i in range(last_out + 1, len(kinds)) if kinds[i] == "incoming"), None)


def fit_to_sla(
    conversations: Sequence[ConversationSeed], now: datetime, rng: random.Random
) -> list[ConversationSeed]:
    """Retime the threads still in play so the desk looks like a healthy night under the demo
    policies: replies came within their targets, most waiting customers have plenty of time
    left, a handful are close and a few are late. Messages only move later (gaps shrink), so
    their order and every earlier conversation of the same contact stay as they were."""
    waits: dict[int, float] = {}
    for i, conv in enumerate(conversations):
        at = _waiting_index(conv)
        policy = targets(conv)
        if at is None or policy.business_hours is not None:
            continue  # office-hours clocks keep their own time: never picked to be close or late
        target = policy.first_response_s if "outgoing" not in [m.kind for m in conv.messages[:at]] else None
        target = target or policy.next_response_s or 0
        if target:
            waits[i] = (now - conv.messages[at].at).total_seconds() / target
    candidates = sorted(i for i, share in waits.items() if share >= 1.5)
    late = rng.sample(candidates, min(BREACHED, len(candidates)))
    candidates = sorted(i for i, share in waits.items() if share >= 0.95 and i not in late)
    close = rng.sample(candidates, min(CLOSE, len(candidates)))
    out = []
    for i, conv in enumerate(conversations):
        if conv.status == "resolved":
            out.append(conv)
            continue
        outcome = "late" if i in late else "close" if i in close else "ok"
        out.append(_retime(conv, now, targets(conv), outcome, rng))
    return out


def _retime(
    conv: ConversationSeed, now: datetime, policy: PolicySeed, outcome: str, rng: random.Random
) -> ConversationSeed:
    msgs = conv.messages
    times = [m.at for m in msgs]
    gaps = [0.0] + [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    kinds = [m.kind for m in msgs]
    frt = policy.first_response_s or 3600
    nrt = policy.next_response_s or frt
    rt = policy.resolution_s or 86400

    def squeeze(start: int, end: int, limit: float) -> None:
        """Gaps start+1..end (inclusive) add up to at most `limit` seconds."""
        total = sum(gaps[start + 1 : end + 1])
        if total > limit > 0:
            factor = limit / total
            for j in range(start + 1, end + 1):
                gaps[j] = max(1.0, gaps[j] * factor)

    first_out = next((i for i, k in enumerate(kinds) if k == "outgoing"), None)
    if first_out is not None:
        squeeze(0, first_out, 0.5 * frt)
        # Every later answer came within half the next-response target of the question.
        asked = None
        for i in range(first_out + 1, len(kinds)):
            if kinds[i] == "incoming" and asked is None:
                asked = i
            elif kinds[i] == "outgoing" and asked is not None:
                squeeze(asked, i, 0.5 * nrt)
                asked = None
    waiting = _waiting_index(conv)
    if waiting is None:
        squeeze(0, len(gaps) - 1, 0.5 * rt)
        end = times[-1]
        new = [end]
        for gap in reversed(gaps[1:]):
            new.append(new[-1] - timedelta(seconds=int(gap)))
        new.reverse()
    else:
        target = frt if first_out is None or first_out > waiting else nrt
        waited = (now - times[waiting]).total_seconds()
        low, high = {"ok": (0.05, 0.6), "close": (0.78, 0.92), "late": (1.2, 1.5)}[outcome]
        later = len(gaps) - 1 - waiting  # messages after the oldest unanswered one
        wait = min(waited, max(rng.uniform(low, high) * target, 2.0 * later + 2))
        squeeze(waiting, len(gaps) - 1, 0.5 * wait)
        squeeze(0, waiting, max(1.0, 0.5 * rt - wait))
        anchor = now - timedelta(seconds=wait)
        new = [anchor]
        for gap in reversed(gaps[1 : waiting + 1]):
            new.insert(0, new[0] - timedelta(seconds=int(gap)))
        for gap in gaps[waiting + 1 :]:
            new.append(new[-1] + timedelta(seconds=int(gap)))
    # Resolution counts from creation until now: a thread still in play began within its target.
    # Only ever later than first written: a returning contact's earlier thread stays before it.
    earliest = max(times[0], now - timedelta(seconds=int(0.6 * rt)))
    if new[0] < earliest:
        lag = earliest - new[0]
        new = [t + lag for t in new]
    if new[-1] >= now:
        return conv  # too fresh to move: it stays as written
    messages = tuple(replace(m, at=t) for m, t in zip(msgs, new, strict=True))
    return replace(conv, messages=messages, created_at=messages[0].at)
