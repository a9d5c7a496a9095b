"""HTTP to Chatwoot: the `api_access_token` header, a request budget, 429 + Retry-After.

Chatwoot (rack-attack) allows 3,000 requests a minute per IP by default, shared by every
client behind that IP. The console keeps itself well under it with a token bucket
(`RateBudget`, 10 requests/s sustained, bursts of 20), and when Chatwoot still answers 429
it waits what `Retry-After` says (capped) and tries again, a few times, before giving up
with a retryable error the outbox understands.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx

from agent_console.client.errors import (
    BackendError,
    Forbidden,
    InvalidRequest,
    NotAuthenticated,
    NotFound,
    Unreachable,
)

NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
MAX_RETRY_AFTER = 60.0  # never sleep longer than this on one 429
RETRIES_429 = 3

_STATUS_ERRORS: dict[int, type[BackendError]] = {
    400: InvalidRequest,
    401: NotAuthenticated,
    403: Forbidden,
    404: NotFound,
    422: InvalidRequest,
}


class RateBudget:
    """Token bucket: `rate` requests a second on average, at most `burst` at once."""

    def __init__(
        self, rate: float = 10.0, burst: int = 20, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()
        self.waited = 0.0  # seconds spent waiting for the budget (for tests and bench)
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    async def take(self) -> None:
        async with self._lock:
            self._refill()
            if self.tokens < 1:
                wait = (1 - self.tokens) / self.rate
                self.waited += wait
                await asyncio.sleep(wait)
                self._refill()
            self.tokens -= 1


def retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            seconds = 1.0
    return max(0.0, min(MAX_RETRY_AFTER, seconds))


class ChatwootHttp:
    """One httpx client for one Chatwoot server; the token only ever travels in a header."""

    def __init__(
        self,
        server: str,
        token: str,
        *,
        timeout: float = 10.0,
        verify: bool | str | ssl.SSLContext = True,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        tls = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        self.verify = verify
        self.budget = budget or RateBudget()
        self.throttled = 0  # 429 answers seen
        self._http = httpx.AsyncClient(
            base_url=self.server,
            headers={"api_access_token": token, "User-Agent": "agent-console"},
            timeout=timeout,
            verify=tls,
            transport=transport or httpx.AsyncHTTPTransport(verify=tls, socket_options=NODELAY),
        )

    def __repr__(self) -> str:
        return f"ChatwootHttp({self.server!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        body: Any = None,
    ) -> Any:
        """The decoded JSON answer (None for an empty body), or a typed BackendError."""
        if isinstance(params, dict):
            params = {k: v for k, v in params.items() if v is not None}
        for attempt in range(RETRIES_429 + 1):
            await self.budget.take()
            try:
                response = await self._http.request(method, path, params=params, json=body)
            except httpx.TimeoutException:
                raise Unreachable(f"{self.server} did not answer in time") from None
            except httpx.TransportError:
                raise Unreachable(f"cannot reach Chatwoot at {self.server}") from None
            if response.status_code == 429:
                self.throttled += 1
                if attempt < RETRIES_429:
                    await asyncio.sleep(retry_after(response.headers.get("Retry-After")))
                    continue
            if response.status_code >= 400:
                raise error_from(response)
            if not response.content.strip():
                return None
            try:
                return response.json()
            except ValueError:
                raise BackendError(
                    f"Chatwoot sent an answer this client cannot read (HTTP {response.status_code})",
                    status=response.status_code,
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover


def error_from(response: httpx.Response) -> BackendError:
    """Chatwoot answers errors as {"error": "..."}, {"message": "..."} or
    {"description": ..., "errors": [{field, message, code}]}: one typed error from any."""
    status = response.status_code
    message, field = f"Chatwoot answered HTTP {status}", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            field = first.get("field")
            message = str(first.get("message") or body.get("description") or message)
        elif isinstance(errors, list) and errors:
            message = str(errors[0])
        else:
            message = str(body.get("error") or body.get("message") or body.get("description") or message)
    if status == 429:
        message = f"Chatwoot is rate-limiting this client: {message}"
    kind = _STATUS_ERRORS.get(status, BackendError)
    return kind(message, code="chatwoot", status=status, field=field)
