"""Shifts and the roster: when each agent works, who is on, who is next, where coverage is thin.

Pure. An agent's weekly pattern is wall-clock ranges in the agent's own IANA zone (built and
checked by `core/business_hours.BusinessHours`, so a DST change moves a shift in UTC the way
the agent's own clock moves); exceptions are whole days off and extra shifts on a date. A
night shift is two ranges (mon 22:00-24:00, tue 00:00-06:00): ranges that touch are one shift.
A team's coverage window is the same kind of calendar in the team's zone, with the number of
agents it needs on at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from agent_console.core.business_hours import BusinessHours, CalendarError, load_zone, parse_clock

HORIZON = timedelta(hours=24)
Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Extra:
    """An extra shift on one date (in the agent's zone)."""

    day: date
    start: int  # minutes from local midnight
    end: int


@dataclass(frozen=True, slots=True)
class Schedule:
    zone: str
    week: BusinessHours | None  # None: no weekly pattern (extra shifts only)
    days_off: frozenset[date] = frozenset()
    extras: tuple[Extra, ...] = ()

    @classmethod
    def build(
        cls,
        zone: str,
        hours: Sequence[tuple[str, str, str]],
        exceptions: Sequence[tuple[date, str, str | None, str | None]] = (),
        *,
        field: str = "schedule",
    ) -> Schedule:
        """From (day, start, end) ranges and (date, "off"|"extra", start, end) exceptions;
        CalendarError names the bad part (unknown zone, inverted or overlapping ranges)."""
        load_zone(zone, "timezone")
        days_off: set[date] = set()
        extras: list[Extra] = []
        for i, (day, kind, start_text, end_text) in enumerate(exceptions):
            where = f"{field}.exceptions[{i}]"
            if kind == "off":
                days_off.add(day)
                continue
            if start_text is None or end_text is None:
                raise CalendarError(
                    f"{where}: an extra shift needs start and end", f"{where}.start", conflict=True
                )
            start = parse_clock(start_text, f"{where}.start")
            end = parse_clock(end_text, f"{where}.end")
            if end <= start:
                raise CalendarError(
                    f"{where}: ends at {end_text}, not after it starts ({start_text})", where, conflict=True
                )
            for j, other in enumerate(extras):
                if other.day == day and start < other.end and other.start < end:
                    raise CalendarError(f"{where} overlaps {field}.exceptions[{j}]", where, conflict=True)
            extras.append(Extra(day, start, end))
        week = None
        if hours:
            # The weekly pattern's own checks: inverted and overlapping ranges, unknown days.
            week = BusinessHours.build(zone, hours, sorted(days_off), field=field)
        return cls(zone, week, frozenset(days_off), tuple(extras))

    def intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """Working intervals in UTC overlapping [start, end), merged (touching ranges are one
        shift) and NOT clipped: a shift that began before `start` keeps its real start."""
        zone = load_zone(self.zone, "timezone")
        # A day before and after, so shifts that began earlier or run past midnight are whole.
        begin = start - timedelta(days=2)
        out: list[Interval] = []
        if self.week is not None:
            for opened, closed in self.week.open_intervals(begin):
                if opened >= end + timedelta(days=2):
                    break
                out.append((opened, closed))
        for extra in self.extras:
            out.append((_instant(zone, extra.day, extra.start), _instant(zone, extra.day, extra.end)))
        merged = _merge(out)
        return [(a, b) for a, b in merged if b > start and a < end]


def _instant(zone: object, day: date, minutes: int) -> datetime:
    if minutes >= 1440:
        day, minutes = day + timedelta(days=1), minutes - 1440
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone).astimezone(UTC)  # type: ignore[arg-type]


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for opened, closed in sorted(intervals):
        if out and opened <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], closed))
        else:
            out.append((opened, closed))
    return out


@dataclass(frozen=True, slots=True)
class Person:
    agent_id: int
    name: str
    schedule: Schedule
    team_ids: tuple[int, ...] = ()
    presence: str = "offline"


@dataclass(frozen=True, slots=True)
class Coverage:
    team_id: int
    team: str
    window: BusinessHours
    min_agents: int = 1


@dataclass(frozen=True, slots=True)
class OnShift:
    agent_id: int
    name: str
    start: datetime
    end: datetime
    team_ids: tuple[int, ...]
    presence: str


@dataclass(frozen=True, slots=True)
class Gap:
    team_id: int
    team: str
    start: datetime
    end: datetime
    have: int
    need: int


@dataclass(slots=True)
class Roster:
    at: datetime
    on: list[OnShift] = field(default_factory=list)
    next: list[OnShift] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


def on_shift(schedule: Schedule, at: datetime) -> Interval | None:
    """The shift `at` falls in, or None."""
    for opened, closed in schedule.intervals(at, at + timedelta(seconds=1)):
        if opened <= at < closed:
            return opened, closed
    return None


def last_shift_end(schedule: Schedule, at: datetime) -> datetime | None:
    """The end of the latest shift that ended at or before `at` (looking back a week)."""
    ends = [closed for _, closed in schedule.intervals(at - timedelta(days=7), at) if closed <= at]
    return ends[-1] if ends else None


def roster(people: Sequence[Person], coverage: Sequence[Coverage], at: datetime) -> Roster:
    """Who is on at `at`, who starts next within 24 h, and the coverage gaps in those 24 h."""
    at = at.astimezone(UTC)
    until = at + HORIZON
    result = Roster(at)
    shifts: dict[int, list[Interval]] = {}
    for person in people:
        spans = person.schedule.intervals(at, until)
        shifts[person.agent_id] = spans
        for opened, closed in spans:
            entry = OnShift(person.agent_id, person.name, opened, closed, person.team_ids, person.presence)
            if opened <= at < closed:
                result.on.append(entry)
                break  # on now: not also "next"
            if opened > at:
                result.next.append(entry)
                break  # only each agent's next shift
    result.on.sort(key=lambda s: (s.end, s.name))
    result.next.sort(key=lambda s: (s.start, s.name))
    for cover in coverage:
        members = [p for p in people if cover.team_id in p.team_ids]
        result.gaps.extend(_gaps(cover, [shifts[p.agent_id] for p in members], at, until))
    result.gaps.sort(key=lambda g: (g.start, g.team))
    return result


def _gaps(cover: Coverage, member_shifts: list[list[Interval]], at: datetime, until: datetime) -> list[Gap]:
    """Stretches of the team's window in [at, until) with fewer than `min_agents` on."""
    gaps: list[Gap] = []
    for opened, closed in cover.window.open_intervals(at):
        if opened >= until:
            break
        closed = min(closed, until)
        # Sweep the member shifts over the window: count agents on between change points.
        points = {opened, closed}
        for spans in member_shifts:
            for a, b in spans:
                points.update(p for p in (a, b) if opened < p < closed)
        ordered = sorted(points)
        for left, right in zip(ordered, ordered[1:], strict=False):
            have = sum(1 for spans in member_shifts if any(a <= left and right <= b for a, b in spans))
            if have >= cover.min_agents:
                continue
            if gaps and gaps[-1].end == left and gaps[-1].have == have and gaps[-1].team_id == cover.team_id:
                gaps[-1] = Gap(cover.team_id, cover.team, gaps[-1].start, right, have, cover.min_agents)
            else:
                gaps.append(Gap(cover.team_id, cover.team, left, right, have, cover.min_agents))
    return gaps
