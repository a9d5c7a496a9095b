"""How the console shows triage: the language (and where it came from) and the rules' suggested
priority with the rule that fired, in the queue row and the conversation header.

Rule ids and reasons come from the server (an admin's rules file can name them): they reach the
screen through the sanitizer as Text, never as markup.
"""

from __future__ import annotations

from rich.text import Text

from agent_console.core.models import Conversation
from agent_console.core.sanitize import sanitize_line

RANK = {"urgent": 3, "high": 2, "normal": 1, "low": 0}
ARROW = "⇡"
SOURCES = {"detected": "detected", "agent": "set by an agent", "contact": "from the contact"}


def suggestion(conversation: Conversation) -> str | None:
    """The suggested priority when it is above the conversation's own (else nothing to accept)."""
    triage = conversation.triage
    if triage is None or triage.priority is None:
        return None
    if RANK.get(triage.priority, -1) <= RANK.get(conversation.priority, -1):
        return None
    return triage.priority


# The queue row's short form of a suggested priority (the column is narrow): ⇡‼ urgent, ⇡! high.
ROW_MARKS = {"urgent": "‼", "high": "!", "normal": "·", "low": "↓"}


def row_tag(conversation: Conversation, *, with_rule: bool = True) -> str:
    """`⇡! outage ` (suggested high, by the outage rule) before the queue row's preview, or "".
    Without the rule (`⇡! `) where the column is narrow: the customer's words keep the room,
    and the rule is in the conversation's header."""
    priority = suggestion(conversation)
    if priority is None or conversation.triage is None:
        return ""
    first = conversation.triage.rules[0].rule if conversation.triage.rules and with_rule else ""
    rule = sanitize_line(first)  # a rule name comes from a data file an admin edits
    return f"{ARROW}{ROW_MARKS[priority]} {rule} " if rule else f"{ARROW}{ROW_MARKS[priority]} "


def header_line(conversation: Conversation, accept_key: str = "a") -> Text:
    """`es (detected) · suggested high: outage words: 'no funciona' · a accepts`, as Text."""
    text = Text()
    text.append(sanitize_line(conversation.language), "bold")
    text.append(f" ({SOURCES.get(conversation.language_source, conversation.language_source)})", "dim")
    triage = conversation.triage
    if triage is None:
        return text
    priority = suggestion(conversation)
    reasons = "; ".join(sanitize_line(hit.reason) for hit in triage.rules)
    if priority is not None:
        text.append(" · ")
        text.append(f"suggested {priority}", "bold")
        text.append(f": {reasons}" if reasons else "")
        text.append(f" · {accept_key} accepts", "dim")
    elif reasons:
        text.append(f" · triage: {reasons}", "dim")
    if triage.upset:
        text.append(" · upset", "bold")
    return text
