"""KB and canned-response search on a real PostgreSQL (server/pg_search.py), side by side with
the SQLite store's FTS5 search over the same demo rows: the same queries, and how much of
SQLite's top 5 PostgreSQL returns too (docs/POSTGRES.md, "Search on PostgreSQL")."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from agent_console.core.models import SNIPPET_CLOSE, SNIPPET_OPEN
from agent_console.server import db, pg_search
from agent_console.server.bot import content_words
from agent_console.server.seed import seed_demo
from agent_console.server.store import Store
from tests.pg_cluster import PgCluster

DEMO_NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
QUESTIONS = Path(__file__).parent / "data" / "bot_questions.toml"

# The knowledge tables as the PostgreSQL store will hold them: SQLite's columns, PostgreSQL types.
TABLES = (
    """CREATE TABLE kb_articles (
        id BIGINT PRIMARY KEY, slug TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]', locale TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        status TEXT NOT NULL DEFAULT 'published', UNIQUE (slug, locale))""",
    """CREATE TABLE canned_responses (
        id BIGINT PRIMARY KEY, shortcode TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL,
        locale TEXT NOT NULL, UNIQUE (shortcode, locale))""",
)
COPIED = {
    "kb_articles": "id, slug, title, body, tags, locale, updated_at, status",
    "canned_responses": "id, shortcode, title, body, locale",
}

# What agents type in the KB panel: half-typed words, two-word searches, each desk language.
TYPED = [
    ("refu", "en"),
    ("refund", "en"),
    ("esim ins", "en"),
    ("install esim", "en"),
    ("insta", "en"),
    ("qr", "en"),
    ("qr code", "en"),
    ("roam", "en"),
    ("data roaming", "en"),
    ("hotspot", "en"),
    ("top up", "en"),
    ("charged tw", "en"),
    ("apn", "en"),
    ("5g", "en"),
    ("password", "en"),
    ("2fa", "en"),
    ("invoice", "en"),
    ("plan exp", "en"),
    ("transfer", "en"),
    ("dual sim", "en"),
    ("iphone", "en"),
    ("android", "en"),
    ("signal", "en"),
    ("speed", "en"),
    ("esim", None),
    ("Abbuchung", "de"),
    ("doppelt", "de"),
    ("installieren", "de"),
    ("Ausland", "de"),
    ("handy", "de"),
    ("remboursement", "fr"),
    ("forfait", "fr"),
    ("partage", "fr"),
    ("installer", "fr"),
    ("reembolso", "es"),
    ("recargar", "es"),
    ("datos", "es"),
    ("cobro", "es"),
    ("dados", "pt"),
    ("instalar", "pt"),
]
# Read as tsquery syntax, "refund !policy" would be refund articles without "policy" and
# "refund | zzzqx" every refund article; as words, the first is the policy and the second none.
HOSTILE = [
    "?!...", "", "   ", "a:* | !b & (", "refund !policy", "refund | zzzqx", "refund') OR 1=1 --",
    "\\", "'\"", "<-> !", "r:*A", "refund:B", "(refund & polic:*)",
]  # fmt: skip


@dataclass(frozen=True)
class Desks:
    sqlite: Store
    pg: psycopg.Connection


@pytest.fixture(scope="module")
def desks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desks]:
    """The demo KB and canned responses through the normal seed path into SQLite, and the same
    rows (same ids) into a fresh PostgreSQL database with the search DDL applied."""
    conn = db.connect(tmp_path_factory.mktemp("pgsearch") / "desk.db")
    seed_demo(conn, now=DEMO_NOW, conversations=1)
    cluster = PgCluster().start()
    try:
        with psycopg.connect(cluster.new_database(), autocommit=True) as pg:
            for statement in TABLES:
                pg.execute(statement)
            pg_search.create_search_schema(pg)
            with pg.transaction(), pg.cursor() as cur:
                for table, columns in COPIED.items():
                    rows = conn.execute(f"SELECT {columns} FROM {table}").fetchall()
                    marks = ", ".join(["%s"] * len(rows[0]))
                    cur.executemany(f"INSERT INTO {table}({columns}) VALUES ({marks})", rows)
            yield Desks(Store(conn), pg)
    finally:
        cluster.stop()
        conn.close()


