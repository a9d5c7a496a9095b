"""How the FAQ bot's part in a conversation reads to an agent (queue row, thread header, CLI).

Pure. The reason's text comes from the server: callers sanitize it like any untrusted line."""

from __future__ import annotations

from typing import Any

# The hand-off reasons (`conversation.bot_handoff`) in a few words: a queue row has little room.
REASON_LABELS = {
    "low_confidence": "no sure answer",
    "asked_for_human": "wants a person",
    "upset": "upset",
    "urgent": "urgent",
    "unhelpful": "didn't help",
    "error": "bot error",
}


def reason_label(code: str | None) -> str:
    return REASON_LABELS.get(code or "", code or "no reason given")


def short_line(conversation: Any) -> str | None:  # noqa: ANN401 - a Conversation
    """A queue row's few words: "handed off by bot: asked for a person", "bot" while it answers."""
    status = getattr(conversation, "bot_status", None)
    if status == "handed_off":
        return f"handed off by bot: {reason_label(conversation.bot_reason)}"
    if status == "active":
        return "with the bot"
    if status == "resolved":
        return "resolved by the bot"
    return None


def compact_line(conversation: Any) -> str | None:  # noqa: ANN401 - a Conversation
    """`short_line` for a narrow column: "bot: asked for a person"."""
    line = short_line(conversation)
    if line is None or not line.startswith("handed off by "):
        return line
    return line.removeprefix("handed off by ")


def full_line(conversation: Any) -> str | None:  # noqa: ANN401 - a Conversation
    """The thread header's and `conv ID`'s line: the reason in full, as the bot wrote it."""
    status = getattr(conversation, "bot_status", None)
    if status == "handed_off":
        why = conversation.bot_reason_text or reason_label(conversation.bot_reason)
        return f"handed off by bot: {reason_label(conversation.bot_reason)} ({why})"
    if status == "stopped":
        return "the bot stopped: an agent took over"
    return short_line(conversation)
