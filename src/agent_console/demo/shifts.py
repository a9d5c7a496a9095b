"""The demo's shifts (``shifts.toml``): schedules, languages, team coverage and the handoff
note waiting for the demo agent. Parsed here (stdlib only); the desk server seeds them."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

_HOURS = re.compile(r"^([a-z]{3})(?:-([a-z]{3}))?\s+(\d{2}:\d{2})-(\d{2}:\d{2})$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class ScheduleSeed:
    email: str
    hours: tuple[tuple[str, str, str], ...]
    languages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CoverageSeed:
    team: str
    zone: str
    hours: tuple[tuple[str, str, str], ...]
    min_agents: int


@dataclass(frozen=True, slots=True)
class HandoffSeed:
    from_email: str
    conversations: int
    note: str
    first_note: str


@dataclass(frozen=True, slots=True)
class ShiftSeeds:
    schedules: tuple[ScheduleSeed, ...]
    coverage: tuple[CoverageSeed, ...]
    handoff: HandoffSeed | None


def expand(specs: list[str], where: str) -> tuple[tuple[str, str, str], ...]:
    """`mon-fri 09:00-17:00` into one (day, start, end) per day."""
    out: list[tuple[str, str, str]] = []
    for spec in specs:
        match = _HOURS.match(spec.strip().lower())
        if not match or match[1] not in DAYS or (match[2] and match[2] not in DAYS):
            raise ValueError(f"shifts.toml {where}: {spec!r} is not like 'mon-fri 09:00-17:00'")
        span = DAYS[DAYS.index(match[1]) : DAYS.index(match[2] or match[1]) + 1]
        out += [(day, match[3], match[4]) for day in span]
    return tuple(out)


@cache
def load_shifts() -> ShiftSeeds:
    text = resources.files("agent_console.demo").joinpath("shifts.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    schedules = tuple(
        ScheduleSeed(
            row["email"], expand(row["hours"], f"schedule #{i + 1}"), tuple(row.get("languages", ()))
        )
        for i, row in enumerate(data.get("schedule", []))
    )
    coverage = tuple(
        CoverageSeed(row["team"], row["zone"], expand(row["hours"], f"coverage #{i + 1}"), row.get("min", 1))
        for i, row in enumerate(data.get("coverage", []))
    )
    raw = data.get("handoff")
    handoff = None
    if raw:
        handoff = HandoffSeed(
            raw["from"], int(raw.get("conversations", 3)), raw["note"], raw.get("first_note", "")
        )
    return ShiftSeeds(schedules, coverage, handoff)