def question_queries(words: int) -> list[tuple[str, str]]:
    """Each labelled bot question as an agent would search it: its first `words` content words
    (stop words out, long words cut to six letters), in the question's language."""
    questions = tomllib.loads(QUESTIONS.read_text(encoding="utf-8"))["question"]
    return [(" ".join(content_words(q["text"])[:words]), q["lang"]) for q in questions]


def overlap(desks: Desks, queries: list[tuple[str, str | None]]) -> dict[str, float]:
    """Top-5 overlap (mean share of SQLite's top 5 that PostgreSQL also has in its top 5) and
    top-1 agreement, over the queries SQLite finds something for; and how the rest went."""
    shares, firsts, both_empty, pg_only = [], [], 0, 0
    for text, locale in queries:
        lite = [hit.id for hit in desks.sqlite.kb_search(text, locale=locale, limit=5)]
        pg = [hit.id for hit in pg_search.kb_search(desks.pg, text, locale=locale, limit=5)]
        if not lite:
            both_empty += not pg
            pg_only += bool(pg)
            continue
        shares.append(len(set(lite) & set(pg)) / len(lite))
        firsts.append(bool(pg) and pg[0] == lite[0])
    return {
        "queries": len(queries),
        "compared": len(shares),
        "top5_overlap": sum(shares) / len(shares),
        "top1_agreement": sum(firsts) / len(firsts),
        "both_empty": both_empty,
        "pg_only": pg_only,
    }


def slugs(desks: Desks, text: str, locale: str | None, **kw: object) -> list[str]:
    hits = pg_search.kb_search(desks.pg, text, locale=locale, limit=kw.pop("limit", 5), **kw)
    if not hits:
        return []
    rows = desks.pg.execute("SELECT id, slug FROM kb_articles WHERE id = ANY(%s)", ([h.id for h in hits],))
    by_id = dict(rows.fetchall())
    return [by_id[h.id] for h in hits]


def test_ranking_overlaps_sqlite(desks: Desks) -> None:
    typed = overlap(desks, TYPED)
    print(f"\ntyped searches: {typed}")
    for words in (1, 2, 3):
        print(f"bot questions, first {words} content words: {overlap(desks, question_queries(words))}")
    asked = overlap(desks, [q for words in (1, 2, 3) for q in question_queries(words)])
    print(f"bot questions, all three: {asked}")
    assert typed["queries"] >= 40 and asked["queries"] >= 200
    # Measured 0.965 / 0.925 typed, 0.941 / 0.873 for the questions (docs/POSTGRES.md): floors
    # a little under, so a change of ranking that loses SQLite's order fails here.
    assert typed["top5_overlap"] >= 0.93 and typed["top1_agreement"] >= 0.90
    assert asked["top5_overlap"] >= 0.91 and asked["top1_agreement"] >= 0.84
    # Where SQLite finds nothing, PostgreSQL mostly does not either (it finds more only by stems).
    assert asked["pg_only"] <= 0.1 * asked["queries"]


def test_search_uses_the_index(desks: Desks) -> None:
    """The GIN index can serve the search (with sequential scans off, as on a KB large enough
    for the planner to want the index): the match is a column against a plan-time query."""
    plans = []

    class Explaining:
        def execute(self, sql: str, params: list | None = None) -> psycopg.Cursor:
            if "search @@" in sql:
                plans.extend(row[0] for row in desks.pg.execute("EXPLAIN " + sql, params))
            return desks.pg.execute(sql, params)

    with desks.pg.transaction():
        # Only bitmap scans left, and they need a condition to serve: the match, or nothing.
        desks.pg.execute("SET LOCAL enable_seqscan = off")
        desks.pg.execute("SET LOCAL enable_indexscan = off")
        pg_search.kb_search(Explaining(), "refu pol", locale=None, limit=5)
    assert any("Bitmap Index Scan on kb_articles_search" in line for line in plans), plans


