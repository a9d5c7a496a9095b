"""How a message's attachments show in the thread: one line each, name, type and size.

A pure function of the message, so the thread widget only appends what it returns. Name and
type are what the sender claimed: untrusted, drawn as literal text, clipped to one line.
"""

from __future__ import annotations

from rich.text import Text

from agent_console.core.models import Attachment, Message
from agent_console.tui.safe_text import untrusted_line

NAME_LIMIT = 80


def human_size(size: int) -> str:
    """1023 B, 1.0 KB, 12.3 MB: what an agent reads at a glance."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def attachment_line(attachment: Attachment) -> Text:
    name = attachment.filename
    if len(name) > NAME_LIMIT:
        name = name[: NAME_LIMIT - 1] + "…"
    line = Text("📎 ")
    line.append_text(untrusted_line(name, "bold"))
    line.append("  ")
    line.append_text(untrusted_line(attachment.content_type, "dim"))
    line.append(f"  {human_size(attachment.size)}", "dim")
    if not attachment.stored:
        line.append("  (over the size limit: not kept)", "italic")
    line.append(f"  #{attachment.id}", "dim")
    return line


def attachments_text(message: Message) -> Text | None:
    """The lines to draw under a message's body, or None when it has no attachments."""
    if not message.attachments:
        return None
    return Text("\n").join(attachment_line(a) for a in message.attachments)
