"""The console's custom snooze prompt takes what the CLI takes: a future time at most a year
ahead; a typo like 9999d is refused with the bound, and a number too big for a date is a
clear message, not a crash of the prompt."""

from __future__ import annotations

import pytest

from agent_console.tui.screens.conversation_actions import check_when


@pytest.mark.parametrize("text", ["30m", "4h", "2d", "365d", "tomorrow"])
def test_sensible_snoozes_pass(text: str) -> None:
    assert check_when(text, "Europe/Lisbon") is None


@pytest.mark.parametrize("text", ["9999d", "366d", "2099-01-01T09:00"])
def test_more_than_a_year_ahead_is_refused_with_the_bound(text: str) -> None:
    assert check_when(text, "UTC") == "at most 365 days (a year) ahead"


@pytest.mark.parametrize("text", ["999999999d", "99999999999999h"])
def test_numbers_too_big_for_a_date_get_the_usage_hint(text: str) -> None:
    assert check_when(text, "UTC") == "use 30m, 4h, 2d, tomorrow, or a date-time like 2026-12-01T09:00"


def test_the_past_is_refused() -> None:
    assert check_when("2020-01-01T09:00", "UTC") == "that time has passed; pick a time in the future"
