"""REST for SLA policies (admins change them, agents read them), and the background task that
fires due SLA warnings and breaches from the durable schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Litestar, Request, Response, delete, get, patch, post
from litestar.params import Parameter

from agent_console.core.business_hours import known_zones
from agent_console.core.models import (
    Agent,
    SlaBreachPage,
    SlaClockName,
    SlaPolicy,
    SlaPolicyInput,
    SlaPolicyList,
    SlaPolicyPatch,
)
from agent_console.server.checks import DATE_TIME_PATTERN, MAX_ID
from agent_console.server.store import CURSOR_PATTERN, Forbidden, Invalid, Store
from agent_console.server.write_thread import IN_PLACE, WriteThread

API = "/api/v1"
PolicyId = Annotated[int, Parameter(ge=1, le=2**53)]
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        description="A retry with the same key returns the first result and creates nothing",
        max_length=200,
        required=False,
    ),
]
log = logging.getLogger("agent_console.server")


def _store(request: Request) -> Store:
    return request.app.state.store


def _may_read(me: Agent) -> None:
    if me.role not in ("agent", "admin"):
        raise Forbidden(f"reading SLA policies needs an agent or admin token; yours is {me.role}")


def _may_write(me: Agent) -> None:
    if me.role != "admin":
        raise Forbidden(f"changing SLA policies needs a token with role admin; yours is {me.role}")


@get(f"{API}/sla/policies", summary="SLA policies, in the order they are tried (the default last)")
async def list_sla_policies(request: Request, me: Agent) -> SlaPolicyList:
    _may_read(me)
    return SlaPolicyList(items=_store(request).list_sla_policies())


@get(f"{API}/sla/policies/{{policy_id:int}}", summary="One SLA policy")
async def get_sla_policy(request: Request, me: Agent, policy_id: PolicyId) -> SlaPolicy:
    _may_read(me)
    return _store(request).get_sla_policy(policy_id)


@post(f"{API}/sla/policies", summary="Add an SLA policy (admin)")
async def create_sla_policy(
    request: Request, me: Agent, data: SlaPolicyInput, idempotency_key: IdempotencyKey = None
) -> Response[SlaPolicy]:
    _may_write(me)
    store = _store(request)
    status, body = store.idempotent(
        me.id,
        idempotency_key,
        f"POST {request.url.path}\n".encode() + await request.body(),
        lambda: (201, store.create_sla_policy(data)),
    )
    return Response(content=body, status_code=status, media_type="application/json")


@patch(f"{API}/sla/policies/{{policy_id:int}}", summary="Change an SLA policy (admin)")
async def patch_sla_policy(
    request: Request, me: Agent, policy_id: PolicyId, data: SlaPolicyPatch
) -> SlaPolicy:
    _may_write(me)
    return _store(request).update_sla_policy(policy_id, data)


@delete(f"{API}/sla/policies/{{policy_id:int}}", summary="Delete an SLA policy (admin)")
async def delete_sla_policy(request: Request, me: Agent, policy_id: PolicyId) -> None:
    _may_write(me)
    _store(request).delete_sla_policy(policy_id)


@get(
    f"{API}/sla/breaches",
    summary="Recorded SLA breaches, newest first: which clock, when, by how much (keyset paged)",
)
async def list_sla_breaches(
    request: Request,
    me: Agent,
    since: Annotated[
        str | None,
        Parameter(
            description="Only breaches at or after this instant (ISO 8601)",
            pattern=DATE_TIME_PATTERN,
            schema_extra={"format": "date-time"},  # a date-time, not any text the pattern lets through
        ),
    ] = None,
    conversation_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
    team_id: Annotated[
        int | None, Parameter(ge=1, le=MAX_ID, description="The conversation's team (now)")
    ] = None,
    agent_id: Annotated[
        int | None, Parameter(ge=1, le=MAX_ID, description="The conversation's assignee (now)")
    ] = None,
    clock: Annotated[SlaClockName | None, Parameter(description="frt, nrt or rt")] = None,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Parameter(description="`next_cursor` of the page before", pattern=CURSOR_PATTERN)
    ] = None,
) -> SlaBreachPage:
    _may_read(me)
    return _store(request).list_sla_breaches(
        since=None if since is None else _instant(since),
        conversation_id=conversation_id,
        team_id=team_id,
        agent_id=agent_id,
        clock=clock,
        limit=limit,
        cursor=cursor,
    )


def _instant(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid(f"since: {text!r} is not a date-time within years 1-9999", field="since") from None


SLA_ROUTES = [
    list_sla_policies,
    get_sla_policy,
    create_sla_policy,
    patch_sla_policy,
    delete_sla_policy,
    list_sla_breaches,
]


# --- the schedule runner ------------------------------------------------------------------


class SlaRunner:
    """Every `interval` seconds, fire what the schedule says is due (one indexed probe when
    nothing is). Runs on the event loop, like every other store call, so its events reach the
    hub in commit order."""

    def __init__(self, store: Store, interval: float | None, writes: WriteThread = IN_PLACE) -> None:
        self.store = store
        self.interval = interval
        self.writes = writes  # on PostgreSQL, off the event loop (server/write_thread.py)
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: Litestar) -> None:
        self.store.sla_backfill()  # a database from before SLA policies gets its clocks
        if self.interval is not None:  # None: a desk frozen in time (`serve --demo-now`)
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, app: Litestar) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                while await self.writes(self.store.sla_fire_due):
                    await asyncio.sleep(0)  # a backlog goes in batches, between requests
            except Exception as exc:  # keep the timer alive; the log says what broke
                log.error("SLA schedule run failed", exc_info=exc)
            await asyncio.sleep(self.interval or 1.0)


def describe(schemas: dict[str, Any]) -> None:
    """What the document can say beyond the Structs: the zones this server knows."""
    hours = schemas.get("SlaBusinessHours", {}).get("properties", {})
    if "zone" in hours:
        hours["zone"]["enum"] = sorted(known_zones())
