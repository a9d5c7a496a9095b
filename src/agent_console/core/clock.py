"""Time in one convention: tz-aware UTC datetimes, stored as fixed-width ISO 8601 text.

Fixed width (always microseconds, always `Z`) makes the stored text sort the same way
the instants do, so SQLite can order and compare it without parsing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# A snooze further ahead than this is a typo, not a plan (the console and the CLI agree).
MAX_SNOOZE_AHEAD = timedelta(days=365)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Fixed-width UTC text: 2026-11-24T04:32:20.000000Z."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every instant must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def parse_optional(text: str | None) -> datetime | None:
    return None if text is None else from_iso(text)
