"""Shift calls of the native desk server (schedules, coverage, roster, handoffs, routing), as a
mixin of `NativeBackend`. Like the admin calls they are not part of the `Backend` protocol:
another help desk's adapter has none, and `require_shift_calls` says so."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent_console.core.models import (
    AgentSchedule,
    CoverageInput,
    Handoff,
    HandoffList,
    NewHandoff,
    RosterView,
    RoutingStatus,
    ScheduleInput,
    TeamCoverage,
)

if TYPE_CHECKING:
    from agent_console.client.native import NativeBackend

    _Base = NativeBackend
else:
    _Base = object


class ShiftCalls(_Base):
    async def schedule(self, agent_id: int) -> AgentSchedule:
        return await self._call("GET", f"/agents/{agent_id}/schedule", AgentSchedule)

    async def set_schedule(self, agent_id: int, update: ScheduleInput) -> AgentSchedule:
        return await self._call("PATCH", f"/agents/{agent_id}/schedule", AgentSchedule, body=update)

    async def coverage(self, team_id: int) -> TeamCoverage:
        return await self._call("GET", f"/teams/{team_id}/coverage", TeamCoverage)

    async def set_coverage(self, team_id: int, window: CoverageInput) -> TeamCoverage:
        return await self._call("PATCH", f"/teams/{team_id}/coverage", TeamCoverage, body=window)

    async def clear_coverage(self, team_id: int) -> None:
        await self._call("DELETE", f"/teams/{team_id}/coverage", None)

    async def roster(self, at: datetime | None = None) -> RosterView:
        from agent_console.core.clock import to_iso

        return await self._call("GET", "/roster", RosterView, params={"at": at and to_iso(at)})

    async def hand_over(self, handoff: NewHandoff, key: str | None = None) -> Handoff:
        headers = {"Idempotency-Key": key or uuid.uuid4().hex}
        return await self._call("POST", "/handoffs", Handoff, body=handoff, headers=headers)

    async def handoffs(self, *, scope: str = "mine", since: datetime | None = None) -> list[Handoff]:
        from agent_console.core.clock import to_iso

        params: dict[str, Any] = {"scope": scope, "since": since and to_iso(since)}
        return (await self._call("GET", "/handoffs", HandoffList, params=params)).items

    async def routing(self) -> RoutingStatus:
        return await self._call("GET", "/routing", RoutingStatus)


def require_shift_calls(backend: Any) -> ShiftCalls:
    """The backend's shift calls, or a clear error for a help desk that has none here."""
    from agent_console.client.errors import BackendError

    if not isinstance(backend, ShiftCalls):
        name = getattr(backend, "name", type(backend).__name__)
        raise BackendError(f"the {name} adapter has no shifts: rosters and handoffs need the desk server")
    return backend
