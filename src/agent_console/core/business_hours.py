"""Business-hours arithmetic: which instants a desk is open, and time measured only while open.

Pure: instants are tz-aware datetimes; opening hours are wall-clock times in an IANA zone
(zoneinfo), so a DST change moves them in UTC the way the desk's own clocks move. A day's
ranges are minutes from local midnight (1440 = the next midnight). A wall time that does not
exist (inside a spring-forward gap) is read with the offset before the change, as zoneinfo
does by default.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
# A calendar with no open hour in this long is refused when made; the loops stop here too.
_HORIZON_DAYS = 800


class CalendarError(ValueError):
    """A calendar that cannot be used; `field` names the part at fault. `conflict`: each part
    is well formed, but together they cannot be (ranges that overlap or run backwards)."""

    def __init__(self, message: str, field: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.conflict = conflict


@functools.cache
def known_zones() -> frozenset[str]:
    """The IANA zones this system's tz database has (the document lists the same)."""
    return frozenset(available_timezones())


def parse_clock(text: str, field: str) -> int:
    """`HH:MM` (00:00 to 24:00) as minutes from midnight."""
    if not isinstance(text, str) or not _CLOCK.match(text):
        raise CalendarError(f"{field}: {text!r} is not a time of day as HH:MM (00:00 to 24:00)", field)
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def load_zone(name: str, field: str) -> ZoneInfo:
    if name not in known_zones():
        raise CalendarError(f"{field}: {name!r} is not a known IANA time zone", field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise CalendarError(f"{field}: {name!r} is not a known IANA time zone", field) from None


@dataclass(frozen=True, slots=True)
class BusinessHours:
    zone: ZoneInfo
    # Per weekday (Monday first): sorted, non-overlapping (start, end) minute ranges.
    week: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = frozenset()

    @classmethod
    def build(
        cls,
        zone: str,
        hours: Sequence[tuple[str, str, str]],
        holidays: Sequence[date] = (),
        *,
        field: str = "business_hours",
    ) -> BusinessHours:
        """From (day, "HH:MM", "HH:MM") ranges; CalendarError names the bad part."""
        tz = load_zone(zone, f"{field}.zone")
        days: list[list[tuple[int, int, int]]] = [[] for _ in DAYS]
        for i, (day, start_text, end_text) in enumerate(hours):
            where = f"{field}.hours[{i}]"
            if day not in DAYS:
                raise CalendarError(f"{where}.day: {day!r} is not one of {', '.join(DAYS)}", f"{where}.day")
            start = parse_clock(start_text, f"{where}.start")
            end = parse_clock(end_text, f"{where}.end")
            if end <= start:
                raise CalendarError(
                    f"{where}: ends at {end_text}, not after it starts ({start_text})", where, conflict=True
                )
            days[DAYS.index(day)].append((start, end, i))
        for ranges in days:
            ranges.sort()
            for (_s1, e1, i1), (s2, _e2, i2) in zip(ranges, ranges[1:], strict=False):
                if s2 < e1:
                    raise CalendarError(
                        f"{field}.hours[{i2}] overlaps {field}.hours[{i1}] (both cover {_clock(s2)})",
                        f"{field}.hours[{i2}]",
                        conflict=True,
                    )
        if not any(days):
            raise CalendarError(f"{field}.hours: at least one opening range is needed", f"{field}.hours")
        week = tuple(tuple((s, e) for s, e, _ in ranges) for ranges in days)
        return cls(tz, week, frozenset(holidays))

    @property
    def weekly_seconds(self) -> int:
        """Open time in a week without holidays (wall clock; a DST day differs by an hour)."""
        return sum((end - start) * 60 for ranges in self.week for start, end in ranges)

    # --- the open intervals ---------------------------------------------------------------

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals in UTC, in order, from the one containing `start` onwards (clipped
        to begin at `start`). Stops after the horizon."""
        start = start.astimezone(UTC)
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(_HORIZON_DAYS):
            for opened, closed in self._day(day):
                if closed > start:
                    yield max(opened, start), closed
            day += timedelta(days=1)

    def _day(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        out = []
        for start, end in self.week[day.weekday()]:
            out.append((self._instant(day, start), self._instant(day, end)))
        return out

    def _instant(self, day: date, minutes: int) -> datetime:
        if minutes >= 1440:
            day, minutes = day + timedelta(days=1), minutes - 1440
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    # --- arithmetic ------------------------------------------------------------------------

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant `seconds` of open time after `start`."""
        left = timedelta(seconds=max(0.0, seconds))
        last = start
        for opened, closed in self.open_intervals(start):
            if opened + left <= closed:
                return opened + left
            left -= closed - opened
            last = closed
        # Not within the horizon (a calendar of holidays): as far as we looked, never an error.
        return last

    def between(self, start: datetime, end: datetime) -> float:
        """Seconds of open time in [start, end); zero when end is not after start."""
        if end <= start:
            return 0.0
        total = 0.0
        for opened, closed in self.open_intervals(start):
            if opened >= end:
                break
            total += (min(closed, end) - opened).total_seconds()
        return total

    def is_open(self, moment: datetime) -> bool:
        for opened, closed in self.open_intervals(moment):
            return opened <= moment.astimezone(UTC) < closed
        return False


class AlwaysOpen:
    """The 24/7 calendar: every second counts."""

    def add(self, start: datetime, seconds: float) -> datetime:
        return start + timedelta(seconds=max(0.0, seconds))

    def between(self, start: datetime, end: datetime) -> float:
        return max(0.0, (end - start).total_seconds())

    def is_open(self, moment: datetime) -> bool:
        return True


ALWAYS = AlwaysOpen()
Calendar = BusinessHours | AlwaysOpen


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
