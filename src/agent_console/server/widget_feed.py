"""The customer's live feed: websocket `/api/v1/widget/events`, scoped to one contact.

A separate hub from the agents' (server/feed.py): every committed event goes through
`customer_view`, which keeps only what that contact may see (their messages with agents and
bots, their conversations' status, agents typing a reply, CSAT, whether anyone is on shift)
and drops the rest (private notes, activity lines, private typing, agent presence details,
other customers). Frames carry the event log's `seq`, so a reconnect with `since` resumes
without gaps or duplicates, as on the agent feed.

Browsers cannot put an Authorization header on a websocket, so the token comes in the first
frame: `{"type": "hello", "token": "acw_...", "since": SEQ | null}`. Until then nothing is sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from agent_console.core.clock import to_iso, utcnow
from agent_console.core.models import Author
from agent_console.core.visibility import CUSTOMER_VISIBLE
from agent_console.server.store import PendingEvent, Store
from agent_console.server.widget_store import WidgetStore, encode, widget_message

log = logging.getLogger("agent_console.server")

HELLO_TIMEOUT = 10.0
QUEUE_LIMIT = 2000  # frames a customer socket may have waiting before it is dropped (4008)
TYPING_PER_SECOND = 4
SOCKETS_PER_CONTACT = 5  # a few tabs; not a way for one visitor to hold hundreds of sockets


def customer_view(
    event: PendingEvent, data: dict[str, Any], contact_of: Callable[[int], int | None]
) -> tuple[int, dict[str, Any]] | None:
    """(contact id, what that contact is told) for one event, or None when it is not theirs."""
    kind = event.type
    if kind == "message.created":
        message = data["message"]
        if message["kind"] not in CUSTOMER_VISIBLE:
            return None  # private notes and activity lines never leave the desk
        conversation = data["conversation"]
        payload = {
            "type": "message",
            "message": widget_message(message),
            "conversation": {"id": conversation["id"], "status": conversation["status"]},
        }
        return conversation["contact"]["id"], payload
    if kind in ("conversation.created", "conversation.updated"):
        if kind == "conversation.updated" and "status" not in data.get("changed", ()):
            return None  # priority, labels, assignee: the desk's own business
        conversation = data["conversation"]
        payload = {
            "type": "conversation",
            "conversation": {"id": conversation["id"], "status": conversation["status"]},
        }
        return conversation["contact"]["id"], payload
    if kind == "typing":
        author = data["author"]
        if author["type"] == "contact" or data.get("private"):
            return None  # their own typing, or an agent writing a note
        contact = contact_of(int(data["conversation_id"]))
        if contact is None:
            return None
        payload = {
            "type": "typing",
            "conversation_id": data["conversation_id"],
            "active": bool(data["active"]),
            "name": author.get("name", ""),
        }
        return contact, payload
    if kind == "csat.submitted":
        contact = contact_of(int(data["conversation_id"]))
        return None if contact is None else (contact, {"type": "csat", "csat": data["csat"]})
    return None


class CustomerSocket:
    def __init__(self, contact_id: int) -> None:
        self.contact_id = contact_id
        self.queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue(QUEUE_LIMIT)
        self.dropped = False


class CustomerHub:
    """Who is connected, by contact; filled by the store's listener after every commit."""

    def __init__(self) -> None:
        self.sockets: dict[int, set[CustomerSocket]] = {}
        self.widget: WidgetStore | None = None
        self._online: bool | None = None

    def publish(self, events: list[PendingEvent]) -> None:
        if not self.sockets or self.widget is None:
            self._online = None  # nobody heard the last change: the next one goes out whatever it is
            return
        try:
            self._publish(events)
        except Exception:  # noqa: BLE001 - the write committed; a bad projection must not undo the answer
            log.exception("customer feed fan-out failed")

    def _publish(self, events: list[PendingEvent]) -> None:
        assert self.widget is not None
        for event in events:
            if event.type == "presence.updated":
                self._availability(event.seq)
                continue
            view = customer_view(event, json.loads(event.data), self.widget.contact_of)
            if view is None:
                continue
            contact, payload = view
            for sock in self.sockets.get(contact, ()):
                self._offer(sock, event.seq, frame(event.seq, payload))

    def _availability(self, seq: int) -> None:
        assert self.widget is not None
        availability = self.widget.availability()
        if availability.online == self._online:
            return
        self._online = availability.online
        text = frame(seq, {"type": "availability", "availability": availability})
        for socks in self.sockets.values():
            for sock in socks:
                self._offer(sock, seq, text)

    @staticmethod
    def _offer(sock: CustomerSocket, seq: int, text: str) -> None:
        if sock.dropped:
            return
        try:
            sock.queue.put_nowait((seq, text))
        except asyncio.QueueFull:
            sock.dropped = True  # stopped reading: it resumes with `since` when it returns

    def add(self, sock: CustomerSocket) -> None:
        self.sockets.setdefault(sock.contact_id, set()).add(sock)

    def remove(self, sock: CustomerSocket) -> None:
        held = self.sockets.get(sock.contact_id)
        if held is not None:
            held.discard(sock)
            if not held:
                del self.sockets[sock.contact_id]


