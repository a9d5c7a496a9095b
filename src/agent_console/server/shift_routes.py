"""Shifts over REST: schedules, team coverage, the roster, handoffs and routing's queue.

Reading is open to every agent (the roster is for everyone on the desk); writing a schedule or
a coverage window needs the admin role. Any agent hands over their own conversations; an
admin may hand over anyone's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from agent_console.core.models import (
    Agent,
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
from agent_console.server.admin_routes import API, IdempotencyKey, PositiveId, _admin, _created, _store
from agent_console.server.checks import DATE_TIME_PATTERN
from agent_console.server.store import Invalid

When = Annotated[
    str | None,
    Parameter(description="ISO 8601 with an offset (default: now)", pattern=DATE_TIME_PATTERN),
]


def _instant(text: str | None, field: str, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid(f"{field}: {text!r} is not a date-time within years 1-9999", field=field) from None


@get(f"{API}/agents/{{agent_id:int}}/schedule", summary="An agent's weekly working pattern and exceptions")
async def get_schedule(request: Request, me: Agent, agent_id: PositiveId) -> AgentSchedule:
    return _store(request).get_schedule(agent_id)


@patch(
    f"{API}/agents/{{agent_id:int}}/schedule",
    summary="Set an agent's working pattern, exceptions or zone (admin); bad hours change nothing",
)
async def set_schedule(
    request: Request, me: Agent, agent_id: PositiveId, data: ScheduleInput
) -> AgentSchedule:
    _admin(me)
    return _store(request).set_schedule(agent_id, data, me)


@get(f"{API}/teams/{{team_id:int}}/coverage", summary="When a team wants agents on, and how many")
async def get_coverage(request: Request, me: Agent, team_id: PositiveId) -> TeamCoverage:
    return _store(request).get_coverage(team_id)


@patch(f"{API}/teams/{{team_id:int}}/coverage", summary="Set a team's coverage window (admin)")
async def set_coverage(request: Request, me: Agent, team_id: PositiveId, data: CoverageInput) -> TeamCoverage:
    _admin(me)
    return _store(request).set_coverage(team_id, data)


@delete(
    f"{API}/teams/{{team_id:int}}/coverage",
    status_code=HTTP_204_NO_CONTENT,
    summary="Remove a team's coverage window (admin)",
)
async def delete_coverage(request: Request, me: Agent, team_id: PositiveId) -> None:
    _admin(me)
    _store(request).clear_coverage(team_id)


@get(f"{API}/roster", summary="Who is on shift, who is next, and coverage gaps over the next 24 hours")
async def get_roster(request: Request, me: Agent, at: When = None) -> RosterView:
    return _store(request).roster_view(_instant(at, "at", datetime.now(UTC)))


@post(
    f"{API}/handoffs",
    summary="End a shift: hand your open conversations (or those listed) to a team or to agents, with a note",
)
async def create_handoff(
    request: Request, me: Agent, data: NewHandoff, idempotency_key: IdempotencyKey = None
) -> Response[Handoff]:
    return await _created(request, me, idempotency_key, lambda: _store(request).create_handoff(data, me))


@get(f"{API}/handoffs", summary="Recent handoffs, newest first (default: those for you, the last 24 hours)")
async def list_handoffs(
    request: Request,
    me: Agent,
    scope: Annotated[str, Parameter(pattern=r"^(mine|all)$", description="mine or all")] = "mine",
    conversation_id: Annotated[int | None, Parameter(ge=1, le=2**53)] = None,
    since: When = None,
    limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
) -> HandoffList:
    start = _instant(since, "since", datetime.now(UTC) - timedelta(hours=24))
    items = _store(request).list_handoffs(
        for_agent=me if scope == "mine" else None, conversation_id=conversation_id, since=start, limit=limit
    )
    return HandoffList(items=items)


@get(f"{API}/handoffs/{{handoff_id:int}}", summary="One handoff with its conversations")
async def get_handoff(request: Request, me: Agent, handoff_id: PositiveId) -> Handoff:
    return _store(request).get_handoff(handoff_id)


@get(f"{API}/routing", summary="Routing's mode and cap, and the conversations waiting in team queues")
async def get_routing(request: Request, me: Agent) -> RoutingStatus:
    config = request.app.state.routing.config
    return _store(request).routing_status(config.mode, config.cap)


ROUTES: list[Any] = [
    get_schedule,
    set_schedule,
    get_coverage,
    set_coverage,
    delete_coverage,
    get_roster,
    create_handoff,
    list_handoffs,
    get_handoff,
    get_routing,
]


def document(openapi: dict[str, Any]) -> dict[str, Any]:
    """What the generic pass cannot know: the zones a schedule or a coverage window may name,
    and the 404 of a handoff naming a team, agent or conversation that does not exist."""
    from agent_console.server.admin_store import known_timezones

    schemas = openapi.get("components", {}).get("schemas", {})
    for name, field in (("ScheduleInput", "timezone"), ("CoverageInput", "zone")):
        zone = schemas.get(name, {}).get("properties", {}).get(field)
        if zone is not None:
            zone.pop("minLength", None)
            zone.pop("maxLength", None)
            zone["enum"] = sorted(known_timezones())
    paths = openapi.get("paths", {})
    for path, name in ((f"{API}/roster", "at"), (f"{API}/handoffs", "since")):
        for parameter in paths.get(path, {}).get("get", {}).get("parameters", ()):
            if parameter["name"] == name:  # a date-time, not any text the pattern lets through
                parameter["schema"] = {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN}
    post = paths.get(f"{API}/handoffs", {}).get("post")
    if post is not None:
        post.setdefault("responses", {}).setdefault(
            "404",
            {
                "description": "No such team, agent or conversation",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
            },
        )
    return openapi
