"""Suggested replies: the canned responses and KB articles that best match the customer's last
messages, in the conversation's language first, others marked as a fallback.

Canned responses are scored in Python (a small library, tokenized once and cached until it
changes); KB articles by FTS5 (bm25) with the customer's words OR-ed. Nothing here is logged as
a KB search: a suggestion is not an agent's question, and must not fill the gap report.
"""

from __future__ import annotations

import math
import re
import sqlite3
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from agent_console.core.models import CannedResponse, Suggestion, SuggestionList
from agent_console.core.triage import fold
from agent_console.server import pg_search

# The last customer messages read (and how much of them): enough for a topic, bounded.
LAST_MESSAGES = 3
MAX_TEXT = 2000
MAX_TERMS = 24
PER_KIND = 3
_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")
# Words that say nothing about what a message is about, in the demo languages (folded).
STOPWORDS = frozenset(
    """
    the and for you your are was were can could would will have has had not but this that with from
    what when how why who there here just still get got been does did its it's our out all any some
    hello thanks thank please one two also yes very
    los las del por para con que una uno pero como mas esta este estoy tengo hola gracias favor
    sus hay muy ya sin nos les ese esa eso todo
    der die das und ist ich nicht ein eine mit dem den des auf fuer fur von sie wir bei noch aber
    hallo danke bitte mein meine habe hat wie was
    les des une est pas que qui pour avec dans sur mon mes vous nous mais bonjour merci plus
    ete suis
    uma para com nao que por mas meu minha voce ola obrigado obrigada favor esta estou tem sem foi
    ele ela como
    """.split()
)


