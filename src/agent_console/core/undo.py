"""Undo for conversation actions: what an action changes, how to put it back, and whether
anyone changed it since. Pure: no clock, no I/O.

An action is a `ConversationPatch`. Before it is queued, the console takes the fields it
touches as they are (`fields_of`), predicts them as the action leaves them (`predict`, the
server's own rules), and keeps a `Reversal`: the inverse patch (exactly the touched fields,
back to what they were) and the expectation (those fields as the action left them). Undo
sends the inverse only while the server still shows the expectation (`changed_since`), so
undo never overwrites a colleague's later change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from agent_console.core.clock import from_iso, to_iso
from agent_console.core.models import Conversation, ConversationPatch

# The fields an action can change, in their wire form (ids, ISO text, lists).
Fields = dict[str, Any]
UNDOABLE = ("status", "snoozed_until", "priority", "assignee_id", "team_id", "labels")


def fields_of(conversation: Conversation) -> Fields:
    """The undoable fields of `conversation`, as a patch would name them."""
    return {
        "status": conversation.status,
        "snoozed_until": to_iso(conversation.snoozed_until) if conversation.snoozed_until else None,
        "priority": conversation.priority,
        "assignee_id": conversation.assignee.id if conversation.assignee else None,
        "team_id": conversation.team.id if conversation.team else None,
        "labels": list(conversation.labels),
    }


def patch_fields(patch: ConversationPatch) -> Fields:
    """The fields `patch` sets, in wire form (an unset field is absent; a cleared one is None)."""
    values = msgspec.to_builtins(patch)
    if isinstance(values.get("snoozed_until"), str):
        # One spelling of an instant, so it compares equal to what the server sends back.
        values["snoozed_until"] = to_iso(patch.snoozed_until)  # type: ignore[arg-type]
    return values


def touched(patch: ConversationPatch) -> tuple[str, ...]:
    """The fields `patch` may change. Status and snooze move together (the server's rule:
    a wake-up time means snoozed, and any other status clears the wake-up time)."""
    names = set(patch_fields(patch))
    if names & {"status", "snoozed_until"}:
        names |= {"status", "snoozed_until"}
    return tuple(name for name in UNDOABLE if name in names)


def predict(before: Fields, patch: ConversationPatch) -> Fields:
    """The fields as the server will leave them after `patch` (the same rules it applies)."""
    sets = patch_fields(patch)
    after = dict(before)
    after.update(sets)
    if "snoozed_until" in sets and sets["snoozed_until"] is not None and "status" not in sets:
        after["status"] = "snoozed"
    if after["status"] != "snoozed":
        after["snoozed_until"] = None
    if "labels" in sets:
        after["labels"] = list(dict.fromkeys(sets["labels"]))
    return after


@dataclass(frozen=True, slots=True)
class Reversal:
    """How to take one action back: `inverse` restores, if the server still shows `expect`."""

    inverse: ConversationPatch
    expect: Fields


def reversal(before: Fields, patch: ConversationPatch) -> Reversal:
    after = predict(before, patch)
    names = touched(patch)
    inverse = msgspec.convert({name: before[name] for name in names}, ConversationPatch)
    return Reversal(inverse=inverse, expect={name: after[name] for name in names})


def changed_since(conversation: Conversation, expect: Fields) -> list[str]:
    """What differs from `expect` now, in words ("assignee is now Ana Ruiz"); empty when nothing."""
    now = fields_of(conversation)
    problems: list[str] = []
    for name, wanted in expect.items():
        have = now.get(name)
        if name == "labels":
            same = [label.casefold() for label in have or []] == [label.casefold() for label in wanted or []]
        elif name == "snoozed_until" and have and wanted:
            # A help desk may keep whole seconds (Chatwoot stores unix time): the same wake-up.
            same = abs((from_iso(have) - from_iso(wanted)).total_seconds()) < 1
        else:
            same = have == wanted
        if same:
            continue
        if name == "assignee_id":
            who = conversation.assignee.name if conversation.assignee else "nobody"
            problems.append(f"assignee is now {who}")
        elif name == "team_id":
            problems.append(f"team is now {conversation.team.name if conversation.team else 'none'}")
        elif name == "labels":
            problems.append(f"labels are now {', '.join(conversation.labels) or 'none'}")
        elif name == "snoozed_until":
            if "status" not in expect or now["status"] == expect["status"]:
                problems.append(f"snooze is now {have or 'off'}")
        else:
            problems.append(f"{name} is now {have}")
    return problems
