"""Service-level agreements: which policy applies, and where each of its clocks stands.

Three clocks, as the mature help desks count them:
- `frt` (first response): from the conversation's creation to the first agent reply;
- `nrt` (next response): after the first reply, from the customer's oldest unanswered
  message to the next agent reply (a new cycle each time the customer writes again);
- `rt` (resolution): from creation until the conversation is resolved.

Pending, snoozed and resolved pause every running clock; when the conversation is open again
the paused time (measured on the policy's calendar) is added, so pausing moves the due time
later by exactly the time spent paused. Resolving stops `rt` (hit, or missed if late);
reopening starts it again where it stood. Pure: the store keeps the clocks, this module
says what they mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent_console.core.business_hours import ALWAYS, BusinessHours, Calendar, CalendarError
from agent_console.core.models import SlaClock, SlaInfo, SlaPolicy

CLOCKS: tuple[str, ...] = ("frt", "nrt", "rt")
CLOCK_TITLES = {"frt": "FRT", "nrt": "NRT", "rt": "RT"}
PAUSING_STATUSES = frozenset({"pending", "snoozed", "resolved"})


class PolicyError(ValueError):
    """`conflict`: every field is well formed, but together they cannot make a policy."""

    def __init__(self, message: str, field: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.conflict = conflict


def calendar_of(policy: SlaPolicy) -> Calendar:
    hours = policy.business_hours
    if hours is None:
        return ALWAYS
    return BusinessHours.build(hours.zone, [(r.day, r.start, r.end) for r in hours.hours], hours.holidays)


# A target longer than this many weeks of a calendar's open time is a typo (a minute a week
# and a day's target); refusing it also keeps every due-time calculation short.
MAX_WEEKS = 8


def check_policy(policy: SlaPolicy) -> None:
    """PolicyError naming the field, for what the schema alone cannot say."""
    try:
        calendar = calendar_of(policy)
    except CalendarError as exc:
        raise PolicyError(str(exc), exc.field, conflict=exc.conflict) from None
    if isinstance(calendar, BusinessHours):
        for name, field in (("frt", "first_response_s"), ("nrt", "next_response_s"), ("rt", "resolution_s")):
            seconds = threshold(policy, name)
            if seconds is not None and seconds > MAX_WEEKS * calendar.weekly_seconds:
                raise PolicyError(
                    f"{field}: {seconds} s is more than {MAX_WEEKS} weeks of these business hours"
                    f" ({calendar.weekly_seconds // 3600} h open a week)",
                    field,
                    conflict=True,
                )


def threshold(policy: SlaPolicy, clock: str) -> int | None:
    return {"frt": policy.first_response_s, "nrt": policy.next_response_s, "rt": policy.resolution_s}[clock]


def matches(policy: SlaPolicy, *, priority: str, channel: str, team_id: int | None) -> bool:
    return (
        (not policy.priorities or priority in policy.priorities)
        and (not policy.channels or channel in policy.channels)
        and (not policy.team_ids or team_id in policy.team_ids)
    )


def choose(
    policies: Iterable[SlaPolicy], *, priority: str, channel: str, team_id: int | None
) -> SlaPolicy | None:
    """The first matching policy by position (then id), else the default, else None."""
    default = None
    for policy in sorted(policies, key=lambda p: (p.position, p.id)):
        if policy.is_default:
            default = default or policy
        elif matches(policy, priority=priority, channel=channel, team_id=team_id):
            return policy
    return default


@dataclass(slots=True)
class ClockRecord:
    """One clock as the store keeps it (`started_at` names the cycle for `nrt`)."""

    name: str
    started_at: datetime
    paused_s: float = 0.0  # open-calendar seconds spent paused, added to the target
    stopped_at: datetime | None = None
    missed_at: datetime | None = None  # when the breach was recorded


def due(record: ClockRecord, seconds: int, calendar: Calendar) -> datetime:
    return calendar.add(record.started_at, seconds + record.paused_s)


def warn_at(record: ClockRecord, seconds: int, share: float, calendar: Calendar) -> datetime:
    """When only `share` of the target is left."""
    return calendar.add(record.started_at, seconds * (1 - share) + record.paused_s)


def clock_view(
    record: ClockRecord, due_at: datetime, *, paused: bool, warn_at: datetime | None = None
) -> SlaClock:
    late = None
    if record.stopped_at is not None and record.stopped_at > due_at:
        late = int((record.stopped_at - due_at).total_seconds())
    if record.missed_at is not None or late is not None:
        state = "missed"
    elif record.stopped_at is not None:
        state = "hit"
    else:
        state = "paused" if paused else "running"
    return SlaClock(name=record.name, due_at=due_at, state=state, breached_by_s=late, warn_at=warn_at)  # type: ignore[arg-type]


def overall(clocks: Sequence[SlaClock], *, resolved: bool = False) -> str:
    """The agents' vocabulary. A resolved conversation has nothing left to count: a clock it
    left paused (resolved before any reply) gives no verdict either way."""
    if resolved:
        clocks = [c for c in clocks if c.state != "paused"]
    running = any(c.state in ("running", "paused") for c in clocks)
    missed = any(c.state == "missed" for c in clocks)
    if missed:
        # A missed clock that still runs (nobody replied yet) keeps the conversation active.
        still = not resolved and any(c.state == "missed" and c.breached_by_s is None for c in clocks)
        return "active_with_misses" if running or still else "missed"
    return "active" if running else "hit"


def info(policy: SlaPolicy, clocks: list[SlaClock], *, resolved: bool = False) -> SlaInfo:
    status = overall(clocks, resolved=resolved)
    return SlaInfo(policy_id=policy.id, policy=policy.name, status=status, clocks=clocks)  # type: ignore[arg-type]


def nearest(clocks: Iterable[SlaClock]) -> SlaClock | None:
    """The clock whose due time comes first among those still counting."""
    live = [c for c in clocks if c.state == "running" or (c.state == "missed" and c.breached_by_s is None)]
    return min(live, key=lambda c: c.due_at, default=None)


def time_left(due: datetime | None, now: datetime) -> timedelta | None:
    """Negative when the target has passed (the SLA is breached)."""
    return None if due is None else due - now
