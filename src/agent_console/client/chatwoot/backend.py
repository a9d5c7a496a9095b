"""The Chatwoot adapter: the `Backend` protocol over Chatwoot's Application API and ActionCable.

Chatwoot has no event log, so this adapter makes the promises the sync engine relies on:

- `seq`: a counter of its own. A REST read takes its number when it *starts*, so an event
  that arrives while the read is on its way (a higher number) wins over the older copy.
- No replay: after every (re)connection the feed first refetches what may have changed since
  the last thing it applied: conversations by `last_activity_at` in every view the console
  shows (paged until older than that mark, not a fixed window), and the open threads'
  messages `after` their last id. Refetched and live messages are de-duplicated by id.
- No Idempotency-Key: a reply carries `echo_id` (the outbox's key); before sending one that
  may already have landed (an unknown outcome), the adapter reads back the newest messages
  and returns the one it finds instead of sending a second.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec

from agent_console.client.chatwoot import feed as cable
from agent_console.client.chatwoot import mapping
from agent_console.client.chatwoot.http import ChatwootHttp, RateBudget
from agent_console.client.chatwoot.live import PAGE, ChatwootLive
from agent_console.client.errors import (
    BackendError,
    Conflict,
    InvalidRequest,
    NotAuthenticated,
    NotAvailable,
    NotFound,
)
from agent_console.core.models import (
    Agent,
    Attachment,
    CannedResponse,
    Contact,
    Conversation,
    ConversationCounts,
    ConversationPage,
    ConversationPatch,
    Desk,
    KbArticle,
    KbHit,
    LabelCount,
    Message,
    ReadState,
    Team,
)

MESSAGES_AFTER = 100  # Chatwoot answers at most this many messages `after` an id
MESSAGES_BEFORE = 20  # ... and this many `before` one (or latest)
ALL_STATUSES = ("open", "pending", "snoozed", "resolved")
TRACKED_THREADS = 50  # open threads whose messages a reconnect refetches
READ_BACK_SKEW = 120.0  # seconds of clock difference tolerated in a read-back
_VIEW = {"mine": "me", "unassigned": "unassigned", "all": "all"}


def _not_on_chatwoot(what: str) -> NotAvailable:
    return NotAvailable(f"{what} is not available on Chatwoot", code="not_available")


class ChatwootBackend(ChatwootLive):
    """One agent's session with one Chatwoot account. The token only travels in a header."""

    name = "chatwoot"

    def __init__(
        self,
        server: str,
        token: str,
        *,
        account_id: int,
        portal: str | None = None,
        timeout: float = 10.0,
        verify: Any = True,
        budget: RateBudget | None = None,
        ping_interval: float = cable.PING_INTERVAL,
        presence_every: float = cable.PRESENCE_EVERY,
    ) -> None:
        self.server = server.rstrip("/")
        self.account_id = int(account_id)
        self.portal = portal
        self.http = ChatwootHttp(self.server, token, timeout=timeout, verify=verify, budget=budget)
        self._token = token
        self.ping_interval = ping_interval
        self.presence_every = presence_every
        self._seq = 0
        self._profile: dict[str, Any] | None = None
        self._mark: int | None = None  # server time (unix s) of the newest change applied
        self._threads: OrderedDict[int, int] = OrderedDict()  # conversation -> newest message id
        self._labels_seen: dict[int, list[str]] = {}
        self._cache: OrderedDict[int, Conversation] = OrderedDict()
        self._messages_seen: OrderedDict[int, None] = OrderedDict()
        self._echo: OrderedDict[str, Message] = OrderedDict()  # echo_id -> the message it became
        self._tried: dict[str, float] = {}  # reply key -> first try (epoch s), this process
        self._counts: ConversationCounts | None = None
        self._attachments: dict[int, Attachment] = {}
        self._article_slugs: dict[int, str] = {}  # article id -> slug, for its public address
        self.catch_ups = 0  # refetches after a (re)connection, for tests

    def __repr__(self) -> str:  # never show the token
        return f"ChatwootBackend({self.server!r}, account_id={self.account_id})"

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- plumbing ----------------------------------------------------------------------------

    def _tick(self) -> int:
        self._seq += 1
        return self._seq

    def _path(self, tail: str) -> str:
        return f"/api/v1/accounts/{self.account_id}{tail}"

    async def _get(self, tail: str, params: Any = None) -> Any:
        try:
            return await self.http.call("GET", self._path(tail), params=params)
        except NotFound as exc:
            raise _named(exc, tail) from exc

    async def _post(self, tail: str, body: Any, params: Any = None) -> Any:
        try:
            return await self.http.call("POST", self._path(tail), body=body, params=params)
        except NotFound as exc:
            raise _named(exc, tail) from exc

    def _conversation(self, raw: dict[str, Any], seq: int) -> Conversation:
        cid = int(raw["id"])
        held = self._cache.get(cid)
        conversation = mapping.conversation(raw, seq=seq, message_count=held.message_count if held else 0)
        if conversation.last_message is None and held is not None and held.last_message is not None:
            # A feed event carrying only an activity line: the last thing written is unchanged.
            conversation = msgspec.structs.replace(conversation, last_message=held.last_message)
        self._labels_seen[cid] = list(conversation.labels)
        if held is None or held.seq <= seq:
            self._cache[cid] = conversation
            self._cache.move_to_end(cid)
            while len(self._cache) > 25_000:
                self._cache.popitem(last=False)
        return conversation

    def _advance(self, stamp: datetime | None) -> None:
        if stamp is not None and self._mark is not None:
            self._mark = max(self._mark, mapping.unix(stamp))

    def _first_mark(self, conversations: Sequence[Conversation]) -> None:
        """The first read the console builds on: changes after it are newer than its newest."""
        if self._mark is None:
            newest = max((mapping.unix(c.last_activity_at) for c in conversations), default=0)
            self._mark = newest or int(time.time())

    def _remember_message(self, message: Message) -> bool:
        """False when this message was handed out already (a refetch and the live socket)."""
        if message.id in self._messages_seen:
            return False
        self._messages_seen[message.id] = None
        while len(self._messages_seen) > 20_000:
            self._messages_seen.popitem(last=False)
        if message.conversation_id in self._threads:
            self._threads[message.conversation_id] = max(self._threads[message.conversation_id], message.id)
        return True

    # --- reads -------------------------------------------------------------------------------

    async def profile(self) -> dict[str, Any]:
        """GET /api/v1/profile: who the token belongs to (and its pubsub token)."""
        if self._profile is None:
            raw = await self.http.call("GET", "/api/v1/profile")
            if not any(a.get("id") == self.account_id for a in raw.get("accounts") or []):
                raise NotAuthenticated(
                    f"this token's user is not a member of Chatwoot account {self.account_id}",
                    status=401,
                )
            self._profile = raw
        return self._profile

    async def me(self) -> Agent:
        return mapping.profile_agent(await self.profile(), self.account_id)

    async def desk(self) -> Desk:
        raw = await self.profile()
        account = next(a for a in raw.get("accounts") or [] if a.get("id") == self.account_id)
        host = urlsplit(self.server).netloc
        return Desk(id=f"chatwoot:{host}:{self.account_id}", name=str(account.get("name") or host))

    async def agents(self) -> list[Agent]:
        return [mapping.agent(raw) for raw in await self._get("/agents") or []]

    async def teams(self) -> list[Team]:
        return [mapping.team(raw) for raw in await self._get("/teams") or []]

    async def contacts(self, *, search: str | None = None, limit: int = 50) -> list[Contact]:
        found: list[Contact] = []
        page = 1
        while len(found) < limit:
            if search:
                data = await self._get("/contacts/search", {"q": search, "page": page})
            else:
                data = await self._get("/contacts", {"page": page})
            items = (data or {}).get("payload") or []
            found += [mapping.contact(raw) for raw in items]
            if not items or len(found) >= int(((data or {}).get("meta") or {}).get("count") or 0):
                break
            page += 1
        return found[:limit]

    async def contact(self, contact_id: int) -> Contact:
        data = await self._get(f"/contacts/{contact_id}")
        return mapping.contact(data["payload"])

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
        breaching_within: int | None = None,  # Chatwoot's community edition has no SLA due times
    ) -> ConversationPage:
        if before is not None:
            # Chatwoot pages by number in its own order; it cannot read backwards from a queue position.
            raise _not_on_chatwoot("paging a view backwards from a queue position")
        start = self._tick()
        wanted = tuple(s for s in ALL_STATUSES if s in statuses) or ALL_STATUSES
        if contact_id is not None:
            data = await self._get(f"/contacts/{contact_id}/conversations")
            raws = [r for r in (data or {}).get("payload") or [] if r.get("status", "open") in wanted]
            items = [self._conversation(r, start) for r in raws][:limit]
            return ConversationPage(
                items=items, next_cursor=None, counts=self._counts_or_zero(), head_seq=start
            )
        if view == "urgent":
            return await self._urgent(wanted, limit, cursor, start)
        if view not in _VIEW:
            raise BackendError(f"unknown view {view!r}", code="invalid", status=400, field="view")
        # One status at a time (Chatwoot filters by one), or all of them in one list.
        lanes = ("all",) if wanted == ALL_STATUSES else wanted
        lane, page = _parse_cursor(cursor)
        items: list[Conversation] = []
        seen: set[int] = set()
        metas: dict[str, dict[str, Any]] = {}
        next_cursor = None
        while lane < len(lanes):
            params: list[tuple[str, Any]] = [
                ("assignee_type", _VIEW[view]),
                ("status", lanes[lane]),
                ("page", page),
            ]
            if query:
                params.append(("q", query))
            if label:
                params.append(("labels[]", label))
            data = (await self._get("/conversations", params)) or {}
            body = data.get("data") or {}
            metas[lanes[lane]] = body.get("meta") or {}
            raws = body.get("payload") or []
            for raw in raws:
                if int(raw["id"]) not in seen:
                    seen.add(int(raw["id"]))
                    items.append(self._conversation(raw, start))
            if len(raws) >= PAGE:
                page += 1
            else:
                lane, page = lane + 1, 1
            if len(items) >= limit and lane < len(lanes):
                next_cursor = f"{lane}:{page}"
                break
        if cursor is None:
            self._first_mark(items)
            self._counts = await self._count(lanes, metas)
        return ConversationPage(
            items=items[:limit] if next_cursor is None else items,
            next_cursor=next_cursor,
            counts=self._counts_or_zero(),
            head_seq=start,
        )

    async def _urgent(
        self, wanted: Sequence[str], limit: int, cursor: str | None, start: int
    ) -> ConversationPage:
        _, page = _parse_cursor(cursor)
        items: list[Conversation] = []
        next_cursor = None
        while True:
            data = (await self._post("/conversations/filter", _urgent_filter(wanted), {"page": page})) or {}
            body = data.get("data") or data
            raws = body.get("payload") or []
            items += [self._conversation(r, start) for r in raws]
            if len(raws) < PAGE:
                break
            page += 1
            if len(items) >= limit:
                next_cursor = f"0:{page}"
                break
        return ConversationPage(
            items=items, next_cursor=next_cursor, counts=self._counts_or_zero(), head_seq=start
        )

    async def _count(self, lanes: Sequence[str], metas: dict[str, dict[str, Any]]) -> ConversationCounts:
        """Chatwoot's own counts (mine, unassigned, all) summed over the statuses shown, and
        the urgent ones counted by a filter."""
        mine = unassigned = total = 0
        for lane in lanes:
            meta = metas.get(lane)
            if meta is None:
                meta = ((await self._get("/conversations/meta", {"status": lane})) or {}).get("meta") or {}
            mine += int(meta.get("mine_count") or 0)
            unassigned += int(meta.get("unassigned_count") or 0)
            total += int(meta.get("all_count") or 0)
        statuses = ALL_STATUSES if tuple(lanes) == ("all",) else lanes
        urgent_data = (await self._post("/conversations/filter", _urgent_filter(statuses), {"page": 1})) or {}
        urgent_meta = (urgent_data.get("data") or urgent_data).get("meta") or {}
        urgent = int(urgent_meta.get("all_count") or 0)
        return ConversationCounts(mine=mine, unassigned=unassigned, all=total, urgent=urgent)

    def _counts_or_zero(self) -> ConversationCounts:
        return self._counts or ConversationCounts(mine=0, unassigned=0, all=0, urgent=0)

    async def conversation(self, conversation_id: int) -> Conversation:
        start = self._tick()
        return self._conversation(await self._get(f"/conversations/{conversation_id}"), start)

    async def messages(self, conversation_id: int, *, after: int | None = None) -> list[Message]:
        """The thread, oldest first: all of it (paged back with `before`), or what follows `after`."""
        self._threads[conversation_id] = self._threads.get(conversation_id, 0)
        self._threads.move_to_end(conversation_id)
        while len(self._threads) > TRACKED_THREADS:
            self._threads.popitem(last=False)
        raws = (
            await self._messages_after(conversation_id, after)
            if after is not None
            else await self._history(conversation_id)
        )
        items = [mapping.message(raw, conversation_id) for raw in raws]
        for item in items:
            self._messages_seen[item.id] = None
            if conversation_id in self._threads:
                self._threads[conversation_id] = max(self._threads[conversation_id], item.id)
        held = self._cache.get(conversation_id)
        if held is not None and after is None:
            self._cache[conversation_id] = msgspec.structs.replace(held, message_count=len(items))
        return items

    async def _history(self, conversation_id: int) -> list[dict[str, Any]]:
        batch = ((await self._get(f"/conversations/{conversation_id}/messages")) or {}).get("payload") or []
        raws = list(batch)
        while len(batch) >= MESSAGES_BEFORE:
            oldest = min(int(r["id"]) for r in batch)
            params = {"before": oldest}
            batch = ((await self._get(f"/conversations/{conversation_id}/messages", params)) or {}).get(
                "payload"
            ) or []
            raws = batch + raws
        return sorted({int(r["id"]): r for r in raws}.values(), key=lambda r: int(r["id"]))

    async def _messages_after(self, conversation_id: int, after: int) -> list[dict[str, Any]]:
        raws: list[dict[str, Any]] = []
        while True:
            params = {"after": after}
            batch = ((await self._get(f"/conversations/{conversation_id}/messages", params)) or {}).get(
                "payload"
            ) or []
            raws += batch
            if len(batch) < MESSAGES_AFTER:
                return sorted(raws, key=lambda r: int(r["id"]))
            after = max(int(r["id"]) for r in batch)

    async def labels(self) -> list[LabelCount]:
        raise _not_on_chatwoot("counting labels across the desk")

    async def canned_responses(
        self, *, query: str | None = None, locale: str | None = None
    ) -> list[CannedResponse]:
        items = [mapping.canned(raw) for raw in await self._get("/canned_responses") or []]
        if query:
            needle = query.casefold()
            items = [c for c in items if needle in c.shortcode.casefold() or needle in c.body.casefold()]
        return items

    def _portal(self) -> str:
        if not self.portal:
            raise NotAvailable(
                'knowledge-base search needs the help-center portal: set `portal = "slug"` in this'
                " Chatwoot profile",
                code="not_available",
            )
        return self.portal

    async def kb_search(self, query: str, *, locale: str | None = None, limit: int = 20) -> list[KbHit]:
        params = {"query": query, "locale": locale, "page": 1}
        data = (await self._get(f"/portals/{self._portal()}/articles", params)) or {}
        raws = data.get("payload") or []
        self._article_slugs.update((int(raw["id"]), str(raw["slug"])) for raw in raws if raw.get("slug"))
        return [mapping.kb_hit(raw, query, rank) for rank, raw in enumerate(raws[:limit])]

    async def kb_article(self, article_id: int) -> KbArticle:
        data = (await self._get(f"/portals/{self._portal()}/articles/{article_id}")) or {}
        article = mapping.kb_article(data.get("payload") or data)
        self._article_slugs[article.id] = article.slug
        return article

    def article_link(self, item: KbArticle | KbHit) -> str | None:
        """The article's page in Chatwoot's public help center (`/hc/{portal}/articles/{slug}`),
        which a customer can open; None for an article not read through this session."""
        slug = self._article_slugs.get(item.id)
        if slug is None or not self.portal:
            return None
        return f"{self.server}/hc/{quote(self.portal, safe='')}/articles/{quote(slug, safe='')}"

    # --- writes ------------------------------------------------------------------------------

    async def update_conversation(self, conversation_id: int, patch: ConversationPatch) -> Conversation:
        """Chatwoot changes one thing per route: assignee and team (assignments), status and
        snooze (toggle_status), priority (toggle_priority), labels (the whole list)."""
        base = f"/conversations/{conversation_id}"
        if patch.assignee_id is not msgspec.UNSET:
            # Chatwoot unassigns when the id names nobody: 0.
            await self._post(f"{base}/assignments", {"assignee_id": patch.assignee_id or 0})
        if patch.team_id is not msgspec.UNSET:
            await self._post(f"{base}/assignments", {"team_id": patch.team_id or 0})
        status_body = _status_body(patch)
        if status_body is not None:
            await self._post(f"{base}/toggle_status", status_body)
        if patch.priority is not msgspec.UNSET:
            await self._post(f"{base}/toggle_priority", {"priority": mapping.PRIORITY_OUT[patch.priority]})
        if patch.labels is not msgspec.UNSET:
            await self._set_labels(conversation_id, list(patch.labels))
        return await self.conversation(conversation_id)

    async def _set_labels(self, conversation_id: int, desired: list[str]) -> None:
        """POST replaces the whole list: merge our change into what is there now, so a label a
        colleague added since we last looked is kept (and one they removed stays removed)."""
        path = f"/conversations/{conversation_id}/labels"
        current = list(((await self._get(path)) or {}).get("payload") or [])
        seen = self._labels_seen.get(conversation_id, current)
        added = [label for label in desired if label not in seen]
        removed = {label for label in seen if label not in desired}
        merged = [label for label in current if label not in removed]
        merged += [label for label in added if label not in merged]
        if merged != current:
            answer = (await self._post(path, {"labels": merged})) or {}
            merged = list(answer.get("payload") or merged)
        self._labels_seen[conversation_id] = merged

    async def send_message(
        self,
        conversation_id: int,
        body: str,
        *,
        private: bool = False,
        last_seen_message_id: int | None = None,
        force: bool = False,
        idempotency_key: str | None = None,
        retry_since: float | None = None,
    ) -> Message:
        if len(body) > mapping.MAX_CONTENT:
            raise InvalidRequest(
                f"the message is {len(body):,} characters; Chatwoot takes at most {mapping.MAX_CONTENT:,}",
                code="invalid",
                status=422,
                field="content",
            )
        if idempotency_key and (retry_since is not None or idempotency_key in self._tried):
            since = min(self._tried.get(idempotency_key, time.time()), retry_since or time.time())
            landed = await self._read_back(conversation_id, idempotency_key, body, private, since)
            if landed is not None:
                return landed
        if last_seen_message_id is not None and not force:
            await self._check_unseen(conversation_id, last_seen_message_id)
        payload: dict[str, Any] = {"content": body, "message_type": "outgoing", "private": private}
        if idempotency_key:
            payload["echo_id"] = idempotency_key
            self._tried.setdefault(idempotency_key, time.time())
        raw = await self._post(f"/conversations/{conversation_id}/messages", payload)
        message = mapping.message(raw, conversation_id)
        if idempotency_key:
            self._tried.pop(idempotency_key, None)
        return message

    async def _read_back(
        self, conversation_id: int, key: str, body: str, private: bool, since: float
    ) -> Message | None:
        """Did an earlier try land? The feed may have shown its echo; else the newest messages
        must hold our own reply, same text and kind, made after the first try."""
        if key in self._echo:
            return self._echo[key]
        me = (await self.profile())["id"]
        raws = ((await self._get(f"/conversations/{conversation_id}/messages")) or {}).get("payload") or []
        for raw in reversed(raws):
            if (
                int(raw.get("message_type") or 0) == 1
                and raw.get("sender_id") == me
                and bool(raw.get("private")) == private
                and raw.get("content") == body
                and float(raw.get("created_at") or 0) >= since - READ_BACK_SKEW
            ):
                return mapping.message(raw, conversation_id)
        return None

    async def _check_unseen(self, conversation_id: int, last_seen: int) -> None:
        """Chatwoot has no stale-reply check: read what came after what the agent saw."""
        me = (await self.profile())["id"]
        raws = await self._messages_after(conversation_id, last_seen)
        unseen = [
            mapping.message(raw, conversation_id)
            for raw in raws
            if int(raw.get("message_type") or 0) != 2
            and not (int(raw.get("message_type") or 0) == 1 and raw.get("sender_id") == me)
        ]
        if unseen:
            raise Conflict(
                f"{len(unseen)} new message(s) since you last looked", unseen=unseen, code="stale", status=409
            )

    async def set_typing(self, conversation_id: int, *, active: bool, private: bool = False) -> None:
        body = {"typing_status": "on" if active else "off", "is_private": private}
        await self._post(f"/conversations/{conversation_id}/toggle_typing_status", body)

    async def mark_read(
        self, conversation_id: int, *, message_id: int | None = None, unread: bool = False
    ) -> ReadState:
        """Chatwoot keeps one "last seen" time per conversation, not a mark per message: read
        means read to the newest (`update_last_seen`), unread makes the newest customer message
        unread again (`unread`). What it left is read back."""
        base = f"/conversations/{conversation_id}"
        await self._post(f"{base}/unread" if unread else f"{base}/update_last_seen", None)
        fresh = await self.conversation(conversation_id)
        raws = ((await self._get(f"{base}/messages")) or {}).get("payload") or []
        ids = sorted(int(r["id"]) for r in raws)
        newest_incoming = max((int(r["id"]) for r in raws if int(r.get("message_type") or 0) == 0), default=0)
        if unread:
            last_read = max((i for i in ids if i < newest_incoming), default=0)
        else:
            last_read = max(ids, default=message_id or 0)
        me = (await self.profile())["id"]
        return ReadState(
            conversation_id=conversation_id,
            agent_id=int(me),
            last_read_message_id=last_read,
            unread_count=fresh.unread_count,
        )

    async def attachments(self, conversation_id: int) -> list[Attachment]:
        """The files on this conversation's messages (Chatwoot's `attachments` on each message)."""
        raws = await self._history(conversation_id)
        found = [
            mapping.attachment(item, int(raw["id"])) for raw in raws for item in raw.get("attachments") or []
        ]
        self._attachments.update((a.id, a) for a in found)
        return found

    async def attachment(self, attachment_id: int) -> Attachment:
        if attachment_id not in self._attachments:
            raise NotFound(
                f"attachment {attachment_id} is not among the conversations read so far", status=404
            )
        return self._attachments[attachment_id]

    async def attachment_content(self, attachment_id: int) -> bytes:
        # Chatwoot serves files from its storage host by signed URL; the console does not fetch them.
        raise _not_on_chatwoot("downloading an attachment from the console (open it in Chatwoot)")

    # SLA policies are an enterprise add-on of Chatwoot, outside its Application API document.
    async def sla_policies(self) -> list[Any]:
        raise _not_on_chatwoot("SLA policies")

    async def sla_policy(self, policy_id: int) -> Any:
        raise _not_on_chatwoot("SLA policies")

    async def create_sla_policy(self, policy: Any) -> Any:
        raise _not_on_chatwoot("SLA policies")

    async def update_sla_policy(self, policy_id: int, patch: Any) -> Any:
        raise _not_on_chatwoot("SLA policies")

    async def delete_sla_policy(self, policy_id: int) -> None:
        raise _not_on_chatwoot("SLA policies")

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
    ) -> Any:
        raise _not_on_chatwoot("SLA breaches")

    # Chatwoot's reports are another API (v2 reports), outside the Application API document.
    async def stats(
        self,
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        team_id: int | None = None,
        agent_id: int | None = None,
        tz: str | None = None,
    ) -> Any:
        raise _not_on_chatwoot("KPIs (use Chatwoot's reports)")

    async def set_viewing(self, conversation_id: int, *, active: bool) -> None:
        raise _not_on_chatwoot("showing who is viewing a conversation")

    async def set_presence(self, presence: str) -> Agent:
        raise _not_on_chatwoot("changing your availability from the console (use Chatwoot's dashboard)")

    async def set_language(self, conversation_id: int, language: str) -> Any:
        raise _not_on_chatwoot("correcting a conversation's language")

    async def suggestions(self, conversation_id: int) -> Any:
        raise _not_on_chatwoot("suggested replies")


