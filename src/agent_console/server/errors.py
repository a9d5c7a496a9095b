"""The one error path: every exception a handler or a hook raises becomes the error shape.

Known failures (store errors, Litestar's HTTP and validation errors) become their 4xx.
Anything else is a bug: the client gets a bare 500 with no detail, and the log gets the
traceback through the rate-limited, redacting handlers (server/logs.py), so nobody can fill
the disk by repeating a request that trips it.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from agent_console.core.models import ErrorBody, ErrorResponse
from agent_console.server.store import (
    Conflict,
    Forbidden,
    IdempotencyMismatch,
    Invalid,
    NotFound,
    Stale,
    StoreError,
)
from agent_console.server.store_base import Unavailable

log = logging.getLogger("agent_console.server")


class TooDeep(StoreError):
    """Valid JSON nested past what the decoder will walk."""

    code = "too_deep"


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_failed",
    503: "unavailable",
}
# A key reused for another request conflicts with what the key already stands for: 409.
_STORE_STATUS = {
    NotFound: 404,
    Invalid: 422,
    Forbidden: 403,
    Stale: 409,
    Conflict: 409,
    IdempotencyMismatch: 409,
    TooDeep: 400,
    Unavailable: 503,
}


def error_response(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=msgspec.json.encode(ErrorResponse(error=body)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def handle_error(request: Request, exc: Exception) -> Response[Any]:
    if isinstance(exc, StoreError):
        status = next((s for kind, s in _STORE_STATUS.items() if isinstance(exc, kind)), 422)
        return error_response(
            status,
            ErrorBody(
                code=exc.code,
                message=exc.message,
                field=exc.field,
                unseen=getattr(exc, "unseen", None),
            ),
        )
    if isinstance(exc, ValidationException):
        # Litestar reports decode and validation failures alike; tell them apart.
        problems = exc.extra if isinstance(exc.extra, list) else []
        if problems:
            first = problems[0]
            name = first.get("key") if isinstance(first, dict) else None
            text = first.get("message") if isinstance(first, dict) else str(first)
            if name == "data":
                name = None
            message = f"{name}: {text}" if name else str(text)
            return error_response(422, ErrorBody(code="validation_failed", message=message, field=name))
        return error_response(422, ErrorBody(code="validation_failed", message=exc.detail))
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail
        if status == 400:
            # Validation failures were handled above: a plain 400 means the body did not decode.
            return error_response(
                400, ErrorBody(code="malformed_json", message=f"request body is not valid JSON: {detail}")
            )
        if status == 413:
            detail = request.app.state.body_limit_message
        return error_response(
            status, ErrorBody(code=HTTP_CODES.get(status, "error"), message=detail), headers=exc.headers
        )
    # The path only: a query string can carry what a log must not.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, ErrorBody(code="internal", message="internal server error"))
