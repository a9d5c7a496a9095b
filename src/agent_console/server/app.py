"""The desk server's HTTP surface: REST under /api/v1 and the live feed.

Handlers are thin: parse, authorize, call the store, shape the answer. They are async
and call SQLite directly on the event loop (each call is well under a millisecond on
indexed queries); that keeps every write on one thread, so events reach the hub in
commit order without locks.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import msgspec.inspect
from litestar import Litestar, Request, Response, asgi, get, patch, post
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from agent_console.core import models
from agent_console.core.clock import utcnow
from agent_console.core.models import (
    STATUSES,
    Agent,
    AgentList,
    Author,
    CannedList,
    Contact,
    ContactList,
    Conversation,
    ConversationPage,
    ConversationPatch,
    Desk,
    ErrorResponse,
    InboundMessage,
    InboundResult,
    InboundTyping,
    KbArticle,
    KbSearchResult,
    LabelList,
    Message,
    MessagePage,
    NewMessage,
    PresenceUpdate,
    TeamList,
    TypingUpdate,
    View,
    ViewingUpdate,
)
from agent_console.server import admin_routes, db, kb_page
from agent_console.server.bot_routes import ROUTES as BOT_ROUTES
from agent_console.server.checks import DATE_TIME_PATTERN, MAX_ID
from agent_console.server.email_routes import ROUTES as EMAIL_ROUTES
from agent_console.server.email_service import MailService
from agent_console.server.email_store import DeskStore
from agent_console.server.errors import handle_error
from agent_console.server.feed import EventsEndpoint, Hub
from agent_console.server.guard import MAX_BODY as MAX_REQUEST_BODY
from agent_console.server.guard import Limits, body_limit_message
from agent_console.server.hooks import check_request, current_agent, route_table
from agent_console.server.read_routes import ROUTES as READ_ROUTES
from agent_console.server.routing import RoutingConfig, RoutingRunner, env_config
from agent_console.server.shift_routes import ROUTES as SHIFT_ROUTES
from agent_console.server.shift_routes import document as shift_document
from agent_console.server.sla_routes import SLA_ROUTES, SlaRunner
from agent_console.server.sla_routes import describe as describe_sla
from agent_console.server.stats_routes import ROUTES as STATS_ROUTES
from agent_console.server.stats_routes import document as stats_document
from agent_console.server.store import CURSOR_PATTERN, Forbidden, Invalid, NotFound, Store
from agent_console.server.triage_routes import ROUTES as TRIAGE_ROUTES
from agent_console.server.triage_store import load_rules, warm_up
from agent_console.server.widget_feed import CustomerEndpoint, CustomerHub
from agent_console.server.widget_routes import WidgetCors, origin_allowed, widget_router
from agent_console.server.widget_store import RateLimiter, WidgetLimits, WidgetStore
from agent_console.server.write_thread import WriteThread, pg_session, writes_of

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from agent_console.server.email_inbound import ListenerConfig
    from agent_console.server.email_outbound import RelayConfig

MAX_BODY = MAX_REQUEST_BODY
API = "/api/v1"

PositiveId = Annotated[int, Parameter(ge=1, le=2**53)]


# --- helpers -------------------------------------------------------------------------


def _store(connection: ASGIConnection[Any, Any, Any, Any]) -> Store:
    return connection.app.state.store


def _require_role(agent: Agent, *roles: str) -> None:
    if agent.role not in roles:
        raise Forbidden(f"this needs a token with role {' or '.join(roles)}; yours is {agent.role}")


# --- handlers --------------------------------------------------------------------------


@get(f"{API}/me", summary="The agent this token belongs to")
async def get_me(me: Agent) -> Agent:
    return me


@patch(f"{API}/me", summary="Change your presence")
async def patch_me(request: Request, me: Agent, data: PresenceUpdate) -> Agent:
    return _store(request).set_presence(me.id, data.presence)


@get(f"{API}/desk", summary="This desk: its stable id, name and public base URL")
async def get_desk(request: Request, me: Agent) -> Desk:
    return _store(request).desk()


@get(f"{API}/agents", summary="All agents (active ones, unless asked for all)")
async def list_agents(request: Request, me: Agent, include_inactive: bool = False) -> AgentList:
    return AgentList(items=_store(request).list_agents(include_inactive=include_inactive))


@get(f"{API}/teams", summary="All teams")
async def list_teams(request: Request, me: Agent) -> TeamList:
    return TeamList(items=_store(request).list_teams())


@get(f"{API}/contacts", summary="Contacts, optionally matching a search")
async def list_contacts(
    request: Request,
    me: Agent,
    search: Annotated[str | None, Parameter(max_length=200)] = None,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
) -> ContactList:
    return ContactList(items=_store(request).list_contacts(search, limit))


@get(f"{API}/contacts/{{contact_id:int}}", summary="One contact")
async def get_contact(request: Request, me: Agent, contact_id: PositiveId) -> Contact:
    return _store(request).get_contact(contact_id)


@get(f"{API}/conversations", summary="The queue: one view, filtered, in due order, paged")
async def list_conversations(
    request: Request,
    me: Agent,
    view: View = "all",
    status: Annotated[
        str,
        Parameter(
            description="Comma-separated statuses, or `all`",
            pattern=r"^(all|(open|pending|snoozed|resolved)(,(open|pending|snoozed|resolved))*)$",
        ),
    ] = "open",
    q: Annotated[str | None, Parameter(max_length=200)] = None,
    label: Annotated[str | None, Parameter(max_length=50)] = None,
    contact_id: Annotated[int | None, Parameter(ge=1, le=2**53)] = None,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Parameter(description="`next_cursor` of the page before", pattern=CURSOR_PATTERN)
    ] = None,
    before: Annotated[
        str | None,
        Parameter(
            description="A position: the rows just before it, and `next_cursor` points further back"
            " (with `cursor` too: the rows between the two, from `cursor` on)",
            pattern=CURSOR_PATTERN,
        ),
    ] = None,
    breaching_within: Annotated[
        int | None,
        Parameter(
            description="Seconds: the `urgent` view (and its count) also holds conversations whose SLA"
            " answer is due within this long, late ones included (the console sends its urgent window,"
            " 900 by default). Without it, `urgent` is priority urgent only.",
            ge=0,
            le=7 * 86400,
            schema_extra={"minimum": 0},  # Litestar leaves out a bound of 0
        ),
    ] = None,
) -> ConversationPage:
    statuses = STATUSES if status == "all" else tuple(dict.fromkeys(status.split(",")))
    for value in statuses:
        if value not in STATUSES:
            raise Invalid(f"unknown status {value!r}", field="status")
    store = _store(request)
    page = store.list_conversations(
        me=me.id,
        view=view,
        statuses=statuses,
        query=q or None,
        label=label or None,
        contact_id=contact_id,
        limit=limit,
        cursor=cursor,
        before=before,
        breaching_within=breaching_within,
    )
    return store.personal_page(me.id, page)  # unread counts are the caller's own


@get(f"{API}/conversations/{{conversation_id:int}}", summary="One conversation")
async def get_conversation(request: Request, me: Agent, conversation_id: PositiveId) -> Conversation:
    store = _store(request)
    return store.personal(me.id, store.get_conversation(conversation_id))


@patch(
    f"{API}/conversations/{{conversation_id:int}}",
    summary="Change status, priority, assignee, team, labels or snooze",
)
async def patch_conversation(
    request: Request, me: Agent, conversation_id: PositiveId, data: ConversationPatch
) -> Conversation:
    store = _store(request)
    changed = await writes_of(request)(store.patch_conversation, conversation_id, data, me)
    return store.personal(me.id, changed)


@get(f"{API}/conversations/{{conversation_id:int}}/messages", summary="Messages, oldest first")
async def list_messages(
    request: Request,
    me: Agent,
    conversation_id: PositiveId,
    after: Annotated[int, Parameter(description="Only messages with a greater id", ge=0, le=2**53)] = 0,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 500,
) -> MessagePage:
    return MessagePage(items=_store(request).list_messages(conversation_id, after=after, limit=limit))


IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        description="A retry with the same key returns the first result and creates nothing",
        max_length=200,
        required=False,
    ),
]


@post(f"{API}/conversations/{{conversation_id:int}}/messages", summary="Reply or add a private note")
async def post_message(
    request: Request,
    me: Agent,
    conversation_id: PositiveId,
    data: NewMessage,
    idempotency_key: IdempotencyKey = None,
) -> Response[Message]:
    store = _store(request)
    status, body = await writes_of(request)(
        store.idempotent,
        me.id,
        idempotency_key,
        f"POST {request.url.path}\n".encode() + await request.body(),
        lambda: (201, store.post_message(conversation_id, data, me)),
    )
    return Response(content=body, status_code=status, media_type="application/json")


@post(
    f"{API}/conversations/{{conversation_id:int}}/typing",
    status_code=HTTP_204_NO_CONTENT,
    summary="Tell others you are typing",
)
async def post_typing(request: Request, me: Agent, conversation_id: PositiveId, data: TypingUpdate) -> None:
    author = Author(type="agent", id=me.id, name=me.name)
    store = _store(request)
    await writes_of(request)(store.typing, conversation_id, author, active=data.active, private=data.private)


@post(
    f"{API}/conversations/{{conversation_id:int}}/viewing",
    status_code=HTTP_204_NO_CONTENT,
    summary="Tell others you are viewing",
)
async def post_viewing(request: Request, me: Agent, conversation_id: PositiveId, data: ViewingUpdate) -> None:
    await writes_of(request)(_store(request).viewing, conversation_id, me, active=data.active)


@post(f"{API}/inbound", summary="A customer message arriving on a channel (admin or integration)")
async def post_inbound(
    request: Request, me: Agent, data: InboundMessage, idempotency_key: IdempotencyKey = None
) -> Response[InboundResult]:
    _require_role(me, "admin", "integration")
    store = _store(request)
    status, body = await writes_of(request)(
        store.idempotent,
        me.id,
        idempotency_key,
        f"POST {request.url.path}\n".encode() + await request.body(),
        lambda: (201, store.inbound(data)),
    )
    return Response(content=body, status_code=status, media_type="application/json")


@post(
    f"{API}/inbound/typing",
    status_code=HTTP_204_NO_CONTENT,
    summary="The customer is typing (admin or integration)",
)
async def post_inbound_typing(request: Request, me: Agent, data: InboundTyping) -> None:
    _require_role(me, "admin", "integration")
    store = _store(request)
    contact = store.get_conversation(data.conversation_id).contact
    await writes_of(request)(
        store.typing,
        data.conversation_id,
        Author(type="contact", id=contact.id, name=contact.name),
        active=data.active,
        private=False,
    )


@get(f"{API}/labels", summary="Labels in use, with how many conversations carry each, by name")
async def list_labels(request: Request, me: Agent) -> LabelList:
    return LabelList(items=_store(request).list_labels())


@get(f"{API}/canned-responses", summary="Canned responses")
async def list_canned(
    request: Request,
    me: Agent,
    q: Annotated[str | None, Parameter(max_length=200)] = None,
    locale: Annotated[str | None, Parameter(max_length=16)] = None,
) -> CannedList:
    return CannedList(items=_store(request).list_canned(query=q or None, locale=locale or None))


@get(f"{API}/kb/search", summary="Full-text search of the knowledge base (bm25)")
async def kb_search(
    request: Request,
    me: Agent,
    q: Annotated[str, Parameter(max_length=200)],
    locale: Annotated[str | None, Parameter(max_length=16)] = None,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
) -> KbSearchResult:
    hits = _store(request).kb_search(q, locale=locale or None, limit=limit, agent_id=me.id)
    return KbSearchResult(items=hits)


@get(f"{API}/kb/articles/{{article_id:int}}", summary="One knowledge-base article")
async def get_kb_article(request: Request, me: Agent, article_id: PositiveId) -> KbArticle:
    return _store(request).get_kb_article(article_id, drafts=me.role == "admin")


@get("/kb/{article_id:int}", include_in_schema=False, media_type="text/html")
async def public_kb_article(request: Request, article_id: int) -> Response[str]:
    """The help-center page a link in a reply points at: public, like any help center.

    The article's Markdown becomes HTML with raw HTML in it shown as text, never passed
    through (server/kb_page.py); only published articles are served.
    """
    try:
        if not 1 <= article_id <= MAX_ID:
            raise NotFound(f"no knowledge-base article with id {article_id}")
        article = _store(request).get_kb_article(article_id)
    except NotFound:
        return Response("<h1>Not found</h1>", status_code=404, media_type="text/html")
    page = kb_page.render(article)
    return Response(page, media_type="text/html", headers={"Content-Security-Policy": "default-src 'none'"})


@get(f"{API}/openapi.json", include_in_schema=False, media_type="application/json")
async def openapi_document(request: Request) -> dict[str, Any]:
    return request.app.state.openapi


# --- the OpenAPI document ----------------------------------------------------------------

_ERROR_STATUSES = {
    "get": (401, 404, 422),
    "patch": (400, 401, 403, 404, 409, 413, 422),
    "post": (400, 401, 403, 404, 409, 413, 422),
    "delete": (401, 403, 404, 409, 422),
}
_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing or invalid bearer token",
    403: "The token's role may not do this",
    404: "No such resource",
    409: "Conflict: someone wrote since `last_seen_message_id` (the body lists what is unseen),"
    " the `Idempotency-Key` was used for a different request, or the change is not possible"
    " now (a snooze without a wake-up time, or one already past)",
    413: "Request body over 1 MiB (the message states its size and the limit)",
    422: "Validation failed; `error.field` names the field",
}


def _exact_dates(struct: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """Say what a date-time field takes: msgspec describes one inside a union as a bare
    string, which lets a client (or a fuzzer) send `""`."""
    info = msgspec.inspect.type_info(struct)
    properties = schema.get("properties", {})
    for field in getattr(info, "fields", ()):
        kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
        if any(isinstance(kind, msgspec.inspect.DateTimeType) for kind in kinds):
            exact = {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN}
            prop = properties.get(field.encode_name, {})
            if "anyOf" in prop:
                prop["anyOf"] = [exact if o.get("type") == "string" else o for o in prop["anyOf"]]
            else:
                properties[field.encode_name] = exact
    return schema


def build_openapi(app: Litestar) -> dict[str, Any]:
    """Litestar's generated document, with our error shape on every operation."""
    document = copy.deepcopy(app.openapi_schema.to_schema())
    # Request bodies are described by msgspec itself, the decoder that enforces them:
    # Litestar's rendering drops constraints inside lists (a label's minLength and pattern).
    requests = [
        struct
        for struct in vars(models).values()
        if isinstance(struct, type)
        and issubclass(struct, msgspec.Struct)
        and struct.__struct_config__.forbid_unknown_fields
    ]
    (_, components) = msgspec.json.schema_components(
        [*requests, ErrorResponse], ref_template="#/components/schemas/{name}"
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in components.items():
        struct = getattr(models, name, None)
        schemas[name] = _exact_dates(struct, schema) if struct in requests else schema
    describe_sla(schemas)
    # Request bodies refuse unknown fields: say so, so clients and fuzzers know.
    for name, schema in schemas.items():
        struct = getattr(models, name, None)
        config = getattr(struct, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            schema["additionalProperties"] = False
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _ERROR_STATUSES:
                continue
            responses = operation.setdefault("responses", {})
            statuses = _ERROR_STATUSES[method]
            if "{" not in path:
                # inbound: its conversation_id; SLA policies: their team_ids.
                statuses = tuple(s for s in statuses if s != 404 or "inbound" in path or "sla/" in path)
            for status in statuses:
                responses[str(status)] = {
                    "description": _DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": error_ref}},
                }
            operation["security"] = [{"bearer": []}]
    document["info"]["description"] = (
        "The desk server's REST API. Live feed: websocket `/api/v1/events?since=SEQ` "
        "(see docs/PROTOCOL.md). Every request needs `Authorization: Bearer <token>`."
    )
    return document


# --- the application -----------------------------------------------------------------------


def create_app(
    db_path: str | Path,
    *,
    event_window: int = 100_000,
    ping_interval: float = 15.0,
    limits: Limits | None = None,
    sla_interval: float | None = 1.0,
    smtp: ListenerConfig | None = None,
    relay: RelayConfig | None = None,
    triage_rules: Path | None = None,
    clock: Callable[[], datetime] | None = None,
    routing: RoutingConfig | None = None,
) -> Litestar:
    limits = limits or Limits()
    rules = load_rules(triage_rules)  # a bad admin file stops the start with its line and key
    hub = Hub()
    customers = CustomerHub()  # the widget's feed: its own hub, never the agents'

    router = RoutingRunner(None, routing or env_config())  # shift ends and routing (server/routing.py)

    def publish(events: list[Any]) -> None:
        hub.publish(events)
        customers.publish(events)
        router.observe(events)

    conn = db.connect(db_path)
    shared = db.is_postgres_url(db_path)
    # On PostgreSQL every process learns of every commit, its own included, from the shared
    # log (server/pg_feed.py): that is the one path into publish, so no process ever sends a
    # seq before a lower one another process committed. On SQLite the store publishes its own.
    store = DeskStore(
        conn, listener=None if shared else publish, event_window=event_window, clock=clock or utcnow
    )
    if not shared:
        store.reset_presence()  # nobody is connected to a server that is only starting
    shared_start: list[Any] = []
    shared_stop: list[Any] = []
    store.triage_rules = rules
    # On PostgreSQL the hot writes leave the event loop for a thread of their own.
    writes = WriteThread(store, pg_session(str(db_path)) if shared else None)
    mail = MailService(
        store, smtp=smtp, relay=relay, shared_dsn=str(db_path) if shared else None, writes=writes
    )
    endpoint = EventsEndpoint(store, hub, ping_interval=ping_interval, buffer_limit=limits.feed_buffer)
    endpoint.writes = writes if shared else None  # SQLite: presence is written in place, at once
    if shared:  # the live feed, presence and rate limits across processes (server/pg_shared.py)
        from agent_console.server.pg_shared import SharedServices

        services = SharedServices(str(db_path), store, publish, endpoint, writes)
        shared_start, shared_stop = services.start_hooks, services.stop_hooks
    runner = SlaRunner(store, sla_interval, writes)  # fires due SLA warnings and breaches
    router.store, router.writes = store, writes

    @asgi(f"{API}/events", is_mount=False, include_in_schema=False)
    async def events(scope: Any, receive: Any, send: Any) -> None:
        await endpoint(scope, receive, send)

    app = Litestar(
        route_handlers=[
            get_me,
            patch_me,
            get_desk,
            list_agents,
            list_teams,
            list_contacts,
            get_contact,
            list_conversations,
            get_conversation,
            patch_conversation,
            list_messages,
            post_message,
            post_typing,
            post_viewing,
            post_inbound,
            post_inbound_typing,
            list_labels,
            list_canned,
            kb_search,
            get_kb_article,
            openapi_document,
            public_kb_article,
            events,
            *SLA_ROUTES,
            *READ_ROUTES,
            *admin_routes.ROUTES,
            widget_router,
            *EMAIL_ROUTES,
            *TRIAGE_ROUTES,
            *STATS_ROUTES,
            *SHIFT_ROUTES,
            *BOT_ROUTES,
        ],
        middleware=[WidgetCors],
        dependencies={"me": Provide(current_agent)},
        before_request=check_request,
        exception_handlers={Exception: handle_error},
        on_startup=[*shared_start, runner.start, mail.start, warm_up, router.start],
        on_shutdown=[runner.stop, mail.stop, router.stop, *shared_stop, writes.close],
        request_max_body_size=limits.max_body,
        openapi_config=OpenAPIConfig(
            title="agent-console desk server",
            version="1",
            path=f"{API}/docs",
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
        debug=False,
        # Logging is set up by the server (server/logs.py: redacted, rate-limited), not here.
        logging_config=None,
    )
    app.state.store = store
    app.state.writes = writes
    app.state.hub = hub
    app.state.routing = router
    app.state.openapi = stats_document(
        shift_document(
            admin_routes.document(build_openapi(app), {"$ref": "#/components/schemas/ErrorResponse"})
        )
    )
    app.state.routes = route_table(app)
    app.state.body_limit_message = body_limit_message(limits.max_body)
    widget = customers.widget = app.state.widget = WidgetStore(store)
    app.state.widget_limits = WidgetLimits.from_env(dict(os.environ))
    app.state.widget_limiter = RateLimiter()
    if shared:  # several processes: count each visitor's hits in the database
        app.state.widget_limiter = services.rate_limiter
    app.state.widget_feed = CustomerEndpoint(
        store,
        widget,
        customers,
        lambda scope, key: origin_allowed(widget, scope, key),
        ping_interval=ping_interval,
    )
    return app


__all__ = ["create_app"]
