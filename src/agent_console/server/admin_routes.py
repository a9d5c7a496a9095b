"""Running the desk over REST: agents, teams, canned responses, labels, KB articles and the
KB gap report. Reads are open to every agent unless they show what only an admin manages
(drafts, revisions, gaps); every write needs the admin role (403 otherwise).

Creating an agent and rotating a token do not take `Idempotency-Key`: a retry would have to
answer with the token, which the desk would then keep in clear in its idempotency log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from agent_console.core.models import (
    LABEL_PATTERN,
    Agent,
    AgentToken,
    AgentUpdate,
    CannedResponse,
    CannedUpdate,
    KbArticle,
    KbArticleInput,
    KbArticleList,
    KbArticleUpdate,
    KbGapReport,
    KbImportResult,
    KbRevisionList,
    LabelCount,
    LabelUpdate,
    NewAgent,
    NewCanned,
    NewLabel,
    NewTeam,
    TeamDetail,
    TeamUpdate,
)
from agent_console.server.admin_store import known_timezones
from agent_console.server.checks import DATE_TIME_PATTERN
from agent_console.server.store import Forbidden, Invalid, Store

API = "/api/v1"
PositiveId = Annotated[int, Parameter(ge=1, le=2**53)]
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        description="A retry with the same key returns the first result and creates nothing",
        max_length=200,
        required=False,
    ),
]
LabelName = Annotated[str, Parameter(min_length=1, max_length=50, pattern=LABEL_PATTERN)]
# Answers that mean "only an admin may": documented on every operation listed here.
ADMIN_ONLY_READS = {
    ("get", f"{API}/kb/articles"),
    ("get", f"{API}/kb/articles/{{article_id}}/revisions"),
    ("get", f"{API}/kb/gaps"),
}


def _store(request: Request) -> Store:
    return request.app.state.store


def _admin(me: Agent) -> None:
    if me.role != "admin":
        raise Forbidden(f"this needs a token with role admin; yours is {me.role}")


async def _created(request: Request, me: Agent, key: str | None, make: Any) -> Response[Any]:
    """201 with what `make` returned; once per Idempotency-Key."""
    store = _store(request)
    status, body = store.idempotent(
        me.id, key, f"POST {request.url.path}\n".encode() + await request.body(), lambda: (201, make())
    )
    return Response(content=body, status_code=status, media_type="application/json")


# --- agents ------------------------------------------------------------------------------


@post(f"{API}/agents", summary="Invite an agent (admin); the answer shows its token, once")
async def create_agent(request: Request, me: Agent, data: NewAgent) -> AgentToken:
    _admin(me)
    agent, token = _store(request).add_agent_account(data)
    return AgentToken(agent=agent, token=token)


@get(f"{API}/agents/{{agent_id:int}}", summary="One agent")
async def get_agent(request: Request, me: Agent, agent_id: PositiveId) -> Agent:
    return _store(request)._account(agent_id)  # noqa: SLF001 - the store's own lookup


@patch(
    f"{API}/agents/{{agent_id:int}}",
    summary="Change an agent (admin): name, role, time zone, languages, teams; `active: false` deactivates",
)
async def update_agent(request: Request, me: Agent, agent_id: PositiveId, data: AgentUpdate) -> Agent:
    _admin(me)
    agent = _store(request).edit_agent_account(agent_id, data, me)
    if not agent.active:
        request.app.state.hub.revoke(agent_id)  # its open feeds end now, not at their next read
    return agent


@post(
    f"{API}/agents/{{agent_id:int}}/token",
    status_code=HTTP_200_OK,
    summary="Rotate an agent's token (admin); the old one stops working, the new one is shown once",
)
async def rotate_token(request: Request, me: Agent, agent_id: PositiveId) -> AgentToken:
    _admin(me)
    agent, token = _store(request).rotate_agent_token(agent_id, me)
    request.app.state.hub.revoke(agent_id)
    return AgentToken(agent=agent, token=token)


# --- teams ---------------------------------------------------------------------------------


@get(f"{API}/teams/{{team_id:int}}", summary="One team with its members")
async def get_team(request: Request, me: Agent, team_id: PositiveId) -> TeamDetail:
    return _store(request).team_detail(team_id)


@post(f"{API}/teams", summary="Create a team (admin)")
async def create_team(
    request: Request, me: Agent, data: NewTeam, idempotency_key: IdempotencyKey = None
) -> Response[TeamDetail]:
    _admin(me)
    return await _created(request, me, idempotency_key, lambda: _store(request).add_team(data))


@patch(f"{API}/teams/{{team_id:int}}", summary="Rename a team or set its members (admin)")
async def update_team(request: Request, me: Agent, team_id: PositiveId, data: TeamUpdate) -> TeamDetail:
    _admin(me)
    return _store(request).edit_team(team_id, data)


# --- canned responses -------------------------------------------------------------------------


@get(f"{API}/canned-responses/{{canned_id:int}}", summary="One canned response")
async def get_canned(request: Request, me: Agent, canned_id: PositiveId) -> CannedResponse:
    return _store(request).get_canned(canned_id)


@post(f"{API}/canned-responses", summary="Create a canned response (admin); placeholders must be known")
async def create_canned(
    request: Request, me: Agent, data: NewCanned, idempotency_key: IdempotencyKey = None
) -> Response[CannedResponse]:
    _admin(me)
    return await _created(request, me, idempotency_key, lambda: _store(request).add_canned(data))


@patch(f"{API}/canned-responses/{{canned_id:int}}", summary="Change a canned response (admin)")
async def update_canned(
    request: Request, me: Agent, canned_id: PositiveId, data: CannedUpdate
) -> CannedResponse:
    _admin(me)
    return _store(request).edit_canned(canned_id, data)


@delete(
    f"{API}/canned-responses/{{canned_id:int}}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Delete a canned response (admin)",
)
async def delete_canned(request: Request, me: Agent, canned_id: PositiveId) -> None:
    _admin(me)
    _store(request).delete_canned(canned_id)


# --- labels -------------------------------------------------------------------------------------


@post(f"{API}/labels", summary="Add a label to the managed list, with a colour (admin)")
async def create_label(
    request: Request, me: Agent, data: NewLabel, idempotency_key: IdempotencyKey = None
) -> Response[LabelCount]:
    _admin(me)
    return await _created(request, me, idempotency_key, lambda: _store(request).add_label(data))


@patch(
    f"{API}/labels/{{name:str}}",
    summary="Recolour or rename a label (admin); renaming onto an existing label merges them",
)
async def update_label(request: Request, me: Agent, name: LabelName, data: LabelUpdate) -> LabelCount:
    _admin(me)
    return _store(request).edit_label(name, data)


# --- knowledge base --------------------------------------------------------------------------


@get(f"{API}/kb/articles", summary="Articles with their bodies (agents: published ones; admins: drafts too)")
async def list_kb_articles(
    request: Request,
    me: Agent,
    locale: Annotated[str | None, Parameter(max_length=16)] = None,
    status: Annotated[str | None, Parameter(pattern=r"^(draft|published)$")] = None,
) -> KbArticleList:
    if me.role != "admin":
        if status == "draft":
            raise Forbidden("drafts are for admins", field="status")
        status = "published"
    return KbArticleList(items=_store(request).list_kb_articles(locale=locale or None, status=status))


@post(f"{API}/kb/articles", summary="Write a new article (admin); a draft unless `status` says published")
async def create_kb_article(
    request: Request, me: Agent, data: KbArticleInput, idempotency_key: IdempotencyKey = None
) -> Response[KbArticle]:
    _admin(me)
    return await _created(request, me, idempotency_key, lambda: _store(request).add_kb_article(data, me))


@post(
    f"{API}/kb/import",
    status_code=HTTP_200_OK,
    summary="Create or update the article with this slug and locale (admin): what `kb import` sends",
)
async def import_kb_article(request: Request, me: Agent, data: KbArticleInput) -> KbImportResult:
    _admin(me)
    article, outcome = _store(request).import_kb_article(data, me)
    return KbImportResult(article=article, outcome=outcome)  # type: ignore[arg-type]


@patch(
    f"{API}/kb/articles/{{article_id:int}}",
    summary="Edit, publish or unpublish an article (admin); every change keeps a revision",
)
async def update_kb_article(
    request: Request, me: Agent, article_id: PositiveId, data: KbArticleUpdate
) -> KbArticle:
    _admin(me)
    return _store(request).edit_kb_article(article_id, data, me)


@get(
    f"{API}/kb/articles/{{article_id:int}}/revisions", summary="An article's revisions, newest first (admin)"
)
async def kb_article_revisions(request: Request, me: Agent, article_id: PositiveId) -> KbRevisionList:
    _admin(me)
    return KbRevisionList(items=_store(request).kb_revisions(article_id))


@get(
    f"{API}/kb/gaps",
    summary="Questions the KB had no confident answer for, grouped by wording and language (admin)",
)
async def kb_gaps(
    request: Request,
    me: Agent,
    since: Annotated[
        str | None,
        Parameter(
            description="Only gaps logged since then: ISO 8601 with an offset (default: 7 days ago)",
            pattern=DATE_TIME_PATTERN,
        ),
    ] = None,
) -> KbGapReport:
    _admin(me)
    if since is None:
        start = datetime.now(UTC) - timedelta(days=7)
    else:
        try:
            start = datetime.fromisoformat(since).astimezone(UTC)
        except (ValueError, OverflowError):
            raise Invalid(f"since: {since!r} is not a date-time within years 1-9999", field="since") from None
    return _store(request).kb_gap_report(start)


ROUTES = [
    create_agent,
    get_agent,
    update_agent,
    rotate_token,
    get_team,
    create_team,
    update_team,
    get_canned,
    create_canned,
    update_canned,
    delete_canned,
    create_label,
    update_label,
    list_kb_articles,
    create_kb_article,
    import_kb_article,
    update_kb_article,
    kb_article_revisions,
    kb_gaps,
]


def document(openapi: dict[str, Any], error_ref: dict[str, Any]) -> dict[str, Any]:
    """Add what the generic pass in app.py does not know: 403 on admin-only reads, the error
    answers of DELETE, and the time zones an agent may have."""
    schemas = openapi.get("components", {}).get("schemas", {})
    for name in ("NewAgent", "AgentUpdate"):
        zone = schemas.get(name, {}).get("properties", {}).get("timezone")
        if zone is not None:
            zone.pop("minLength", None)
            zone.pop("maxLength", None)
            zone["enum"] = sorted(known_timezones())
    since = openapi.get("paths", {}).get(f"{API}/kb/gaps", {}).get("get", {})
    for parameter in since.get("parameters", ()):
        if parameter["name"] == "since":  # a date-time, not any text the pattern lets through
            parameter["schema"] = {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN}
    ours = {handler.paths.copy().pop() for handler in ROUTES}
    for path, item in openapi.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.get("responses", {})
            if method == "post" and path in ours and "404" not in responses:
                # Unknown teams, members or translated articles named in the body.
                responses["404"] = _error(404, error_ref)
            if method == "delete" or (method, path) in ADMIN_ONLY_READS:
                statuses = (401, 403, 404, 422) if method == "delete" else (401, 403, 422)
                for status in statuses:
                    responses.setdefault(str(status), _error(status, error_ref))
                operation["security"] = [{"bearer": []}]
    return openapi


def _error(status: int, error_ref: dict[str, Any]) -> dict[str, Any]:
    return {"description": _DESCRIPTIONS[status], "content": {"application/json": {"schema": error_ref}}}


_DESCRIPTIONS = {
    401: "Missing or invalid bearer token",
    403: "The token's role may not do this",
    404: "No such resource",
    422: "Validation failed; `error.field` names the field",
}
