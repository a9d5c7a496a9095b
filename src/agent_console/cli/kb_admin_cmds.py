"""Admin verbs on the `kb` and `canned` nouns: write, publish, import and export articles, read
their revisions and the gap report; write and delete canned responses.

`kb import DIR` reads every `*.md` below DIR (front matter: title, locale, tags; see
core/kbdoc.py), checks them all before sending anything, then creates or updates each article
by its slug and locale, so running it again updates and never duplicates. `kb export DIR`
writes the same format back.

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from agent_console.cli.lookup_cmds import LocaleOption, canned_app, kb_app
from agent_console.cli.options import EPILOG, Settings, command

ArticleId = Annotated[int, typer.Argument(metavar="ID", min=1, help="The article's id.")]
BodyOption = Annotated[
    str | None, typer.Option("--body", metavar="FILE", help="Read the Markdown body from FILE ('-': stdin).")
]
TagsOption = Annotated[str | None, typer.Option("--tags", help="Comma-separated tags, e.g. esim,iphone.")]


def _run(settings: Settings, work, show) -> None:
    from agent_console.cli import admin_output, output, runtime

    show(output, admin_output, output.Out(settings), runtime.call(settings, work))


def _admin(backend: Any):  # -> AdminCalls
    from agent_console.client.admin import require_admin_calls

    return require_admin_calls(backend)


def _read_body(source: str) -> str:
    if source == "-":
        text = sys.stdin.read() if sys.stdin is not None else ""
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(f"cannot read {source}: {exc}", param_hint="--body") from None
    if not text.strip():
        raise typer.BadParameter("the body is empty", param_hint="--body")
    return text


def _tags(text: str | None) -> list[str]:
    return [t.strip().lower() for t in (text or "").split(",") if t.strip()]


# --- writing articles ------------------------------------------------------------------------


def kb_list(
    settings: Settings,
    locale: LocaleOption = None,
    status: Annotated[str | None, typer.Option(help="draft or published.")] = None,
) -> None:
    """List articles with their state (admins see drafts too).

    \b
    Example:
      agent-console kb list --status draft
    """

    async def work(backend):
        return await _admin(backend).kb_articles(locale=locale, status=status)

    _run(settings, work, lambda o, a, out, items: o.show_list(out, items, a.ARTICLES))


def kb_new(
    settings: Settings,
    title: Annotated[str, typer.Argument(help="The article's title.")],
    body: BodyOption = None,
    locale: Annotated[str, typer.Option("--locale", metavar="LANG", help="Its language.")] = "en",
    tags: TagsOption = None,
    slug: Annotated[str | None, typer.Option(help="Its stable key (default: from the title).")] = None,
    translation_of: Annotated[
        str | None, typer.Option("--translation-of", metavar="SLUG", help="The article this one translates.")
    ] = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish at once (default: a draft).")] = False,
) -> None:
    """Write a new article (a draft unless --publish).

    \b
    Examples:
      agent-console kb new 'Reset your PIN' --body pin.md --tags sim,pin --publish
      agent-console kb new 'PIN zurücksetzen' --locale de --translation-of reset-your-pin --body -
    """
    from agent_console.core.kbdoc import slugify
    from agent_console.core.models import KbArticleInput

    if body is None:
        raise typer.BadParameter("give the body with --body FILE (or - for stdin)", param_hint="--body")
    text = _read_body(body)
    key = slug or slugify(title)
    if not key:
        raise typer.BadParameter(
            "the title has no letters to make a slug from: give --slug", param_hint="--slug"
        )

    async def work(backend):
        new = KbArticleInput(
            slug=key,
            title=title,
            body=text,
            locale=locale,
            tags=_tags(tags),
            status="published" if publish else "draft",
            translation_key=translation_of,
        )
        return await _admin(backend).create_kb_article(new)

    _run(
        settings,
        work,
        lambda o, a, out, item: o.show_one(out, item, a.ARTICLES, summary=_said(item, "created")),
    )


def _said(article: Any, verb: str) -> str:
    where = f"#{article.id} {article.locale}/{article.slug}"
    return f"{where} {verb} (revision {article.revision}, {article.status})"


def kb_edit(
    settings: Settings,
    article_id: ArticleId,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    body: BodyOption = None,
    tags: TagsOption = None,
    translation_of: Annotated[
        str | None,
        typer.Option("--translation-of", metavar="SLUG", help="Link it to this article's translations."),
    ] = None,
) -> None:
    """Change an article; every change keeps a revision.

    \b
    Example:
      agent-console kb edit 12 --body apn.md --tags apn,android
    """
    import msgspec

    from agent_console.core.models import KbArticleUpdate

    text = None if body is None else _read_body(body)
    update = KbArticleUpdate(
        title=msgspec.UNSET if title is None else title,
        body=msgspec.UNSET if text is None else text,
        tags=msgspec.UNSET if tags is None else _tags(tags),
        translation_key=msgspec.UNSET if translation_of is None else translation_of,
    )

    async def work(backend):
        return await _admin(backend).update_kb_article(article_id, update)

    _run(
        settings,
        work,
        lambda o, a, out, item: o.show_one(out, item, a.ARTICLES, summary=_said(item, "saved")),
    )


def _set_status(settings: Settings, article_id: int, status: str) -> None:
    from agent_console.core.models import KbArticleUpdate

    async def work(backend):
        return await _admin(backend).update_kb_article(article_id, KbArticleUpdate(status=status))

    _run(
        settings, work, lambda o, a, out, item: o.show_one(out, item, a.ARTICLES, summary=_said(item, status))
    )


def kb_publish(settings: Settings, article_id: ArticleId) -> None:
    """Publish an article: agents find it in search and customers can open its page.

    \b
    Example:
      agent-console kb publish 12
    """
    _set_status(settings, article_id, "published")


def kb_unpublish(settings: Settings, article_id: ArticleId) -> None:
    """Take an article back to draft: out of search and off the public help center.

    \b
    Example:
      agent-console kb unpublish 12
    """
    _set_status(settings, article_id, "draft")


def kb_revisions(settings: Settings, article_id: ArticleId) -> None:
    """An article's revisions, newest first, with author and time.

    \b
    Example:
      agent-console kb revisions 12 -o json
    """

    async def work(backend):
        return await _admin(backend).kb_revisions(article_id)

    _run(settings, work, lambda o, a, out, items: o.show_list(out, items, a.REVISIONS))


# --- import and export -----------------------------------------------------------------------


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, one line per file otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.tty = sys.stderr.isatty()

    def step(self, name: str, outcome: str) -> None:
        self.done += 1
        if self.tty:
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {outcome:<9} {name[:40]:<40}")
            if self.done == self.total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(f"[{self.done}/{self.total}] {outcome} {name}\n")
        sys.stderr.flush()


def _read_folder(folder: Path) -> list[tuple[str, Any]]:
    """Every article file below `folder`, parsed; a usage error listing every bad file."""
    from agent_console.core.kbdoc import KbFileError, parse_kb_file

    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder", param_hint="DIR")
    files = sorted(p for p in folder.rglob("*.md") if p.is_file())
    if not files:
        raise typer.BadParameter(f"no .md files in {folder}", param_hint="DIR")
    docs, problems, seen = [], [], {}
    for path in files:
        name = str(path.relative_to(folder))
        try:
            doc = parse_kb_file(name, path.read_text(encoding="utf-8"))
        except (KbFileError, UnicodeDecodeError, OSError) as exc:
            problems.append(str(exc) if isinstance(exc, KbFileError) else f"{name}: {exc}")
            continue
        key = (doc.slug, doc.locale)
        if key in seen:
            problems.append(f"{name}: same slug and locale as {seen[key]} ({doc.locale}/{doc.slug})")
            continue
        seen[key] = name
        docs.append((name, doc))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise typer.BadParameter(f"nothing imported: {len(problems)} bad file(s): {shown}", param_hint="DIR")
    # Articles first, their translations after: a translation names an article that must exist.
    docs.sort(
        key=lambda item: (bool(item[1].translation_key and item[1].translation_key != item[1].slug), item[0])
    )
    return docs


def kb_import(
    settings: Settings,
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="A folder of Markdown files with front matter.")
    ],
) -> None:
    """Import a folder of articles: new ones are created, changed ones updated (a revision
    each), the rest left alone. Safe to run again; never duplicates.

    \b
    Each file: front matter, then the Markdown body:
      ---
      title: Install your eSIM on an iPhone
      locale: en
      tags: esim, iphone
      slug: install-esim-iphone        (optional; default: the file name, less '<locale>-')
      translation: install-esim-iphone (optional; the slug of the article it translates)
      status: published                (optional; published or draft, default published)
      ---

    \b
    Examples:
      agent-console kb import ./help-center
      agent-console kb import ./help-center -o json
    """
    from agent_console.core.models import KbArticleInput

    docs = _read_folder(folder)

    async def work(backend):
        from agent_console.client.errors import BackendError, NotAuthenticated, Unreachable

        admin = _admin(backend)
        progress = Progress(len(docs))
        results, failures = [], []
        for name, doc in docs:
            payload = KbArticleInput(
                slug=doc.slug,
                title=doc.title,
                body=doc.body,
                locale=doc.locale,
                tags=list(doc.tags),
                status=doc.status,  # type: ignore[arg-type]
                translation_key=doc.translation_key,
            )
            try:
                result = await admin.import_kb_article(payload)
            except (NotAuthenticated, Unreachable):
                raise  # every other file would fail the same way
            except BackendError as exc:
                failures.append(f"{name}: {exc.message}")
                progress.step(name, "failed")
                continue
            results.append({"file": name, "outcome": result.outcome, "id": result.article.id})
            progress.step(name, result.outcome)
        return results, failures

    def show(o: Any, a: Any, out: Any, done: Any) -> None:
        results, failures = done
        if out.settings.quiet:
            out.write("".join(f"{r['id']}\n" for r in results))
        elif out.settings.output == "json":
            o.print_json(out, results)
        elif out.settings.output == "csv":
            o.write_csv(out, results, [o.Column(k, lambda r, k=k: r[k]) for k in ("file", "outcome", "id")])
        else:
            counts = {k: sum(r["outcome"] == k for r in results) for k in ("created", "updated", "unchanged")}
            out.write(
                f"{len(docs)} file(s): {counts['created']} created, {counts['updated']} updated,"
                f" {counts['unchanged']} unchanged, {len(failures)} failed\n"
            )
        for line in failures:
            print(f"error: {line}", file=sys.stderr)
        if failures:
            raise typer.Exit(1)

    _run(settings, work, show)


def kb_export(
    settings: Settings,
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="Where to write the files (made if missing).")
    ],
    locale: LocaleOption = None,
    status: Annotated[str | None, typer.Option(help="Only draft or only published articles.")] = None,
) -> None:
    """Write articles as Markdown files with front matter, the format `kb import` reads; one
    `<locale>-<slug>.md` per article (an existing file of that name is replaced).

    \b
    Example:
      agent-console kb export ./help-center && git -C help-center diff
    """
    from agent_console.core.kbdoc import KbDoc, file_name, render_kb_file

    if folder.exists() and not folder.is_dir():
        raise typer.BadParameter(f"{folder} exists and is not a folder", param_hint="DIR")

    async def work(backend):
        return await _admin(backend).kb_articles(locale=locale, status=status)

    def show(o: Any, a: Any, out: Any, articles: Any) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for article in articles:
            doc = KbDoc(
                slug=article.slug,
                title=article.title,
                locale=article.locale,
                body=article.body,
                tags=tuple(article.tags),
                status=article.status,
                translation_key=article.translation_key,
                updated=article.updated_at.astimezone(UTC),
            )
            name = file_name(article.slug, article.locale)
            (folder / name).write_text(render_kb_file(doc), encoding="utf-8")
            written.append({"file": name, "id": article.id})
        if out.settings.quiet:
            out.write("".join(f"{w['id']}\n" for w in written))
        elif out.settings.output == "json":
            o.print_json(out, written)
        elif out.settings.output == "csv":
            o.write_csv(out, written, [o.Column(k, lambda w, k=k: w[k]) for k in ("file", "id")])
        else:
            out.write(f"{len(written)} article(s) written to {folder}\n")

    _run(settings, work, show)


# --- the gap report ----------------------------------------------------------------------------

_SPAN = re.compile(r"^(\d{1,4})([hdw])$")


def since_value(text: str, now: datetime | None = None) -> datetime:
    """`7d`, `24h`, `2w`, or a date (`2026-11-01`): the start of the report."""
    now = now or datetime.now(UTC)
    match = _SPAN.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return (
            now
            - {"h": timedelta(hours=amount), "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]
        )
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r}: use a span like 7d, 24h, 2w or a date like 2026-11-01") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def kb_gaps(
    settings: Settings,
    since: Annotated[str, typer.Option(metavar="SPAN", help="How far back: 7d, 24h, 2w or a date.")] = "7d",
) -> None:
    """What customers asked that the knowledge base had no confident answer for, grouped by
    wording and language, most asked first: what to write next.

    \b
    Examples:
      agent-console kb gaps
      agent-console kb gaps --since 30d -o csv
    """
    start = since_value(since)

    async def work(backend):
        return await _admin(backend).kb_gaps(start)

    def show(o: Any, a: Any, out: Any, report: Any) -> None:
        if out.settings.output == "json" and not out.settings.quiet:
            o.print_json(out, report)
        else:
            o.show_list(out, report.items, a.GAPS)

    _run(settings, work, show)


# --- canned responses ----------------------------------------------------------------------------


async def _canned_id(backend: Any, shortcode: str, locale: str) -> int:
    from agent_console.client.errors import NotFound

    code = shortcode.strip().lstrip("/")
    for canned in await backend.canned_responses(query=code, locale=locale):
        if canned.shortcode == code and canned.locale == locale:
            return canned.id
    raise NotFound(f"no canned response /{code} in locale {locale}")


CannedLocale = Annotated[str, typer.Option("--locale", metavar="LANG", help="Its language.")]


def _canned_text(text: str) -> str:
    from agent_console.cli.runtime import read_text_argument

    return read_text_argument(text, "body")


def canned_new(
    settings: Settings,
    shortcode: Annotated[str, typer.Argument(help="What agents type after /, e.g. refund-eta.")],
    body: Annotated[
        str, typer.Argument(help="The text ('-': stdin); placeholders like {{contact.first_name}}.")
    ],
    title: Annotated[str, typer.Option(help="A short title.")],
    locale: CannedLocale = "en",
) -> None:
    """Write a canned response. Placeholders must be known ones ({{contact.first_name}},
    {{contact.name}}, {{contact.email}}, {{agent.name}}, {{agent.first_name}},
    {{conversation.id}}, {{cursor}}).

    \b
    Example:
      agent-console canned new refund-eta 'Refunds take 5 days, {{contact.first_name}}.' --title Refunds
    """
    from agent_console.core.models import NewCanned

    text = _canned_text(body)

    async def work(backend):
        new = NewCanned(shortcode=shortcode.lstrip("/"), title=title, body=text, locale=locale)
        return await _admin(backend).create_canned(new)

    _run(settings, work, lambda o, a, out, item: o.show_one(out, item, o.CANNED))


def canned_edit(
    settings: Settings,
    shortcode: Annotated[str, typer.Argument(help="The response's shortcode.")],
    locale: CannedLocale = "en",
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    body: Annotated[str | None, typer.Option(help="A new text ('-': stdin).")] = None,
    rename: Annotated[str | None, typer.Option(metavar="SHORTCODE", help="A new shortcode.")] = None,
) -> None:
    """Change a canned response.

    \b
    Example:
      agent-console canned edit greet --locale en --title 'Hello'
    """
    import msgspec

    from agent_console.core.models import CannedUpdate

    update = CannedUpdate(
        shortcode=msgspec.UNSET if rename is None else rename.lstrip("/"),
        title=msgspec.UNSET if title is None else title,
        body=msgspec.UNSET if body is None else _canned_text(body),
    )

    async def work(backend):
        return await _admin(backend).update_canned(await _canned_id(backend, shortcode, locale), update)

    _run(settings, work, lambda o, a, out, item: o.show_one(out, item, o.CANNED))


def canned_delete(
    settings: Settings,
    shortcode: Annotated[str, typer.Argument(help="The response's shortcode.")],
    locale: CannedLocale = "en",
) -> None:
    """Delete a canned response (one locale).

    \b
    Example:
      agent-console canned delete old-promo --locale de
    """

    async def work(backend):
        canned_id = await _canned_id(backend, shortcode, locale)
        await _admin(backend).delete_canned(canned_id)
        return canned_id

    def show(o: Any, a: Any, out: Any, canned_id: int) -> None:
        if out.settings.quiet:
            out.write(f"{canned_id}\n")
        elif out.settings.output == "json":
            o.print_json(out, {"id": canned_id, "deleted": True})
        else:
            out.write(f"/{shortcode.lstrip('/')} ({locale}) deleted\n")

    _run(settings, work, show)


def register(app: typer.Typer) -> None:
    command(kb_app, "list", epilog=EPILOG)(kb_list)
    command(kb_app, "new", epilog=EPILOG)(kb_new)
    command(kb_app, "edit", epilog=EPILOG)(kb_edit)
    command(kb_app, "publish", epilog=EPILOG)(kb_publish)
    command(kb_app, "unpublish", epilog=EPILOG)(kb_unpublish)
    command(kb_app, "revisions", epilog=EPILOG)(kb_revisions)
    command(kb_app, "import", epilog=EPILOG)(kb_import)
    command(kb_app, "export", epilog=EPILOG)(kb_export)
    command(kb_app, "gaps", epilog=EPILOG)(kb_gaps)
    command(canned_app, "new", epilog=EPILOG)(canned_new)
    command(canned_app, "edit", epilog=EPILOG)(canned_edit)
    command(canned_app, "delete", epilog=EPILOG)(canned_delete)
