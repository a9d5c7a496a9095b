"""The demo's night at the desk: simulated customers, and simulated colleagues who keep up.

Customers talk to the desk server's `/inbound` endpoint, as a channel connector would, with an
admin or integration token: new conversations, replies where an agent answered them, impatient
pings. Some write that it is urgent, and the desk raises those to high (core/urgency.py). Every
post carries an Idempotency-Key, so a retried post never doubles a customer message.

Colleagues are the demo's other agents, each with a token of its own (`colleagues`: email ->
token). They answer the customers waiting on them before the SLA due time, nearly always, and
take most new conversations from the unassigned queue, leaving some for the person at the
console. So a demo left alone for a quarter of an hour still looks like a night: a few late
ones, not a queue of fires. A colleague acts only if the conversation still waits as it did
when the colleague planned to (the agent at the console may have answered it first).

The queue stays bounded however long the demo runs: once more than `max_waiting` conversations
wait unassigned, the customer who has waited longest gives up instead of a new one writing in.
Conversations someone has taken are never given up.

Time is the simulator's own: `advance(now)` does everything due by `now`. `simulate` calls it
with the wall clock; a test drives it (and a desk on the same clock) through simulated minutes.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from agent_console.client.errors import BackendError, NotAuthenticated, Unreachable
from agent_console.core.clock import from_iso, utcnow
from agent_console.demo.dataset import (
    random_colleague_reply,
    random_follow_up,
    random_give_up,
    random_impatient_ping,
    random_inbound,
    random_urgent_line,
)

# A night's unassigned queue is short (the seeded one holds about a dozen).
MAX_WAITING = 30
NEW_SHARE = 0.3  # of customer messages: a new conversation (the rest write in one that exists)
URGENT_SHARE = 0.1  # of new conversations: the customer says it is urgent
ANSWER_IN_TIME = 0.93  # a colleague answers their waiting customer before the due time
TAKE_SHARE = 0.75  # of new conversations nobody has: a colleague takes it in time
SCAN_EVERY = timedelta(seconds=5)  # how often the colleagues look at the queue
TICK = 1.0  # seconds between `advance` calls when running for real


@dataclass(slots=True)
class Colleague:
    id: int
    name: str
    team_ids: tuple[int, ...]
    http: httpx.AsyncClient


@dataclass(slots=True)
class Plan:
    """A colleague's next move on one waiting customer (None: left for someone else)."""

    at: datetime
    colleague: Colleague
    waiting_since: str
    take: bool  # nobody has it yet: assign it to the colleague first


