"""Inbound traffic as the demo makes it: urgent customers heard, a queue that stays bounded.

The real desk server (its inbound path) and the real simulator against it.
"""

from __future__ import annotations

import asyncio
import tomllib
import uuid
from importlib import resources

import pytest

from agent_console.client.simulator import Simulator
from agent_console.core.urgency import says_urgent
from tests.conftest import Desk

_PHRASES = tomllib.loads(resources.files("agent_console.demo").joinpath("phrases.toml").read_text("utf-8"))
GIVING_UP = {line for lang in _PHRASES["lang"].values() for line in lang["gave_up"]}


def write_in(desk: Desk, body: str, conversation_id: int | None = None) -> dict:
    payload = {
        "channel": "web_chat",
        "contact": {"name": "Pat Traveller", "email": f"{uuid.uuid4().hex[:8]}@cust.example"},
        "body": body,
    }
    if conversation_id is not None:
        payload["conversation_id"] = conversation_id
    answer = desk.admin.post("/inbound", json=payload)
    assert answer.status_code == 201, answer.text
    return answer.json()


def conversation(desk: Desk, conversation_id: int) -> dict:
    return desk.agent.get(f"/conversations/{conversation_id}").json()


def activity(desk: Desk, conversation_id: int) -> list[str]:
    items = desk.agent.get(f"/conversations/{conversation_id}/messages").json()["items"]
    return [m["body"] for m in items if m["kind"] == "activity"]


@pytest.mark.parametrize(
    "body",
    [
        "Please reply, this is urgent",
        "¿Alguien me responde? Es urgente",
        "Bitte melden, es ist dringend!",
        "Merci de me répondre, c'est urgent",
        "Por favor, é urgente",
        "急いでいます。返信をお願いします",
    ],
)
def test_a_new_chat_that_says_urgent_arrives_high(fresh_desk: Desk, body: str) -> None:
    cid = write_in(fresh_desk, body)["conversation_id"]
    seen = conversation(fresh_desk, cid)
    assert seen["priority"] == "high"
    assert activity(fresh_desk, cid) == [
        "Priority raised from normal to high: the customer wrote that it is urgent"
    ]


@pytest.mark.parametrize("body", ["not urgent, whenever you can", "no es urgente", "My insurgent plan"])
def test_a_chat_that_does_not_say_urgent_stays_normal(fresh_desk: Desk, body: str) -> None:
    assert not says_urgent(body)
    cid = write_in(fresh_desk, body)["conversation_id"]
    assert conversation(fresh_desk, cid)["priority"] == "normal"
    assert activity(fresh_desk, cid) == []


def test_a_follow_up_raises_low_to_high_and_never_lowers_urgent(fresh_desk: Desk) -> None:
    cid = write_in(fresh_desk, "My data stopped working")["conversation_id"]
    assert fresh_desk.agent.patch(f"/conversations/{cid}", json={"priority": "low"}).status_code == 200
    write_in(fresh_desk, "hello?? this is urgent", conversation_id=cid)
    raised = conversation(fresh_desk, cid)
    assert raised["priority"] == "high"
    assert activity(fresh_desk, cid)[-1].startswith("Priority raised from low to high")
    assert fresh_desk.agent.patch(f"/conversations/{cid}", json={"priority": "urgent"}).status_code == 200
    write_in(fresh_desk, "URGENT please", conversation_id=cid)
    assert conversation(fresh_desk, cid)["priority"] == "urgent"


def test_the_simulator_keeps_the_unassigned_queue_bounded(fresh_desk: Desk) -> None:
    desk = fresh_desk
    waiting = [write_in(desk, f"Question {n}")["conversation_id"] for n in range(5)]
    taken = waiting[0]
    me = desk.agent.get("/me").json()
    assert desk.agent.patch(f"/conversations/{taken}", json={"assignee_id": me["id"]}).status_code == 200

    def unassigned() -> int:
        return desk.agent.get("/conversations", params={"view": "unassigned", "limit": 1}).json()["counts"][
            "unassigned"
        ]

    async def run() -> Simulator:
        simulator = Simulator(desk.url, desk.admin_token, seed=11, max_waiting=3)
        try:
            for _ in range(40):
                await simulator.step()
                assert unassigned() <= 4  # at most one over the bound, never growing past it
        finally:
            await simulator.aclose()
        return simulator

    simulator = asyncio.run(run())
    assert simulator.gave_up > 0
    resolved = desk.agent.get("/conversations", params={"view": "all", "status": "resolved"}).json()["items"]
    assert len(resolved) == simulator.gave_up
    for item in resolved:
        assert item["assignee"] is None  # only the unassigned give up
        messages = desk.agent.get(f"/conversations/{item['id']}/messages").json()["items"]
        customer = [m for m in messages if m["kind"] == "incoming"]
        assert customer[-1]["body"] in GIVING_UP  # in the customer's own language
    assert conversation(desk, taken)["status"] == "open"  # someone's conversation is never touched
