"""The web chat widget's HTTP surface: its page and assets, the customer REST API under
/api/v1/widget, the customer feed, and the agents' CSAT read.

Who may call what:
- a customer authenticates with the visitor token their browser keeps (`acw_...`), which
  reaches only that contact's own conversations; agent tokens are no visitor tokens;
- the site key names the sites allowed to embed the widget. A browser says which page a
  request comes from (`Origin`), and a script cannot change that: a request from a page of
  another origin is refused (403), and cross-origin answers carry CORS headers only for the
  key's own origins. The desk's own pages (/widget) are always allowed. A scripted client can
  send any Origin; the rate limits and the size limit are what hold it back.
"""

from __future__ import annotations

import html
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Request, Response, Router, asgi, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import Parameter

from agent_console.core.models import (
    WIDGET_MAX_BODY,
    Agent,
    Csat,
    CsatSubmit,
    ErrorBody,
    WidgetConfig,
    WidgetContact,
    WidgetEmail,
    WidgetMe,
    WidgetMessagePage,
    WidgetNewMessage,
    WidgetSession,
    WidgetSessionRequest,
)
from agent_console.server.errors import error_response
from agent_console.server.hooks import check_request
from agent_console.server.store import Forbidden, Invalid, NotFound
from agent_console.server.widget_store import (
    RateLimited,
    RateLimiter,
    Visitor,
    WidgetLimits,
    WidgetStore,
    encode,
    normalize_origin,
)
from agent_console.server.write_thread import writes_of

API = "/api/v1"
W = f"{API}/widget"
LOCALES = ("en", "de", "es", "fr", "pt")  # the strings widget.js carries; the demo's languages
_ASSETS = resources.files("agent_console.server") / "widget_assets"
ASSET_TYPES = {"widget.js": "text/javascript; charset=utf-8", "widget.css": "text/css; charset=utf-8"}


def asset(name: str) -> bytes:
    return (_ASSETS / name).read_bytes()


# --- the origin rule ---------------------------------------------------------------------------


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def same_origin(scope: dict[str, Any], origin: str) -> bool:
    host = _header(scope, b"host") or ""
    return urlsplit(origin).netloc.lower() == host.lower()


def origin_allowed(widget: WidgetStore, scope: dict[str, Any], site_key: str | None) -> bool:
    """May the page that sent this request use the widget (with this site key)?"""
    origin = _header(scope, b"origin")
    if origin is None:
        return True  # not sent by a page's script (a same-origin GET, or no browser at all)
    try:
        origin = normalize_origin(origin)
    except ValueError:
        return False  # "null" (a sandboxed frame, a file) and the like
    if same_origin(scope, origin):
        return True
    if site_key is None:
        return widget.any_site_allows(origin)
    key = widget.site_key(site_key)
    return key is not None and origin in key.origins


class WidgetCors:
    """ASGI middleware for /api/v1/widget/*: answers preflights for allowed origins, refuses
    other origins with 403, and puts the CORS headers on the answers to allowed ones."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        origin = _header(scope, b"origin") if scope["type"] == "http" else None
        if origin is None or not scope["path"].startswith(f"{W}/") or same_origin(scope, origin):
            await self.app(scope, receive, send)
            return
        widget: WidgetStore = scope["app"].state.widget
        if not origin_allowed(widget, scope, None):
            body = encode(
                {
                    "error": {
                        "code": "origin_not_allowed",
                        "message": f"no site key allows the origin {origin}",
                    }
                }
            )
            await _respond(send, 403, body, [(b"content-type", b"application/json")])
            return
        cors = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"vary", b"Origin"),
        ]
        if scope["method"] == "OPTIONS":
            cors += [
                (b"access-control-allow-methods", b"GET, POST"),
                (
                    b"access-control-allow-headers",
                    b"authorization, content-type, idempotency-key, x-site-key",
                ),
                (b"access-control-max-age", b"600"),
            ]
            await _respond(send, 204, b"", cors)
            return
        cors.append((b"access-control-expose-headers", b"Retry-After"))

        async def with_cors(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        await self.app(scope, receive, with_cors)


async def _respond(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --- the gate: who is asking, before the shared checks -------------------------------------------


def _widget(request: Request) -> WidgetStore:
    return request.app.state.widget


def _visitor(request: Request) -> Visitor:
    return request.state.visitor


def _limits(request: Request) -> WidgetLimits:
    return request.app.state.widget_limits


def _limiter(request: Request) -> RateLimiter:
    return request.app.state.widget_limiter


def _message_rule(contact_id: int, limits: WidgetLimits) -> tuple[str, str, tuple[int, float], str]:
    """What a chat may send: messages, the follow-up email and ratings count alike."""
    return ("message", str(contact_id), limits.messages_per_contact, "messages from this chat")


def _ip(request: Request) -> str:
    return request.client.host if request.client else "?"


async def widget_gate(request: Request) -> Response[Any] | None:
    """Visitor token or site key first (401/403 beat 422), then the desk's strict checks."""
    need = request.route_handler.opt.get("widget")
    if request.method != "OPTIONS":
        widget = _widget(request)
        if need == "visitor":
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            visitor = widget.visitor(token.strip()) if scheme.lower() == "bearer" else None
            if visitor is None:
                raise NotAuthorizedException("missing or invalid visitor token")
            if not origin_allowed(widget, request.scope, visitor.site_key):
                raise Forbidden("this page's origin may not use this widget's site key")
            request.state.visitor = visitor
        elif need == "site_key":
            field = "X-Site-Key" if request.method == "POST" else "key"
            key = (
                request.headers.get("x-site-key")
                if request.method == "POST"
                else request.query_params.get("key")
            )
            if not key:
                raise Invalid(f"{field} is required: the site key of the widget", field=field)
            if widget.site_key(key) is None:
                raise Forbidden("no such site key", field=field)
            if not origin_allowed(widget, request.scope, key):
                raise Forbidden("this page's origin may not use this site key", field=field)
    return await check_request(request)