def test_search_as_you_type_matches_prefixes(desks: Desks) -> None:
    assert slugs(desks, "refu", "en")[0] == "refund-policy"
    assert "install-esim-iphone" in slugs(desks, "esim ins iph", "en")
    # Half-way through a word its stem is no prefix ("activ" for "activation"): the plain forms
    # indexed beside the stems hit.
    assert slugs(desks, "activat", "en")
    # Every word is required, as on SQLite.
    assert slugs(desks, "refund zzzqx", "en") == []


def test_half_typed_words_are_not_stemmed_to_nothing(desks: Desks) -> None:
    """A stemmer on a half-typed word can cut it to almost nothing: English's "ins" -> "in",
    French's "res" -> "re"; searched as that, "ins" would find every article saying "in".
    What SQLite's prefix finds is what PostgreSQL finds, in the locale and over every locale."""
    for text, locale in (("ins", "en"), ("res", "fr"), ("ins", None)):
        lite = {h.id for h in desks.sqlite.kb_search(text, locale=locale, limit=100)}
        mine = {h.id for h in pg_search.kb_search(desks.pg, text, locale=locale, limit=100)}
        assert mine == lite, (text, locale)


def test_locale_stemming(desks: Desks) -> None:
    # SQLite's prefix search cannot find "refund" from "refunds"; the English stemmer can.
    assert desks.sqlite.kb_search("refunds policies", locale="en", limit=5) == []
    assert slugs(desks, "refunds policies", "en")[0] == "refund-policy"
    # A German plural: the articles say "Tarif" and "Tarifs", never "Tarife"; and "doppelten",
    # an inflection the double-charge article does not use ("doppelt", "doppelte").
    assert desks.sqlite.kb_search("Tarife", locale="de", limit=5) == []
    found = pg_search.kb_search(desks.pg, "Tarife", locale="de", limit=5)
    assert found and all("tarif" in hit.snippet.lower() or "tarif" in hit.title.lower() for hit in found)
    assert desks.sqlite.kb_search("doppelten Abbuchungen", locale="de", limit=5) == []
    assert slugs(desks, "doppelten Abbuchungen", "de") == ["doppelte-abbuchung"]
    # Accents fold as FTS5's remove_diacritics does: typed without them, still found.
    assert slugs(desks, "politica reembolso", "es") == ["politica-de-reembolsos"]
    assert desks.sqlite.kb_search("deja utilise", locale="fr", limit=5)
    assert slugs(desks, "deja utilise", "fr")[0] == "qr-code-deja-utilise"  # "déjà utilisé"
    # The search stays in the locale asked for.
    assert all(hit.locale == "de" for hit in pg_search.kb_search(desks.pg, "esim", locale="de", limit=20))


def test_every_locale_is_each_locale_together(desks: Desks) -> None:
    """Searching every locale finds exactly what searching each one finds: another language's
    stemmer never cuts a word into a prefix of unrelated ones ("esim" is no "es" for German)."""
    sql = "SELECT locale FROM kb_articles UNION SELECT locale FROM canned_responses"
    locales = [r[0] for r in desks.pg.execute(sql)]
    assert len(locales) >= 5
    for text in ("esim", "install", "data", "plan", "roaming", "reemb", "Abbuchung", "forfait"):
        each = set().union(
            *({h.id for h in pg_search.kb_search(desks.pg, text, locale=code, limit=100)} for code in locales)
        )
        assert {h.id for h in pg_search.kb_search(desks.pg, text, locale=None, limit=100)} == each, text
        each = set().union(
            *({c.id for c in pg_search.canned_search(desks.pg, text, locale=code)} for code in locales)
        )
        assert {c.id for c in pg_search.canned_search(desks.pg, text, locale=None)} == each, text


