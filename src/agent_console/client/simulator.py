"""Simulated customers for demos: new chats, follow-ups and impatient pings.

Talks to the desk server's `/inbound` endpoint, as a channel connector would, with an
admin or integration token. Every post carries an Idempotency-Key, so a retried post
never doubles a customer message.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx

from agent_console.client.errors import BackendError, NotAuthenticated, Unreachable
from agent_console.demo.dataset import random_follow_up, random_impatient_ping, random_inbound


class Simulator:
    def __init__(self, server: str, token: str, *, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
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
        for attempt in range(3):
            try:
                response = await self.http.post(path, json=payload, headers=key)
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

    async def step(self) -> None:
        """One customer action."""
        roll = self.rng.random()
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
