"""Filtering and ranking for the pickers: bounded work per keystroke, whatever the text.

Two matchers, chosen by the length of what they look at:

- Short fields (a shortcode, a title, an agent's name) take a fuzzy subsequence match:
  `clsg` finds `closing`. It is a greedy left-to-right scan with `str.find`, so it costs
  O(len(query) x len(text)) at worst, never the exponential search of a best-alignment
  matcher (Textual's `fuzzy.Matcher` took seconds on one 500-character body).
- Long fields (a canned body) match when they contain the query, or when every word of
  the query starts a word of the text (`pass res` finds "password reset"). Both are
  substring searches: linear in the text.

Everything is compared folded: case-insensitive (`casefold`) and accent-insensitive (`é`
is `e`). Texts are folded once, when the index is built, so a keystroke only folds the
query. Pure: no I/O, no UI; the console runs `scan` in slices to stay responsive.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

_NON_WORD = re.compile(r"\W+")
_SEP = "\x00"  # between long fields in the joined text; never part of a query
# Above this, the short-field matcher looks at the start only (names and titles are short).
SHORT_LIMIT = 256

# Scores of one field, before its weight: where the query was found decides.
PREFIX, WORD_START, INSIDE, WORDS = 1.0, 0.9, 0.8, 0.7
SUBSEQUENCE_MAX = 0.6


def fold(text: str) -> str:
    """Case- and accent-insensitive form of `text` for comparing, never for showing."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words_of(folded: str) -> str:
    """The words of a folded text, each preceded by a space: `" " + word` finds a word start."""
    return " " + _NON_WORD.sub(" ", folded).strip()


@dataclass(frozen=True, slots=True)
class Query:
    """A query folded once per keystroke."""

    text: str  # folded, trimmed
    compact: str  # without spaces, for the subsequence match
    tokens: tuple[str, ...]  # its words, for the word-prefix match

    @classmethod
    def of(cls, raw: str) -> Query:
        text = fold(raw).strip()
        return cls(text, "".join(text.split()), tuple(_NON_WORD.sub(" ", text).split()))

    def __bool__(self) -> bool:
        return bool(self.text)


def short_score(query: Query, folded: str) -> float:
    """Fuzzy subsequence score of a short folded field: 0 when it does not match."""
    if not query or not folded:
        return 0.0
    text = folded[:SHORT_LIMIT]
    at = text.find(query.text)
    if at == 0:
        return PREFIX
    if at > 0:
        return WORD_START if not text[at - 1].isalnum() else INSIDE
    # Greedy subsequence: each character at its first place after the previous one. One
    # find per query character, each starting past the last: linear in the text overall.
    start = 0
    previous = -2
    runs = 0
    word_starts = 0
    for char in query.compact:
        found = text.find(char, start)
        if found < 0:
            return 0.0
        if found != previous + 1:
            runs += 1
        if found == 0 or not text[found - 1].isalnum():
            word_starts += 1
        previous = found
        start = found + 1
    length = len(query.compact)
    # Fewer, longer runs and more hits at word starts rank higher; always below a substring.
    quality = ((length - runs) + word_starts) / (2 * length)
    return SUBSEQUENCE_MAX * (0.5 + 0.5 * quality)


@dataclass(frozen=True, slots=True)
class Candidate:
    """What one entry offers to match: short fields and long ones, each with a weight."""

    short: Sequence[tuple[str, float]] = ()
    long: Sequence[tuple[str, float]] = ()
    rank: float = 0.0  # added to a match's score (e.g. "in the customer's language")


@dataclass(frozen=True, slots=True)
class _Entry:
    short: tuple[tuple[str, frozenset[str], float], ...]  # folded text, its characters, weight
    rank: float