def fts_fold(text: str) -> str:
    """Case and accents out the way the KB index's tokenizer does it (unicode61 remove_diacritics)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str, folding=fold) -> list[str]:  # noqa: ANN001 - a str -> str function
    """Folded words of 3+ characters; a run of Japanese/Chinese becomes its character pairs."""
    out: list[str] = []
    for word in _WORD.findall(folding(text)):
        if _CJK.search(word):
            out += [word[i : i + 2] for i in range(max(1, len(word) - 1))]
        elif len(word) >= 3 and not word.isdigit() and word not in STOPWORDS:
            out.append(word)
    return out


@dataclass(frozen=True, slots=True)
class _Library:
    key: tuple
    responses: list[CannedResponse]
    terms: list[Counter[str]]
    idf: dict[str, float]


class Suggester:
    def __init__(self) -> None:
        self._library: _Library | None = None

    def _canned(self, conn: sqlite3.Connection) -> _Library:
        key = tuple(
            conn.execute(
                "SELECT count(*), max(id), coalesce(sum(length(body)), 0) FROM canned_responses"
            ).fetchone()
        )
        if self._library is None or self._library.key != key:
            rows = conn.execute("SELECT id, shortcode, title, body, locale FROM canned_responses ORDER BY id")
            responses = [CannedResponse(**dict(row)) for row in rows]
            terms = [
                Counter(tokens(f"{c.title} {c.shortcode.replace('-', ' ')} {_PLACEHOLDER.sub(' ', c.body)}"))
                for c in responses
            ]
            df = Counter(term for counts in terms for term in counts)
            idf = {term: math.log(1 + len(terms) / n) for term, n in df.items()}
            self._library = _Library(key, responses, terms, idf)
        return self._library

    def suggest(self, conn: sqlite3.Connection, conversation_id: int, language: str) -> SuggestionList:
        text = "\n".join(_last_customer_texts(conn, conversation_id))[-MAX_TEXT:]
        items = self._suggest_canned(conn, tokens(text), language) + _suggest_kb(
            conn, tokens(text, fts_fold), language
        )
        return SuggestionList(language=language, items=items)

    def _suggest_canned(self, conn: sqlite3.Connection, query: list[str], language: str) -> list[Suggestion]:
        library = self._canned(conn)
        wanted = set(query)
        scored: list[tuple[float, int, list[str]]] = []
        for index, counts in enumerate(library.terms):
            matched = [term for term in wanted if term in counts]
            if not matched:
                continue
            score = sum(library.idf[t] for t in matched) / math.sqrt(1 + sum(counts.values()) / 50)
            scored.append((score, index, sorted(matched, key=query.index)))
        scored.sort(key=lambda row: (-row[0], row[1]))
        return _language_first(
            [
                Suggestion(
                    kind="canned",
                    id=library.responses[i].id,
                    title=library.responses[i].title,
                    locale=library.responses[i].locale,
                    fallback=False,
                    score=round(score, 3),
                    matched=matched[:5],
                    canned=library.responses[i],
                )
                for score, i, matched in scored
            ],
            language,
        )


def _language_first(ranked: list[Suggestion], language: str) -> list[Suggestion]:
    """The best PER_KIND in the language; only when none matched there, the best others, marked
    (a weak match in another language is no help next to a good one in the customer's)."""
    own = [s for s in ranked if s.locale == language][:PER_KIND]
    if own:
        return own
    others = ranked[:PER_KIND]
    for suggestion in others:
        suggestion.fallback = True
    return others


def _last_customer_texts(conn: sqlite3.Connection, conversation_id: int) -> list[str]:
    rows = conn.execute(
        "SELECT body FROM messages WHERE conversation_id = ? AND kind = 'incoming' ORDER BY id DESC LIMIT ?",
        (conversation_id, LAST_MESSAGES),
    ).fetchall()
    return [row[0] for row in reversed(rows)]


def _suggest_kb(conn: sqlite3.Connection, query: list[str], language: str) -> list[Suggestion]:
    terms = list(dict.fromkeys(t for t in query if not _CJK.search(t)))[:MAX_TERMS]
    if not terms:
        return []
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        rows = pg_search.any_word_search(conn.raw, terms, locale=language, limit=PER_KIND)
        if not rows:
            rows = pg_search.any_word_search(conn.raw, terms, locale=None, limit=PER_KIND)
        found = [(r[0], r[2], r[3], r[6], r[7], f"{r[2]} {r[5]} {r[4]}") for r in rows]
    else:
        found = _suggest_kb_sqlite(conn, terms, language)
    out = []
    for article_id, title, locale, snip, score, text in found:
        present = set(tokens(text, fts_fold))
        out.append(
            Suggestion(
                kind="kb",
                id=article_id,
                title=title,
                locale=locale,
                fallback=locale != language,
                score=round(score, 3),
                matched=[t for t in terms if t in present][:5],
                snippet=snip,
            )
        )
    return out


def _suggest_kb_sqlite(conn: sqlite3.Connection, terms: list[str], language: str) -> list[tuple[Any, ...]]:
    """(id, title, locale, snippet, score higher-is-better, the article's text) from FTS5."""
    match = " OR ".join(f'"{term}"' for term in terms)
    sql = (
        "SELECT a.id, a.title, a.locale, snippet(kb_fts, 1, char(57344), char(57345), '…', 24) AS snip,"
        " bm25(kb_fts, 10.0, 1.0, 4.0) AS score,"
        " kb_fts.title || ' ' || kb_fts.body || ' ' || kb_fts.tags AS text"
        " FROM kb_fts JOIN kb_articles a ON a.id = kb_fts.rowid"
        " WHERE kb_fts MATCH ? AND a.status = 'published' AND (? IS NULL OR a.locale = ?)"
        " ORDER BY score LIMIT ?"
    )
    rows = conn.execute(sql, (match, language, language, PER_KIND)).fetchall()
    if not rows:
        rows = conn.execute(sql, (match, None, None, PER_KIND)).fetchall()
    # bm25 is lower-is-better; hand out higher-is-better
    return [(r["id"], r["title"], r["locale"], r["snip"], -r["score"], r["text"]) for r in rows]
