"""Simulated customers for demos: new chats, follow-ups, impatient pings, and giving up.

Talks to the desk server's `/inbound` endpoint, as a channel connector would, with an
admin or integration token. Every post carries an Idempotency-Key, so a retried post
never doubles a customer message.

The queue stays bounded however long (or how often) the demo runs: nobody answers the
simulated customers, so once more than `max_waiting` conversations wait unassigned, the
customer who has waited longest gives up instead of a new one writing in. They say so
in their language and their conversation is resolved, as a web chat abandoned by its
customer is. Conversations someone has taken are never touched.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx

from agent_console.client.errors import BackendError, NotAuthenticated, Unreachable
from agent_console.demo.dataset import (
    random_follow_up,
    random_give_up,
    random_impatient_ping,
    random_inbound,
)

# About the seeded demo's unassigned queue (80), with room for the traffic to show.
MAX_WAITING = 100


class Simulator:
    def __init__(
        self, server: str, token: str, *, seed: int | None = None, max_waiting: int = MAX_WAITING
    ) -> None:
        self.rng = random.Random(seed)
        self.max_waiting = max_waiting
        self.gave_up = 0
        self.http = httpx.AsyncClient(
            base_url=server.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        self.recent: list[tuple[int, str, dict]] = []  # (conversation id, language, contact)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _post(self, path: str, payload: dict) -> dict | None:
        key = {"Idempotency-Key": str(uuid.uuid4())}  # the same key on every retry
        return await self._send("POST", path, payload, key)

    async def _send(
        self, method: str, path: str, payload: dict | None = None, headers: dict | None = None
    ) -> dict | None:
        for attempt in range(3):
            try:
                response = await self.http.request(method, path, json=payload, headers=headers)
            except httpx.TransportError:
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            if response.status_code in (401, 403):
                raise NotAuthenticated(
                    "the server refused the simulator's token (it needs an admin or integration token)"
                )
            if response.status_code >= 400:
                raise BackendError(f"the server answered {response.status_code}: {response.text[:200]}")
            return response.json() if response.content else None
        raise Unreachable("the desk server stopped answering")

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
        roll = self.rng.random()
        if roll < 0.5 and await self.give_up_if_crowded():
            return
        if roll < 0.5 or not self.recent:
            inbound = random_inbound(self.rng)
            contact = {
                "name": inbound.contact_name,
                "language": inbound.language,
                "timezone": inbound.timezone,
            }
            if inbound.contact_email:
                contact["email"] = inbound.contact_email
            if inbound.contact_phone:
                contact["phone"] = inbound.contact_phone
            payload = {"channel": inbound.channel, "contact": contact, "body": inbound.body}
            if inbound.subject:
                payload["subject"] = inbound.subject
            result = await self._post("/inbound", payload)
            if result:
                self.recent.append((result["conversation_id"], inbound.language, contact))
                del self.recent[:-40]
            return
        conversation_id, language, contact = self.rng.choice(self.recent)
        if self.rng.random() < 0.4:
            await self._post("/inbound/typing", {"conversation_id": conversation_id, "active": True})
        body = (
            random_follow_up(self.rng, language) if roll < 0.85 else random_impatient_ping(self.rng, language)
        )
        await self._post(
            "/inbound",
            {
                "channel": "web_chat",
                "contact": contact,
                "body": body,
                "conversation_id": conversation_id,
            },
        )


async def simulate(server: str, token: str, *, rate: float, count: int = 0, seed: int | None = None) -> int:
    """Post customer messages at about `rate` a minute; return how many were sent."""
    sim = Simulator(server, token, seed=seed)
    sent = 0
    try:
        while count == 0 or sent < count:
            await sim.step()
            sent += 1
            if count and sent >= count:
                break
            # Exponential gaps: customers do not write on a metronome.
            await asyncio.sleep(sim.rng.expovariate(rate / 60.0))
    finally:
        await sim.aclose()
    return sent
