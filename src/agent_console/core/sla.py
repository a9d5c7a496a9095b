"""Service-level targets: how long a waiting customer may wait, by priority.

A conversation is due when someone is waiting on us: it is open and its customer wrote
last. The first answer is held to a tighter target than the ones after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

FIRST_RESPONSE = {
    "urgent": timedelta(minutes=15),
    "high": timedelta(hours=1),
    "normal": timedelta(hours=4),
    "low": timedelta(hours=24),
}
NEXT_RESPONSE = {
    "urgent": timedelta(minutes=15),
    "high": timedelta(hours=1),
    "normal": timedelta(hours=2),
    "low": timedelta(hours=8),
}


def due_at(
    *,
    status: str,
    priority: str,
    waiting_since: datetime | None,
    first_response_at: datetime | None,
) -> datetime | None:
    """When the next answer is due, or None when nobody is waiting on us."""
    if status != "open" or waiting_since is None:
        return None
    targets = FIRST_RESPONSE if first_response_at is None else NEXT_RESPONSE
    return waiting_since + targets.get(priority, FIRST_RESPONSE["normal"])


def time_left(due: datetime | None, now: datetime) -> timedelta | None:
    """Negative when the target has passed (the SLA is breached)."""
    return None if due is None else due - now
