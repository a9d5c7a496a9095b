"""Chatwoot's live feed: ActionCable frames in, our events out.

ActionCable says: `welcome`, then `ping` about every 3 s; we subscribe to `RoomChannel`
with the profile's `pubsub_token`, account and user ids and wait for
`confirm_subscription`; events arrive as {"identifier", "message": {"event", "data"}}.
This module holds the pure parts: the identifier, frame reading, and turning one Chatwoot
event into our event types (the adapter supplies conversations it must look up).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PING_INTERVAL = 3.0  # Chatwoot's ActionCable pings about this often
MISSED_PINGS = 3  # silent this many pings: the socket is dead
PRESENCE_EVERY = 10.0  # the dashboard's update_presence rhythm

# Chatwoot event name -> ours; every one of these carries a whole conversation.
CONVERSATION_EVENTS = {
    "conversation.created": "conversation.created",
    "conversation.updated": "conversation.updated",
    "conversation.status_changed": "conversation.updated",
    "conversation.read": "conversation.updated",
    "conversation.contact_changed": "conversation.updated",
    "conversation.mentioned": "conversation.updated",
    "assignee.changed": "conversation.updated",
    "team.changed": "conversation.updated",
    "first.reply.created": "conversation.updated",
}
TYPING_EVENTS = {"conversation.typing_on": True, "conversation.typing_off": False}


def cable_url(server: str) -> str:
    parts = urlsplit(server)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/cable", "", ""))


def identifier(pubsub_token: str, account_id: int, user_id: int) -> str:
    return json.dumps(
        {
            "channel": "RoomChannel",
            "pubsub_token": pubsub_token,
            "account_id": account_id,
            "user_id": user_id,
        },
        separators=(",", ":"),
    )


def subscribe_frame(ident: str) -> str:
    return json.dumps({"command": "subscribe", "identifier": ident})


def presence_frame(ident: str) -> str:
    return json.dumps(
        {"command": "message", "identifier": ident, "data": json.dumps({"action": "update_presence"})}
    )


def read_frame(raw: str | bytes) -> dict[str, Any]:
    try:
        frame = json.loads(raw)
    except ValueError:
        return {}
    return frame if isinstance(frame, dict) else {}


def presence_event(data: dict[str, Any]) -> dict[str, Any]:
    """presence.update {users: {id: status}} -> our presence.updated {agents: [...]}."""
    from agent_console.client.chatwoot.mapping import presence

    users = data.get("users") or {}
    return {"agents": [{"agent_id": int(k), "presence": presence(v)} for k, v in users.items()]}


def typing_event(data: dict[str, Any], active: bool) -> dict[str, Any] | None:
    conversation = data.get("conversation") or {}
    user = data.get("user") or {}
    if conversation.get("id") is None or user.get("id") is None:
        return None
    kind = "contact" if user.get("type") == "contact" else "agent"
    return {
        "conversation_id": int(conversation["id"]),
        "author": {"type": kind, "id": int(user["id"]), "name": str(user.get("name") or "")},
        "active": active,
        "private": bool(data.get("is_private")),
    }
