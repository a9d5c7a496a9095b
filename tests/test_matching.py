"""The pickers' matcher (core.matching): what matches, in which order, and that any text is safe."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from agent_console.core.matching import Candidate, Index, Query, fold, short_score


def test_fold_ignores_case_and_accents() -> None:
    assert fold("Clôture") == "cloture"
    assert fold("STRASSE") == fold("straße")
    assert fold("Ñandú CAFÉ") == "nandu cafe"


def test_short_fields_match_a_subsequence() -> None:
    query = Query.of("clsg")
    assert short_score(query, fold("/closing")) > 0
    assert short_score(query, fold("/greeting")) == 0
    assert short_score(Query.of("pass res"), fold("Password reset")) > 0


def test_long_fields_match_a_substring_or_word_prefixes_only() -> None:
    body = "Your refund of 20 EUR is on its way; the password reset link expires soon."
    index = Index([Candidate(long=(("nothing here", 0.4),)), Candidate(long=((body, 0.4),))])
    assert index.search("REFUND") == [1]
    assert index.search("pass res") == [1]  # both words start a word
    assert index.search("rfnd") == []  # no fuzzy match in long text
    assert index.search("ord res") == [1]  # a plain substring
    assert index.search("und exp") == []  # neither a substring nor prefixes
    assert index.search("pass zzz") == []  # every word must start a word, not one


def test_ranking_prefers_the_shortcode_then_the_title_then_the_body() -> None:
    index = Index(
        [
            Candidate(short=(("/greet", 1.0), ("Greeting", 0.8)), long=(("We are closing the ticket", 0.4),)),
            Candidate(short=(("/bye", 1.0), ("Closing", 0.8)), long=(("Goodbye", 0.4),)),
            Candidate(short=(("/close", 1.0), ("Wrap up", 0.8)), long=(("Goodbye", 0.4),)),
            Candidate(short=(("/apn", 1.0), ("APN", 0.8)), long=(("Settings", 0.4),)),
        ]
    )
    assert index.search("clos") == [2, 1, 0]
    assert index.search("") == [0, 1, 2, 3]


def test_rank_orders_equal_matches() -> None:
    index = Index(
        [
            Candidate(short=(("/close", 1.0),), rank=0.0),
            Candidate(short=(("/close", 1.0),), rank=0.5),
        ]
    )
    assert index.search("close") == [1, 0]
    assert index.everything() == [1, 0]


def test_the_reported_freeze_is_gone() -> None:
    # One 500-character body took Textual's fuzzy matcher seconds for a 7-8 letter query;
    # a run of near-misses is the worst case for a backtracking matcher.
    body = ("c l o s i n " * 50)[:500]
    adversarial = "a" * 5000
    index = Index(
        [Candidate(short=(("/x", 1.0),), long=((body, 0.4),)), Candidate(long=((adversarial, 0.4),))]
    )
    assert index.search("closingc") == []
    assert index.search("aaaaaaaab") == []
    assert index.search("aaaa") == [1]


# --- properties ------------------------------------------------------------------------

TEXT = st.text(
    alphabet=st.sampled_from(list("abcdeéÉsSßçClo -_,.\n\t1") + ["\u0301", "İ", "ﬁ"]),
    max_size=3000,
)
QUERY = st.text(alphabet=st.sampled_from(list("abcdeéSßclo -1") + ["\u0301"]), max_size=20)


def contains(query: str, body: str) -> bool:
    """The rule written plainly: the body holds the query, or each query word starts a word."""
    q, b = fold(query).strip(), fold(body)
    if not q:
        return False
    if q in b:
        return True
    tokens = re.findall(r"\w+", q)
    words = re.findall(r"\w+", b)
    return bool(tokens) and all(any(w.startswith(t) for w in words) for t in tokens)


@settings(max_examples=150, deadline=None)
@given(bodies=st.lists(TEXT, min_size=1, max_size=12), query=QUERY)
def test_long_bodies_give_exactly_the_entries_that_contain_the_query(bodies: list[str], query: str) -> None:
    index = Index([Candidate(long=((body, 0.4),)) for body in bodies])
    found = index.search(query)
    if not fold(query).strip():
        assert found == list(range(len(bodies)))
    else:
        assert sorted(found) == [i for i, body in enumerate(bodies) if contains(query, body)]


@settings(max_examples=150, deadline=None)
@given(names=st.lists(st.text(max_size=80), min_size=1, max_size=20), query=st.text(max_size=20))
def test_short_fields_match_exactly_the_subsequences(names: list[str], query: str) -> None:
    index = Index([Candidate(short=((name, 1.0),)) for name in names])
    parsed = Query.of(query)
    found = set(index.search(query))
    if not parsed:
        assert found == set(range(len(names)))
        return

    def is_subsequence(needle: str, hay: str) -> bool:
        rest = iter(hay)
        return all(char in rest for char in needle)

    assert found == {i for i, name in enumerate(names) if is_subsequence(parsed.compact, fold(name)[:256])}
