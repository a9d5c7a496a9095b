"""The queue's order as the server keeps it, and positions in it (keyset cursors).

The server stores each conversation's `queue_key` (its SLA deadline as fixed-width UTC
text, or `QUEUE_TAIL` when nobody waits on it) and pages views in `(queue_key, id)`
order. A console that holds only a window of a large view sorts that window the same way
and asks for the rows next to it with a cursor made from the row at the window's edge.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from agent_console.core.clock import to_iso
from agent_console.core.models import Conversation

QUEUE_TAIL = "9999-12-31T23:59:59.999999Z"  # queue_key of conversations nobody waits on
# A position after every row (its key sorts after QUEUE_TAIL): `before=END_CURSOR` is the last page.
END_CURSOR = "99999999999999999999-9999999999999999"


def queue_key(conversation: Conversation) -> str:
    return QUEUE_TAIL if conversation.due_at is None else _key_text(conversation.due_at)


@lru_cache(maxsize=16_384)
def _key_text(due_at: datetime) -> str:
    # Remembered: a view's rows are sorted and placed in the window on every rebuild (each
    # filter keystroke), and formatting a datetime was most of that work (~6 µs a row).
    return to_iso(due_at)


def server_order(conversation: Conversation) -> tuple[str, int]:
    """The sort key of the server's paging order."""
    return (queue_key(conversation), conversation.id)


def cursor_for(key: str, conversation_id: int) -> str:
    """A keyset cursor: the queue key's digits, a dash, the id."""
    return f"{re.sub(r'[^0-9]', '', key)}-{conversation_id}"


def cursor_of(conversation: Conversation) -> str:
    return cursor_for(queue_key(conversation), conversation.id)
