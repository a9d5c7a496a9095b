"""The console's undo: recent actions the agent can take back with one key, and the words
that name an action (in the confirmation and in the "u undo" line).

Each action queued through the outbox leaves an `UndoEntry` for `seconds` (the `[tui]
undo_seconds` setting). `u` takes the newest one back: withdrawn from the outbox if it has
not gone out yet, else undone on the server by its guarded inverse (see `core/undo.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec

from agent_console.core.models import ConversationPatch
from agent_console.core.sanitize import sanitize_line
from agent_console.core.undo import Fields, Reversal

DEFAULT_UNDO_SECONDS = 10


@dataclass(frozen=True, slots=True)
class UndoEntry:
    conversation_id: int
    item_id: int  # the action's outbox item
    reversal: Reversal
    after: Fields  # the touched fields as the action leaves them (for the next action's "before")
    summary: str  # "set #82 to pending"
    expires_at: float


class UndoStack:
    """Recent actions, newest last; each can be undone until it expires."""

    def __init__(self, seconds: float = DEFAULT_UNDO_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._entries: list[UndoEntry] = []

    def push(
        self, conversation_id: int, item_id: int, reversal: Reversal, after: Fields, summary: str
    ) -> UndoEntry:
        entry = UndoEntry(conversation_id, item_id, reversal, after, summary, self.clock() + self.seconds)
        self._entries.append(entry)
        return entry

    def _live(self) -> list[UndoEntry]:
        now = self.clock()
        self._entries = [entry for entry in self._entries if entry.expires_at > now]
        return self._entries

    def peek(self) -> UndoEntry | None:
        live = self._live()
        return live[-1] if live else None

    def pop(self) -> UndoEntry | None:
        live = self._live()
        return live.pop() if live else None

    def next_expiry(self) -> float | None:
        """Seconds until the newest entry expires (what `u` would undo), None when nothing is left."""
        entry = self.peek()
        return None if entry is None else max(0.0, entry.expires_at - self.clock())

    def overlay(self, conversation_id: int, fields: Fields, still_queued: Callable[[int], bool]) -> Fields:
        """`fields` with the effect of this conversation's actions that have not reached the
        server yet: the "before" of an action queued right behind another one."""
        merged = dict(fields)
        for entry in self._live():
            if entry.conversation_id == conversation_id and still_queued(entry.item_id):
                merged.update(entry.after)
        return merged


def describe(
    patch: ConversationPatch,
    *,
    me_id: int | None,
    agent_names: dict[int, str],
    team_names: dict[int, str],
    when: Callable[[datetime], str],
) -> tuple[str, str]:
    """(imperative, past) phrases with `{it}`/`{its}` slots: ("set {it} to pending", "set {it}
    to pending"). Names come from the server: sanitized here, shown as plain text."""
    doing: list[str] = []
    done: list[str] = []

    def add(now: str, past: str) -> None:
        doing.append(now)
        done.append(past)

    snoozing = patch.status is msgspec.UNSET or patch.status == "snoozed"
    if patch.bot is True:
        add("send {it} back to the bot", "sent {it} back to the bot")
    elif isinstance(patch.snoozed_until, datetime) and snoozing:
        moment = when(patch.snoozed_until)
        add(f"snooze {{it}} until {moment}", f"snoozed {{it}} until {moment}")
    elif patch.status == "resolved":
        add("resolve {it}", "resolved {it}")
    elif patch.status == "open":
        add("reopen {it}", "reopened {it}")
    elif isinstance(patch.status, str):
        add(f"set {{it}} to {patch.status}", f"set {{it}} to {patch.status}")
    if isinstance(patch.priority, str):
        text = f"set {{its}} priority to {patch.priority}"
        add(text, text)
    if patch.assignee_id is None:
        add("unassign {it}", "unassigned {it}")
    elif isinstance(patch.assignee_id, int):
        if patch.assignee_id == me_id:
            add("take {it} (assign it to you)", "took {it}")
        else:
            name = _braces(sanitize_line(agent_names.get(patch.assignee_id, f"agent {patch.assignee_id}")))
            add(f"assign {{it}} to {name}", f"assigned {{it}} to {name}")
    if patch.team_id is None:
        add("remove {its} team", "removed {its} team")
    elif isinstance(patch.team_id, int):
        name = _braces(sanitize_line(team_names.get(patch.team_id, f"team {patch.team_id}")))
        add(f"move {{it}} to team {name}", f"moved {{it}} to team {name}")
    if isinstance(patch.labels, list):
        if patch.labels:
            labels = _braces(sanitize_line(", ".join(patch.labels)))
            add(f"set {{its}} labels to {labels}", f"set {{its}} labels to {labels}")
        else:
            add("remove all {its} labels", "removed all {its} labels")
    if not doing:
        add("change {it}", "changed {it}")
    return " and ".join(doing), " and ".join(done)


def phrase(template: str, it: str) -> str:
    """Fill the `{it}`/`{its}` slots ("it"/"its", or "#82"/"#82's") and capitalise the first
    letter only (names keep their case)."""
    text = template.format(it=it, its="its" if it == "it" else f"{it}'s")
    return text[:1].upper() + text[1:]


def _braces(text: str) -> str:
    # Names go into a str.format template: their braces must stay literal.
    return text.replace("{", "{{").replace("}", "}}")
