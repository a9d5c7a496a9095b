"""The Chatwoot emulator: HTTP (the Application API) and ActionCable (`/cable`) on a loopback port.

A raw ASGI app under uvicorn, in a thread of its own so that sync tests (the CLI) and async
ones (the TUI, the adapter) share it. Every request is checked against Chatwoot's document
before it is served and every answer before it leaves (`contract.py`); a violation is
answered 404/500 and recorded in `violations`, which the fixture asserts empty.

Faults for the feed tests: `drop_all()` cuts every cable socket, `stall()` makes them go
silent (no pings, no events), `restart()` stops the server and starts it again on the same
port with the same data (ActionCable keeps nothing: events in between are gone),
`throttle(n)` answers the next n requests 429 with Retry-After, `lose_answers(n)` applies the
next n new messages and then fails the request (the client cannot know it landed).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

from tests.chatwoot_emulator.contract import Contract, ContractViolation
from tests.chatwoot_emulator.state import Account, User

PAGE = 25


class Emulator:
    def __init__(
        self, account: Account, *, ping_interval: float = 3.0, contract: Contract | None = None
    ) -> None:
        self.account = account
        self.contract = contract or Contract()
        self.ping_interval = ping_interval
        self.violations: list[str] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) served, in order
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._sockets: dict[int, dict[str, Any]] = {}  # id -> {"queue", "ident", "user", "stalled"}
        self._throttle = 0
        self.retry_after = "1"
        self._lose = 0
        self.subscriptions = 0  # confirmed subscriptions (a reconnect adds one)
        self.presence_updates = 0
        # Run once right after the next confirmed subscription (a change in the catch-up's gap).
        self.after_subscribe: Callable[[], Any] | None = None
        account.listeners.append(self._broadcast)

    # --- running -----------------------------------------------------------------------------

    def start(self) -> Emulator:
        from uvicorn.config import WS_PROTOCOLS

        # The sans-I/O websockets implementation where this uvicorn has it (the other is deprecated).
        ws = "websockets-sansio" if "websockets-sansio" in WS_PROTOCOLS else "auto"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="critical",
            lifespan="off",
            ws=ws,
            interface="asgi3",
        )
        self._server = uvicorn.Server(config)
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self.loop = loop
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_until_complete(self._server.serve())  # type: ignore[union-attr]
            loop.close()

        self._thread = threading.Thread(target=run, name="chatwoot-emulator", daemon=True)
        self._thread.start()
        ready.wait(10)
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Chatwoot emulator did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(20)
        self._sockets.clear()
        self._server = self._thread = self.loop = None

    def restart(self) -> None:
        """Stop and start again on the same port, with the same data (live sockets are lost)."""
        self.stop()
        self.start()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `fn` on the emulator's loop (data changes and broadcasts stay on one thread)."""
        if self.loop is None:
            return fn(*args, **kwargs)

        async def run() -> Any:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(20)

    # --- faults ------------------------------------------------------------------------------

    def drop_all(self) -> int:
        sockets = list(self._sockets.values())
        for entry in sockets:
            self._to(entry, None)
        return len(sockets)

    def stall(self) -> None:
        for entry in self._sockets.values():
            entry["stalled"] = True

    def throttle(self, count: int, retry_after: str = "1") -> None:
        self._throttle, self.retry_after = count, retry_after

    def lose_answers(self, count: int) -> None:
        self._lose = count

    # --- the cable hub -------------------------------------------------------------------------

    def _to(self, entry: dict[str, Any], frame: dict[str, Any] | None) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(entry["queue"].put_nowait, frame)

    def _broadcast(self, name: str, data: dict[str, Any]) -> None:
        for entry in list(self._sockets.values()):
            if entry["ident"] is not None and not entry["stalled"]:
                self._to(entry, {"identifier": entry["ident"], "message": {"event": name, "data": data}})

    async def _cable(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        entry: dict[str, Any] = {"queue": asyncio.Queue(), "ident": None, "user": None, "stalled": False}
        key = id(entry)
        self._sockets[key] = entry

        async def writer() -> None:
            await send({"type": "websocket.send", "text": json.dumps({"type": "welcome"})})
            while True:
                try:
                    frame = await asyncio.wait_for(entry["queue"].get(), self.ping_interval)
                except TimeoutError:
                    frame = {"type": "ping", "message": int(time.time())}
                if frame is None:
                    await send({"type": "websocket.close", "code": 1011})
                    return
                if entry["stalled"]:
                    continue
                try:
                    await send({"type": "websocket.send", "text": json.dumps(frame)})
                except OSError:
                    return  # the client went away; the reader sees the disconnect

        task = asyncio.create_task(writer())
        try:
            while True:
                event = await receive()
                if event["type"] == "websocket.disconnect":
                    break
                self._command(entry, event.get("text") or "")
        finally:
            task.cancel()
            self._sockets.pop(key, None)

    def _command(self, entry: dict[str, Any], text: str) -> None:
        try:
            command = json.loads(text)
            ident = command["identifier"]
            params = json.loads(ident)
        except (ValueError, KeyError, TypeError):
            self.violations.append(f"cable: unreadable command {text[:200]!r}")
            return
        if command.get("command") == "subscribe":
            user = next(
                (u for u in self.account.users.values() if u.pubsub_token == params.get("pubsub_token")), None
            )
            valid = (
                params.get("channel") == "RoomChannel"
                and user is not None
                and params.get("user_id") == user.id
                and params.get("account_id") == self.account.id
            )
            if not valid:
                entry["queue"].put_nowait({"identifier": ident, "type": "reject_subscription"})
                return
            entry["ident"], entry["user"] = ident, user
            self.subscriptions += 1
            entry["queue"].put_nowait({"identifier": ident, "type": "confirm_subscription"})
            hook, self.after_subscribe = self.after_subscribe, None
            if hook is not None:
                hook()
        elif command.get("command") == "message":
            data = json.loads(command.get("data") or "{}")
            if data.get("action") != "update_presence" or ident != entry["ident"]:
                self.violations.append(f"cable: unexpected message {text[:200]!r}")
                return
            self.presence_updates += 1
            user = entry["user"]
            if user.availability != "available":
                user.availability = "available"
                self.account.emit("presence.update", {"users": {str(user.id): "online"}, "contacts": {}})
        else:
            self.violations.append(f"cable: unknown command {text[:200]!r}")

    # --- HTTP ----------------------------------------------------------------------------------

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            if scope["path"] == "/cable":
                await self._cable(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            event = await receive()
            chunks.append(event.get("body", b""))
            if not event.get("more_body"):
                break
        raw = b"".join(chunks)
        method, path = scope["method"], scope["path"]
        query = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append((method, path))
        status, body, extra_headers = self._handle(method, path, query, headers, raw)
        content = b"" if body is _EMPTY else (body if isinstance(body, bytes) else json.dumps(body).encode())
        kind = b"text/plain" if isinstance(body, bytes) else b"application/json"
        response_headers = [(b"content-type", kind), *extra_headers]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": content})

    def _handle(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        if self._throttle > 0:
            self._throttle -= 1
            return 429, b"Retry later\n", [(b"retry-after", self.retry_after.encode())]
        try:
            op, args = self.contract.match(method, path)
            body = json.loads(raw) if raw.strip() else None
            self.contract.check_request(op, args, query, body, bool(raw.strip()))
        except (ContractViolation, ValueError) as exc:
            self.violations.append(str(exc))
            return 404, {"error": f"emulator: {exc}"}, []
        user = next(
            (u for u in self.account.users.values() if u.token == headers.get("api_access_token")), None
        )
        if user is None:
            return 401, {"error": "You need to sign in or sign up before continuing."}, []
        if "account_id" in args and int(args["account_id"]) != self.account.id:
            return 401, {"error": "You are not authorized to access this account"}, []
        handler = getattr(self, "op_" + op.name.replace("-", "_"), None)
        if handler is None:
            self.violations.append(f"emulator serves no {op.name}")
            return 404, {"error": "Resource could not be found"}, []
        params: dict[str, list[str]] = {}
        for key, value in query:
            params.setdefault(key.removesuffix("[]"), []).append(value)
        status, answer = handler(user, args, params, body)
        try:
            self.contract.check_response(op, status, answer, answer is not _EMPTY)
        except ContractViolation as exc:
            self.violations.append(str(exc))
            return 500, {"error": f"emulator drifted: {exc}"}, []
        return status, answer, []

    # --- operations (named by the document's operationId) --------------------------------------------

    def _row(self, args: dict[str, str]) -> Any:
        return self.account.conversations.get(int(args["conversation_id"]))

    def op_fetchProfile(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        return 200, self.account.profile_json(user)

    def op_get_account_agents(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        return 200, [self.account.agent_json(u) for u in self.account.users.values()]

    def op_list_all_teams(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        return 200, [self.account.team_json(t, user) for t in self.account.teams.values()]

    def op_get_account_canned_response(
        self, user: User, args: Any, params: Any, body: Any
    ) -> tuple[int, Any]:
        return 200, [self.account.canned_json(c) for c in self.account.canned]

    def _contacts(self, found: list[Any], params: dict[str, list[str]]) -> tuple[int, Any]:
        page = int(params.get("page", ["1"])[0])
        chunk = found[(page - 1) * 15 : page * 15]
        return 200, {
            "meta": {"count": len(found), "current_page": str(page)},
            "payload": [self.account.contact_json(c, list_item=True) for c in chunk],
        }

    def op_contactList(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        return self._contacts(sorted(self.account.contacts.values(), key=lambda c: c.name), params)

    def op_contactSearch(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        needle = params.get("q", [""])[0].lower()
        found = [
            c
            for c in self.account.contacts.values()
            if needle in c.name.lower() or needle in (c.email or "").lower() or needle in (c.phone or "")
        ]
        return self._contacts(found, params)

    def op_contactDetails(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        contact = self.account.contacts.get(int(float(args["id"])))
        if contact is None:
            return 404, {"error": "Resource could not be found"}
        return 200, {"payload": self.account.contact_json(contact, list_item=True)}

    def op_contactConversations(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        contact_id = int(float(args["id"]))
        if contact_id not in self.account.contacts:
            return 404, {"error": "Resource could not be found"}
        rows = self.account.ordered(
            [r for r in self.account.conversations.values() if r.contact_id == contact_id]
        )
        return 200, {"payload": [self.account.conversation_json(r) for r in rows]}

    def op_conversationList(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        status = params.get("status", ["open"])[0]
        assignee_type = params.get("assignee_type", ["all"])[0]
        page = int(params.get("page", ["1"])[0])
        needle = params.get("q", [""])[0].lower()
        labels = set(params.get("labels", []))
        rows = list(self.account.conversations.values())
        if needle:
            rows = [
                r for r in rows if any(needle in m.content.lower() for m in self.account.thread(r.display_id))
            ]
        if labels:
            rows = [r for r in rows if labels <= set(r.labels)]
        counts = self.account.counts(user, status, rows)
        chosen = self.account.ordered(
            [r for r in rows if self.account.visible(r, user, assignee_type, status)]
        )
        chunk = chosen[(page - 1) * PAGE : page * PAGE]
        return 200, {"data": {"meta": counts, "payload": [self.account.conversation_json(r) for r in chunk]}}

    def op_conversationListMeta(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        return 200, {"meta": self.account.counts(user, params.get("status", ["open"])[0])}

    def op_conversationFilter(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        page = int(float(params.get("page", ["1"])[0]))
        rows = list(self.account.conversations.values())
        for rule in body.get("payload", []):
            key, values = rule.get("attribute_key"), rule.get("values", [])
            getter = {
                "status": lambda r: r.status,
                "priority": lambda r: r.priority,
                "assignee_id": lambda r: str(r.assignee_id),
            }
            if key not in getter or rule.get("filter_operator") not in ("equal_to", "not_equal_to"):
                return 400, {
                    "description": "unsupported filter",
                    "errors": [{"field": str(key), "message": "unsupported", "code": "invalid"}],
                }
            hit = [r for r in rows if getter[key](r) in values]
            rows = hit if rule["filter_operator"] == "equal_to" else [r for r in rows if r not in hit]
        chosen = self.account.ordered(rows)
        counts = self.account.counts(user, "all", chosen)
        chunk = chosen[(page - 1) * PAGE : page * PAGE]
        return 200, {"data": {"meta": counts, "payload": [self.account.conversation_json(r) for r in chunk]}}

    def op_get_details_of_a_conversation(
        self, user: User, args: Any, params: Any, body: Any
    ) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        return 200, self.account.conversation_json(row)

    def op_list_all_messages(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        thread = self.account.thread(row.display_id)
        after = params.get("after")
        before = params.get("before")
        if after and before:
            chosen = [m for m in thread if int(after[0]) <= m.id < int(before[0])][:1000]
        elif before:
            chosen = [m for m in thread if m.id < int(before[0])][-20:]
        elif after:
            chosen = [m for m in thread if m.id > int(after[0])][:100]
        else:
            chosen = thread[-20:]
        meta = {"labels": list(row.labels), "additional_attributes": {}}
        if row.assignee_id is not None:
            meta["assignee"] = self.account.agent_json(self.account.users[row.assignee_id])
        return 200, {"meta": meta, "payload": [self.account.message_json(m) for m in chosen]}

    def op_create_a_new_message_in_a_conversation(
        self, user: User, args: Any, params: Any, body: Any
    ) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        if body.get("message_type", "outgoing") != "outgoing":
            return 403, {"error": "agents send outgoing messages"}
        message = self.account.agent_message(
            row.display_id,
            user,
            body["content"],
            private=bool(body.get("private")),
            echo_id=body.get("echo_id"),
        )
        if self._lose > 0:
            self._lose -= 1
            raise ConnectionAbortedError("emulated: the answer is lost after the message was stored")
        return 200, self.account.message_json(message)

    def op_toggle_status_of_a_conversation(
        self, user: User, args: Any, params: Any, body: Any
    ) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        self.account.set_status(row, user, body["status"], body.get("snoozed_until"))
        return 200, {
            "meta": {},
            "payload": {"success": True, "current_status": row.status, "conversation_id": row.display_id},
        }

    def op_toggle_priority_of_a_conversation(
        self, user: User, args: Any, params: Any, body: Any
    ) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        priority = None if body["priority"] == "none" else body["priority"]
        if priority != row.priority:
            self.account.set_priority(row, user, priority)
        return 200, _EMPTY

    def op_assign_a_conversation(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        if "assignee_id" in body:
            assignee = self.account.users.get(int(body["assignee_id"]))
            if (assignee.id if assignee else None) != row.assignee_id:
                self.account.assign(row, user, assignee.id if assignee else None)
            return 200, self.account.agent_json(assignee) if assignee else None
        if "team_id" in body:
            team = self.account.teams.get(int(body["team_id"]))
            if (team["id"] if team else None) != row.team_id:
                self.account.set_team(row, user, team["id"] if team else None)
            return 200, self.account.team_json(team, user) if team else None
        return 200, None

    def op_list_all_labels_of_a_conversation(
        self, user: User, args: Any, params: Any, body: Any
    ) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        return 200, {"payload": list(row.labels)}

    def op_conversation_add_labels(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        self.account.set_labels(row, user, body["labels"])
        return 200, {"payload": list(row.labels)}

    def op_x_toggle_typing_status(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        name = "conversation.typing_on" if body["typing_status"] == "on" else "conversation.typing_off"
        self.account.emit(
            name,
            {
                "conversation": self.account.conversation_json(row),
                "user": {"id": user.id, "name": user.name, "type": "user"},
                "is_private": bool(body.get("is_private")),
            },
        )
        return 200, _EMPTY

    def op_x_update_last_seen(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        row.agent_last_seen_at = self.account.now() + 1  # everything so far is seen
        return 200, _EMPTY

    def op_x_unread(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        row = self._row(args)
        if row is None:
            return 404, {"error": "Resource could not be found"}
        incoming = [m for m in self.account.thread(row.display_id) if m.message_type == 0]
        if incoming:
            row.agent_last_seen_at = incoming[-1].created_at - 1  # the newest one is unread again
        return 200, _EMPTY

    def _article(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            **item,
            "status": "published",
            "account_id": self.account.id,
            "views": 0,
            "updated_at": 1767600000,
        }

    def op_x_list_portal_articles(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        if args["portal_slug"] != self.account.portal:
            return 404, {"error": "Resource could not be found"}
        words = params.get("query", [""])[0].lower().split()
        locale = params.get("locale", [None])[0]
        found = [
            a
            for a in self.account.articles
            if all(w in (a["title"] + " " + a["content"]).lower() for w in words)
            and (locale is None or a["locale"] == locale)
        ]
        return 200, {"payload": [self._article(a) for a in found], "meta": {"articles_count": len(found)}}

    def op_x_show_article(self, user: User, args: Any, params: Any, body: Any) -> tuple[int, Any]:
        item = next((a for a in self.account.articles if str(a["id"]) == args["article_id"]), None)
        if args["portal_slug"] != self.account.portal or item is None:
            return 404, {"error": "Resource could not be found"}
        return 200, {"payload": self._article(item)}


class _Empty:
    """An answer with no body (`head :ok`)."""


_EMPTY: Any = _Empty()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
