"""One plain rule for inbound messages: a customer who says it is urgent is heard.

Not triage (that comes later): a word list in the desk's languages, matched as whole
words (Latin scripts) or as a substring (Japanese, written without spaces). A message
that matches raises a normal or low conversation to high, never lowers anything, and
leaves "urgent" (15 minutes) to an agent's judgement: customers say urgent freely.
"""

from __future__ import annotations

import re

RAISED_TO = "high"
RAISES = frozenset({"normal", "low"})

# en, es, de, fr, pt: whole words, accents optional. ja: substrings.
_WORDS = (
    "urgent",
    "urgently",
    "asap",
    "emergency",
    "urgente",
    "urgentemente",
    "urgencia",
    "urgência",
    "urgencia",
    "dringend",
    "eilig",
    "notfall",
    "urgence",
    "emergencia",
    "emergência",
)
_SUBSTRINGS = ("緊急", "至急", "急いで")
# "not urgent", "no es urgente", "nicht dringend", "pas urgent", "não é urgente".
_NEGATIONS = frozenset({"not", "no", "isn't", "nicht", "kein", "keine", "pas", "não", "nao", "nem"})

_PATTERN = re.compile(r"(?<!\w)(?:" + "|".join(sorted(set(_WORDS), key=len, reverse=True)) + r")(?!\w)")


def says_urgent(text: str) -> bool:
    """True when the customer's own words say it is urgent."""
    folded = text.casefold()
    for match in _PATTERN.finditer(folded):
        before = re.findall(r"[\w']+", folded[: match.start()])[-2:]
        if not _NEGATIONS & set(before):
            return True
    return any(word in text for word in _SUBSTRINGS)


def raised_priority(priority: str, text: str) -> str | None:
    """The priority an inbound `text` raises `priority` to, or None to leave it."""
    return RAISED_TO if priority in RAISES and says_urgent(text) else None
