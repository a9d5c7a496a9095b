"""An admin edits a KB article in their own `$EDITOR`: the console steps aside (the app is
suspended), the editor gets a temporary file in the `kb import` format (front matter, then
the Markdown), and what comes back is saved through the API as a new revision. An unchanged
file is a cancel; a file that does not parse is not saved, and stays where the admin can
find it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import msgspec
from textual.app import App, SuspendNotSupported

from agent_console.core.kbdoc import KbDoc, KbFileError, file_name, parse_kb_file, render_kb_file
from agent_console.core.models import KbArticle, KbArticleUpdate


@dataclass(frozen=True, slots=True)
class Edited:
    """What came back from the editor: an update to send, or why there is none."""

    update: KbArticleUpdate | None
    message: str
    kept: Path | None = None  # the file, left in place when its text could not be saved


def editor_command() -> list[str]:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(editor)


def as_file(article: KbArticle) -> str:
    return render_kb_file(
        KbDoc(
            slug=article.slug,
            title=article.title,
            locale=article.locale,
            body=article.body,
            tags=tuple(article.tags),
            status=article.status,
            translation_key=article.translation_key or None,
        )
    )


def changes(article: KbArticle, text: str) -> KbArticleUpdate | None:
    """The fields the edited file changes (None: nothing); KbFileError if it is not an article
    or tries to move it to another slug or language."""
    name = file_name(article.slug, article.locale)
    doc = parse_kb_file(name, text)
    if (doc.slug, doc.locale) != (article.slug, article.locale):
        raise KbFileError(f"{name}: slug and locale name the article; write a new one to change them")
    fields = {
        "title": doc.title,
        "body": doc.body,
        "tags": list(doc.tags),
        "status": doc.status,
        "translation_key": doc.translation_key or article.slug,
    }
    held = {
        "title": article.title,
        "body": article.body,
        "tags": article.tags,
        "status": article.status,
        "translation_key": article.translation_key or article.slug,
    }
    changed = {key: value for key, value in fields.items() if value != held[key]}
    return KbArticleUpdate(**changed) if changed else None


def edit(app: App, article: KbArticle) -> Edited:
    """Run the editor on the article (the app suspended while it runs) and read the result."""
    original = as_file(article)
    handle, raw_path = tempfile.mkstemp(prefix=f"kb-{article.locale}-{article.slug}-", suffix=".md")
    path = Path(raw_path)  # mkstemp makes it readable by its owner only
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(original)
    command = [*editor_command(), str(path)]
    try:
        try:
            with app.suspend():
                result = subprocess.run(command, check=False)
        except SuspendNotSupported:
            # No terminal to hand over (a headless run): the editor runs without one.
            result = subprocess.run(command, check=False, stdin=subprocess.DEVNULL, capture_output=True)
    except OSError as exc:
        path.unlink(missing_ok=True)
        return Edited(None, f"could not start the editor {command[0]!r}: {exc.strerror or exc}")
    text = path.read_text(encoding="utf-8")
    if result.returncode != 0:
        path.unlink(missing_ok=True)
        return Edited(None, f"the editor exited with {result.returncode}: nothing saved")
    if text == original:
        path.unlink(missing_ok=True)
        return Edited(None, "unchanged: nothing saved")
    try:
        update = changes(article, text)
    except KbFileError as exc:
        return Edited(None, f"not saved: {exc}. Your text is in {path}", kept=path)
    path.unlink(missing_ok=True)
    if update is None:
        return Edited(None, "unchanged: nothing saved")
    what = ", ".join(name for name in update.__struct_fields__ if getattr(update, name) is not msgspec.UNSET)
    return Edited(update, f"saving {what}")