def test_hits_carry_what_the_panel_shows(desks: Desks) -> None:
    hits = pg_search.kb_search(desks.pg, "refund", locale="en", limit=3)
    assert len(hits) == 3 and hits[0].title == "Refund policy"
    assert hits[0].score >= hits[1].score >= hits[2].score > 0
    assert "refund" in hits[0].tags
    assert f"{SNIPPET_OPEN}refund" in hits[0].snippet.lower() and SNIPPET_CLOSE in hits[0].snippet
    # Cut from the middle of the body, it says so at both ends, as SQLite's snippet does.
    lite = desks.sqlite.kb_search("refund", locale="en", limit=1)[0]
    assert lite.id == hits[0].id and lite.snippet.startswith("…")
    assert hits[0].snippet.startswith("…") and hits[0].snippet.endswith("…")


def test_drafts_only_when_asked(desks: Desks) -> None:
    desks.pg.execute(
        "INSERT INTO kb_articles(id, slug, title, body, tags, locale, updated_at, status)"
        " VALUES (90001, 'zebra-roaming', 'Zebra roaming', 'Draft body', '[]', 'en', now(), 'draft')"
    )
    try:
        assert slugs(desks, "zebra", "en") == []
        assert slugs(desks, "zebra", "en", drafts=True) == ["zebra-roaming"]
    finally:
        desks.pg.execute("DELETE FROM kb_articles WHERE id = 90001")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_are_words_or_nothing(desks: Desks, text: str) -> None:
    """Operators, quotes and backslashes never reach the tsquery parser as syntax: the words
    are searched (every one required, as SQLite does), or nothing is. Never an error."""
    hits = {h.id for h in pg_search.kb_search(desks.pg, text, locale="en", limit=100)}
    assert hits == {h.id for h in desks.sqlite.kb_search(text, locale="en", limit=100)}
    if not pg_search.query_words(text):
        assert hits == set()
    for shown in pg_search.canned_search(desks.pg, text, locale="en"):
        assert shown.locale == "en"


def test_canned_search(desks: Desks) -> None:
    found = pg_search.canned_search(desks.pg, "refu", locale="en")
    assert found and all(c.locale == "en" for c in found)
    assert any("refund" in (c.shortcode + c.title).lower() for c in found)
    assert [c.shortcode for c in found] == sorted(c.shortcode for c in found)
    # A shortcode typed from its start, and the LIKE wildcards in it taken literally.
    first = found[0].shortcode
    assert first in [c.shortcode for c in pg_search.canned_search(desks.pg, first[:3], locale="en")]
    assert pg_search.canned_search(desks.pg, "%efund", locale="en") == []
    # Nothing typed: every response of the locale, in list_canned's order.
    everything = desks.sqlite.list_canned(query=None, locale="de")
    assert [c.id for c in pg_search.canned_search(desks.pg, "", locale="de")] == [c.id for c in everything]
    # "4G/5G" is two words, as for FTS5 and LIKE.
    assert "speed" in [c.shortcode for c in pg_search.canned_search(desks.pg, "5g", locale="en")]


def test_canned_search_finds_what_sqlite_finds(desks: Desks) -> None:
    """Store.list_canned matches the typed text anywhere (LIKE); PostgreSQL matches words from
    their start, in any order. Over the typed searches, the share of SQLite's matches that
    PostgreSQL finds too (measured 1.0; docs/POSTGRES.md)."""
    shares, extra = [], 0
    for text, locale in TYPED:
        lite = {c.id for c in desks.sqlite.list_canned(query=text, locale=locale)}
        pg = {c.id for c in pg_search.canned_search(desks.pg, text, locale=locale)}
        if lite:
            shares.append(len(lite & pg) / len(lite))
        extra += len(pg - lite)
    print(f"\ncanned: {len(shares)} searches compared, recall {sum(shares) / len(shares):.3f}, {extra} more")
    assert len(shares) >= 20 and sum(shares) / len(shares) >= 0.95