def _named(exc: NotFound, tail: str) -> NotFound:
    """Chatwoot's 404 says "Resource could not be found": name what was not there, as the desk
    server does, when the route was one conversation's or one article's."""
    for pattern, what in (
        (r"/conversations/(\d+)(/|$)", "conversation"),
        (r"/portals/[^/]+/articles/(\d+)$", "knowledge-base article"),
    ):
        found = re.match(pattern, tail)
        if found is not None:
            return NotFound(f"no {what} with id {found.group(1)}", code=exc.code, status=exc.status)
    return exc


def _parse_cursor(cursor: str | None) -> tuple[int, int]:
    if not cursor:
        return 0, 1
    try:
        lane, page = cursor.split(":")
        return max(0, int(lane)), max(1, int(page))
    except ValueError:
        # A keyset cursor of the desk server's queue order: Chatwoot pages by number instead.
        raise _not_on_chatwoot("paging a view from a queue position") from None


def _urgent_filter(statuses: Sequence[str]) -> dict[str, Any]:
    return {
        "payload": [
            {
                "attribute_key": "status",
                "filter_operator": "equal_to",
                "values": list(statuses),
                "query_operator": "AND",
            },
            {"attribute_key": "priority", "filter_operator": "equal_to", "values": ["urgent"]},
        ]
    }


def _status_body(patch: ConversationPatch) -> dict[str, Any] | None:
    """toggle_status: a wake-up time means snoozed (Chatwoot takes `snoozed` with
    `snoozed_until`, though its document lists neither); clearing a snooze reopens."""
    if isinstance(patch.snoozed_until, datetime):
        return {"status": "snoozed", "snoozed_until": mapping.unix(patch.snoozed_until)}
    if patch.status is not msgspec.UNSET:
        return {"status": patch.status}
    if patch.snoozed_until is None:
        return {"status": "open"}
    return None