def frame(seq: int, payload: dict[str, Any]) -> str:
    return encode({"seq": seq, **payload}).decode()


class CustomerEndpoint:
    """Raw ASGI websocket endpoint; `allowed(scope, site_key)` is the origin rule of the routes."""

    def __init__(
        self,
        store: Store,
        widget: WidgetStore,
        hub: CustomerHub,
        allowed: Callable[[dict[str, Any], str | None], bool],
        *,
        ping_interval: float = 15.0,
    ) -> None:
        self.store = store
        self.widget = widget
        self.hub = hub
        self.allowed = allowed
        self.ping_interval = ping_interval

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        if (await receive())["type"] != "websocket.connect":
            return
        if not self.allowed(scope, None):
            await send({"type": "websocket.close", "code": 4403})
            return
        await send({"type": "websocket.accept"})
        try:
            async with asyncio.timeout(HELLO_TIMEOUT):
                hello = await _read_json(receive)
        except TimeoutError:
            await _close(send, 4408, "no hello within 10 s")
            return
        if hello is None:
            return  # gone
        visitor = self.widget.visitor(str(hello.get("token") or "")) if hello.get("type") == "hello" else None
        if visitor is None:
            await _close(send, 4401, "missing or invalid visitor token")
            return
        if not self.allowed(scope, visitor.site_key):
            await _close(send, 4403, "this origin may not use the site key")
            return
        since = hello.get("since")
        if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
            await _close(send, 4400, "since must be a non-negative integer or null")
            return
        if len(self.hub.sockets.get(visitor.contact_id, ())) >= SOCKETS_PER_CONTACT:
            await _close(send, 4429, f"at most {SOCKETS_PER_CONTACT} open chats per visitor")
            return
        sock = CustomerSocket(visitor.contact_id)
        self.hub.add(sock)  # before reading the log: what commits meanwhile waits in the queue
        tasks = [
            asyncio.create_task(self._serve(sock, since, send)),
            asyncio.create_task(self._listen(sock, receive)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            self.hub.remove(sock)

    async def _serve(self, sock: CustomerSocket, since: int | None, send: Any) -> None:
        head = self.store.head_seq()
        last = head
        if since is not None:
            oldest = self.store.oldest_seq()
            if since > head or since < (oldest if oldest is not None else head + 1) - 1:
                await send(
                    {"type": "websocket.send", "text": json.dumps({"type": "resync_required", "seq": head})}
                )
            else:
                last = since
                while True:
                    batch = self.store.events_after(last, 500)
                    for event in batch:
                        view = customer_view(event, json.loads(event.data), self.widget.contact_of)
                        if view is not None and view[0] == sock.contact_id:
                            await send({"type": "websocket.send", "text": frame(event.seq, view[1])})
                    if batch:
                        last = batch[-1].seq
                    if len(batch) < 500:
                        break
        hello = {"type": "ready", "seq": last, "availability": self.widget.availability()}
        await send({"type": "websocket.send", "text": frame(last, hello)})
        while True:
            try:
                seq, text = await asyncio.wait_for(sock.queue.get(), self.ping_interval)
            except TimeoutError:
                ping = json.dumps({"type": "ping", "seq": last, "at": to_iso(utcnow())})
                await send({"type": "websocket.send", "text": ping})
                continue
            if sock.dropped:
                await _close(send, 4008, "too slow: the client stopped reading")
                return
            if seq <= last:
                continue  # replay sent it already
            last = max(last, seq)
            await send({"type": "websocket.send", "text": text})

    async def _listen(self, sock: CustomerSocket, receive: Any) -> None:
        """Typing from the customer; anything else is ignored. At most a few a second."""
        sent: list[float] = []
        while True:
            message = await _read_json(receive)
            if message is None:
                return
            if message.get("type") != "typing":
                continue
            now = time.monotonic()
            sent = [t for t in sent if t > now - 1]
            if len(sent) >= TYPING_PER_SECOND:
                continue
            sent.append(now)
            conversation_id = message.get("conversation_id")
            if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
                continue
            if self.widget.contact_of(conversation_id) != sock.contact_id:
                continue  # not theirs: say nothing, change nothing
            contact = self.store.get_contact(sock.contact_id)
            self.store.typing(
                conversation_id,
                Author(type="contact", id=contact.id, name=contact.name),
                active=bool(message.get("active")),
                private=False,
            )


async def _read_json(receive: Any) -> dict[str, Any] | None:
    """The next JSON object frame; None when the client is gone. Other frames are skipped."""
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None or len(text) > 4096:
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value


async def _close(send: Any, code: int, reason: str) -> None:
    try:
        await send({"type": "websocket.close", "code": code, "reason": reason})
    except Exception:  # noqa: BLE001 - the peer may be gone already
        pass
