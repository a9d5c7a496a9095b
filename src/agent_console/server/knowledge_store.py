"""Knowledge, as a mixin of the store: labels in use, canned responses, and knowledge-base
search (FTS5, best first) and articles. Writing them as an admin is `kb_admin_store.py`.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import msgspec

from agent_console.core.clock import from_iso
from agent_console.core.labels import fold_label
from agent_console.core.models import CannedResponse, KbArticle, KbHit, LabelCount
from agent_console.server import pg_search
from agent_console.server.store_base import NotFound

if TYPE_CHECKING:
    from agent_console.server.store import Store

    _Base = Store
else:
    _Base = object


def fts_query(text: str) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word, as a prefix."""
    words = re.findall(r"\w+", text)
    if not words:
        return None
    return " ".join(f'"{word}"*' for word in words[:12])


class KnowledgeStoreMixin(_Base):
    # --- labels ---------------------------------------------------------------------------

    def list_labels(self) -> list[LabelCount]:
        """Every label in use or on the managed list (with its colour), with how many
        conversations carry it, by name.

        Folded here too: rows written before labels were folded count with their folded form."""
        colours = {row[0]: row[1] for row in self.conn.execute("SELECT name, color FROM labels")}
        counts: dict[str, int] = dict.fromkeys(colours, 0)
        rows = self.conn.execute(
            f"SELECT j.value, count(*) FROM conversations c, {self.conn.json_values('c.labels')}"
            " GROUP BY j.value"
        ).fetchall()
        for value, count in rows:
            name = fold_label(value)
            counts[name] = counts.get(name, 0) + count
        return [LabelCount(name=name, count=counts[name], color=colours.get(name)) for name in sorted(counts)]

    # --- canned responses and knowledge base ----------------------------------------------

    def list_canned(self, *, query: str | None, locale: str | None) -> list[CannedResponse]:
        clauses, params = [], []
        if query:
            pattern = f"%{query}%"
            clauses.append("(shortcode LIKE ? OR title LIKE ? OR body LIKE ?)")
            params += [pattern, pattern, pattern]
        if locale:
            clauses.append("locale = ?")
            params.append(locale)
        where = " AND ".join(clauses) or "1 = 1"
        rows = self.conn.execute(
            f"SELECT * FROM canned_responses WHERE {where} ORDER BY shortcode, locale", params
        ).fetchall()
        return [msgspec.convert(dict(r), CannedResponse) for r in rows]

    def kb_search(
        self, query: str, *, locale: str | None, limit: int, agent_id: int | None = None
    ) -> list[KbHit]:
        """Published articles matching `query`, best first. A search with no confident hit is
        logged for the KB gap report (kb_admin_store.record_kb_search)."""
        if self.conn.dialect == "postgresql":
            # tsvector search, ranked as close to bm25 as ts_rank_cd gets (docs/POSTGRES.md). Its
            # scores are on another scale, never past gaps.CONFIDENT_SCORE: a gap is decided by
            # whether the best hit's title and tags cover the question.
            hits = pg_search.kb_search(self.conn.raw, query, locale=locale, limit=limit)
            if hits or pg_search.query_words(query):
                self.record_kb_search(query, locale=locale, best=hits[0] if hits else None, agent_id=agent_id)
            return hits
        match = fts_query(query)
        if match is None:
            return []
        sql = (
            "SELECT a.id, a.title, a.locale, a.tags, a.updated_at,"
            " snippet(kb_fts, 1, char(57344), char(57345), '…', 24) AS snip,"
            " bm25(kb_fts, 10.0, 1.0, 4.0) AS score"
            # Every match is ranked, so each is checked for status and locale: in the covering
            # index (the planner would read each article's row, body and all, twice as slow).
            " FROM kb_fts JOIN kb_articles a INDEXED BY kb_articles_live ON a.id = kb_fts.rowid"
            " WHERE kb_fts MATCH ? AND a.status = 'published'"
        )
        params: list[Any] = [match]
        if locale:
            sql += " AND a.locale = ?"
            params.append(locale)
        sql += " ORDER BY score LIMIT ?"
        params.append(limit)
        hits = [
            KbHit(
                id=r["id"],
                title=r["title"],
                locale=r["locale"],
                tags=json.loads(r["tags"]),
                snippet=r["snip"],
                score=-r["score"],  # bm25 is lower-is-better; hand out higher-is-better
                updated_at=from_iso(r["updated_at"]),
            )
            for r in self.conn.execute(sql, params)
        ]
        self.record_kb_search(query, locale=locale, best=hits[0] if hits else None, agent_id=agent_id)
        return hits

    def get_kb_article(self, article_id: int, *, drafts: bool = False) -> KbArticle:
        row = self.conn.execute("SELECT * FROM kb_articles WHERE id = ?", (article_id,)).fetchone()
        if row is None or (row["status"] != "published" and not drafts):
            raise NotFound(f"no knowledge-base article with id {article_id}")
        return msgspec.convert({**dict(row), "tags": json.loads(row["tags"])}, KbArticle)
