"""P9 canned picker: keystroke to filtered list on screen, 500 canned responses.

Method.
- Data: a generated desk (200 open conversations) whose library holds 500 canned
  responses of 200-1,500 characters (bench/datagen.py `canned_rows`: shortcode and title
  from the support words, body of KB-vocabulary sentences; 70 % English).
- The real console in a 160x48 pty against the real server: `r` on the first queue row
  opens the composer, `/` opens the canned picker (its first open fetches the library:
  timed as info, `/` written to the first entry drawn). Then phrases are typed one key at
  a time, with backspaces: the reported freeze sequence (`closing`, 7 backspaces,
  `closing`, `c`) and what an agent looks for (`refund`, `password reset`, ...); ctrl+u
  clears the box between phrases.
- For each key, the list the picker will show is computed first with the picker's own
  entries and matcher (`canned_choices`, `candidate`, `core.matching.Index`, the same
  library from `GET /canned-responses`). Latency = key written to the pty until the first
  frame that draws one of the entries that changed in the top rows (or, when nothing
  matches, the "nothing matches" line). A key that leaves the top rows as they were has
  nothing new to draw and is counted, not timed (the note says how many). p95 and p50 per
  run; 3 runs (1 with --quick).
- In-process, same library and keys: `core.matching` over the 500 entries per key (p95),
  next to the peer the picker used before, Textual's `fuzzy.Matcher` on shortcode, title and
  body. The peer's cost explodes with the query's length (one 500-character body takes
  seconds at 7-8 letters), so it is timed on the 1-2 letter prefixes and once on `clo`.
"""

from __future__ import annotations

import re
import time

from bench.common import Context, Result
from bench.datagen import Spec
from bench.harness import console_queue, generated, live_desk, percentile, spawn_console, wait_ready

KEY_TARGET = 50.0
CANNED = 500
TOP = 5  # rows surely visible in the picker at 160x48
BACKSPACE, CLEAR, ESCAPE = b"\x7f", b"\x15", b"\x1b"
# The reported freeze first, then what an agent types to find an answer.
PHRASES: list[list[bytes]] = [
    [*(c.encode() for c in "closing"), *[BACKSPACE] * 7, *(c.encode() for c in "closing"), b"c"],
    [c.encode() for c in "refund"],
    [*(c.encode() for c in "password rest"), BACKSPACE, BACKSPACE, *(c.encode() for c in "set")],
    [c.encode() for c in "esim activation"],
    [c.encode() for c in "top up balance"],
]
PEER_THREE = "clo"  # the one 3-letter key the old matcher is timed on


def spec(ctx: Context) -> Spec:
    return Spec(open_conversations=200, messages=600, canned_responses=CANNED)


def run(ctx: Context) -> list[Result]:
    runs = 1 if ctx.quick else 3
    gen = generated(ctx, "desk-p9", spec(ctx))
    queue = console_queue(gen.path)
    with live_desk(gen) as desk:
        poster = desk.poster()
        library = _library(poster)
        poster.close()
        language = queue[0].language  # the composer opens on the cursor's conversation
        ctx.log(f"P9: {len(library)} canned responses, {sum(len(c.body) for c in library):,} characters")
        keys, keys_p50, opened, unchanged, total = _keystrokes(ctx, desk, queue, library, language, runs)
    matching, peer, peer_keys, peer_three = _in_process(library, language, runs)
    sizes = sorted(len(c.body) for c in library)
    note = f"{len(library)} responses of {sizes[0]}-{sizes[-1]} characters"
    return [
        Result(
            "P9",
            "keystroke to filtered list on screen p95",
            keys,
            target=KEY_TARGET,
            note=f"{note}; {total} keys typed, {unchanged} left the top rows unchanged (not timed)",
        ),
        Result("P9", "keystroke to filtered list on screen p50", keys_p50),
        Result("P9", "/ to the picker listed (first open fetches the library)", opened),
        Result("P9", "core.matching per keystroke in-process p95", matching, note=note),
        Result(
            "P9",
            "peer textual.fuzzy.Matcher per keystroke in-process p95, 1-2 letters",
            peer,
            note=f"the picker's old matcher, {peer_keys} keys of 1-2 letters; longer keys are not run",
        ),
        Result(
            "P9",
            f"peer textual.fuzzy.Matcher on the 3-letter key {PEER_THREE!r}",
            peer_three,
            note="one key; 4 letters and more take far longer (the reported freeze)",
        ),
    ]


def _library(poster) -> list:  # noqa: ANN001 - bench.harness.Poster
    import msgspec

    from agent_console.core.models import CannedList

    status, body = poster.request("GET", "/api/v1/canned-responses")
    if status != 200:
        raise RuntimeError(f"GET /canned-responses answered {status}")
    return msgspec.json.decode(body, type=CannedList).items