class Simulator:
    def __init__(
        self,
        server: str,
        token: str,
        *,
        seed: int | None = None,
        max_waiting: int = MAX_WAITING,
        rate: float = 4.0,
        colleagues: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.max_waiting = max_waiting
        self.rate = rate  # customer messages a minute
        self.base = server.rstrip("/") + "/api/v1"
        self.transport = transport  # a test's in-process desk; None: the network
        self.http = self._client(token)
        self.colleague_tokens = dict(colleagues or {})
        self.colleagues: dict[int, Colleague] | None = None  # known after the first scan
        self.plans: dict[int, Plan | None] = {}  # by conversation id
        self.recent: list[tuple[int, str, dict]] = []  # (conversation id, language, contact)
        self.answered: list[tuple[int, str, dict]] = []  # where the last word is an agent's
        self.next_customer: datetime | None = None
        self.next_scan: datetime | None = None
        self.sent = 0  # customer messages
        self.gave_up = 0
        self.replies = 0  # colleagues' answers
        self.taken = 0  # conversations a colleague took from the unassigned queue

    def _client(self, token: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            transport=self.transport,
        )

    async def aclose(self) -> None:
        await self.http.aclose()
        for colleague in (self.colleagues or {}).values():
            await colleague.http.aclose()

    async def _post(self, path: str, payload: dict, http: httpx.AsyncClient | None = None) -> dict | None:
        key = {"Idempotency-Key": str(uuid.uuid4())}  # the same key on every retry
        return await self._send("POST", path, payload, key, http=http)

    async def _send(
        self,
        method: str,
        path: str,
        payload: dict | None = None,
        headers: dict | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        allow: tuple[int, ...] = (),
    ) -> dict | None:
        for attempt in range(3):
            try:
                response = await (http or self.http).request(method, path, json=payload, headers=headers)
            except httpx.TransportError:
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            if response.status_code in allow:
                return None
            if response.status_code in (401, 403):
                raise NotAuthenticated(
                    "the server refused the simulator's token (it needs an admin or integration token)"
                )
            if response.status_code >= 400:
                raise BackendError(f"the server answered {response.status_code}: {response.text[:200]}")
            return response.json() if response.content else None
        raise Unreachable("the desk server stopped answering")

    # --- the clock ------------------------------------------------------------------------------

    async def advance(self, now: datetime, *, limit: int | None = None) -> None:
        """Everything due by `now`: customers writing (at most `limit` messages in all) and
        colleagues answering."""
        if self.next_customer is None:
            self.next_customer = now + self._gap()
        if self.next_scan is None or now >= self.next_scan:
            await self.scan(now)
            self.next_scan = now + SCAN_EVERY
        while self.next_customer <= now and (limit is None or self.sent < limit):
            await self.step()
            self.next_customer += self._gap()
        for conversation_id, plan in list(self.plans.items()):
            if plan is not None and plan.at <= now:
                self.plans[conversation_id] = None  # once: a new wait is a new plan
                await self.colleague_acts(conversation_id, plan)

    def _gap(self) -> timedelta:
        # Exponential gaps: customers do not write on a metronome.
        return timedelta(seconds=self.rng.expovariate(self.rate / 60.0))

    # --- customers ------------------------------------------------------------------------------

    async def give_up_if_crowded(self) -> bool:
        """When too many wait unassigned, the longest-waiting customer leaves. True if one did."""
        page = await self._send("GET", "/conversations?view=unassigned&limit=1")
        if not page or page["counts"]["unassigned"] <= self.max_waiting or not page["items"]:
            return False
        conversation = page["items"][0]  # due order: the one who has waited longest past due
        contact = {"name": conversation["contact"]["name"]}
        await self._post(
            "/inbound",
            {
                "channel": conversation["channel"],
                "contact": contact,
                "body": random_give_up(self.rng, conversation.get("language") or "en"),
                "conversation_id": conversation["id"],
            },
        )
        await self._send("PATCH", f"/conversations/{conversation['id']}", {"status": "resolved"})
        self.recent = [entry for entry in self.recent if entry[0] != conversation["id"]]
        self.gave_up += 1
        return True

    async def step(self) -> None:
        """One customer action."""
        self.sent += 1
        roll = self.rng.random()
        waiting_on_them = self.recent + self.answered
        if roll < NEW_SHARE or not waiting_on_them:
            if not await self.give_up_if_crowded():  # a crowded queue: someone leaves instead
                await self._new_conversation()
            return
        conversation_id, language, contact = self.rng.choice(waiting_on_them)
        if self.rng.random() < 0.4:
            await self._post("/inbound/typing", {"conversation_id": conversation_id, "active": True})
        body = (
            random_follow_up(self.rng, language) if roll < 0.85 else random_impatient_ping(self.rng, language)
        )
        self.answered = [entry for entry in self.answered if entry[0] != conversation_id]
        await self._post(
            "/inbound",
            {"channel": "web_chat", "contact": contact, "body": body, "conversation_id": conversation_id},
        )

    async def _new_conversation(self) -> None:
        inbound = random_inbound(self.rng)
        contact = {"name": inbound.contact_name, "language": inbound.language, "timezone": inbound.timezone}
        if inbound.contact_email:
            contact["email"] = inbound.contact_email
        if inbound.contact_phone:
            contact["phone"] = inbound.contact_phone
        body = inbound.body
        if self.rng.random() < URGENT_SHARE:
            # Their words decide: the desk raises a conversation that says so to high.
            body = f"{body}\n\n{random_urgent_line(self.rng, inbound.language)}"
        payload = {"channel": inbound.channel, "contact": contact, "body": body}
        if inbound.subject:
            payload["subject"] = inbound.subject
        result = await self._post("/inbound", payload)
        if result:
            self.recent.append((result["conversation_id"], inbound.language, contact))
            del self.recent[:-40]

    # --- colleagues -----------------------------------------------------------------------------

    async def _meet_colleagues(self) -> dict[int, Colleague]:
        colleagues: dict[int, Colleague] = {}
        for token in self.colleague_tokens.values():
            http = self._client(token)
            me = await self._send("GET", "/me", http=http)
            if me is None:  # pragma: no cover - /me always answers a valid token
                await http.aclose()
                continue
            colleagues[me["id"]] = Colleague(me["id"], me["name"], tuple(me.get("team_ids") or ()), http)
        return colleagues

    async def scan(self, now: datetime) -> None:
        """The colleagues look at the open queue: who waits on whom, and by when."""
        if self.colleagues is None:
            self.colleagues = await self._meet_colleagues()
        page = await self._send("GET", "/conversations?view=all&status=open&limit=300")
        answered = []
        for item in (page or {}).get("items", []):
            conversation_id = item["id"]
            waiting = item.get("waiting_since")
            if waiting is None:
                self.plans.pop(conversation_id, None)  # answered: the next wait is planned afresh
                if item.get("assignee") is not None:
                    contact = {"name": item["contact"]["name"]}
                    answered.append((conversation_id, item.get("language") or "en", contact))
                continue
            known = self.plans.get(conversation_id, False)
            if known is not False and (known is None or known.waiting_since == waiting):
                continue  # decided for this wait already
            self.plans[conversation_id] = self._plan(item, now)
        self.answered = answered[-60:]

    def _plan(self, item: dict, now: datetime) -> Plan | None:
        if not self.colleagues:
            return None
        assignee = (item.get("assignee") or {}).get("id")
        if assignee is not None and assignee not in self.colleagues:
            return None  # the console's agent's (or someone's we do not play)
        since = from_iso(item["waiting_since"])
        due = _answer_due(item) or since + timedelta(minutes=10)
        span = max(timedelta(seconds=10), due - since)
        if assignee is None:
            if self.rng.random() >= TAKE_SHARE:
                return None  # left for the person at the console
            team = (item.get("team") or {}).get("id")
            everyone = list(self.colleagues.values())
            pool = [c for c in everyone if team in c.team_ids] or everyone
            colleague = self.rng.choice(pool)
        else:
            colleague = self.colleagues[assignee]
        if self.rng.random() < ANSWER_IN_TIME:
            at = since + span * self.rng.uniform(0.3, 0.85)
        else:
            at = due + timedelta(seconds=self.rng.uniform(30, 300))  # busy elsewhere: late
        return Plan(max(at, now), colleague, item["waiting_since"], take=assignee is None)

    async def colleague_acts(self, conversation_id: int, plan: Plan) -> None:
        colleague = plan.colleague
        path = f"/conversations/{conversation_id}"
        current = await self._send("GET", path, http=colleague.http, allow=(404,))
        if current is None or current["status"] != "open":
            return  # closed meanwhile
        if current.get("waiting_since") != plan.waiting_since:
            return  # answered meanwhile (the agent at the console, say)
        holder = (current.get("assignee") or {}).get("id")
        if plan.take:
            if holder is not None:
                return  # someone else took it first
            taken = await self._send(
                "PATCH", path, {"assignee_id": colleague.id}, http=colleague.http, allow=(409,)
            )
            if taken is None:
                return
            self.taken += 1
        elif holder != colleague.id:
            return  # handed to someone else meanwhile
        first = current["contact"]["name"].split()[0] if current["contact"]["name"].split() else ""
        body = random_colleague_reply(
            self.rng, current.get("language") or "en", customer=first, agent=colleague.name.split()[0]
        )
        await self._post(f"{path}/messages", {"body": body}, http=colleague.http)
        self.replies += 1


def _answer_due(item: dict) -> datetime | None:
    """When the waiting customer's answer is due: the first-response clock before any reply,
    the next-response one after."""
    wanted = "frt" if item.get("first_response_at") is None else "nrt"
    for clock in (item.get("sla") or {}).get("clocks", []):
        if clock["name"] == wanted:
            return from_iso(clock["due_at"])
    return None


async def simulate(
    server: str,
    token: str,
    *,
    rate: float,
    count: int = 0,
    seed: int | None = None,
    colleagues: Mapping[str, str] | None = None,
) -> int:
    """Customers write at about `rate` messages a minute (and colleagues answer, with
    `colleagues`' tokens); stop after `count` customer messages (0: never). Returns how many."""
    sim = Simulator(server, token, seed=seed, rate=rate, colleagues=colleagues)
    try:
        while count == 0 or sim.sent < count:
            await sim.advance(utcnow(), limit=count or None)
            if count and sim.sent >= count:
                break
            await asyncio.sleep(TICK)
    finally:
        await sim.aclose()
    return sim.sent