def rate_limited(request: Request, exc: RateLimited) -> Response[Any]:
    return error_response(
        429,
        ErrorBody(code="rate_limited", message=exc.message),
        headers={"Retry-After": str(exc.retry_after)},
    )


# --- the page and its assets --------------------------------------------------------------------


def pick_locale(accept_language: str) -> str:
    """The first of LOCALES the browser asks for (by q), else English."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower().split("-")[0]))
    for _, _, tag in sorted(ranked):
        if tag in LOCALES:
            return tag
    return "en"


@get("/widget", include_in_schema=False, media_type="text/html")
async def widget_page(
    request: Request, key: Annotated[str | None, Parameter(max_length=100)] = None
) -> Response[bytes]:
    """The standalone chat page: /widget?key=SITE_KEY (the key is public, like an embed tag's)."""
    widget = _widget(request)
    site = widget.site_key(key) if key else None
    if site is None:
        return Response(
            b"<!doctype html><title>Not found</title><h1>No chat here</h1><p>Unknown or missing site key.",
            status_code=404,
            media_type="text/html",
        )
    lang = pick_locale(request.headers.get("accept-language", ""))
    name = html.escape(request.app.state.store.desk().name)
    host = request.headers.get("host", "")
    page = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{name}</title><link rel="stylesheet" href="/widget.css"></head>'
        '<body class="acw-page"><main id="acw-root"></main>'
        f'<script src="/widget.js" data-site-key="{html.escape(site.key)}" data-mode="page"></script>'
        "</body></html>"
    )
    # Framed only by the key's own sites: a frame elsewhere would borrow the desk's origin.
    ancestors = " ".join(["'self'", *site.origins])
    csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
        f" connect-src 'self' ws://{host} wss://{host}; base-uri 'none'; form-action 'none';"
        f" frame-ancestors {ancestors}"
    )
    return Response(
        page.encode(),
        media_type="text/html",
        headers={
            "Content-Security-Policy": csp,
            "Cache-Control": "no-cache",
            "Referrer-Policy": "no-referrer",
        },
    )


@get("/widget.js", include_in_schema=False, media_type=ASSET_TYPES["widget.js"])
async def widget_js() -> Response[bytes]:
    return Response(
        asset("widget.js"), media_type=ASSET_TYPES["widget.js"], headers={"Cache-Control": "no-cache"}
    )


@get("/widget.css", include_in_schema=False, media_type=ASSET_TYPES["widget.css"])
async def widget_css() -> Response[bytes]:
    return Response(
        asset("widget.css"), media_type=ASSET_TYPES["widget.css"], headers={"Cache-Control": "no-cache"}
    )


# --- the customer API -----------------------------------------------------------------------------


IdempotencyKey = Annotated[str | None, Parameter(header="Idempotency-Key", max_length=200, required=False)]
SiteKeyHeader = Annotated[str | None, Parameter(header="X-Site-Key", max_length=100, required=False)]


@get(f"{W}/config", include_in_schema=False, opt={"widget": "site_key"})
async def widget_config(request: Request, key: Annotated[str, Parameter(max_length=100)]) -> WidgetConfig:
    """The desk's name and who can answer now; public (the key is in every embed tag)."""
    widget = _widget(request)
    return WidgetConfig(
        desk_name=request.app.state.store.desk().name,
        availability=widget.availability(),
        max_body=WIDGET_MAX_BODY,
    )


