"""Knowledge-base and canned-response search on PostgreSQL (issue 14), the twin of the FTS5
search in server/knowledge_store.py (`fts_query`, `Store.kb_search`, `Store.list_canned`).

Documents. Each searchable row carries a `search` tsvector, a STORED generated column rather
than one the writing code keeps up to date: every path that writes an article (admin edits,
`kb import`, the demo seed, a revision restored, a future migration's backfill) gets it for
free and none can forget it, as the FTS5 triggers do for SQLite. The price, recomputing it on
an update that only flips `status`, is paid on rare admin writes, never on a search.

- The row's locale picks the text-search configuration (`LOCALE_CONFIGS`, through the SQL
  function `desk_search_config`, so documents and queries cannot disagree): English words are
  stemmed as English, German as German, anything unknown with `simple`.
- Every configuration folds accents first (the `unaccent` dictionary), as FTS5's
  `remove_diacritics 2` does: "deja utilise" finds "déjà utilisé".
- The words are indexed twice, stemmed and as written (the `desk_simple` configuration). A
  prefix typed half-way through a word is not a prefix of its stem ("activat" is not one of
  "activ", English's stem of "activation"), so the plain forms keep search-as-you-type
  working while the stems let "refunds" find "refund".
- Weights: title A, tags B, body C, ranked (ts_rank_cd) with `RANK_WEIGHTS` in the ratio of the SQLite
  side's bm25 column weights (10, 4, 1).

Queries are built from untrusted text as FTS5's are: the words only (letters and digits; no
tsquery operator, quote, colon, parenthesis or backslash survives), at most 12, each a prefix
(`word:*`), all of them required. Each word is matched stemmed by the searched locale's
configuration or as written, so both forms hit. A search over every locale uses the stemmers
of the locales the table holds and checks each candidate with its own locale's query. Values
always travel as parameters.

On PostgreSQL the store's `kb_search` calls `kb_search` here, and the bot and the suggested
replies call `any_word_search` / `count_holding`; `SEARCH_DDL` is part of server/pg_schema.py's
migrations. Canned responses keep `list_canned`'s LIKE on both engines (a substring match is
what the picker promises: "fund" finds "refund"); `canned_search` is the word-prefix
alternative, measured against it in docs/POSTGRES.md. Recording searches for the KB gap report
(`KbAdminStore.record_kb_search`) stays with the store. Method and the overlap with SQLite's
results: docs/POSTGRES.md, "Search on PostgreSQL".
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from agent_console.core.clock import from_iso
from agent_console.core.models import SNIPPET_CLOSE, SNIPPET_OPEN, CannedResponse, KbHit

# The desk's locales (their language part) and PostgreSQL's built-in configurations.
LOCALE_CONFIGS: dict[str, str] = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "pt": "portuguese",
    "it": "italian",
    "nl": "dutch",
    "sv": "swedish",
    "da": "danish",
    "nb": "norwegian",
    "no": "norwegian",
    "fi": "finnish",
    "ru": "russian",
    "tr": "turkish",
    "ro": "romanian",
    "hu": "hungarian",
    "ca": "catalan",
}
SIMPLE_CONFIG = "desk_simple"

# ts_rank_cd's weights for D, C, B, A: body 1, tags 4, title 10, as bm25(kb_fts, 10.0, 1.0, 4.0).
RANK_WEIGHTS = (0.0, 0.1, 0.4, 1.0)
# ts_rank_cd with normalisation 2, dividing by the document's length as bm25 favours shorter
# documents: of the functions and normalisations swept, the one that follows SQLite's order best
# over both the demo KB and a generated one of 10,000 articles (docs/POSTGRES.md has the sweep).
RANK_NORMALIZATION = 2
MAX_WORDS = 12  # as fts_query
MAX_WORD_LENGTH = 64  # longer is no word anyone types; PostgreSQL drops lexemes past 2 KB anyway
# ts_headline: one fragment of about 24 words, the matches marked as KbHit.snippet promises.
_HEADLINE = (
    f"StartSel={SNIPPET_OPEN}, StopSel={SNIPPET_CLOSE}, MaxFragments=1, MaxWords=24, MinWords=10,"
    " FragmentDelimiter=…"
)
# Letters and digits: `\w` without the underscore, which PostgreSQL's parser splits words on.
_WORD = re.compile(r"[^\W_]+")


def config_name(locale: str) -> str:
    """The configuration the documents of `locale` are indexed with ("pt-BR": Portuguese)."""
    language = locale.split("-", 1)[0].lower()
    return f"desk_{LOCALE_CONFIGS[language]}" if language in LOCALE_CONFIGS else SIMPLE_CONFIG


def _config_ddl() -> list[str]:
    statements = [
        # Trusted since PostgreSQL 13: a database owner may create it without being superuser.
        "CREATE EXTENSION IF NOT EXISTS unaccent",
        f"CREATE TEXT SEARCH CONFIGURATION {SIMPLE_CONFIG} (COPY = pg_catalog.simple)",
        f"ALTER TEXT SEARCH CONFIGURATION {SIMPLE_CONFIG} ALTER MAPPING FOR hword, hword_part, word"
        " WITH unaccent, simple",
    ]
    for language in sorted(set(LOCALE_CONFIGS.values())):
        name = f"desk_{language}"
        statements += [
            f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = pg_catalog.{language})",
            # Only the non-ASCII token types can carry accents; ASCII ones keep the stemmer alone.
            f"ALTER TEXT SEARCH CONFIGURATION {name} ALTER MAPPING FOR hword, hword_part, word"
            f" WITH unaccent, {language}_stem",
        ]
    cases = " ".join(
        f"WHEN '{code}' THEN 'desk_{language}'::regconfig" for code, language in LOCALE_CONFIGS.items()
    )
    # A SQL-standard body is parsed once, so the configurations it names are real dependencies
    # (a dump restores them first) and no search_path changes what it means.
    statements.append(
        "CREATE FUNCTION desk_search_config(locale text) RETURNS regconfig"
        " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
        f" RETURN CASE lower(split_part(locale, '-', 1)) {cases} ELSE '{SIMPLE_CONFIG}'::regconfig END"
    )
    return statements


def _weighted(column: str, weight: str) -> str:
    """One column, stemmed by its row's configuration and as written, at one weight.

    Slashes become spaces first: PostgreSQL's parser reads "4G/5G" as one file-path token, where
    FTS5 (and the query's words) see "4G" and "5G"."""
    text = f"translate({column}, '/', ' ')"
    return (
        f"setweight(to_tsvector(desk_search_config(locale), {text}), '{weight}')"
        f" || setweight(to_tsvector('{SIMPLE_CONFIG}'::regconfig, {text}), '{weight}')"
    )


# The migration's statements, in order. They need kb_articles(title, body, tags, locale,
# status) and canned_responses(shortcode, title, body, locale) to exist; `tags` may be the JSON
# text SQLite keeps or jsonb (to_tsvector takes both).
SEARCH_DDL: tuple[str, ...] = (
    *_config_ddl(),
    # lz4: a search reads the vector of every match (to rank it); lz4 unpacks it faster than
    # the default pglz (every-locale p95 at 10,000 articles 94 -> 60 ms, bench/pg_kb_search.py).
    "ALTER TABLE kb_articles ADD COLUMN search tsvector COMPRESSION lz4 GENERATED ALWAYS AS ("
    f"{_weighted('title', 'A')} || {_weighted('tags', 'B')} || {_weighted('body', 'C')}) STORED",
    "CREATE INDEX kb_articles_search ON kb_articles USING gin (search)",
    # A search over every locale reads which locales there are from these (see `_configs`).
    "CREATE INDEX kb_articles_locale ON kb_articles (locale)",
    "ALTER TABLE canned_responses ADD COLUMN search tsvector GENERATED ALWAYS AS ("
    f"setweight(to_tsvector('{SIMPLE_CONFIG}'::regconfig, translate(shortcode, '/', ' ')), 'A')"
    f" || {_weighted('title', 'A')} || {_weighted('body', 'C')}) STORED",
    "CREATE INDEX canned_responses_search ON canned_responses USING gin (search)",
    "CREATE INDEX canned_responses_locale ON canned_responses (locale)",
)


def create_search_schema(conn: Any) -> None:
    """Apply SEARCH_DDL in one transaction on a psycopg connection (tests; the port's migrations
    run the same statements)."""
    with conn.transaction():
        for statement in SEARCH_DDL:
            conn.execute(statement)


def query_words(text: str) -> list[str]:
    """The words of what someone typed, as the query will use them (none: no search)."""
    return [word[:MAX_WORD_LENGTH] for word in _WORD.findall(text)[:MAX_WORDS]]


# One word's query: `word:*` in each configuration, the distinct results OR-ed (a word whose
# stem is itself would otherwise be looked up once per configuration in the index). A stem of
# fewer than 3 letters is left out: a stemmer is made for whole words, and on a half-typed one
# it can cut a prefix down to nearly nothing (Spanish's "roa" -> "ro", a prefix of thousands of
# words in every language); the plain form still matches. The configurations' own output is
# what is put together, so nothing typed is ever parsed as syntax.
_TERM = (
    "(SELECT string_agg('(' || t::text || ')', ' | ')::tsquery FROM (SELECT DISTINCT t FROM"
    " (SELECT x, to_tsquery(x, %s) AS t FROM unnest({configs}) x) s WHERE numnode(t) > 0"
    f" AND (x = '{SIMPLE_CONFIG}'::regconfig OR length(t::text) >= 7)) d)"  # 7: 'abc':*
)


def _tsquery(words: list[str], configs: list[str]) -> tuple[str, list[Any]]:
    """SQL for the tsquery and its parameters: every word as a prefix, all of them required.

    A word is `word:*` stemmed by each of `configs` (the plain one among them). The words are
    letters and digits only, so `word:*` is always one prefix term; it is still a parameter."""
    params: list[Any] = []
    for word in words:
        params += [f"{word}:*", configs]
    return " && ".join(_TERM.format(configs="%s::regconfig[]") for _ in words), params


# The distinct locales of a table, one index probe each (a loose index scan on its locale index).
_LOCALES = (
    "WITH RECURSIVE l(locale) AS (SELECT min(locale) FROM {table} UNION ALL"
    " SELECT (SELECT min(locale) FROM {table} WHERE locale > l.locale) FROM l WHERE l.locale IS NOT NULL)"
    " SELECT locale FROM l WHERE locale IS NOT NULL"
)


def _configs(conn: Any, table: str, locale: str | None) -> list[str]:
    """The configurations a search applies: the locale's, or those of every locale the table
    holds (a stemmer of a language the desk has no text in only adds false prefixes: Turkish's
    cuts "roa" to "ro", which nearly every article holds), and always the plain one."""
    if locale is not None:
        return [config_name(locale), SIMPLE_CONFIG]
    held = conn.execute(_LOCALES.format(table=table)).fetchall()
    return sorted({config_name(row[0]) for row in held} | {SIMPLE_CONFIG})


def _resolve(conn: Any, words: list[str], configs: list[str]) -> str | None:
    """The tsquery for `words`, made by PostgreSQL first and handed back as a value: the
    search's own statement then has a constant to plan with (estimates from the GIN index's
    statistics, not a guess that picks a scan of every row). It is PostgreSQL's own output,
    passed back as a parameter. None: some word holds no lexeme at all."""
    sql, params = _tsquery(words, configs)
    return conn.execute(f"SELECT ({sql})::text", params).fetchone()[0]


def _own_queries(conn: Any, words: list[str], configs: list[str]) -> list[list[str]]:
    """For a search over every locale: each configuration's own query (its stems or the plain
    forms), as parallel lists of configuration names and tsquery texts.

    The query over every configuration (`_tsquery`) finds the candidates through the index, but
    one language's stemmer can shorten a word into a prefix of another language's words; each
    candidate is checked, and ranked, with its own locale's query, joined in by configuration
    (made once here, not once per candidate row)."""
    term = _TERM.format(configs=f"ARRAY[c, '{SIMPLE_CONFIG}'::regconfig]")
    params: list[Any] = [f"{word}:*" for word in words]
    row = conn.execute(
        f"SELECT array_agg(c::text), array_agg(({' && '.join(term for _ in words)})::text)"
        " FROM unnest(%s::regconfig[]) c",
        [*params, configs],
    ).fetchone()
    return [row[0], row[1]]


# Joins each candidate to the query of its locale's configuration (`_own_queries`).
_OWN_JOIN = (
    " JOIN unnest(%s::regconfig[], %s::tsquery[]) AS own(config, query)"
    " ON own.config = desk_search_config({alias}locale)"
)


def kb_search(conn: Any, text: str, *, locale: str | None, limit: int, drafts: bool = False) -> list[KbHit]:
    """Articles matching every word of `text` (as prefixes), best first, as Store.kb_search:
    published ones only unless `drafts`, of `locale` when given (else of any), at most `limit`.
    The score is higher-is-better; the snippet is plain body text with the matches between
    SNIPPET_OPEN and SNIPPET_CLOSE. No words in `text`: no search, no hits."""
    words = query_words(text)
    if not words:
        return []
    configs = _configs(conn, "kb_articles", locale)
    query = _resolve(conn, words, configs)
    if query is None:
        return []  # a word PostgreSQL finds no lexeme in: nothing can hold it
    join, where, scope = "", ["a.search @@ %s::tsquery"], [query]
    if locale is None:
        join = _OWN_JOIN.format(alias="a.")
        scope = [*_own_queries(conn, words, configs), *scope]
        ranked, rank_params = "own.query", []
        where.append("a.search @@ own.query")
    else:
        ranked, rank_params = "%s::tsquery", [query]
        where.append("a.locale = %s")
        scope.append(locale)
    if not drafts:
        where.append("a.status = 'published'")
    sql = (
        "WITH hits AS ("
        " SELECT a.id, a.title, a.locale, a.tags, a.updated_at, a.body,"
        f" ts_rank_cd(%s::real[], a.search, {ranked}, %s) AS score"
        f" FROM kb_articles a{join} WHERE {' AND '.join(where)}"
        " ORDER BY score DESC, a.id LIMIT %s)"
        # The snippet only for the rows handed out: ts_headline re-parses the whole body.
        # Where the fragment sits in the body, so it can say "…" where it is cut, as FTS5's does.
        " SELECT h.id, h.title, h.locale, h.tags, h.updated_at, h.score, x.snip,"
        f" strpos(h.body, translate(x.snip, '{SNIPPET_OPEN}{SNIPPET_CLOSE}', '')), length(h.body)"
        " FROM hits h, LATERAL (SELECT ts_headline(desk_search_config(h.locale), h.body, %s::tsquery, %s)"
        " AS snip) x ORDER BY h.score DESC, h.id"
    )
    args = [list(RANK_WEIGHTS), *rank_params, RANK_NORMALIZATION, *scope, limit, query, _HEADLINE]
    return [
        KbHit(
            id=row[0],
            title=row[1],
            locale=row[2],
            tags=_tags(row[3]),
            snippet=_cut(row[6], row[7], row[8]),
            score=float(row[5]),
            updated_at=_moment(row[4]),
        )
        for row in conn.execute(sql, args).fetchall()
    ]


def canned_search(conn: Any, text: str, *, locale: str | None) -> list[CannedResponse]:
    """Canned responses whose shortcode starts with `text` or whose words match every word of
    it (as prefixes, stemmed or as written), in Store.list_canned's order (shortcode, locale).
    No words in `text`: every response (of `locale`), as list_canned without a query.

    Unlike list_canned's LIKE, a word matches from its start only ("fund" does not find
    "refund"); the shortcode prefix keeps `/ref`-style lookups working."""
    where: list[str] = []
    params: list[Any] = []
    words = query_words(text)
    if words:
        configs = _configs(conn, "canned_responses", locale)
        query = _resolve(conn, words, configs)
        match, params = ("search @@ %s::tsquery", [query]) if query is not None else ("false", [])
        if locale is None and query is not None:
            match += (
                " AND EXISTS (SELECT FROM unnest(%s::regconfig[], %s::tsquery[]) AS own(config, query)"
                " WHERE own.config = desk_search_config(locale) AND search @@ own.query)"
            )
            params += _own_queries(conn, words, configs)
        # LIKE's own wildcards in what was typed are literal characters here.
        prefix = re.sub(r"([\\%_])", r"\\\1", text.strip()) + "%"
        where.append(f"(({match}) OR shortcode ILIKE %s)")
        params.append(prefix)
    if locale is not None:
        where.append("locale = %s")
        params.append(locale)
    rows = conn.execute(
        "SELECT id, shortcode, title, body, locale FROM canned_responses"
        f" WHERE {' AND '.join(where) or 'true'} ORDER BY shortcode, locale",
        params,
    ).fetchall()
    return [CannedResponse(id=r[0], shortcode=r[1], title=r[2], body=r[3], locale=r[4]) for r in rows]


def _cut(snippet: str, at: int, body_length: int) -> str:
    """The fragment with "…" on each side the body goes on (`at`: where it starts, 1-based;
    0 when ts_headline changed the text and it cannot be found, then left as it is)."""
    if at == 0:
        return snippet
    shown = len(snippet.replace(SNIPPET_OPEN, "").replace(SNIPPET_CLOSE, ""))
    return ("…" if at > 1 else "") + snippet + ("…" if at - 1 + shown < body_length else "")


def _tags(value: Any) -> list[str]:
    return list(value) if isinstance(value, list) else json.loads(value)


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else from_iso(value)


# --- "any of these words": the bot's and the suggestions' searches ----------------------------------


def _any_query(words: list[str]) -> str | None:
    """`a:* | b:*` of the words as written (letters and digits only, so never syntax)."""
    pieces = [p[:MAX_WORD_LENGTH] for word in words for p in _WORD.findall(word)]
    unique = list(dict.fromkeys(p.lower() for p in pieces))[: MAX_WORDS * 2]
    return " | ".join(f"{p}:*" for p in unique) or None


def any_word_search(conn: Any, words: list[str], *, locale: str | None, limit: int) -> list[Any]:
    """Published articles holding any of `words` (each a prefix, as written, accents folded),
    best first by the agents' search ranking: the twin of FTS5's `"a"* OR "b"*` with bm25.
    Rows: id, slug, title, locale, tags, body, snip (a ts_headline fragment), score."""
    query = _any_query(words)
    if query is None:
        return []
    where, scope = "", []
    if locale is not None:
        where, scope = " AND a.locale = %s", [locale]
    sql = (
        "WITH q AS (SELECT to_tsquery(%s::regconfig, %s) AS query), hits AS ("
        " SELECT a.id, a.slug, a.title, a.locale, a.tags, a.body,"
        " ts_rank_cd(%s::real[], a.search, q.query, %s) AS score"
        f" FROM kb_articles a, q WHERE a.search @@ q.query AND a.status = 'published'{where}"
        " ORDER BY score DESC, a.id LIMIT %s)"
        " SELECT h.id, h.slug, h.title, h.locale, h.tags, h.body,"
        " ts_headline(desk_search_config(h.locale), h.body, q.query, %s) AS snip, h.score"
        " FROM hits h, q ORDER BY h.score DESC, h.id"
    )
    args = [SIMPLE_CONFIG, query, list(RANK_WEIGHTS), RANK_NORMALIZATION, *scope, limit, _HEADLINE]
    return conn.execute(sql, args).fetchall()


def count_holding(conn: Any, word: str, *, locale: str | None) -> int:
    """Published articles (of `locale`, or any) holding `word` as a prefix: its rarity."""
    query = _any_query([word])
    if query is None:
        return 0
    where, scope = "", []
    if locale is not None:
        where, scope = " AND locale = %s", [locale]
    return conn.execute(
        "SELECT count(*) FROM kb_articles WHERE search @@ to_tsquery(%s::regconfig, %s)"
        f" AND status = 'published'{where}",
        [SIMPLE_CONFIG, query, *scope],
    ).fetchone()[0]
