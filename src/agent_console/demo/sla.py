"""The demo desk's SLA policies: what Lumo Mobile promises, by channel and priority.

Chats (web chat, WhatsApp, SMS, social) are answered in minutes, email within the hour,
urgent conversations tighter still. Billing works office hours in New York (its payment
partner's day), so its clocks stop at night, at weekends and on the listed holidays.
First match by position wins; "Standard" catches the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
