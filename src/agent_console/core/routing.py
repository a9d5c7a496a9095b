"""Who gets an unassigned conversation: pure, so every rule is tested with hand-made agents.

Eligible: online (away, busy and offline agents get none), on shift, in the conversation's
team (any agent when it has none), and under the cap of concurrent open conversations. Among
them, those who speak the conversation's language; when nobody eligible does (or the language
is unknown), any eligible agent, and the reason says so. Round-robin takes whoever was routed
to least recently; least-loaded takes the fewest open conversations first (then round-robin).
When the only agents left are at the cap, the conversation waits in the team queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Mode = Literal["round_robin", "least_loaded"]
MODES: tuple[str, ...] = ("round_robin", "least_loaded")
_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(slots=True)
class Candidate:
    agent_id: int
    name: str
    team_ids: tuple[int, ...]
    languages: tuple[str, ...]
    presence: str
    on_shift: bool
    open_count: int
    last_routed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    agent_id: int | None  # None: the conversation waits
    reason: str
    # "routed", "at_cap" (waits: everyone who could take it is full) or "nobody" (nobody on).
    outcome: Literal["routed", "at_cap", "nobody"]


def _key_language(language: str | None) -> str | None:
    return language.split("-")[0].lower() if language else None


def decide(
    candidates: Sequence[Candidate],
    *,
    team_id: int | None,
    team_name: str | None,
    language: str | None,
    cap: int,
    mode: Mode,
) -> Decision:
    where = f"team {team_name}" if team_name else "the desk"
    members = [c for c in candidates if team_id is None or team_id in c.team_ids]
    ready = [c for c in members if c.on_shift and c.presence == "online"]
    if not ready:
        return Decision(None, f"nobody in {where} is on shift and online", "nobody")
    free = [c for c in ready if c.open_count < cap]
    if not free:
        return Decision(
            None, f"all {len(ready)} online agent(s) in {where} are at the cap of {cap}", "at_cap"
        )
    wanted = _key_language(language)
    speakers = [c for c in free if wanted and wanted in {_key_language(x) for x in c.languages}]
    pool = speakers or free
    if mode == "least_loaded":
        chosen = min(pool, key=lambda c: (c.open_count, c.last_routed_at or _EPOCH, c.agent_id))
        how = f"least loaded ({chosen.open_count} open, cap {cap})"
    else:
        chosen = min(pool, key=lambda c: (c.last_routed_at or _EPOCH, c.agent_id))
        how = f"round-robin ({chosen.open_count} open, cap {cap})"
    if not wanted:
        speaks = "language unknown"
    elif speakers:
        speaks = f"speaks {wanted}"
    else:
        speaks = f"nobody free speaks {wanted}"
    return Decision(chosen.agent_id, f"{where}, {how}, {speaks}", "routed")
