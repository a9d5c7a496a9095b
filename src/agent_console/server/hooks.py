"""What runs before every handler: who is asking, then whether the request is well formed.

One gate for every route, so a rule holds everywhere or nowhere:
- only the desk server's own handlers answer (Litestar's built-in docs pages are not served:
  the document is `/api/v1/openapi.json`);
- OPTIONS lists every method the path takes;
- ids in the path are ASCII digits within SQLite's range (`/conversations/١` is no id);
- integer query parameters are ASCII digits (`?limit=1.0`, `?after=1_0` are refused);
- unknown query parameters are refused (a misspelt filter must not return everything);
- bodies decode strictly (syntax 400, schema 422), however deeply they nest, and every date
  in them has a UTC form.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar, Request, Response
from litestar.exceptions import ClientException, NotAuthorizedException, NotFoundException
from litestar.routes import HTTPRoute

from agent_console.core.models import Agent
from agent_console.server.checks import SQLITE_MAX, BadInput, check_dates, parse_int
from agent_console.server.errors import TooDeep
from agent_console.server.store import Invalid, Store

_PATH_INT = re.compile(r"\{(\w+):int\}")


@dataclass(frozen=True, slots=True)
class RouteInfo:
    allow: str  # the Allow header: every method the path takes
    int_params: frozenset[str]  # path parameters that are integers


def route_table(app: Litestar) -> dict[str, RouteInfo]:
    """Per path template (as Litestar reports it in the scope), its methods and int params."""
    table: dict[str, RouteInfo] = {}
    for route in app.routes:
        handlers = getattr(route, "route_handlers", ())
        ours = any(_signature(handler.fn) is not None for handler in handlers)
        if isinstance(route, HTTPRoute) and ours:
            table[route.path_format] = RouteInfo(
                allow=", ".join(sorted(route.methods)),
                int_params=frozenset(_PATH_INT.findall(route.path)),
            )
    return table


def _store(request: Request) -> Store:
    return request.app.state.store


async def current_agent(request: Request) -> Agent:
    cached = request.state.get("agent")
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("missing bearer token")
    agent = _store(request).authenticate(token.strip())
    if agent is None:
        raise NotAuthorizedException("invalid bearer token")
    return agent


async def check_request(request: Request) -> Response[Any] | None:
    """Strict checks before a handler runs (see the module docstring)."""
    info: RouteInfo | None = request.app.state.routes.get(request.scope.get("path_template", ""))
    if info is None:
        raise NotFoundException()  # a Litestar built-in (docs UIs), not part of this API
    _check_path_ids(request.scope["path"], request.scope["path_template"], info)
    if request.method == "OPTIONS":
        # Litestar's own answer lists the methods of one handler, not of the path.
        return Response(content=b"", status_code=204, headers={"Allow": info.allow})
    signature = _signature(request.route_handler.fn)
    if signature is None:
        raise NotFoundException()
    if request.method not in ("GET", "POST", "PATCH", "DELETE"):
        return None
    if signature.needs_auth:
        # Who is asking comes before what they asked: 401 beats 422.
        request.state.agent = await current_agent(request)
    unknown = sorted(set(request.query_params) - signature.query)
    if unknown:
        raise Invalid(f"unknown query parameter {unknown[0]!r}", field=unknown[0])
    for name in signature.int_query & set(request.query_params):
        for value in request.query_params.getall(name):
            try:
                parse_int(value, name=name)
            except BadInput as exc:
                raise Invalid(str(exc), field=name) from None
    if signature.body is not None:
        _check_body(await request.body(), signature.body)
    return None


def _check_path_ids(path: str, template: str, info: RouteInfo) -> None:
    """An id segment must be ASCII digits in SQLite's range, or the path names nothing."""
    if not info.int_params:
        return
    for segment, pattern in zip(path.split("/"), template.split("/"), strict=False):
        if pattern.startswith("{") and pattern[1:-1] in info.int_params:
            if not (segment.isascii() and segment.isdigit()) or int(segment) > SQLITE_MAX:
                raise NotFoundException(f"{segment!r} is not an id")


def _check_body(raw: bytes, body_type: Any) -> None:
    try:
        msgspec.json.decode(raw)  # syntax first: a broken body is 400, not 422
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ClientException(f"{exc}") from None
    except RecursionError:
        raise TooDeep("the body nests arrays or objects too deeply") from None
    try:
        decoded = msgspec.convert(_whole_numbers(msgspec.json.decode(raw)), body_type, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        path = message.rpartition(" - at `$.")[2].rstrip("`") if " - at `$." in message else None
        if path is None:
            # "Object missing required field `rating`", "Object contains unknown field `stars`"
            named = re.search(r"(?:missing required|unknown) field `([^`]{1,100})`", message)
            path = named.group(1) if named else None
        raise Invalid(f"{path}: {message}" if path else message, field=path) from None
    try:
        check_dates(decoded)
    except BadInput as exc:
        raise Invalid(str(exc), field=str(exc).partition(":")[0]) from None


def _whole_numbers(value: Any) -> Any:
    """`61261.0` is the integer 61261 in JSON Schema's eyes (and so in the document's):
    accept it as one. `1.5` stays a float, and a float is no id."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class Signature:
    query: frozenset[str]  # every query (and header) parameter the handler takes
    int_query: frozenset[str]  # those typed as integers
    body: Any  # the body's type, or None
    needs_auth: bool


@functools.cache
def _signature(fn: Any) -> Signature | None:
    if not getattr(fn, "__module__", "").startswith("agent_console."):
        return None
    hints = typing.get_type_hints(fn, include_extras=True)
    parameters = frozenset(inspect.signature(fn).parameters)
    query = parameters - {"request", "me", "data"}
    int_query = frozenset(name for name in query if _is_int(hints.get(name)))
    return Signature(query, int_query, hints.get("data"), "me" in parameters)


def _is_int(hint: Any) -> bool:
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    if hint is int:
        return True
    return int in typing.get_args(hint)
