"""What a label is: one word (hyphens and underscores welcome), compared and stored case-folded.

The server folds every label it stores, so `VIP` and `vip` are one label whichever client
sent it; clients fold too, to show what will be stored before it is sent.
"""

from __future__ import annotations

import unicodedata

MAX_LENGTH = 50  # as core.models.Label


def fold_label(text: str) -> str:
    """The stored form of a label: trimmed, composed (NFC) and case-folded."""
    return unicodedata.normalize("NFC", text.strip()).casefold()


def label_problem(text: str) -> str | None:
    """Why `text` cannot be a label (after folding), or None when it can."""
    label = fold_label(text)
    if not label:
        return "a label needs at least one character"
    if any(char.isspace() or char == "," for char in label):
        return "a label is one word: no spaces or commas (use - to join words)"
    if len(label) > MAX_LENGTH:
        return f"a label has at most {MAX_LENGTH} characters"
    return None
