"""The FAQ bot's judgement: which article answers a question, and whether to trust it.

Offline and explainable. The question's content words (stop words out, long words cut to a
stem-like prefix) are searched in the knowledge base of the customer's language with the
same FTS5 index and bm25 weights as the agents' KB search, but as "any of these words"
(a customer writes a sentence, not search terms). bm25 alone cannot say "confident": its
scores grow with the question's length, and words most articles share (eSIM, install) weigh
almost nothing across the whole index. So bm25's best few are scored again by how much of
the question each covers (`search`), and the best is trusted when it covers enough and is
clearly ahead of the runner-up; the two thresholds are tuned
on the labelled set in tests/data/bot_questions.toml (docs/BOT.md has the table, made by
`python -m tests.bot_eval --write`).
"""

from __future__ import annotations

import math
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from agent_console.core.plain_markdown import to_plain
from agent_console.server import pg_search
from agent_console.server.bot_text import fold

# Tuned on tests/data/bot_questions.toml (tests/bot_eval.py, the sweep is in docs/BOT.md):
# answer when the best article covers at least MIN_SCORE of the question and the runner-up
# scores at most MAX_RUNNER_UP of the best. Set a little inside the best cut, not on its edge.
MIN_SCORE = 0.5
MAX_RUNNER_UP = 0.85
STEM = 6  # words longer than this are searched by their first STEM letters
QUOTE_CHARS = 700

_STOP = frozenset(
    """
    a an and are as at be been but by can could do does did for from get got has have how i i'm
    if in into is it it's its just me my no not of on or please so that the their them then
    there this to too was we what when where which who why will with would you your yours hi
    hello hey thanks thank still now again any some all am after before also up out one
    el la los las un una unos unas y o de del en con por para que como cual cuando donde es
    esta estoy mi mis me tu su sus se lo le al ya no si pero muy hola gracias puedo quiero
    der die das den dem des ein eine einen einem einer und oder ist sind bin ich mir mich mein
    meine meinem meinen du dein sie wir wie was wann wo warum mit auf fur von zu im in an am
    bei nicht kein keine noch auch schon bitte hallo danke kann habe hat wurde
    le la les un une des du de et ou est sont suis je me moi mon ma mes tu te ton ta vous votre
    vos il elle on nous que qui quoi comment quand pourquoi avec pour par sur dans au aux en
    ne pas plus ce cette ces est-ce bonjour merci peux
    o a os as um uma uns umas e ou de do da dos das em no na nos nas com por para que como
    quando onde eu meu minha meus minhas voce seu sua se nao sim mas muito oi ola obrigado
    posso quero
    """.split()
)
_KEEP_SHORT = frozenset({"5g", "4g", "qr", "apn", "sim", "2fa", "sms", "vat", "iva", "app"})


def content_words(text: str) -> list[str]:
    """The words worth searching for, folded and cut to a stem-like prefix, in order."""
    words = []
    for word in re.findall(r"\w+", fold(text)):
        if word in _STOP or word.isdigit():
            continue
        if len(word) < 3 and word not in _KEEP_SHORT:
            continue
        stem = word[:STEM]
        if stem not in words:
            words.append(stem)
    return words[:16]


@dataclass(frozen=True, slots=True)
class Candidate:
    article_id: int
    slug: str
    title: str
    locale: str
    score: float  # 0..1: the question's words found in this article, weighted (see `_coverage`)


@dataclass(frozen=True, slots=True)
class Match:
    """The bot's verdict on a question: the best article (if any) and whether to answer."""

    best: Candidate | None
    runner_up: Candidate | None
    confident: bool
    why: str  # for the agents: what the bot found and why it did or did not answer


# Where a word is found in an article: the title says most about what it answers.
_FIELD_WEIGHTS = {"title": 3.0, "tags": 2.0, "body": 1.0}
_POOL = 10  # bm25's best few are re-scored


