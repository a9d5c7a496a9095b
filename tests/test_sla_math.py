"""Business-hours arithmetic and SLA policy rules (core, pure), against times worked out by hand.

Calendar facts used below: 2026-03-29 and 2026-10-25 are Sundays (Europe/Berlin changes to
CEST, UTC+2, and back to CET, UTC+1, at 01:00 UTC on those days); New York is UTC-5 in
December, Tokyo UTC+9 all year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import pytest

from agent_console.core import sla
from agent_console.core.business_hours import ALWAYS, BusinessHours, CalendarError
from agent_console.core.models import SlaBusinessHours, SlaClock, SlaPolicy

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def office(
    zone: str, start: str = "09:00", end: str = "17:00", holidays: tuple[date, ...] = ()
) -> BusinessHours:
    return BusinessHours.build(zone, [(day, start, end) for day in WEEKDAYS], holidays)


def test_always_open_counts_every_second() -> None:
    assert ALWAYS.add(utc(2026, 3, 29, 0, 30), 120) == utc(2026, 3, 29, 0, 32)
    assert ALWAYS.between(utc(2026, 3, 29), utc(2026, 3, 30)) == 86400


def test_business_hours_skip_the_night_and_the_weekend_across_spring_forward() -> None:
    berlin = office("Europe/Berlin")
    # Fri 27 Mar 16:00 CET (15:00Z): one hour left that day; Monday opens at 09:00 CEST, 07:00Z.
    assert berlin.add(utc(2026, 3, 27, 15), 2 * 3600) == utc(2026, 3, 30, 8)
    assert berlin.between(utc(2026, 3, 27, 15), utc(2026, 3, 30, 8)) == 2 * 3600


def test_business_hours_across_fall_back() -> None:
    berlin = office("Europe/Berlin")
    # Fri 23 Oct 16:00 CEST (14:00Z); Monday 26 Oct opens at 09:00 CET, 08:00Z.
    assert berlin.add(utc(2026, 10, 23, 14), 2 * 3600) == utc(2026, 10, 26, 9)


def test_a_whole_local_day_is_23_or_25_hours_on_dst_days() -> None:
    every_day = BusinessHours.build("Europe/Berlin", [(day, "00:00", "24:00") for day in sla_days()])
    # Local midnight to midnight: 29 Mar 00:00 CET (28 Mar 23:00Z) to 30 Mar 00:00 CEST (29 Mar 22:00Z).
    assert every_day.between(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)) == 23 * 3600
    # 25 Oct 00:00 CEST (24 Oct 22:00Z) to 26 Oct 00:00 CET (25 Oct 23:00Z).
    assert every_day.between(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)) == 25 * 3600
    # Open all the time, so adding is plain adding, DST or not.
    assert every_day.add(utc(2026, 3, 29, 0, 30), 3600) == utc(2026, 3, 29, 1, 30)


def sla_days() -> tuple[str, ...]:
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def test_the_same_instant_is_another_local_day_across_a_zone_boundary() -> None:
    start = utc(2026, 11, 30, 23, 30)  # Monday 23:30Z
    # New York: Monday 18:30 EST, closed; opens Tuesday 09:00 EST = 14:00Z.
    assert office("America/New_York").add(start, 3600) == utc(2026, 12, 1, 15)
    # Tokyo: already Tuesday 08:30 JST; opens at 09:00 JST = 00:00Z.
    assert office("Asia/Tokyo").add(start, 3600) == utc(2026, 12, 1, 1)
    assert office("Asia/Tokyo").is_open(utc(2026, 12, 1, 0, 30))
    assert not office("America/New_York").is_open(utc(2026, 12, 1, 0, 30))


def test_holidays_are_closed_all_day() -> None:
    berlin = office("Europe/Berlin", holidays=(date(2026, 12, 24), date(2026, 12, 25)))
    # Wed 23 Dec 16:30 CET (15:30Z): 30 minutes that day, Thu and Fri are holidays, then the
    # weekend; Monday 28 Dec 09:00 CET = 08:00Z, plus the remaining 30 minutes.
    assert berlin.add(utc(2026, 12, 23, 15, 30), 3600) == utc(2026, 12, 28, 8, 30)


def test_several_ranges_a_day_and_starting_inside_a_break() -> None:
    split = BusinessHours.build("UTC", [("mon", "08:00", "12:00"), ("mon", "13:00", "17:00")])
    # Monday 30 Nov 12:15 is lunch: the clock starts at 13:00.
    assert split.add(utc(2026, 11, 30, 12, 15), 1800) == utc(2026, 11, 30, 13, 30)
    assert split.add(utc(2026, 11, 30, 11, 30), 3600) == utc(2026, 11, 30, 13, 30)
    # Nothing on other days: the next Monday.
    assert split.add(utc(2026, 11, 30, 16, 30), 3600) == utc(2026, 12, 7, 8, 30)


@pytest.mark.parametrize(
    ("hours", "zone", "field"),
    [
        ([("mon", "09:00", "12:00"), ("mon", "11:00", "14:00")], "UTC", "business_hours.hours[1]"),
        ([("mon", "17:00", "09:00")], "UTC", "business_hours.hours[0]"),
        ([("mon", "9:00", "17:00")], "UTC", "business_hours.hours[0].start"),
        ([("mon", "09:00", "24:30")], "UTC", "business_hours.hours[0].end"),
        ([("mon", "09:00", "17:00")], "Mars/Olympus_Mons", "business_hours.zone"),
        ([], "UTC", "business_hours.hours"),
    ],
)
def test_bad_calendars_name_the_field(hours: list, zone: str, field: str) -> None:
    with pytest.raises(CalendarError) as caught:
        BusinessHours.build(zone, hours)
    assert caught.value.field == field


def policy(ident: int, position: int, **fields: object) -> SlaPolicy:
    base = {
        "name": f"p{ident}",
        "is_default": False,
        "priorities": [],
        "channels": [],
        "team_ids": [],
        "first_response_s": 60,
        "next_response_s": None,
        "resolution_s": None,
        "warn_share": 0.25,
        "business_hours": None,
    }
    return SlaPolicy(id=ident, position=position, **{**base, **fields})  # type: ignore[arg-type]


def test_first_match_by_position_wins_and_the_default_catches_the_rest() -> None:
    policies = [
        policy(1, 50, channels=["email"]),
        policy(2, 10, priorities=["urgent"]),
        policy(3, 20, priorities=["urgent"], team_ids=[7]),
        policy(4, 0, is_default=True),
    ]
    chosen = sla.choose(policies, priority="urgent", channel="email", team_id=7)
    assert chosen is not None and chosen.id == 2  # position 10 comes before 20 and 50
    chosen = sla.choose(policies, priority="normal", channel="email", team_id=None)
    assert chosen is not None and chosen.id == 1
    chosen = sla.choose(policies, priority="normal", channel="web_chat", team_id=None)
    assert chosen is not None and chosen.id == 4  # the default, though its position is 0
    assert sla.choose(policies[:3], priority="low", channel="sms", team_id=None) is None


def test_due_and_warning_add_paused_time_on_the_calendar() -> None:
    berlin = office("Europe/Berlin")
    record = sla.ClockRecord("frt", utc(2026, 3, 27, 15), paused_s=1800)
    # 1 h target + 30 min paused: 1 h Friday then 30 min on Monday from 07:00Z.
    assert sla.due(record, 3600, berlin) == utc(2026, 3, 30, 7, 30)
    # Warned with 25 % left: at 45 min of target + 30 min paused = Monday 07:15Z.
    assert sla.warn_at(record, 3600, 0.25, berlin) == utc(2026, 3, 30, 7, 15)


def test_overall_status_vocabulary() -> None:
    due = utc(2026, 1, 1)

    def clock(state: str, late: int | None = None) -> SlaClock:
        return SlaClock(name="frt", due_at=due, state=state, breached_by_s=late)  # type: ignore[arg-type]

    assert sla.overall([clock("running"), clock("hit")]) == "active"
    assert sla.overall([clock("hit"), clock("hit")]) == "hit"
    assert sla.overall([clock("missed", 30), clock("hit")]) == "missed"
    assert sla.overall([clock("missed", 30), clock("running")]) == "active_with_misses"
    assert sla.overall([clock("missed")]) == "active_with_misses"  # still late, nobody answered
    assert sla.overall([clock("paused")]) == "active"
    # Resolved before any reply: the first-response clock gives no verdict; resolution was hit.
    assert sla.overall([clock("paused"), clock("hit")], resolved=True) == "hit"
    assert sla.overall([clock("missed"), clock("hit")], resolved=True) == "missed"


def test_a_stopped_clock_is_hit_or_missed_by_how_late_it_stopped() -> None:
    start = utc(2026, 1, 1, 10)
    due = utc(2026, 1, 1, 10, 2)
    on_time = sla.ClockRecord("frt", start, stopped_at=utc(2026, 1, 1, 10, 1))
    late = sla.ClockRecord("frt", start, stopped_at=utc(2026, 1, 1, 10, 5))
    assert sla.clock_view(on_time, due, paused=False).state == "hit"
    view = sla.clock_view(late, due, paused=False)
    assert (view.state, view.breached_by_s) == ("missed", 180)
    running = sla.ClockRecord("frt", start)
    assert sla.clock_view(running, due, paused=True).state == "paused"


def test_a_target_longer_than_eight_weeks_of_open_time_is_refused() -> None:
    hours = {"zone": "UTC", "hours": [{"day": "mon", "start": "09:00", "end": "10:00"}], "holidays": []}
    calendar = msgspec.convert(hours, SlaBusinessHours)
    fits = policy(1, 1, resolution_s=8 * 3600, business_hours=calendar)
    sla.check_policy(fits)  # eight open hours: eight Mondays
    with pytest.raises(sla.PolicyError) as caught:
        sla.check_policy(policy(1, 1, resolution_s=8 * 3600 + 1, business_hours=calendar))
    assert caught.value.field == "resolution_s"
