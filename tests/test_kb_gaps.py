"""The KB gap report: searches with no confident article, logged at search time, grouped by
normalised wording and language, counted. A fixed set of searches with the groups counted by
hand, on a seeded desk of this module's own (so no other test's searches are counted)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent_console.core import gaps
from tests.cli_support import base_env, invoke
from tests.conftest import ENGINES, Desk, start_desk

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL

# (who, query, locale): who searched matters, an agent's next search within 30 s that
# continues the last one replaces it (the console searches as the agent types).
SEARCHES = [
    ("sam", "pet insurance", None),  # A
    ("sam", "apn", None),  # answered: "APN settings for Lumo" (title carries the word)
    ("sam", "insurance for my pet", None),  # A: same words once stop words go
    ("admin", "Pet Insurance!!", None),  # A: case and punctuation do not matter
    ("admin", "charged twice", None),  # answered: bm25 7.85
    ("sam", "Haustierversicherung", "de"),  # B, in German
    ("admin", "haustierversicherung?", "de"),  # B
    ("sam", "satellite phone", None),  # C: the best hit (2.82) is about data usage
    ("admin", "Satellite phones", None),  # C: plural folded
    ("sam", "esim iphone", None),  # answered: bm25 0 (every article says eSIM), but the title has both
    ("admin", "xylo", None),  # D, typed on ...
    ("admin", "xylophone", None),  # ... replaces it ...
    ("admin", "xylophone repair", None),  # ... and again: one question, counted once
    ("admin", "pre-trip chek", None),  # a typo: nothing found ...
    ("admin", "pre-trip che", None),  # ... letters taken back find "Pre-trip checklist": no gap left
]
# Counted by hand from the list above: (count, language, words, commonest wording).
EXPECTED = [
    (3, "", "insurance pet", "pet insurance"),
    (2, "", "phone satellite", "satellite phone"),
    (2, "de", "haustierversicherung", "Haustierversicherung"),
    (1, "", "repair xylophone", "xylophone repair"),
]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    running = start_desk(tmp_path_factory.mktemp("gaps") / "desk.db")
    clients = {"sam": running.agent, "admin": running.admin}
    for who, query, locale in SEARCHES:
        params = {"q": query} if locale is None else {"q": query, "locale": locale}
        assert clients[who].get("/kb/search", params=params).status_code == 200
    yield running
    running.server.stop()


def test_gap_report_groups_the_fixed_searches_as_counted_by_hand(desk: Desk) -> None:
    report = desk.admin.get("/kb/gaps").json()
    got = [(g["count"], g["locale"], g["key"], g["example"]) for g in report["items"]]
    assert got == EXPECTED
    assert {tuple(g["sources"]) for g in report["items"]} == {("search",)}
    assert report["threshold"] == gaps.CONFIDENT_SCORE


def test_since_limits_the_report_and_agents_may_not_read_it(desk: Desk) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert desk.admin.get("/kb/gaps", params={"since": later}).json()["items"] == []
    earlier = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert len(desk.admin.get("/kb/gaps", params={"since": earlier}).json()["items"]) == len(EXPECTED)
    denied = desk.agent.get("/kb/gaps")
    assert denied.status_code == 403


def test_cli_gaps_prints_the_report(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.admin_token)
    ran = invoke("kb", "gaps", "--since", "7d", "-o", "json", env=env)
    assert ran.code == 0, ran
    assert [(g["count"], g["locale"], g["key"], g["example"]) for g in ran.json()["items"]] == EXPECTED
    text = invoke("kb", "gaps", env=env)
    lines = text.stdout.splitlines()
    assert lines[0].split()[:3] == ["COUNT", "LANG", "QUESTION"]
    assert lines[1].split()[:3] == ["3", "any", "pet"] and lines[3].split()[:2] == ["2", "de"]
    csv = invoke("kb", "gaps", "--since", "2w", "-o", "csv", env=env).stdout.splitlines()
    assert csv[0] == "count,locale,key,example,sources,last_at" and len(csv) == 1 + len(EXPECTED)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert invoke("kb", "gaps", "--since", tomorrow, "-o", "json", env=env).json()["items"] == []
    assert invoke("kb", "gaps", "--since", "soon", env=env).code == 2
    agent_env = {**env, "AGENT_CONSOLE_TOKEN": desk.agent_token}
    refused = invoke("kb", "gaps", env=agent_env)
    assert refused.code == 3 and "admin" in refused.stderr


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("How do I install the eSIMs on my iPhone?", "esim install iphone"),
        ("iPhone eSIM install", "esim install iphone"),
        ("Données à l'étranger", "donnee etranger l"),
        ("the", "the"),  # nothing but stop words: keep them rather than lose the question
    ],
)
def test_normalised_wording(question: str, key: str) -> None:
    assert gaps.normalise(question) == key


def test_confidence_rule() -> None:
    assert gaps.is_gap("anything", None)
    assert not gaps.is_gap("charged twice", gaps.CONFIDENT_SCORE)
    assert not gaps.is_gap("esim iphone", 0.0, "Install your Lumo eSIM on an iPhone", [])
    assert gaps.is_gap("satellite phone", 2.82, "Checking how much data you have left", ["data"])
    assert not gaps.is_gap("unlock", 1.0, "Carrier-locked phones", ["unlock", "carrier-lock"])
