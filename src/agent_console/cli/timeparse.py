"""`--until` values for snoozing: relative durations, `tomorrow`, or local ISO times.

* `30m`, `4h`, `2d`, `1w`, `1h30m`: from now.
* `tomorrow` (09:00) or `tomorrow 14:30`: tomorrow, in the agent's own time zone.
* `2026-12-01T09:00`, `2026-12-01 09:00`, `2026-12-01` (09:00): local time in the agent's
  zone, unless the text carries an offset (`...+02:00`, `...Z`).

Pure: no I/O. `check_until` validates the syntax before any network call.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, tzinfo

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_TOMORROW = re.compile(r"^tomorrow(?:[ T@](\d{1,2}):(\d{2}))?$")
MORNING = time(9, 0)
EXAMPLES = "4h, 30m, 2d, 1h30m, tomorrow, tomorrow 14:00, 2026-12-01T09:00"


def _duration(text: str) -> timedelta | None:
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def _iso(text: str) -> datetime | None:
    candidate = text.replace(" ", "T", 1)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", candidate):
            return datetime.combine(datetime.fromisoformat(candidate).date(), MORNING)
        if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{1,2}:\d{2}", candidate):
            return None
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def check_until(text: str) -> None:
    """Raise ValueError when `text` is not a --until value at all."""
    value = text.strip().lower()
    if _duration(value) is not None:
        if _duration(value) <= timedelta(0):
            raise ValueError(f"{text!r} is not in the future")
        return
    tomorrow = _TOMORROW.match(value)
    if tomorrow:
        if tomorrow.group(1) is not None and (
            int(tomorrow.group(1)) > 23 or int(tomorrow.group(2)) > 59
        ):
            raise ValueError(f"{text!r} is not a time of day")
        return
    if _iso(text.strip().upper() if "t" in value else text.strip()) is None:
        raise ValueError(f"{text!r} is not a duration, 'tomorrow' or a date-time (e.g. {EXAMPLES})")


def parse_until(text: str, *, zone: tzinfo, now: datetime | None = None) -> datetime:
    """The instant `text` means, as an aware UTC datetime; ValueError when it is unusable."""
    check_until(text)
    now = now or datetime.now(UTC)
    value = text.strip().lower()
    span = _duration(value)
    if span is not None:
        return now + span
    tomorrow = _TOMORROW.match(value)
    if tomorrow:
        at = MORNING
        if tomorrow.group(1) is not None:
            at = time(int(tomorrow.group(1)), int(tomorrow.group(2)))
        day = now.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
    moment = _iso(text.strip().upper() if "t" in value else text.strip())
    assert moment is not None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise ValueError(f"{text!r} is in the past")
    return moment


def zone_named(name: str | None) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
