"""The status bar keeps its essentials at any width an SSH session gives it (issue 17, point 14).

The pilot test in test_tui_views.py checks the live bar at 80 columns; this checks every
connection state at the widths terminals commonly have, down to a split tmux pane.
"""

from __future__ import annotations

import time

import pytest

from agent_console.client.sync import ConnectionState
from agent_console.tui.widgets.status_bar import StatusParts, status_text

COUNTS = {"mine": 12, "unassigned": 181, "all": 1320, "urgent": 44}
NOW = time.monotonic()
STATES = {
    "live": ConnectionState("live"),
    "reconnecting": ConnectionState("reconnecting", retry_at=NOW + 27, since=time.time() - 600, detail="x"),
    "offline": ConnectionState("offline", detail="the server refused the token"),
    "connecting": ConnectionState("connecting"),
}


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("width", [158, 118, 78, 58, 48])
def test_essentials_fit(state: str, width: int) -> None:
    parts = StatusParts(STATES[state], "Rosalind Nightingale-Okafor", "busy", COUNTS, True)
    text = status_text(parts, width, NOW).plain
    assert len(text) <= width
    assert text.endswith("? help")
    assert "busy" in text
    assert "low-bw" in text or "low-bandwidth" in text
    assert text.split()[1] in ("LIVE", "RECONNECTING", "RETRY", "OFFLINE", "CONNECTING")
    if state == "reconnecting":
        assert "27" in text  # when the next try is: the one thing to know while it is down


def test_least_useful_parts_go_first() -> None:
    parts = StatusParts(STATES["live"], "Rosa Night", "online", COUNTS, True)
    wide = status_text(parts, 158, NOW).plain
    assert "unassigned 181" in wide and "low-bandwidth" in wide and "Rosa Night" in wide
    at_80 = status_text(parts, 78, NOW).plain
    assert "unassigned" not in at_80  # the view tabs show the counts
    assert "Rosa Night" in at_80 and "low-bandwidth" in at_80
    narrow = status_text(parts, 40, NOW).plain
    assert "Rosa Night" not in narrow and "low-bw" in narrow and "online" in narrow


@pytest.mark.parametrize(
    ("zone", "shown"), [("Asia/Tokyo", "07:40"), ("America/Chicago", "16:40"), (None, "22:40")]
)
def test_stale_since_is_in_the_agents_zone_like_the_thread(zone: str | None, shown: str) -> None:
    """Over SSH the machine's zone is the server's, not the agent's: the status line says when
    the view went stale in the same zone as the thread's message times (UTC without one)."""
    from datetime import UTC, datetime

    went_stale = datetime(2026, 11, 30, 22, 40, tzinfo=UTC).timestamp()
    state = ConnectionState("reconnecting", retry_at=NOW + 5, since=went_stale)
    parts = StatusParts(state, "Rosa Night", "online", COUNTS, False, zone)
    assert f"STALE since {shown}" in status_text(parts, 158, NOW).plain
    assert f"stale {shown}" in status_text(parts, 48, NOW).plain
