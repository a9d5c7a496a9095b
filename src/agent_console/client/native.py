"""Adapter for agent-console's own desk server (REST /api/v1 + websocket feed)."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import msgspec

from agent_console.client.admin import AdminCalls
from agent_console.client.backend import FeedItem
from agent_console.client.errors import (
    BackendError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotAuthenticated,
    NotFound,
    Unreachable,
)
from agent_console.client.shifts import ShiftCalls
from agent_console.core.clock import to_iso
from agent_console.core.models import (
    Agent,
    AgentList,
    Attachment,
    AttachmentList,
    CannedList,
    CannedResponse,
    Contact,
    ContactList,
    Conversation,
    ConversationPage,
    ConversationPatch,
    Desk,
    ErrorResponse,
    Event,
    KbArticle,
    KbHit,
    KbSearchResult,
    LabelCount,
    LabelList,
    Message,
    MessagePage,
    ReadState,
    SlaBreachPage,
    SlaPolicy,
    SlaPolicyInput,
    SlaPolicyList,
    SlaPolicyPatch,
    SuggestionList,
    Team,
    TeamList,
)

if TYPE_CHECKING:
    import httpx

    from agent_console.core.models import Stats

T = TypeVar("T")
# Every REST connection: small requests and answers go out at once (no Nagle wait).
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

_STATUS_ERRORS: dict[int, type[BackendError]] = {
    400: InvalidRequest,
    401: NotAuthenticated,
    403: Forbidden,
    404: NotFound,
    413: InvalidRequest,
    422: InvalidRequest,
}


def _ws_url(base: str, path: str) -> str:
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, "", ""))


class NativeBackend(ShiftCalls, AdminCalls):
    """Speaks the desk server's wire protocol. The token only ever travels in a header."""

    name = "native"

    def __init__(
        self,
        server: str,
        token: str,
        *,
        timeout: float = 10.0,
        verify: bool | str = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self._token = token
        self._verify = verify
        self._timeout = timeout
        self._transport = transport
        # Made on first use: importing httpx and building its TLS context is ~80 ms that the
        # console's first frame must not wait for (P4).
        self._client: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            verify = self._verify
            tls = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
            if self.server.startswith("http://"):
                # Plain HTTP has no certificates to check: loading the CA bundle for nothing
                # cost a first request 40-150 ms (P4). Redirects are not followed, so a
                # request never moves to https with this client.
                tls = False
            self._client = httpx.AsyncClient(
                base_url=f"{self.server}/api/v1",
                headers={"Authorization": f"Bearer {self._token}", "User-Agent": "agent-console"},
                timeout=self._timeout,
                # A CA bundle path becomes an SSL context: httpx no longer takes paths.
                verify=tls,
                # TCP_NODELAY said out loud: a request written in parts (head, body) must not
                # wait for the server's delayed ACK.
                transport=self._transport or httpx.AsyncHTTPTransport(verify=tls, socket_options=NODELAY),
            )
        return self._client

    def __repr__(self) -> str:  # never show the token
        return f"NativeBackend({self.server!r})"

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    # --- plumbing ----------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        result: type[T] | None,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> T:
        content = None if body is None else msgspec.json.encode(body)
        request_headers = dict(headers or {})
        if content is not None:
            request_headers["Content-Type"] = "application/json"
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        import httpx  # loaded with the client (see `_http`)

        try:
            try:
                response = await self._http.request(
                    method, path, params=clean, content=content, headers=request_headers
                )
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                if method != "GET":
                    raise
                # A kept-alive connection the server (or a proxy) closed as this read went out:
                # a read is safe to send again, once, on a fresh connection.
                response = await self._http.request(
                    method, path, params=clean, content=content, headers=request_headers
                )
        except httpx.TimeoutException:
            raise Unreachable(f"{self.server} did not answer in time") from None
        except httpx.TransportError:
            raise Unreachable(f"cannot reach the desk server at {self.server}") from None
        if response.status_code >= 400:
            raise _error_from(response)
        if result is None:
            return None  # type: ignore[return-value]
        try:
            return msgspec.json.decode(response.content, type=result)
        except msgspec.DecodeError as exc:
            raise BackendError(f"the server sent an answer this client cannot read: {exc}") from None

    # --- reads -------------------------------------------------------------------------

    async def me(self) -> Agent:
        return await self._call("GET", "/me", Agent)

    async def desk(self) -> Desk:
        return await self._call("GET", "/desk", Desk)

    async def agents(self) -> list[Agent]:
        return (await self._call("GET", "/agents", AgentList)).items

    async def teams(self) -> list[Team]:
        return (await self._call("GET", "/teams", TeamList)).items

    async def contacts(self, *, search: str | None = None, limit: int = 50) -> list[Contact]:
        params = {"search": search, "limit": limit}
        return (await self._call("GET", "/contacts", ContactList, params=params)).items

    async def contact(self, contact_id: int) -> Contact:
        return await self._call("GET", f"/contacts/{contact_id}", Contact)

    async def conversations(
        self,
        *,
        view: str = "all",
        statuses: Sequence[str] = ("open",),
        query: str | None = None,
        label: str | None = None,
        contact_id: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
        before: str | None = None,
        breaching_within: int | None = None,
    ) -> ConversationPage:
        params = {
            "view": view,
            "status": ",".join(statuses) if statuses else "all",
            "q": query,
            "label": label,
            "contact_id": contact_id,
            "limit": limit,
            "cursor": cursor,
            "before": before,
            "breaching_within": breaching_within,
        }
        return await self._call("GET", "/conversations", ConversationPage, params=params)

    async def conversation(self, conversation_id: int) -> Conversation:
        return await self._call("GET", f"/conversations/{conversation_id}", Conversation)

    async def messages(self, conversation_id: int, *, after: int | None = None) -> list[Message]:
        items: list[Message] = []
        while True:
            page = await self._call(
                "GET",
                f"/conversations/{conversation_id}/messages",
                MessagePage,
                params={"after": after, "limit": 1000},
            )
            items += page.items
            if len(page.items) < 1000:
                return items
            after = page.items[-1].id

    async def labels(self) -> list[LabelCount]:
        return (await self._call("GET", "/labels", LabelList)).items

    async def canned_responses(
        self, *, query: str | None = None, locale: str | None = None
    ) -> list[CannedResponse]:
        params = {"q": query, "locale": locale}
        return (await self._call("GET", "/canned-responses", CannedList, params=params)).items

    async def kb_search(self, query: str, *, locale: str | None = None, limit: int = 20) -> list[KbHit]:
        params = {"q": query, "locale": locale, "limit": limit}
        return (await self._call("GET", "/kb/search", KbSearchResult, params=params)).items

    async def kb_article(self, article_id: int) -> KbArticle:
        return await self._call("GET", f"/kb/articles/{article_id}", KbArticle)

    # --- writes ------------------------------------------------------------------------

    async def update_conversation(self, conversation_id: int, patch: ConversationPatch) -> Conversation:
        return await self._call("PATCH", f"/conversations/{conversation_id}", Conversation, body=patch)

    async def send_message(
        self,
        conversation_id: int,
        body: str,
        *,
        private: bool = False,
        last_seen_message_id: int | None = None,
        force: bool = False,
        idempotency_key: str | None = None,
        retry_since: float | None = None,  # the Idempotency-Key already makes a resend safe
    ) -> Message:
        payload: dict[str, Any] = {"body": body, "private": private, "force": force}
        if last_seen_message_id is not None:
            payload["last_seen_message_id"] = last_seen_message_id
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self._call(
            "POST", f"/conversations/{conversation_id}/messages", Message, body=payload, headers=headers
        )

    async def set_typing(self, conversation_id: int, *, active: bool, private: bool = False) -> None:
        await self._call(
            "POST",
            f"/conversations/{conversation_id}/typing",
            None,
            body={"active": active, "private": private},
        )

    async def set_viewing(self, conversation_id: int, *, active: bool) -> None:
        await self._call("POST", f"/conversations/{conversation_id}/viewing", None, body={"active": active})

    async def set_presence(self, presence: str) -> Agent:
        return await self._call("PATCH", "/me", Agent, body={"presence": presence})

    # --- SLA policies ---------------------------------------------------------------------

    async def sla_policies(self) -> list[SlaPolicy]:
        return (await self._call("GET", "/sla/policies", SlaPolicyList)).items

    async def sla_policy(self, policy_id: int) -> SlaPolicy:
        return await self._call("GET", f"/sla/policies/{policy_id}", SlaPolicy)

    async def create_sla_policy(self, policy: SlaPolicyInput) -> SlaPolicy:
        return await self._call("POST", "/sla/policies", SlaPolicy, body=policy)

    async def update_sla_policy(self, policy_id: int, patch: SlaPolicyPatch) -> SlaPolicy:
        return await self._call("PATCH", f"/sla/policies/{policy_id}", SlaPolicy, body=patch)

    async def delete_sla_policy(self, policy_id: int) -> None:
        await self._call("DELETE", f"/sla/policies/{policy_id}", None)

    async def sla_breaches(
        self,
        *,
        since: datetime | None = None,
        conversation_id: int | None = None,
        team_id: int | None = None,
        agent_id: int | None = None,
        clock: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> SlaBreachPage:
        params = {
            "since": None if since is None else to_iso(since),
            "conversation_id": conversation_id,
            "team_id": team_id,
            "agent_id": agent_id,
            "clock": clock,
            "limit": limit,
            "cursor": cursor,
        }
        return await self._call("GET", "/sla/breaches", SlaBreachPage, params=params)

    # --- live feed -----------------------------------------------------------------------

    async def feed(self, since: int | None, *, presence: bool = True) -> AsyncIterator[FeedItem]:
        """One websocket connection: yields until it closes; raises Unreachable on failure.

        `presence=False` watches without marking the agent online/offline (`tail`)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus, WebSocketException

        url = _ws_url(self.server, "/api/v1/events")
        query = [] if since is None else [f"since={since}"]
        if not presence:
            query.append("presence=0")
        if query:
            url += "?" + "&".join(query)
        ssl_context = None
        if url.startswith("wss:"):
            ssl_context = ssl.create_default_context(
                cafile=self._verify if isinstance(self._verify, str) else None
            )
            if self._verify is False:
                ssl_context.check_hostname = False
                ssl_context.verify_mode = ssl.CERT_NONE
        try:
            async with connect(
                url,
                additional_headers={"Authorization": f"Bearer {self._token}"},
                ssl=ssl_context,
                open_timeout=10,
                ping_interval=20,
                ping_timeout=20,
                max_size=None,
                user_agent_header="agent-console",
            ) as socket:
                # The handshake succeeded: say so now, not at the first event (a quiet desk may
                # send none until the keepalive, and the agent would read CONNECTING meanwhile).
                yield FeedItem("open")
                async for raw in socket:
                    yield _feed_item(raw)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise NotAuthenticated("the live feed refused this token", status=status) from None
            raise Unreachable(f"the live feed answered HTTP {status}", status=status) from None
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise Unreachable(f"live feed lost: {type(exc).__name__}") from None

    # --- read marks ----------------------------------------------------------------------

    async def mark_read(
        self, conversation_id: int, *, message_id: int | None = None, unread: bool = False
    ) -> ReadState:
        body: dict[str, Any] = {"mark": "unread"} if unread else {"mark": "read", "message_id": message_id}
        return await self._call("POST", f"/conversations/{conversation_id}/read", ReadState, body=body)

    async def set_language(self, conversation_id: int, language: str) -> Conversation:
        path = f"/conversations/{conversation_id}/language"
        return await self._call("POST", path, Conversation, body={"language": language})

    async def suggestions(self, conversation_id: int) -> SuggestionList:
        return await self._call("GET", f"/conversations/{conversation_id}/suggestions", SuggestionList)

    # --- email attachments ---------------------------------------------------------------

    async def attachments(self, conversation_id: int) -> list[Attachment]:
        path = f"/conversations/{conversation_id}/attachments"
        return (await self._call("GET", path, AttachmentList)).items

    async def attachment(self, attachment_id: int) -> Attachment:
        return await self._call("GET", f"/attachments/{attachment_id}", Attachment)

    async def attachment_content(self, attachment_id: int) -> bytes:
        """The file's bytes, exactly as they came with the mail."""
        import httpx

        try:
            response = await self._http.get(f"/attachments/{attachment_id}/content")
        except httpx.TimeoutException:
            raise Unreachable(f"{self.server} did not answer in time") from None
        except httpx.TransportError:
            raise Unreachable(f"cannot reach the desk server at {self.server}") from None
        if response.status_code >= 400:
            raise _error_from(response)
        return response.content

    # --- KPIs ------------------------------------------------------------------------------

    async def stats(
        self,
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        team_id: int | None = None,
        agent_id: int | None = None,
        tz: str | None = None,
    ) -> Stats:
        from agent_console.core.clock import to_iso
        from agent_console.core.models import Stats

        def when(value: datetime | date | None) -> str | None:
            if value is None:
                return None
            return to_iso(value) if isinstance(value, datetime) else value.isoformat()

        params = {"since": when(since), "until": when(until), "team": team_id, "agent": agent_id, "tz": tz}
        asked = {name: value for name, value in params.items() if value is not None}
        return await self._call("GET", "/stats", Stats, params=asked)


def _feed_item(raw: str | bytes) -> FeedItem:
    frame = json.loads(raw)
    kind = frame.get("type")
    if kind == "ping":
        return FeedItem("ping", seq=int(frame.get("seq", 0)))
    if kind == "resync_required":
        return FeedItem("resync_required", seq=int(frame["seq"]))
    event = msgspec.convert(frame, Event, strict=False)
    return FeedItem("event", event=event, seq=event.seq)


def _error_from(response: httpx.Response) -> BackendError:
    status = response.status_code
    try:
        body = msgspec.json.decode(response.content, type=ErrorResponse).error
        code, message, field, unseen = body.code, body.message, body.field, body.unseen
    except msgspec.DecodeError:
        code, message, field, unseen = "error", f"HTTP {status}", None, None
    if status == 409 and unseen is not None:
        return Conflict(message, unseen=unseen, code=code, status=status, field=field)
    if status == 409:
        return Conflict(message, code=code, status=status, field=field)
    kind = _STATUS_ERRORS.get(status, BackendError)
    return kind(message, code=code, status=status, field=field)
