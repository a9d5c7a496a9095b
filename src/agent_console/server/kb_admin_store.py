"""Running the desk's knowledge base: articles written by admins (with their revisions) and
the KB gap log (searches that found nothing good), as a mixin of the store.

Split from `admin_store.py` by feature; the same rules hold: each write is one transaction of
the store's (`_write`) with its events, everything is checked before the first row changes,
and `upsert_article` is also what the demo seed calls, so bundled articles go through the same
checks.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from agent_console.core import gaps
from agent_console.core.clock import from_iso, to_iso, utcnow
from agent_console.core.kbdoc import clean_body
from agent_console.core.models import (
    Agent,
    KbArticle,
    KbArticleInput,
    KbArticleUpdate,
    KbGap,
    KbGapReport,
    KbRevision,
)
from agent_console.server import store_base as _st
from agent_console.server.admin_store import check_title

if TYPE_CHECKING:
    from agent_console.server.store import Store

    _Base = Store
else:
    _Base = object

UNSET = msgspec.UNSET


class KbAdminStore(_Base):
    """Mixed into `Store`: uses its `conn`, `_write`, `get_agent`."""

    def kb_article_detail(self, article_id: int) -> KbArticle:
        row = self.conn.execute("SELECT * FROM kb_articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            raise _st.NotFound(f"no knowledge-base article with id {article_id}")
        return _detail(row)

    def list_kb_articles(self, *, locale: str | None, status: str | None) -> list[KbArticle]:
        clauses, params = [], []
        if locale:
            clauses.append("locale = ?")
            params.append(locale)
        if status:
            clauses.append("status = ?")
            params.append(status)
        where = " AND ".join(clauses) or "1 = 1"
        rows = self.conn.execute(
            f"SELECT * FROM kb_articles WHERE {where} ORDER BY translation_key, locale, id", params
        ).fetchall()
        return [_detail(row) for row in rows]

    def add_kb_article(self, new: KbArticleInput, actor: Agent) -> KbArticle:
        row = self.conn.execute(
            "SELECT id FROM kb_articles WHERE slug = ? AND locale = ?", (new.slug, new.locale)
        ).fetchone()
        if row is not None:
            raise _st.Conflict(
                f"an article with slug {new.slug!r} in {new.locale} exists already (id {row[0]})",
                field="slug",
            )
        return self.import_kb_article(new, actor)[0]

    def import_kb_article(self, doc: KbArticleInput, actor: Agent) -> tuple[KbArticle, str]:
        """Create or update the article with this slug and locale; the same text twice is
        `unchanged` (no revision, no event)."""
        check_title(doc.title)
        with self._write() as tx:
            article_id, outcome = upsert_article(
                tx.conn,
                now=tx.now,
                slug=doc.slug,
                locale=doc.locale,
                title=doc.title,
                body=doc.body,
                tags=doc.tags,
                status=doc.status,
                translation_key=doc.translation_key,
                author_id=actor.id,
                author_name=actor.name,
            )
            article = self.kb_article_detail(article_id)
            if outcome != "unchanged":
                tx.emit(f"kb.article.{outcome}", {"article": _event_view(article)})
        return article, outcome

    def edit_kb_article(self, article_id: int, update: KbArticleUpdate, actor: Agent) -> KbArticle:
        current = self.kb_article_detail(article_id)
        if update.title is not UNSET:
            check_title(update.title)
        with self._write() as tx:
            _, outcome = upsert_article(
                tx.conn,
                now=tx.now,
                slug=current.slug,
                locale=current.locale,
                title=current.title if update.title is UNSET else update.title,
                body=current.body if update.body is UNSET else update.body,
                tags=current.tags if update.tags is UNSET else update.tags,
                status=current.status if update.status is UNSET else update.status,
                translation_key=(
                    current.translation_key if update.translation_key is UNSET else update.translation_key
                ),
                author_id=actor.id,
                author_name=actor.name,
            )
            article = self.kb_article_detail(article_id)
            if outcome != "unchanged":
                tx.emit("kb.article.updated", {"article": _event_view(article)})
        return article

    def kb_revisions(self, article_id: int) -> list[KbRevision]:
        self.kb_article_detail(article_id)
        rows = self.conn.execute(
            "SELECT * FROM kb_revisions WHERE article_id = ? ORDER BY revision DESC", (article_id,)
        ).fetchall()
        return [
            KbRevision(
                revision=r["revision"],
                title=r["title"],
                body=r["body"],
                tags=json.loads(r["tags"]),
                status=r["status"],
                author_id=r["author_id"],
                author_name=r["author_name"],
                at=from_iso(r["at"]),
            )
            for r in rows
        ]

    # --- KB gaps ------------------------------------------------------------------------------

    def record_kb_search(
        self,
        query: str,
        *,
        locale: str | None,
        best: Any,
        agent_id: int | None,
        source: str = "search",
    ) -> None:
        """Log a search whose best hit (`best`, a KbHit or None) is not a confident answer; a
        confident one clears the gap the same agent was typing toward (see core/gaps.py).
        Not an event: nobody watches it live."""
        score = None if best is None else best.score
        gap = gaps.is_gap(query, score, best.title if best else "", best.tags if best else [])
        if not gap and agent_id is None:
            return  # nothing to log, and no gap of this searcher's to clear
        now = utcnow()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            last = None
            if agent_id is not None:
                last = self.conn.execute(
                    "SELECT id, query, locale FROM kb_gaps WHERE agent_id = ? AND source = ? AND at >= ?"
                    " ORDER BY id DESC LIMIT 1",
                    (agent_id, source, to_iso(now - timedelta(seconds=gaps.TYPING_WINDOW))),
                ).fetchone()
            typing_on = last is not None and gaps.same_question(last["query"], query)
            if not gap:
                # A hit in another language does not answer a question asked in this one.
                if typing_on and last["locale"] == (locale or ""):
                    self.conn.execute("DELETE FROM kb_gaps WHERE id = ?", (last["id"],))
            elif typing_on:
                self.conn.execute(
                    "UPDATE kb_gaps SET query = ?, norm = ?, best_score = ?, at = ? WHERE id = ?",
                    (query, gaps.normalise(query), score, to_iso(now), last["id"]),
                )
            elif gaps.normalise(query):
                self.conn.execute(
                    "INSERT INTO kb_gaps(source, query, norm, locale, best_score, agent_id, at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (source, query, gaps.normalise(query), locale or "", score, agent_id, to_iso(now)),
                )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def kb_gap_report(self, since: datetime) -> KbGapReport:
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        rows = self.conn.execute(
            "SELECT source, query, norm, locale, at FROM kb_gaps WHERE at >= ? ORDER BY id", (to_iso(since),)
        )
        for row in rows:
            group = groups.setdefault(
                (row["locale"], row["norm"]),
                {"count": 0, "wordings": {}, "sources": set(), "last": row["at"]},
            )
            group["count"] += 1
            wording = " ".join(row["query"].split())
            group["wordings"][wording] = group["wordings"].get(wording, 0) + 1
            group["sources"].add(row["source"])
            group["last"] = max(group["last"], row["at"])
        items = [
            KbGap(
                key=norm,
                locale=locale,
                count=group["count"],
                # The commonest wording; ties go to the first seen (dicts keep order).
                example=max(group["wordings"], key=group["wordings"].__getitem__),
                sources=sorted(group["sources"]),
                last_at=from_iso(group["last"]),
            )
            for (locale, norm), group in groups.items()
        ]
        items.sort(key=lambda gap: (-gap.count, gap.locale, gap.key))
        return KbGapReport(items=items, since=since, threshold=gaps.CONFIDENT_SCORE)


# --- row-level helpers: the store above and the demo seed both write through these ----------


def upsert_article(
    conn: sqlite3.Connection,
    *,
    now: datetime,
    slug: str,
    locale: str,
    title: str,
    body: str,
    tags: Any,
    status: str,
    translation_key: str | None,
    author_id: int | None,
    author_name: str,
    updated_at: datetime | None = None,
) -> tuple[int, str]:
    """Create or update the article (slug, locale), keeping a revision of every change.
    Returns (id, created | updated | unchanged)."""
    title = check_title(title)
    body = clean_body(body)
    if not body.strip():
        raise _st.Invalid("the article body is empty", field="body")
    tags_json = json.dumps(list(dict.fromkeys(tags)))
    row = conn.execute("SELECT * FROM kb_articles WHERE slug = ? AND locale = ?", (slug, locale)).fetchone()
    key = translation_key or (row["translation_key"] if row is not None else slug)
    if translation_key and translation_key != slug:
        # A translation names an article that exists (in any locale), or the link leads nowhere.
        if (
            conn.execute(
                "SELECT 1 FROM kb_articles WHERE translation_key = ? OR slug = ? LIMIT 1",
                (translation_key, translation_key),
            ).fetchone()
            is None
        ):
            raise _st.NotFound(
                f"no article with slug {translation_key!r} to translate", field="translation_key"
            )
        if conn.execute(
            "SELECT 1 FROM kb_articles WHERE translation_key = ? AND locale = ? AND slug != ?",
            (translation_key, locale, slug),
        ).fetchone():
            raise _st.Conflict(f"{translation_key!r} has a {locale} version already", field="translation_key")
    stamp = to_iso(updated_at or now)
    if row is None:
        cursor = conn.execute(
            "INSERT INTO kb_articles(slug, title, body, tags, locale, updated_at, status, translation_key,"
            " revision, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?) RETURNING id",
            (slug, title, body, tags_json, locale, stamp, status, key, author_name or None),
        )
        article_id, revision, outcome = cursor.fetchone()[0], 1, "created"
    else:
        same = (row["title"], row["body"], row["tags"], row["status"], row["translation_key"]) == (
            title,
            body,
            tags_json,
            status,
            key,
        )
        if same:
            return row["id"], "unchanged"
        article_id, revision, outcome = row["id"], row["revision"] + 1, "updated"
        conn.execute(
            "UPDATE kb_articles SET title = ?, body = ?, tags = ?, status = ?, translation_key = ?,"
            " revision = ?, updated_at = ?, updated_by = ? WHERE id = ?",
            (title, body, tags_json, status, key, revision, stamp, author_name or None, article_id),
        )
    conn.execute(
        "INSERT INTO kb_revisions(article_id, revision, title, body, tags, status, author_id,"
        " author_name, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (article_id, revision, title, body, tags_json, status, author_id, author_name, stamp),
    )
    return article_id, outcome


def _detail(row: sqlite3.Row) -> KbArticle:
    return msgspec.convert({**dict(row), "tags": json.loads(row["tags"])}, KbArticle)


def _event_view(article: KbArticle) -> dict[str, Any]:
    """What the feed says of an article: enough to refresh a list; the body is read on demand."""
    return {
        "id": article.id,
        "slug": article.slug,
        "locale": article.locale,
        "title": article.title,
        "tags": article.tags,
        "status": article.status,
        "translation_key": article.translation_key,
        "revision": article.revision,
        "updated_at": to_iso(article.updated_at),
    }