@post(f"{W}/session", include_in_schema=False, opt={"widget": "site_key"})
async def widget_session(
    request: Request, data: WidgetSessionRequest, site_key: SiteKeyHeader = None
) -> Response[WidgetSession]:
    """A new visitor: a contact of its own and the token the browser keeps."""
    limits, ip, widget = _limits(request), _ip(request), _widget(request)

    def start() -> tuple[str, Any]:
        _limiter(request).check([("session", ip, limits.sessions_per_ip, "new chats from this address")])
        return widget.start_session(str(site_key), name=data.name, language=data.language)

    token, contact = await writes_of(request)(start)
    return Response(WidgetSession(token=token, contact=contact), status_code=201)


@get(f"{W}/me", include_in_schema=False, opt={"widget": "visitor"})
async def widget_me(request: Request) -> WidgetMe:
    return _widget(request).me(_visitor(request).contact_id)


@get(
    f"{W}/conversations/{{conversation_id:int}}/messages", include_in_schema=False, opt={"widget": "visitor"}
)
async def widget_messages(
    request: Request,
    conversation_id: Annotated[int, Parameter(ge=1, le=2**53)],
    after: Annotated[int, Parameter(ge=0, le=2**53)] = 0,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 200,
) -> WidgetMessagePage:
    items = _widget(request).messages(_visitor(request).contact_id, conversation_id, after=after, limit=limit)
    return WidgetMessagePage(items=items)


@post(f"{W}/messages", include_in_schema=False, opt={"widget": "visitor"})
async def widget_post(
    request: Request, data: WidgetNewMessage, idempotency_key: IdempotencyKey = None
) -> Response[bytes]:
    """The customer writes: into one of their conversations, or (no id) a new one."""
    widget, visitor, limits, ip = _widget(request), _visitor(request), _limits(request), _ip(request)
    rules = [
        _message_rule(visitor.contact_id, limits),
        ("message-ip", ip, limits.messages_per_ip, "messages from this address"),
    ]
    if data.conversation_id is None:
        rules += [
            ("conversation", str(visitor.contact_id), limits.conversations_per_contact, "new conversations"),
            ("conversation-ip", ip, limits.conversations_per_ip, "new conversations from this address"),
        ]

    def send() -> tuple[int, Any]:
        _limiter(request).check(rules)  # inside: a retry answered from the key costs nothing
        return 201, widget.post(visitor.contact_id, data)

    # Contacts' keys live beside the agents': a negative principal keeps the two apart. On
    # PostgreSQL the write, limits included, runs on the write thread (server/write_thread.py).
    status, body = await writes_of(request)(
        widget.store.idempotent,
        -visitor.contact_id,
        idempotency_key,
        f"POST {request.url.path}\n".encode() + await request.body(),
        send,
    )
    return Response(body, status_code=status, media_type="application/json")


@post(f"{W}/email", include_in_schema=False, opt={"widget": "visitor"})
async def widget_email(request: Request, data: WidgetEmail) -> WidgetContact:
    """Where to follow up by email (the offline form, or any time)."""
    visitor, limits, widget = _visitor(request), _limits(request), _widget(request)

    def record() -> WidgetContact:
        _limiter(request).check([_message_rule(visitor.contact_id, limits)])
        return widget.set_email(visitor.contact_id, data.email)

    return await writes_of(request)(record)


@post(f"{W}/conversations/{{conversation_id:int}}/csat", include_in_schema=False, opt={"widget": "visitor"})
async def widget_csat(
    request: Request, conversation_id: Annotated[int, Parameter(ge=1, le=2**53)], data: CsatSubmit
) -> Response[Csat]:
    visitor, limits, widget = _visitor(request), _limits(request), _widget(request)

    def rate() -> Csat:
        _limiter(request).check([_message_rule(visitor.contact_id, limits)])
        return widget.rate(visitor.contact_id, conversation_id, data)

    return Response(await writes_of(request)(rate), status_code=201)


@get(
    f"{API}/conversations/{{conversation_id:int}}/csat",
    summary="The customer's CSAT rating of a conversation",
)
async def get_csat(
    request: Request, me: Agent, conversation_id: Annotated[int, Parameter(ge=1, le=2**53)]
) -> Csat:
    return _widget(request).csat(conversation_id)


@asgi(f"{W}/events", is_mount=False, include_in_schema=False)
async def widget_events(scope: Any, receive: Any, send: Any) -> None:
    await scope["app"].state.widget_feed(scope, receive, send)


widget_router = Router(
    path="/",
    route_handlers=[
        widget_page,
        widget_js,
        widget_css,
        widget_config,
        widget_session,
        widget_me,
        widget_messages,
        widget_post,
        widget_email,
        widget_csat,
        get_csat,
        widget_events,
    ],
    before_request=widget_gate,
    exception_handlers={RateLimited: rate_limited},
)

__all__ = ["NotFound", "WidgetCors", "origin_allowed", "widget_router"]
