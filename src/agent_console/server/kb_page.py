"""The public help-center page of one article: its Markdown as HTML, safely.

Article text is untrusted (whoever wrote or imported it). The Markdown parser runs with raw
HTML off, so `<script>` or `<img onerror=...>` in an article reach the page as visible text,
never as markup; links keep only http, https, mailto and relative targets (markdown-it
already refuses javascript:, vbscript:, file: and data:). The page also goes out with
`Content-Security-Policy: default-src 'none'`, so nothing on it can run or load anyway.
"""

from __future__ import annotations

import html
import re
from functools import cache

from markdown_it import MarkdownIt

from agent_console.core.models import KbArticle

_SAFE_LINK = re.compile(r"^(https?:|mailto:|[/#?.]|[^:]*$)", re.IGNORECASE)


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    validate = md.validateLink
    md.validateLink = lambda url: validate(url) and bool(_SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]
    return md


def render_body(markdown: str) -> str:
    return _parser().render(markdown)


def render(article: KbArticle) -> str:
    title = html.escape(article.title)
    return (
        f'<!doctype html><html lang="{html.escape(article.locale)}"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1>"
        f'<article style="max-width: 45em">{render_body(article.body)}</article></body></html>'
    )
