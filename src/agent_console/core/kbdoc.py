"""Knowledge-base articles as files: Markdown with a front matter block (pure, no I/O).

One format for `kb import`, `kb export` and the demo's bundled articles::

    ---
    title: Install your eSIM on an iPhone
    locale: en
    tags: esim, iphone, install
    slug: install-esim-iphone          (optional: else the file name, less a `<locale>-` prefix)
    translation: install-esim-iphone   (optional: the slug of the article this one translates)
    status: published                  (optional: published or draft; published by default)
    updated: 2026-10-03                (optional: YYYY-MM-DD, kept as the article's date)
    ---
    Markdown body...

An article is known by (slug, locale): importing the same file again updates that article
and never makes a second one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

REQUIRED_KEYS = ("title", "locale", "tags")
OPTIONAL_KEYS = ("slug", "translation", "status", "updated")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TAG_RE = SLUG_RE
LOCALE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
# Bidi overrides and isolates: they make text read differently from what it is.
_BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


class KbFileError(ValueError):
    """A file that is not an article; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class KbDoc:
    slug: str
    title: str
    locale: str
    body: str
    tags: tuple[str, ...] = ()
    status: str = "published"
    translation_key: str | None = None
    updated: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


def clean_body(text: str) -> str:
    """The stored form of an article body: LF line ends, no control characters but tab and
    newline, no bidi overrides, one final newline. Every write stores this form, so an export
    read back in compares equal (and imports as unchanged)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_BIDI)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return text.strip("\n").rstrip() + "\n"


def slugify(text: str) -> str:
    """`Données à l'étranger` -> `donnees-a-l-etranger`: ASCII words joined by `-`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text.lower()))[:120].strip("-")


def parse_kb_file(filename: str, text: str) -> KbDoc:
    """Parse one `.md` file; KbFileError names the file and what is wrong."""

    def bad(reason: str) -> KbFileError:
        return KbFileError(f"{filename}: {reason}")

    lines = text.replace("\r\n", "\n").lstrip("\ufeff").split("\n")
    if not lines or lines[0].strip() != "---":
        raise bad("missing front matter: the first line must be '---'")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise bad("front matter is not closed with '---'")
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep or not key:
            raise bad(f"line {number}: expected 'key: value', got {line!r}")
        if key not in REQUIRED_KEYS + OPTIONAL_KEYS:
            raise bad(f"line {number}: unknown front matter key {key!r}")
        if key in meta:
            raise bad(f"line {number}: {key!r} given twice")
        meta[key] = value
    missing = [key for key in REQUIRED_KEYS if key not in meta or (key != "tags" and not meta[key])]
    if missing:
        raise bad(f"front matter is missing {', '.join(missing)}")
    locale = meta["locale"]
    if not LOCALE_RE.match(locale):
        raise bad(f"locale must be a language code such as en or pt-BR, not {locale!r}")
    stem = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem[: -len(".md")] if stem.endswith(".md") else stem
    slug = meta.get("slug") or (stem[len(locale) + 1 :] if stem.startswith(f"{locale}-") else stem)
    if not SLUG_RE.match(slug):
        raise bad(f"slug {slug!r} must be lowercase letters and digits joined by '-'")
    tags = tuple(dict.fromkeys(t.strip().lower() for t in meta["tags"].split(",") if t.strip()))
    for tag in tags:
        if not TAG_RE.match(tag):
            raise bad(f"bad tag {tag!r}: use lowercase words joined by '-'")
    status = meta.get("status", "published")
    if status not in ("published", "draft"):
        raise bad(f"status must be published or draft, not {status!r}")
    translation = meta.get("translation") or None
    if translation is not None and not SLUG_RE.match(translation):
        raise bad(f"translation {translation!r} must be the slug of the article it translates")
    updated = None
    if meta.get("updated"):
        try:
            day = date.fromisoformat(meta["updated"])
        except ValueError:
            raise bad(f"updated must be a YYYY-MM-DD date, not {meta['updated']!r}") from None
        updated = datetime(day.year, day.month, day.day, tzinfo=UTC)
    body = clean_body("\n".join(lines[end + 1 :]))
    if not body.strip():
        raise bad("the article body is empty")
    if any(ch in meta["title"] for ch in "\x00\x1b"):
        raise bad("the title holds control characters")
    return KbDoc(
        slug=slug,
        title=meta["title"],
        locale=locale,
        body=body,
        tags=tags,
        status=status,
        translation_key=translation,
        updated=updated,
    )


def file_name(slug: str, locale: str) -> str:
    return f"{locale}-{slug}.md"


def render_kb_file(doc: KbDoc) -> str:
    """The file `parse_kb_file` reads back as the same article."""
    lines = [
        "---",
        f"title: {' '.join(doc.title.split())}",
        f"locale: {doc.locale}",
        f"tags: {', '.join(doc.tags)}",
        f"slug: {doc.slug}",
    ]
    if doc.translation_key and doc.translation_key != doc.slug:
        lines.append(f"translation: {doc.translation_key}")
    lines.append(f"status: {doc.status}")
    if doc.updated is not None:
        lines.append(f"updated: {doc.updated.date().isoformat()}")
    lines.append("---")
    return "\n".join(lines) + "\n" + clean_body(doc.body)
