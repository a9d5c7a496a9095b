"""How the console shows SLA clocks: the queue's cell and the conversation header's line.

The server says which clocks run, when each is due and from when it is "soon" (`warn_at`,
worked out on the policy's calendar); the console only compares those with the clock on
the wall. Levels: `ok` (plenty of time), `soon` (under the policy's warning share, 25 % by
default), `breached` (past due), `dim` (nothing counts down).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from rich.text import Text

from agent_console.core import sla
from agent_console.core.models import Conversation, SlaClock
from agent_console.tui.format import compact, local_time
from agent_console.tui.safe_text import untrusted_line

WIDTH = 8  # "FRT  12m", "NRT -3m": the clock's name, then the time left
# Conversations from a server without SLA policies: soon means 15 minutes left.
SOON = timedelta(minutes=15)
STATE_STYLES = {"hit": "green", "missed": "bold red", "paused": "dim", "running": ""}


def level(clock: SlaClock, now: datetime) -> str:
    if clock.state == "missed" or clock.due_at <= now:
        return "breached"
    if clock.warn_at is not None and now >= clock.warn_at:
        return "soon"
    return "ok"


def sla_label(conversation: Conversation, now: datetime) -> tuple[str, str]:
    """The queue's SLA cell: the nearest due clock, which one, and its urgency level."""
    info = conversation.sla
    if info is not None and conversation.due_at is not None:
        nearest = sla.nearest(info.clocks)
        if nearest is not None:
            left = countdown(nearest.due_at - now)
            return f"{sla.CLOCK_TITLES[nearest.name]:<3}{left:>5}", level(nearest, now)
    left_over = sla.time_left(conversation.due_at, now)
    if left_over is not None:  # an older server: one countdown, no clocks
        if left_over.total_seconds() < 0:
            return compact(left_over), "breached"
        return compact(left_over), "soon" if left_over <= SOON else "ok"
    if conversation.status == "snoozed" and conversation.snoozed_until:
        return "z" + compact(conversation.snoozed_until - now), "dim"
    return "✓", "dim"  # nobody is waiting on us


def countdown(delta: timedelta) -> str:
    """Whole minutes, rounded away from zero under an hour: 20 s left reads `1m`, 20 s late
    `-1m` (never `-0m`); hours and days as the rest of the console writes them."""
    seconds = delta.total_seconds()
    if abs(seconds) >= 3600:
        return compact(delta)
    minutes = max(1, math.ceil(abs(seconds) / 60)) if seconds else 0
    return f"{'-' if seconds < 0 else ''}{minutes}m"


LEVEL_STYLES = {"breached": "bold red", "soon": "yellow", "ok": "green", "dim": "dim"}


def header_line(conversation: Conversation, now: datetime, zone: str | None) -> Text | None:
    """`policy Chat · FRT hit · NRT 14:05 (3m) · RT 18:00 (3h)`: every clock and the policy name."""
    info = conversation.sla
    if info is None:
        return None
    line = Text("policy ")
    line.append_text(untrusted_line(info.policy, "bold"))  # typed by an admin, not by this agent
    for clock in info.clocks:
        line.append(" · ")
        title = sla.CLOCK_TITLES[clock.name]
        if clock.state in ("hit", "paused") or (clock.state == "missed" and clock.breached_by_s is not None):
            word = (
                clock.state
                if clock.state != "missed"
                else f"missed by {compact(timedelta(seconds=clock.breached_by_s or 0))}"
            )
            line.append(f"{title} {word}", STATE_STYLES.get(clock.state, ""))
            continue
        due = local_time(clock.due_at, zone)
        line.append(f"{title} {due} ({countdown(clock.due_at - now)})", LEVEL_STYLES[level(clock, now)])
    line.append(f" · {info.status.replace('_', ' ')}", "dim")
    return line
