"""REST for KPIs (`GET /stats`) and customers' CSAT ratings relayed by an integration
(`POST /inbound/csat`, beside `POST /inbound` for their messages)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.params import Parameter

from agent_console.core.business_hours import known_zones
from agent_console.core.models import Agent, Csat, CsatInbound, CsatSubmit, Stats
from agent_console.server.stats_store import Query, StatsQueries
from agent_console.server.store import Conflict, Forbidden, Invalid, NotFound

API = "/api/v1"
DEFAULT_PERIOD = timedelta(days=7)
MAX_PERIOD = timedelta(days=3660)  # ten years: more is a typo (and a long scan of zone offsets)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# What the document promises for since/until (a real date, years 1970-8999 as written): the
# server refuses nothing the document allows, and accepts nothing it forbids.
_YEAR = r"(19[7-9][0-9]|[2-8][0-9]{3})"
DATE_PATTERN = rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}$"
DATE_TIME_PATTERN = (
    rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}[Tt ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}"
    r"(\.[0-9]+)?([Zz]|[+-][0-9]{2}:?[0-9]{2})$"
)
WHEN = (
    "ISO 8601 date-time with an offset (2026-11-01T00:00:00+01:00), or a date (2026-11-01),"
    " which means midnight in `tz`"
)
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        description="A retry with the same key returns the first result and records nothing new",
        max_length=200,
        required=False,
    ),
]


def parse_when(text: str, zone: ZoneInfo, field: str) -> datetime:
    """A date-time with an offset, or a date (midnight in `zone`), as UTC."""
    if not re.match(DATE_PATTERN if _DATE.match(text) else DATE_TIME_PATTERN, text):
        raise Invalid(f"{field}: {text!r} is not a date or date-time ({WHEN}), years 1970-8999", field=field)
    try:
        if _DATE.match(text):
            moment = datetime.combine(datetime.fromisoformat(text).date(), time(0), tzinfo=zone)
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
            if moment.tzinfo is None:
                raise Invalid(
                    f"{field}: {text!r} needs an offset (e.g. +01:00 or Z), or give a date", field=field
                )
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid(f"{field}: {text!r} is not a date or date-time ({WHEN})", field=field) from None
    return moment


@get(
    f"{API}/stats",
    summary="KPIs over a period: first response, resolution, SLA, CSAT, bot, backlog, by hour, team, agent",
    description=(
        "Volume, first response (median, p90) and the by-hour chart count conversations created in"
        " [since, until); resolution time and CSAT those resolved in it; SLA attainment the clock"
        " cycles started in it; bot rates each conversation's latest bot outcome in it. The backlog"
        " is now. Hours of day are in `tz`."
    ),
)
async def get_stats(
    request: Request,
    me: Agent,
    since: Annotated[
        str | None,
        Parameter(max_length=40, description=f"Start: {WHEN} (default: 7 days before until)"),
    ] = None,
    until: Annotated[str | None, Parameter(max_length=40, description=f"End: {WHEN} (default: now)")] = None,
    team: Annotated[
        int | None, Parameter(ge=1, le=2**53, description="Only this team's conversations")
    ] = None,
    agent: Annotated[
        int | None, Parameter(ge=1, le=2**53, description="Only conversations assigned to this agent")
    ] = None,
    tz: Annotated[
        str | None, Parameter(max_length=64, description="IANA zone for hours and dates (default: yours)")
    ] = None,
) -> Stats:
    zone_name = me.timezone if tz is None else tz
    if zone_name not in known_zones():
        raise Invalid(f"tz: {zone_name!r} is not a known IANA time zone", field="tz")
    zone = ZoneInfo(zone_name)
    end = datetime.now(UTC) if until is None else parse_when(until, zone, "until")
    start = end - DEFAULT_PERIOD if since is None else parse_when(since, zone, "since")
    # Each value is fine alone; together they make no period: a conflict (409), not a 422.
    if start >= end:
        raise Conflict("since: the period is empty (since must be before until)", field="since")
    if end - start > MAX_PERIOD:
        raise Conflict(f"since: a period of at most {MAX_PERIOD.days} days", field="since")
    store = request.app.state.store
    if (
        team is not None
        and store.conn.execute("SELECT 1 FROM teams WHERE id = ?", (team,)).fetchone() is None
    ):
        raise NotFound(f"team: no team with id {team}", field="team")
    if (
        agent is not None
        and store.conn.execute("SELECT 1 FROM agents WHERE id = ?", (agent,)).fetchone() is None
    ):
        raise NotFound(f"agent: no agent with id {agent}", field="agent")
    query = Query(since=start, until=end, zone=zone, tz=zone_name, team_id=team, agent_id=agent)
    if store.conn.dialect == "postgresql":
        return await asyncio.to_thread(_stats_on_a_postgres_reader, store.conn, query)
    path = store.conn.execute("PRAGMA database_list").fetchone()[2]
    if not path:  # an in-memory database has one connection: read it here
        return StatsQueries(store.conn).stats(query)
    return await asyncio.to_thread(_stats_on_a_reader, path, query)


def _stats_on_a_reader(path: str, query: Query) -> Stats:
    """A whole-desk report reads for about half a second at 100,000 conversations: it runs in a
    worker thread on a read-only connection of its own (WAL gives it a consistent snapshot
    beside the writers), so the live feed and every other request go on meanwhile."""
    conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 5000")
        return StatsQueries(conn).stats(query)
    finally:
        conn.close()


def _stats_on_a_postgres_reader(conn: Any, query: Query) -> Stats:
    """As on SQLite: in a worker thread, on a read-only connection of the pool, one snapshot."""
    with conn.snapshot() as reader:
        return StatsQueries(reader).stats(query)


@post(
    f"{API}/inbound/csat",
    summary="A customer's CSAT rating (1-5) of a resolved conversation (admin or integration)",
    description=(
        "One rating per conversation: a second one replaces the first (the KPIs count what the"
        " customer thinks now). 409 while the conversation is not resolved."
    ),
)
async def post_inbound_csat(
    request: Request, me: Agent, data: CsatInbound, idempotency_key: IdempotencyKey = None
) -> Response[Csat]:
    if me.role not in ("admin", "integration"):
        raise Forbidden(
            f"relaying a customer's rating needs an admin or integration token; yours is {me.role}"
        )
    store = request.app.state.store
    widget = request.app.state.widget
    submit = CsatSubmit(rating=data.rating, comment=data.comment)
    status, body = store.idempotent(
        me.id,
        idempotency_key,
        f"POST {request.url.path}\n".encode() + await request.body(),
        lambda: (201, widget.record_rating(data.conversation_id, submit)),
    )
    return Response(content=body, status_code=status, media_type="application/json")


def document(openapi: dict[str, Any]) -> dict[str, Any]:
    """What the generic pass cannot know: since/until take a date or a date-time, tz a known
    zone, and a team or agent that does not exist is 404, a period that is not one 409."""
    operation = openapi.get("paths", {}).get(f"{API}/stats", {}).get("get")
    if operation is None:
        return openapi
    for parameter in operation.get("parameters", ()):
        if parameter["name"] in ("since", "until"):
            parameter["schema"] = {
                "anyOf": [
                    {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN},
                    {"type": "string", "format": "date", "pattern": DATE_PATTERN},
                ]
            }
        elif parameter["name"] == "tz":
            parameter["schema"] = {"type": "string", "enum": sorted(known_zones())}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    responses = operation.setdefault("responses", {})
    responses["404"] = {"description": "No such team or agent", **error}
    responses["409"] = {"description": "since and until make no period (empty, or over ten years)", **error}
    return openapi


ROUTES = [get_stats, post_inbound_csat]
