"""Canned-response placeholders: `{{contact.first_name}}` and friends.

Known placeholders are filled from the conversation; `{{cursor}}` and any placeholder we
cannot fill become gaps, and the caret goes to the first gap so the agent types there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)*)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Filled:
    text: str
    cursor: int | None  # offset of the first gap, or None when nothing is left to fill


def first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else name


def context_for(
    *,
    contact_name: str,
    contact_email: str | None,
    agent_name: str,
    conversation_id: int,
) -> dict[str, str]:
    values = {
        "contact.name": contact_name,
        "contact.first_name": first_name(contact_name),
        "agent.name": agent_name,
        "agent.first_name": first_name(agent_name),
        "conversation.id": str(conversation_id),
    }
    if contact_email:
        values["contact.email"] = contact_email
    return values


def fill(body: str, values: dict[str, str]) -> Filled:
    """Fill what we know; leave the rest as visible gaps and point at the first one."""
    out: list[str] = []
    cursor: int | None = None
    position = 0
    length = 0
    for match in PLACEHOLDER.finditer(body):
        chunk = body[position : match.start()]
        out.append(chunk)
        length += len(chunk)
        name = match.group(1)
        if name in values:
            out.append(values[name])
            length += len(values[name])
        elif name == "cursor":
            if cursor is None:
                cursor = length
        else:
            gap = f"[{name}]"
            if cursor is None:
                cursor = length
            out.append(gap)
            length += len(gap)
        position = match.end()
    out.append(body[position:])
    return Filled("".join(out), cursor)


# What `context_for` fills, plus `{{cursor}}` (where the caret lands, at most once): the
# only placeholders a canned response may use, checked when an admin writes one.
KNOWN_PLACEHOLDERS: frozenset[str] = frozenset(
    {"contact.name", "contact.first_name", "contact.email", "agent.name", "agent.first_name"}
    | {"conversation.id", "cursor"}
)
_ANY_BRACES = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def placeholder_problem(body: str) -> str | None:
    """Why `body` cannot be a canned response's text, or None when every placeholder is known."""
    names = [name.strip() for name in _ANY_BRACES.findall(body)]
    unknown = sorted({name for name in names if name not in KNOWN_PLACEHOLDERS})
    if unknown:
        known = ", ".join("{{" + name + "}}" for name in sorted(KNOWN_PLACEHOLDERS))
        return f"unknown placeholder {{{{{unknown[0]}}}}}; known: {known}"
    if names.count("cursor") > 1:
        return "{{cursor}} may appear once"
    return None