class Index:
    """Candidates folded once; `search` (or `scan` in slices, then `ranked`) per query.

    Long fields are kept joined in one text (`\x00` between fields), so finding the ones
    that hold the query is a few `str.find` calls over it, not a Python loop per field;
    a short field is tried only when it holds every character of the query."""

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        self.entries = [
            _Entry(
                tuple(
                    (folded, frozenset(folded), weight)
                    for text, weight in c.short
                    for folded in (fold(text[:SHORT_LIMIT])[:SHORT_LIMIT],)
                ),
                c.rank,
            )
            for c in candidates
        ]
        texts, words, self._owner, self._weight = [], [], [], []
        for index, c in enumerate(candidates):
            for text, weight in c.long:
                folded = fold(text).replace(_SEP, " ")
                texts.append(folded)
                words.append(words_of(folded))
                self._owner.append(index)
                self._weight.append(weight)
        self._text, self._text_starts = _joined(texts)
        self._words, self._words_starts = _joined(words)
        # Characters a query scans: what one `scan` of everything costs, roughly linearly.
        self.size = len(self._text) + sum(len(text) for e in self.entries for text, _, _ in e.short)

    def __len__(self) -> int:
        return len(self.entries)

    def _fields(self, start: int, stop: int) -> tuple[int, int]:
        """The long fields of the entries in [start, stop), as a range of field numbers."""
        return bisect_left(self._owner, start), bisect_left(self._owner, stop)

    def _long_scores(self, query: Query, start: int, stop: int) -> dict[int, float]:
        """Entry -> best weighted long-field score, for the entries in [start, stop)."""
        first, last = self._fields(start, stop)
        scores: dict[int, float] = {}
        if first == last or _SEP in query.text:
            return scores

        def note(field: int, score: float) -> None:
            owner = self._owner[field]
            scores[owner] = max(scores.get(owner, 0.0), score * self._weight[field])

        text, starts = self._text, self._text_starts
        end = starts[last] - 1 if last < len(starts) else len(text)
        found = set()
        at = text.find(query.text, starts[first], end)
        while at >= 0:  # the first place in each field that holds it decides its score
            field = bisect_right(starts, at) - 1
            found.add(field)
            note(field, WORD_START if at == starts[field] or not text[at - 1].isalnum() else INSIDE)
            if field + 1 >= last:
                break
            at = text.find(query.text, starts[field + 1], end)
        if query.tokens:
            words, word_starts = self._words, self._words_starts
            word_end = word_starts[last] - 1 if last < len(word_starts) else len(words)
            holding: set[int] | None = None
            for token in query.tokens:
                fields = set()
                needle = " " + token
                at = words.find(needle, word_starts[first], word_end)
                while at >= 0:
                    field = bisect_right(word_starts, at) - 1
                    fields.add(field)
                    if field + 1 >= last:
                        break
                    at = words.find(needle, word_starts[field + 1], word_end)
                holding = fields if holding is None else holding & fields
                if not holding:
                    break
            for field in (holding or set()) - found:
                note(field, WORDS)
        return scores

    def scan(self, query: Query, start: int = 0, stop: int | None = None) -> list[tuple[float, int]]:
        """(score plus rank, index) of the entries in [start, stop) that match `query`."""
        stop = len(self.entries) if stop is None else min(stop, len(self.entries))
        if not query or start >= stop:
            return []
        long = self._long_scores(query, start, stop)
        needs = frozenset(query.compact)
        hits = []
        for i in range(start, stop):
            entry = self.entries[i]
            best = long.get(i, 0.0)
            for text, chars, weight in entry.short:
                if weight > best and needs <= chars:  # else it cannot match, or cannot win
                    best = max(best, short_score(query, text) * weight)
            if best > 0:
                hits.append((best + entry.rank, i))
        return hits

    def ranked(self, hits: list[tuple[float, int]]) -> list[int]:
        """Best first; equal scores keep the candidates' own order."""
        return [i for _, i in sorted(hits, key=lambda hit: (-hit[0], hit[1]))]

    def everything(self) -> list[int]:
        """The order with no query: by rank, then as given."""
        return sorted(range(len(self.entries)), key=lambda i: (-self.entries[i].rank, i))

    def search(self, raw: str) -> list[int]:
        """Indexes of the entries matching `raw`, best first (all of them for an empty query)."""
        query = Query.of(raw)
        if not query:
            return self.everything()
        return self.ranked(self.scan(query))


def _joined(texts: list[str]) -> tuple[str, list[int]]:
    """`texts` joined by the separator, and where each one starts."""
    starts, at = [], 0
    for text in texts:
        starts.append(at)
        at += len(text) + 1
    return _SEP.join(texts), starts
