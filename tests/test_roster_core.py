"""core/roster.py and core/routing.py with hand-computed answers.

The week of 2026-03-09: Los Angeles is on PDT (UTC-7) since Sunday 8 March, Lisbon still on
WET (UTC+0) until 29 March, Tokyo is UTC+9 all year. The week before, Los Angeles is UTC-8.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from agent_console.core.business_hours import BusinessHours, CalendarError
from agent_console.core.roster import Coverage, Person, Schedule, last_shift_end, on_shift, roster
from agent_console.core.routing import Candidate, decide

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekdays(start: str, end: str) -> list[tuple[str, str, str]]:
    return [(day, start, end) for day in WEEKDAYS]


def team(**schedules: Schedule) -> list[Person]:
    return [Person(i, name, s, (1,), "online") for i, (name, s) in enumerate(schedules.items(), start=1)]


TOKYO = Schedule.build("Asia/Tokyo", weekdays("09:00", "18:00"))  # 00:00-09:00 UTC
LISBON = Schedule.build("Europe/Lisbon", weekdays("09:00", "16:00"))  # 09:00-16:00 UTC in March
LOS_ANGELES = Schedule.build("America/Los_Angeles", weekdays("10:00", "17:00"))
DAYTIME = Coverage(1, "Support", BusinessHours.build("UTC", weekdays("00:00", "24:00")))


def test_who_is_on_and_next_across_three_zones() -> None:
    result = roster(team(tokyo=TOKYO, lisbon=LISBON, la=LOS_ANGELES), [DAYTIME], utc(2026, 3, 10, 8, 0))
    assert [(s.name, s.start, s.end) for s in result.on] == [
        ("tokyo", utc(2026, 3, 10, 0), utc(2026, 3, 10, 9))
    ]
    assert [(s.name, s.start, s.end) for s in result.next] == [
        ("lisbon", utc(2026, 3, 10, 9), utc(2026, 3, 10, 16)),
        ("la", utc(2026, 3, 10, 17), utc(2026, 3, 11, 0)),  # 10:00-17:00 PDT
    ]
    # 16:00-17:00 UTC nobody is on; Tokyo picks up at midnight UTC.
    assert [(g.start, g.end, g.have, g.need) for g in result.gaps] == [
        (utc(2026, 3, 10, 16), utc(2026, 3, 10, 17), 0, 1)
    ]


def test_the_same_week_pattern_leaves_a_longer_gap_before_the_us_clock_change() -> None:
    result = roster(team(tokyo=TOKYO, lisbon=LISBON, la=LOS_ANGELES), [DAYTIME], utc(2026, 3, 3, 8, 0))
    # 10:00-17:00 PST is 18:00-01:00 UTC: two empty hours, and the overlap with Tokyo is no gap.
    assert [(g.start, g.end) for g in result.gaps] == [(utc(2026, 3, 3, 16), utc(2026, 3, 3, 18))]
    assert ("la", utc(2026, 3, 3, 18), utc(2026, 3, 4, 1)) in [(s.name, s.start, s.end) for s in result.next]


def test_a_shift_across_the_spring_forward_night_is_an_hour_shorter() -> None:
    night = Schedule.build("America/Los_Angeles", [("sun", "00:00", "04:00")])
    window = Coverage(1, "Support", BusinessHours.build("UTC", [("sun", "08:00", "12:00")]))
    result = roster(team(la=night), [window], utc(2026, 3, 8, 6, 0))
    # 00:00 PST = 08:00 UTC; 04:00 PDT = 11:00 UTC: three hours of work, then a gap to 12:00.
    assert [(s.start, s.end) for s in result.next] == [(utc(2026, 3, 8, 8), utc(2026, 3, 8, 11))]
    assert [(g.start, g.end, g.have) for g in result.gaps] == [(utc(2026, 3, 8, 11), utc(2026, 3, 8, 12), 0)]


def test_a_day_off_opens_a_gap_and_an_extra_shift_closes_one() -> None:
    lisbon = Schedule.build(
        "Europe/Lisbon",
        weekdays("09:00", "16:00"),
        [(date(2026, 3, 10), "off", None, None), (date(2026, 3, 10), "extra", "16:00", "17:00")],
    )
    result = roster(team(tokyo=TOKYO, lisbon=lisbon, la=LOS_ANGELES), [DAYTIME], utc(2026, 3, 10, 8, 0))
    assert [(g.start, g.end) for g in result.gaps] == [(utc(2026, 3, 10, 9), utc(2026, 3, 10, 16))]


def test_two_agents_needed_counts_heads() -> None:
    both = Coverage(1, "Support", BusinessHours.build("UTC", [("tue", "08:00", "20:00")]), min_agents=2)
    result = roster(team(lisbon=LISBON, la=LOS_ANGELES), [both], utc(2026, 3, 10, 8, 0))
    assert [(g.start, g.end, g.have) for g in result.gaps] == [
        (utc(2026, 3, 10, 8), utc(2026, 3, 10, 9), 0),
        (utc(2026, 3, 10, 9), utc(2026, 3, 10, 16), 1),
        (utc(2026, 3, 10, 16), utc(2026, 3, 10, 17), 0),
        (utc(2026, 3, 10, 17), utc(2026, 3, 10, 20), 1),
    ]


def test_a_night_shift_over_midnight_is_one_shift() -> None:
    night = Schedule.build("Europe/Lisbon", [("mon", "22:00", "24:00"), ("tue", "00:00", "06:00")])
    assert on_shift(night, utc(2026, 3, 10, 1)) == (utc(2026, 3, 9, 22), utc(2026, 3, 10, 6))
    assert on_shift(night, utc(2026, 3, 10, 7)) is None
    assert last_shift_end(night, utc(2026, 3, 10, 7)) == utc(2026, 3, 10, 6)


@pytest.mark.parametrize(
    ("zone", "hours", "field", "conflict"),
    [
        ("Mars/Olympus", [("mon", "09:00", "17:00")], "timezone", False),
        ("UTC", [("mon", "17:00", "09:00")], "schedule.hours[0]", True),
        ("UTC", [("mon", "09:00", "13:00"), ("mon", "12:00", "17:00")], "schedule.hours[1]", True),
        ("UTC", [("mon", "9am", "17:00")], "schedule.hours[0].start", False),
    ],
)
def test_bad_schedules_name_the_part(zone: str, hours: list, field: str, conflict: bool) -> None:
    with pytest.raises(CalendarError) as caught:
        Schedule.build(zone, hours)
    assert caught.value.field == field
    assert caught.value.conflict is conflict


# --- routing ---------------------------------------------------------------------------


def agents() -> list[Candidate]:
    return [
        Candidate(1, "Ana", (1,), ("pt", "en"), "online", True, 2, utc(2026, 3, 10, 8, 0)),
        Candidate(2, "Lena", (1,), ("de", "en"), "online", True, 0, utc(2026, 3, 10, 8, 5)),
        Candidate(3, "Jordan", (1,), ("en",), "away", True, 0, None),  # away: never
        Candidate(4, "Maya", (2,), ("de",), "online", True, 0, None),  # other team
        Candidate(5, "Chloé", (1,), ("fr",), "online", False, 0, None),  # off shift
    ]


def test_round_robin_takes_the_longest_since_routed_in_the_team() -> None:
    decision = decide(agents(), team_id=1, team_name="Support", language=None, cap=3, mode="round_robin")
    assert decision.agent_id == 1 and decision.outcome == "routed"  # Ana: routed to at 08:00, Lena 08:05


def test_least_loaded_takes_the_fewest_open() -> None:
    decision = decide(agents(), team_id=1, team_name="Support", language=None, cap=3, mode="least_loaded")
    assert decision.agent_id == 2


def test_language_skill_wins_and_falls_back_when_nobody_speaks_it() -> None:
    pt = decide(agents(), team_id=1, team_name="Support", language="pt-BR", cap=3, mode="least_loaded")
    assert pt.agent_id == 1 and "speaks pt" in pt.reason
    ja = decide(agents(), team_id=1, team_name="Support", language="ja", cap=3, mode="least_loaded")
    assert ja.agent_id == 2 and "nobody free speaks ja" in ja.reason


def test_the_cap_skips_full_agents_then_makes_the_conversation_wait() -> None:
    assert decide(agents(), team_id=1, team_name="S", language="pt", cap=2, mode="round_robin").agent_id == 2
    full = [c for c in agents() if c.agent_id != 2]
    waiting = decide(full, team_id=1, team_name="Support", language=None, cap=2, mode="round_robin")
    assert (waiting.agent_id, waiting.outcome) == (None, "at_cap")
    assert waiting.reason == "all 1 online agent(s) in team Support are at the cap of 2"


def test_nobody_online_on_shift() -> None:
    decision = decide(agents(), team_id=3, team_name="Night", language=None, cap=5, mode="round_robin")
    assert (decision.agent_id, decision.outcome) == (None, "nobody")
    # No team: anyone on the desk; Maya (team 2, nothing open, never routed) is first.
    assert (
        decide(agents(), team_id=None, team_name=None, language="de", cap=5, mode="round_robin").agent_id == 4
    )
