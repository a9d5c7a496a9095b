"""`--until` values: what they mean and their bounds, at a fixed clock (pure, no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent_console.cli.timeparse import MAX_AHEAD, parse_until

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14, the furthest east
PAGO_PAGO = ZoneInfo("Pacific/Pago_Pago")  # UTC-11


def until(text: str, zone=UTC) -> datetime:
    return parse_until(text, zone=zone, now=NOW)


def test_a_year_ahead_is_the_limit_for_durations() -> None:
    assert MAX_AHEAD == timedelta(days=365)
    assert until("365d") == until("8760h") == NOW + MAX_AHEAD
    assert until("52w") == NOW + timedelta(weeks=52)
    for text in ("365d1s", "366d", "53w", "8761h", "9999d", "99999999999999999999w", "9" * 5000 + "m"):
        with pytest.raises(ValueError, match="too far ahead: at most 365 days"):
            until(text)


def test_a_year_ahead_is_the_limit_for_dates_in_any_zone() -> None:
    assert until("2027-11-29T20:00Z") == NOW + MAX_AHEAD
    with pytest.raises(ValueError, match="too far ahead"):
        until("2027-11-29T20:01Z")
    # A local time: the agent's own zone decides which side of the line it falls.
    assert until("2027-11-30", KIRITIMATI) == datetime(2027, 11, 29, 19, 0, tzinfo=UTC)
    for zone in (UTC, PAGO_PAGO):
        with pytest.raises(ValueError, match="too far ahead"):
            until("2027-11-30", zone)
    for text in ("9999-12-31T23:59", "9999-12-31", "9999-12-31T23:59+02:00", "3000-01-01T00:00Z"):
        for zone in (UTC, KIRITIMATI, PAGO_PAGO):
            with pytest.raises(ValueError, match="too far ahead"):
                until(text, zone)
    for zone in (UTC, KIRITIMATI, PAGO_PAGO):
        with pytest.raises(ValueError, match="in the past"):
            until("0001-01-01T00:00", zone)


def test_near_times_still_work() -> None:
    assert until("4h") == NOW + timedelta(hours=4)
    assert until("tomorrow", PAGO_PAGO) == datetime(2026, 11, 30, 9, 0, tzinfo=PAGO_PAGO)
    assert until("2027-06-01T09:00+02:00") == datetime(2027, 6, 1, 7, 0, tzinfo=UTC)