def search(conn: sqlite3.Connection, text: str, language: str | None, *, limit: int = 2) -> list[Candidate]:
    """Published articles in `language` (any, when unknown) for the question, best first.

    FTS5 finds the pool (any content word, ranked by bm25 with the agents' search weights);
    each is then scored by how much of the question it covers: every word counts by its
    rarity in that language's articles (idf) and by where the article has it (title, tags,
    body), over the most the question could score. 1.0: every word in the title."""
    words = content_words(text)
    if not words:
        return []
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        return _search_postgres(conn, words, language, limit=limit)
    query = " OR ".join(f'"{word}"*' for word in words)
    where = " AND a.status = 'published'" + (" AND a.locale = ?" if language else "")
    scope: list[object] = [language] if language else []
    rows = conn.execute(
        "SELECT a.id, a.slug, a.title, a.locale, a.tags, a.body FROM kb_fts"
        f" JOIN kb_articles a ON a.id = kb_fts.rowid WHERE kb_fts MATCH ?{where}"
        " ORDER BY bm25(kb_fts, 10.0, 1.0, 4.0) LIMIT ?",
        [query, *scope, _POOL],
    ).fetchall()
    if not rows:
        return []
    total = conn.execute(f"SELECT count(*) FROM kb_articles a WHERE 1 = 1{where}", scope).fetchone()[0]
    rarity = {}
    for word in words:
        found = conn.execute(
            "SELECT count(*) FROM kb_fts JOIN kb_articles a ON a.id = kb_fts.rowid"
            f" WHERE kb_fts MATCH ?{where}",
            [f'"{word}"*', *scope],
        ).fetchone()[0]
        rarity[word] = math.log(1 + total / found) if found else 0.0
    return _ranked(rarity, rows, limit)


def _search_postgres(conn: Any, words: list[str], language: str | None, *, limit: int) -> list[Candidate]:
    """The same pool, rarity and coverage on PostgreSQL (server/pg_search.py finds the words)."""
    rows = pg_search.any_word_search(conn.raw, words, locale=language, limit=_POOL)
    if not rows:
        return []
    where, scope = (" AND locale = ?", [language]) if language else ("", [])
    total = conn.execute(
        f"SELECT count(*) FROM kb_articles WHERE status = 'published'{where}", scope
    ).fetchone()[0]
    rarity = {}
    for word in words:
        found = pg_search.count_holding(conn.raw, word, locale=language)
        rarity[word] = math.log(1 + total / found) if found else 0.0
    return _ranked(rarity, rows, limit)


def _ranked(rarity: dict[str, float], rows: list[Any], limit: int) -> list[Candidate]:
    """Each pooled article (rows of id, slug, title, locale, tags, body first) scored by its coverage."""
    most = sum(rarity.values()) * _FIELD_WEIGHTS["title"]
    scored = [
        Candidate(r[0], r[1], r[2], r[3], _coverage(rarity, r[2], r[4], r[5]) / most if most else 0.0)
        for r in rows
    ]
    scored.sort(key=lambda c: -c.score)
    return scored[:limit]


def _coverage(rarity: dict[str, float], title: str, tags: str, body: str) -> float:
    fields = {
        "title": set(re.findall(r"\w+", fold(title))),
        "tags": set(re.findall(r"\w+", fold(tags))),
        "body": set(re.findall(r"\w+", fold(body))),
    }
    total = 0.0
    for word, weight in rarity.items():
        for name, found in fields.items():
            if any(w.startswith(word) for w in found):
                total += weight * _FIELD_WEIGHTS[name]
                break
    return total


def judge(
    candidates: list[Candidate], *, min_score: float = MIN_SCORE, max_runner_up: float = MAX_RUNNER_UP
) -> Match:
    best = candidates[0] if candidates else None
    runner = candidates[1] if len(candidates) > 1 else None
    if best is None or best.score <= 0:
        return Match(None, None, False, "nothing in the knowledge base matched")
    ratio = runner.score / best.score if runner is not None else 0.0
    found = f"best match {best.title!r} (covers {best.score:.0%} of the question"
    found += f", runner-up {ratio:.0%} of that)" if runner is not None else ")"
    if best.score < min_score:
        return Match(best, runner, False, f"no confident answer: {found}, below {min_score:.0%}")
    if ratio > max_runner_up:
        return Match(best, runner, False, f"no clear answer: {found}, too close to call")
    return Match(best, runner, True, f"answered with {found}")


def match(conn: sqlite3.Connection, text: str, language: str | None) -> Match:
    return judge(search(conn, text, language))


def quote(body: str, limit: int = QUOTE_CHARS) -> str:
    """The article's opening as plain text, cut at a paragraph or sentence inside `limit`."""
    plain = to_plain(body).strip()
    if len(plain) <= limit:
        return plain
    cut = plain[:limit]
    for mark in ("\n\n", "\n", ". ", "。"):
        at = cut.rfind(mark)
        if at > limit // 3:
            return cut[: at + (1 if mark.strip() else 0)].rstrip() + " …"
    return cut.rstrip() + " …"
