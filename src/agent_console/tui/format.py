"""How the console writes times, durations, channels and priorities: one place, so every
screen agrees."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CHANNELS = {"web_chat": "chat", "email": "mail", "whatsapp": "wapp", "sms": "sms", "social": "soc"}
CHANNEL_NAMES = {
    "web_chat": "Web chat",
    "email": "Email",
    "whatsapp": "WhatsApp",
    "sms": "SMS",
    "social": "Social",
}
PRIORITY_MARKS = {"urgent": ("‼", "urgent"), "high": ("!", "high"), "normal": (" ", ""), "low": ("↓", "dim")}


def channel_short(channel: str) -> str:
    return CHANNELS.get(channel, channel[:4])


def priority_mark(priority: str) -> tuple[str, str]:
    return PRIORITY_MARKS.get(priority, ("?", "dim"))


def compact(delta: timedelta) -> str:
    """12m, 3h, 3h05 is too wide for a queue column: minutes under an hour, then hours, then days."""
    seconds = abs(delta.total_seconds())
    if seconds < 3600:
        text = f"{int(seconds // 60)}m"
    elif seconds < 86400:
        text = f"{int(seconds // 3600)}h"
    else:
        text = f"{int(seconds // 86400)}d"
    return ("-" if delta.total_seconds() < 0 else "") + text


def zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_time(moment: datetime, zone_name: str | None, *, with_date: bool = False) -> str:
    tz = zone(zone_name)
    local = moment.astimezone(tz) if tz else moment
    return local.strftime("%a %d %b %H:%M" if with_date else "%H:%M")


def stamp(moment: datetime, agent_zone: str | None, now: datetime) -> str:
    """A message time in the agent's zone: time today, date and time otherwise."""
    tz = zone(agent_zone)
    local = moment.astimezone(tz) if tz else moment
    today = now.astimezone(tz) if tz else now
    return local.strftime("%H:%M" if local.date() == today.date() else "%d %b %H:%M")
