"""Markdown's inline marks taken out, for text that is read as text: a KB snippet in the
console, or a quote that goes into a reply to a customer (whose chat or email shows
`**bold**` as asterisks). Block structure (paragraphs, list bullets, quotes) is kept."""

from __future__ import annotations

import re

_LINK = re.compile(r"!?\[([^\]\n]+)\]\(([^)\s]+)[^)]*\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
# A single * or _ emphasises only between non-word edges: `snake_case` and `2*3*4` stay.
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")
_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)


def to_plain(text: str, *, links: bool = True) -> str:
    """`**vor der Reise**` -> `vor der Reise`; `[Settings](https://x)` -> `Settings (https://x)`,
    or `Settings` with `links=False` (a snippet line has no room for the address).

    Marks cut off by a snippet's edge (`**vor der…`) lose their stray markers too."""
    text = _LINK.sub(lambda m: f"{m[1]} ({m[2]})" if links else m[1], text)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _HEADING.sub("", text)
    return text.replace("**", "").replace("__", "")
