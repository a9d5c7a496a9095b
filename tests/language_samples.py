"""Demo texts with a known language, for measuring language identification (docs/TRIAGE.md).

Customer lines from phrases.toml (openings, follow-ups, pings, thanks, give-ups) and the KB's
titles and paragraphs, each labelled with the language it was written in. Texts shorter than
`min_chars` are left out: "???" has no language.
"""

from __future__ import annotations

from agent_console.core.plain_markdown import to_plain
from agent_console.demo.dataset import _phrases, load_kb_articles

DEMO_LANGUAGES: tuple[str, ...] = ("en", "es", "de", "fr", "pt", "ja")


def customer_texts(min_chars: int = 10) -> list[tuple[str, str, str]]:
    """(language, source, text) for every customer line in the demo phrases."""
    out: list[tuple[str, str, str]] = []
    for code, lang in _phrases()["lang"].items():
        for key in ("pings", "thanks", "gave_up"):
            out += [(code, key, text) for text in lang.get(key, [])]
        for topic in lang.get("topics", {}).values():
            for key in ("openings", "follow_ups"):
                out += [(code, key, text) for text in topic.get(key, [])]
            out.append((code, "subject", topic["subject"]))
    return [row for row in out if len(row[2].strip()) >= min_chars]


def kb_texts(min_chars: int = 10) -> list[tuple[str, str, str]]:
    """(language, "kb", text) for each KB title and paragraph, markup taken out."""
    out: list[tuple[str, str, str]] = []
    for article in load_kb_articles():
        out.append((article.locale, "kb", article.title))
        for block in to_plain(article.body, links=False).split("\n\n"):
            text = " ".join(block.split())
            if len(text) >= min_chars and any(ch.isalpha() for ch in text):
                out.append((article.locale, "kb", text))
    return out


def labelled_texts(min_chars: int = 10) -> list[tuple[str, str, str]]:
    return [row for row in customer_texts(min_chars) + kb_texts(min_chars) if row[0] in DEMO_LANGUAGES]
