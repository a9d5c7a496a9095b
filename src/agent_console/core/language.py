"""Which language a customer wrote in, offline (py3langid; the choice is measured in docs/TRIAGE.md).

The model is loaded on first use, not on import: the console never needs it, and the server
pays its ~0.5 s and ~90 MB once. Answers are limited to the desk's languages; a text that is
too short, has no letters, is nearer another language, or is split between two of ours is
"unsure" (None), because a wrong language is worse than none (the contact's own is used then).
"""

from __future__ import annotations

import threading
from typing import Any

# The demo desk's customer languages; a desk can pass its own.
DESK_LANGUAGES: tuple[str, ...] = ("en", "es", "de", "fr", "pt", "ja")
MIN_CHARS = 10
# Share of the probability among the desk's languages the best one needs (tuned on the demo texts:
# 0.7 gives no wrong answer there and 95.7 % right; see docs/TRIAGE.md).
MIN_SHARE = 0.7
# A text this sure to be in a language the desk does not serve is not forced into one it does.
OTHER_LANGUAGE = 0.9
# Long mails cost time per character and say nothing more after the first paragraphs.
MAX_CHARS = 2000

_lock = threading.Lock()
_model: Any = None


def _identifier() -> Any:
    global _model
    with _lock:
        if _model is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _model


def detect_language(text: str, languages: tuple[str, ...] = DESK_LANGUAGES) -> str | None:
    """ISO 639-1 code of the language `text` is written in, among `languages`; None when unsure."""
    text = text.strip()[:MAX_CHARS]
    if len(text) < MIN_CHARS or sum(ch.isalpha() for ch in text) < MIN_CHARS // 2:
        return None
    probs = dict(_identifier().rank(text))
    top, top_p = max(probs.items(), key=lambda kv: kv[1])
    if top not in languages and top_p >= OTHER_LANGUAGE:
        return None
    ours = {code: probs.get(code, 0.0) for code in languages}
    total = sum(ours.values())
    if total <= 0:
        return None
    best = max(ours, key=lambda code: ours[code])
    return best if ours[best] / total >= MIN_SHARE else None
