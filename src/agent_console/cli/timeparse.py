"""`--until` values for snoozing: relative durations, `tomorrow`, or local ISO times.

* `30m`, `4h`, `2d`, `1w`, `1h30m`: from now.
* `tomorrow` (09:00) or `tomorrow 14:30`: tomorrow, in the agent's own time zone.
* `2026-12-01T09:00`, `2026-12-01 09:00`, `2026-12-01` (09:00): local time in the agent's
  zone, unless the text carries an offset (`...+02:00`, `...Z`).

At most a year ahead (`MAX_AHEAD`): a snooze longer than that is a typo, not a plan.

Pure: no I/O. `check_until` validates the syntax (and the bound) before any network call.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo

from agent_console.core.clock import MAX_SNOOZE_AHEAD

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_TOMORROW = re.compile(r"^tomorrow(?:[ T@](\d{1,2}):(\d{2}))?$")
MORNING = time(9, 0)
EXAMPLES = "4h, 30m, 2d, 1h30m, tomorrow, tomorrow 14:00, 2026-12-01T09:00"
MAX_AHEAD = MAX_SNOOZE_AHEAD
# Zones run from UTC-12 to UTC+14: a local time without an offset is at most this far from UTC.
_ZONE_SPREAD = timedelta(hours=14)


def _too_far(text: str) -> ValueError:
    return ValueError(f"{text!r} is too far ahead: at most {MAX_AHEAD.days} days (a year) from now")


def _duration(text: str) -> timedelta | None:
    """The span `text` names, None when it is not a duration; ValueError past MAX_AHEAD."""
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    try:
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    except (OverflowError, ValueError):  # `99999999999w`, or more digits than int() takes
        raise _too_far(text) from None
    if span > MAX_AHEAD:
        raise _too_far(text)
    return span


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


def check_until(text: str, now: datetime | None = None) -> None:
    """Raise ValueError when `text` is not a --until value at all, or is clearly out of
    bounds whatever the agent's zone (parse_until checks the bound exactly)."""
    value = text.strip().lower()
    span = _duration(value)
    if span is not None:
        if span <= timedelta(0):
            raise ValueError(f"{text!r} is not in the future")
        return
    tomorrow = _TOMORROW.match(value)
    if tomorrow:
        if tomorrow.group(1) is not None and (int(tomorrow.group(1)) > 23 or int(tomorrow.group(2)) > 59):
            raise ValueError(f"{text!r} is not a time of day")
        return
    moment = _iso(text.strip().upper() if "t" in value else text.strip())
    if moment is None:
        raise ValueError(f"{text!r} is not a duration, 'tomorrow' or a date-time (e.g. {EXAMPLES})")
    now = now or datetime.now(UTC)
    if moment.tzinfo is None:  # the earliest instant it can mean, in the zone furthest east
        earliest = _utc(moment.replace(tzinfo=timezone(_ZONE_SPREAD)), text)
    else:
        earliest = _utc(moment, text)
    if earliest - now > MAX_AHEAD:
        raise _too_far(text)


def _utc(moment: datetime, text: str) -> datetime:
    """`moment` in UTC; the far ends of the calendar (years 1 and 9999) do not convert."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        if moment.year > 1:
            raise _too_far(text) from None
        raise ValueError(f"{text!r} is in the past") from None


def parse_until(text: str, *, zone: tzinfo, now: datetime | None = None) -> datetime:
    """The instant `text` means, as an aware UTC datetime; ValueError when it is unusable."""
    now = now or datetime.now(UTC)
    check_until(text, now)
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
    moment = _utc(moment, text)
    if moment <= now:
        raise ValueError(f"{text!r} is in the past")
    if moment - now > MAX_AHEAD:
        raise _too_far(text)
    return moment


def zone_named(name: str | None) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
