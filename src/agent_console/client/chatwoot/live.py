"""The Chatwoot adapter's live feed: ActionCable in, our events out, and the catch-up.

ActionCable cannot replay, so after every confirmed subscription the feed first refetches what
may have changed while no socket listened: conversations by `last_activity_at` in every view
the console shows (paged until older than the last change applied, less a margin), then the
messages after the newest one known of each open thread and each changed conversation. Message
ids already handed out are dropped, so a message the catch-up read and the socket carried too
counts once. A socket silent for three pings is dead. A mixin of `ChatwootBackend`.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec

from agent_console.client.backend import FeedItem
from agent_console.client.chatwoot import feed as cable
from agent_console.client.chatwoot import mapping
from agent_console.client.errors import BackendError, NotAuthenticated, Unreachable
from agent_console.core.models import Conversation, Event, Message

PAGE = 25  # Chatwoot's conversation page size
# The views the console shows, as Chatwoot's assignee types: a reconnect refetches each.
CATCH_UP_VIEWS = ("me", "unassigned", "all")
CATCH_UP_MARGIN = 30  # seconds before the mark: Chatwoot's clock has whole seconds
CATCH_UP_PAGES = 200  # a bound, not a window: 5,000 conversations changed while away


class ChatwootLive:
    """The feed half of `ChatwootBackend` (which supplies the REST reads and the caches)."""

    server: str
    account_id: int
    ping_interval: float
    presence_every: float
    catch_ups: int
    _mark: int | None
    _profile: dict[str, Any] | None
    _threads: OrderedDict[int, int]
    _cache: OrderedDict[int, Conversation]
    _echo: OrderedDict[str, Message]

    # --- live feed ---------------------------------------------------------------------------

    async def feed(self, since: int | None, *, presence: bool = True) -> AsyncIterator[FeedItem]:
        """One ActionCable connection; ends or raises Unreachable when it drops.

        `since` is ignored (Chatwoot cannot replay): every connection first refetches what may
        have changed since the last thing applied."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus, WebSocketException

        profile = await self.profile()
        ident = cable.identifier(str(profile.get("pubsub_token") or ""), self.account_id, int(profile["id"]))
        dead_after = self.ping_interval * cable.MISSED_PINGS + 1.0
        ssl_context = None
        url = cable.cable_url(self.server)
        if url.startswith("wss:"):
            import ssl

            verify = self.http.verify
            ssl_context = (
                verify
                if isinstance(verify, ssl.SSLContext)
                else ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
            )
        try:
            async with connect(
                url,
                ssl=ssl_context,
                open_timeout=10,
                ping_interval=None,
                max_size=None,
                user_agent_header="agent-console",
            ) as socket:
                await self._subscribe(socket, ident, dead_after)
                yield FeedItem("open")
                for item in await self._catch_up():
                    yield item
                last_presence = 0.0
                while True:
                    if presence and time.monotonic() - last_presence >= self.presence_every:
                        await socket.send(cable.presence_frame(ident))
                        last_presence = time.monotonic()
                    try:
                        async with asyncio.timeout(dead_after):  # a cancel is never swallowed (3.11 wait_for)
                            raw = await socket.recv()
                    except TimeoutError:
                        raise Unreachable(f"no ping from Chatwoot for {dead_after:.0f} s") from None
                    frame = cable.read_frame(raw)
                    kind = frame.get("type")
                    if kind == "ping":
                        yield FeedItem("ping", seq=self._seq)
                    elif kind == "disconnect":
                        if frame.get("reason") == "unauthorized":
                            raise NotAuthenticated("Chatwoot's live feed refused this token", status=401)
                        raise Unreachable(f"Chatwoot closed the live feed ({frame.get('reason')})")
                    elif isinstance(frame.get("message"), dict):
                        for item in await self._event(frame["message"]):
                            yield item
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise NotAuthenticated("Chatwoot's live feed refused this token", status=status) from None
            raise Unreachable(f"Chatwoot's live feed answered HTTP {status}", status=status) from None
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise Unreachable(f"live feed lost: {type(exc).__name__}") from None

    async def _subscribe(self, socket: Any, ident: str, dead_after: float) -> None:
        sent = False
        while True:
            try:
                async with asyncio.timeout(dead_after):  # a cancel is never swallowed (3.11 wait_for)
                    raw = await socket.recv()
            except TimeoutError:
                raise Unreachable("Chatwoot's live feed did not greet or confirm") from None
            frame = cable.read_frame(raw)
            kind = frame.get("type")
            if kind == "welcome" and not sent:
                await socket.send(cable.subscribe_frame(ident))
                sent = True
            elif kind == "confirm_subscription" and frame.get("identifier") == ident:
                return
            elif kind == "reject_subscription":
                raise NotAuthenticated(
                    "Chatwoot refused the live-feed subscription (pubsub token)", status=401
                )
            elif kind == "disconnect":
                raise NotAuthenticated("Chatwoot's live feed refused this token", status=401)

    def _event_item(self, kind: str, data: dict[str, Any]) -> FeedItem:
        seq = self._tick()
        return FeedItem("event", event=Event(seq=seq, type=kind, at=datetime.now(UTC), data=data), seq=seq)

    def _conversation_item(self, kind: str, conversation: Conversation) -> FeedItem:
        self._advance(conversation.last_activity_at)
        return self._event_item(kind, {"conversation": msgspec.to_builtins(conversation)})

    async def _catch_up(self) -> list[FeedItem]:
        """After a (re)connection: everything that may have changed while no socket listened."""
        if self._mark is None:
            return []
        self.catch_ups += 1
        cutoff = self._mark - CATCH_UP_MARGIN
        start = self._tick()
        # The newest message each conversation had before: what came after it is news.
        known = {cid: c.last_message.id for cid, c in self._cache.items() if c.last_message is not None}
        changed: dict[int, Conversation] = {}
        for view in CATCH_UP_VIEWS:
            for page in range(1, CATCH_UP_PAGES + 1):
                params = {"assignee_type": view, "status": "all", "page": page}
                body = ((await self._get("/conversations", params)) or {}).get("data") or {}
                raws = body.get("payload") or []
                fresh = [r for r in raws if int(r.get("last_activity_at") or 0) >= cutoff]
                for raw in fresh:
                    changed.setdefault(int(raw["id"]), self._conversation(raw, start))
                if len(raws) < PAGE or len(fresh) < len(raws):
                    break
        items = [self._conversation_item("conversation.updated", c) for c in changed.values()]
        # Messages: the open threads after their last id, and every changed conversation after
        # the newest message it had (a new one from its start), so no message.created is lost.
        afters = dict(self._threads)
        for cid, conversation in changed.items():
            if cid not in afters and (
                conversation.last_message is None or conversation.last_message.id != known.get(cid)
            ):
                afters[cid] = known.get(cid, 0)
        for conversation_id, last in afters.items():
            for raw in await self._messages_after(conversation_id, last):
                message = mapping.message(raw, conversation_id)
                if self._remember_message(message):
                    items.append(self._message_item(message, raw))
        return items

    async def _event(self, message: dict[str, Any]) -> list[FeedItem]:
        name = str(message.get("event") or "")
        data = message.get("data") or {}
        if not isinstance(data, dict) or data.get("account_id") not in (None, self.account_id):
            return []
        if name in cable.CONVERSATION_EVENTS:
            conversation = self._conversation(data, self._tick())
            return [self._conversation_item(cable.CONVERSATION_EVENTS[name], conversation)]
        if name == "message.created":
            return await self._message_created(data)
        if name in cable.TYPING_EVENTS:
            typing = cable.typing_event(data, cable.TYPING_EVENTS[name])
            me = (self._profile or {}).get("id")
            if typing is None or (typing["author"]["type"] == "agent" and typing["author"]["id"] == me):
                return []
            return [self._event_item("typing", typing)]
        if name == "presence.update":
            return [self._event_item("presence.updated", cable.presence_event(data))]
        return []  # contact, notification and cache events change nothing the console holds

    async def _message_created(self, data: dict[str, Any]) -> list[FeedItem]:
        conversation_id = int(data["conversation_id"])
        message = mapping.message(data, conversation_id)
        if data.get("echo_id"):
            self._echo[str(data["echo_id"])] = message
            while len(self._echo) > 1000:
                self._echo.popitem(last=False)
        if not self._remember_message(message):
            return []
        if conversation_id not in self._cache:
            try:
                await self.conversation(conversation_id)
            except BackendError:
                pass  # the message still goes out; its conversation comes with the next read
        return [self._message_item(message, data)]

    def _message_item(self, message: Message, raw: dict[str, Any]) -> FeedItem:
        """message.created, with the conversation copy moved on by it (last message, activity,
        unread count), so the queue row and the thread never disagree."""
        seq = self._tick()
        out: dict[str, Any] = {"message": msgspec.to_builtins(message)}
        held = self._cache.get(message.conversation_id)
        if held is not None:
            summary = raw.get("conversation") or {}
            newer = held.last_message is None or held.last_message.id <= message.id
            updated = msgspec.structs.replace(
                held,
                seq=seq,
                last_message=mapping.preview(raw) if newer else held.last_message,
                last_activity_at=max(held.last_activity_at, message.created_at),
                unread_count=int(summary.get("unread_count", held.unread_count) or 0),
                message_count=held.message_count + 1,
            )
            self._cache[message.conversation_id] = updated
            out["conversation"] = msgspec.to_builtins(updated)
        self._advance(message.created_at)
        event = Event(seq=seq, type="message.created", at=datetime.now(UTC), data=out)
        return FeedItem("event", event=event, seq=seq)