def _predictor(library: list, language: str):  # noqa: ANN202
    """query -> the picker's top labels, as the picker computes them."""
    from agent_console.core.matching import Index
    from agent_console.tui.screens.pickers import PickerScreen, candidate, canned_choices

    choices = canned_choices(library, language)
    index = Index([candidate(choice) for choice in choices])

    def top(query: str) -> list[str]:
        return [choices[i].label for i in index.search(query)[: min(TOP, PickerScreen.MAX_SHOWN)]]

    return top


def _typed(keys: list[bytes]) -> list[str]:
    """The filter box after each key."""
    text, out = "", []
    for key in keys:
        text = text[:-1] if key == BACKSPACE else text + key.decode()
        out.append(text)
    return out


def _keystrokes(ctx: Context, desk, queue, library, language, runs):  # noqa: ANN001, ANN202
    top = _predictor(library, language)
    p95s: list[float] = []
    p50s: list[float] = []
    opened: list[float] = []
    unchanged = total = missed = 0
    nothing = re.compile(rb"nothing matches")
    slowest: list[tuple[float, str]] = []
    with spawn_console(ctx, desk) as term:
        wait_ready(term, queue[0].contact.name)
        term.send(b"r")
        term.wait_quiet(0.5, timeout=10)
        for run_index in range(runs):
            ctx.log(f"P9: typing into the canned picker, run {run_index + 1}/{runs}")
            first = top("")[0]
            offset, sent = term.send(b"/")
            shown = term.wait_for(first.encode(), offset, timeout=20)
            if shown is None:
                raise RuntimeError("P9: the canned picker did not list the library")
            opened.append((shown[1] - sent) * 1000)
            term.wait_quiet(0.4, timeout=10)
            samples: list[float] = []
            for phrase in PHRASES[:2] if ctx.quick else PHRASES:
                before = top("")
                for key, query in zip(phrase, _typed(phrase), strict=True):
                    expected = top(query)
                    offset, sent = term.send(key)
                    total += 1
                    if expected == before and expected:
                        term.wait_quiet(0.25, timeout=10, since=sent)
                        unchanged += 1
                        continue
                    if expected:
                        changed = [
                            label
                            for i, label in enumerate(expected)
                            if i >= len(before) or before[i] != label
                        ]
                        pattern = re.compile(b"|".join(re.escape(label.encode()) for label in changed))
                    else:
                        pattern = nothing
                    seen = term.wait_for_regex(pattern, offset, timeout=10)
                    term.wait_quiet(0.2, timeout=10, since=sent)
                    if seen is None:  # never drawn: counted as the whole wait, and noted
                        samples.append(10_000.0)
                        missed += 1
                    else:
                        samples.append((seen[1] - sent) * 1000)
                    slowest.append((samples[-1], query))
                    before = expected
                term.send(CLEAR)
                term.wait_quiet(0.4, timeout=10)
            if samples:
                p95s.append(percentile(samples, 95))
                p50s.append(percentile(samples, 50))
            term.send(ESCAPE)  # close the picker; the composer keeps its `/`
            term.wait_quiet(0.5, timeout=10)
            term.send(BACKSPACE)  # drop the `/`, so the next `/` opens the picker again
            term.wait_quiet(0.3, timeout=10)
    if missed:
        ctx.log(f"P9: {missed} key(s) whose list never showed (counted as 10 s)")
    ctx.log("P9: slowest keys: " + ", ".join(f"{q!r} {ms:.0f} ms" for ms, q in sorted(slowest)[-6:]))
    if not p95s:
        raise RuntimeError("P9: no keystroke was timed")
    return p95s, p50s, opened, unchanged, total


def _in_process(library: list, language: str, runs: int) -> tuple[list[float], list[float], int, list[float]]:
    from textual.fuzzy import Matcher

    from agent_console.core.matching import Index, Query
    from agent_console.tui.screens.pickers import candidate, canned_choices

    choices = canned_choices(library, language)
    index = Index([candidate(choice) for choice in choices])
    queries = [q for phrase in PHRASES for q in _typed(phrase)]
    ours: list[float] = []
    for _ in range(max(runs, 3)):
        samples = []
        for query in queries:
            start = time.perf_counter()
            parsed = Query.of(query)
            index.ranked(index.scan(parsed)) if parsed else index.everything()
            samples.append((time.perf_counter() - start) * 1000)
        ours.append(percentile(samples, 95))

    # The old way: Textual's fuzzy matcher on label, detail and body, for every entry. It
    # explodes with the query's length, so it is timed on the 1-2 letter prefixes, and once
    # on a 3-letter one; longer queries are not run (seconds to minutes per key).
    def old_way(query: str) -> float:
        matcher = Matcher(query)
        start = time.perf_counter()
        for choice in choices:
            max(matcher.match(choice.label), matcher.match(choice.detail), matcher.match(choice.search))
        return (time.perf_counter() - start) * 1000

    short = sorted({q for q in queries if 1 <= len(q.strip()) <= 2})
    peer_samples = [old_way(query) for query in short]
    three = old_way(PEER_THREE)
    return ours, [percentile(peer_samples, 95)], len(peer_samples), [three]
