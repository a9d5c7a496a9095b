"""What the customer can see: the rule the CLI and the console's previews share.

The wire's `last_message` is the latest message of any kind, a private note included. A
preview (the queue's column, `convs`, a contact's earlier conversations) shows the last
message the customer saw, never a note.
"""

from __future__ import annotations

from typing import Any

# What reaches the customer: their messages, ours, and the bot's. Notes are private and
# activity lines are the desk's own bookkeeping.
CUSTOMER_VISIBLE = frozenset({"incoming", "outgoing", "bot"})


def customer_visible(message: Any) -> bool:  # noqa: ANN401 - a Message or a wire preview
    """True for a message the customer saw (not a private note or an activity line)."""
    return message is not None and message.kind in CUSTOMER_VISIBLE


def wire_preview(conversation: Any) -> str:  # noqa: ANN401 - a Conversation
    """The subject, else the last message the customer saw (never a note): the wire's last
    message if it is one, else the desk's `last_visible` (a note came after it)."""
    if conversation.subject:
        return conversation.subject
    last = conversation.last_message
    if customer_visible(last):
        return last.body
    visible = getattr(conversation, "last_visible", None)
    return visible.body if customer_visible(visible) else ""
