"""Printing records in the CLI's output formats.

* `json`: lists are JSON arrays of the wire objects, single objects are the wire object
  (exactly as the desk server's REST API sends them). Not sanitized: it is data, and JSON
  escapes every control character anyway.
* `csv`: a header row, then flat columns (nested objects become `contact_id`,
  `contact_name`..., lists are joined with `,`). Raw data when piped; sanitized when stdout
  is a terminal.
* `text`: for people. A Rich table on a terminal, plain aligned columns when piped. Every
  string that came from the server is sanitized (`core.sanitize`) and, in Rich, wrapped in
  `Text` objects, never parsed as markup.
* `--quiet`: ids only, one a line, each once (canned responses: their shortcode, which
  `canned show` takes, once for all its locales).

Conversations have their own columns in `conv_output` (what a row shows of a chat).
Rich is imported only for text output on a terminal.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from agent_console.cli.options import Settings
from agent_console.core.clock import to_iso
from agent_console.core.models import SNIPPET_CLOSE, SNIPPET_OPEN
from agent_console.core.sanitize import sanitize, sanitize_line

Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    header: str
    get: Getter
    max_width: int | None = None
    style: Callable[[Any], str | None] | None = None
    drop: int = 0  # on a narrow terminal, columns with the highest `drop` go first; 0 stays


@dataclass(frozen=True)
class Spec:
    """How one kind of record prints: table columns, CSV columns, its id, its detail view."""

    text_columns: Sequence[Column]
    csv_columns: Sequence[Column]
    ident: Getter = lambda item: item.id
    fields: Callable[[Any], list[tuple[str, Any]]] | None = None
    body: Getter | None = None
    title: Getter | None = None


@dataclass
class Out:
    """Where and how to print: decided once per command from the settings and stdout."""

    settings: Settings
    stream: Any = field(default_factory=lambda: sys.stdout)

    @property
    def is_terminal(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def color(self) -> bool:
        return not (self.settings.no_color or os.environ.get("NO_COLOR"))

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def console(self):  # -> rich.console.Console, imported lazily
        from rich.console import Console

        return Console(
            file=self.stream,
            no_color=not self.color,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=False,
        )


# --- value helpers ---------------------------------------------------------------------------


def cell(value: Any) -> str:
    """A value as flat text (for CSV and tables): ISO times, joined lists, '' for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, (list, tuple)):
        return ",".join(cell(v) for v in value)
    return str(value)


def relative(moment: datetime | None, now: datetime | None = None) -> str:
    """`in 5m`, `2h 10m late`, '' for None."""
    if moment is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = int((moment - now).total_seconds())
    span = _span(abs(seconds))
    return f"in {span}" if seconds >= 0 else f"{span} late"


def _span(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def display_width(text: str) -> int:
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def truncate(text: str, limit: int | None) -> str:
    if limit is None or display_width(text) <= limit:
        return text
    out, width = [], 0
    for char in text:
        w = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if width + w > limit - 1:
            break
        out.append(char)
        width += w
    return "".join(out) + "…"


def unmark(snippet: str) -> str:
    return snippet.replace(SNIPPET_OPEN, "").replace(SNIPPET_CLOSE, "")


# --- printing --------------------------------------------------------------------------------


def print_json(out: Out, data: Any) -> None:
    out.stream.write(msgspec.json.encode(data).decode() + "\n")
    out.stream.flush()


def show_list(out: Out, items: Sequence[Any], spec: Spec) -> None:
    fmt = out.settings.output
    if out.settings.quiet:
        # Each id once: a shortcode is shared by its translations (one row per locale).
        idents = dict.fromkeys(str(spec.ident(item)) for item in items)
        out.write("".join(f"{ident}\n" for ident in idents))
    elif fmt == "json":
        print_json(out, list(items))
    elif fmt == "csv":
        write_csv(out, items, spec.csv_columns)
    elif out.is_terminal:
        rich_table(out, items, spec.text_columns)
    else:
        plain_table(out, items, spec.text_columns)


def show_one(out: Out, item: Any, spec: Spec, *, summary: str | None = None) -> None:
    """One record. `summary` replaces the detail view in text mode (e.g. after a write)."""
    fmt = out.settings.output
    if out.settings.quiet:
        out.write(f"{spec.ident(item)}\n")
    elif fmt == "json":
        print_json(out, item)
    elif fmt == "csv":
        write_csv(out, [item], spec.csv_columns)
    elif summary is not None:
        out.write(sanitize_line(summary) + "\n")
    else:
        show_record(out, item, spec)


def write_csv(out: Out, items: Iterable[Any], columns: Sequence[Column]) -> None:
    import csv
    import io

    clean = sanitize if out.is_terminal else (lambda text: text)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.header for c in columns])
    for item in items:
        writer.writerow([clean(cell(c.get(item))) for c in columns])
    out.write(buffer.getvalue())


def _cells(items: Sequence[Any], columns: Sequence[Column]) -> list[list[str]]:
    return [[truncate(sanitize_line(cell(c.get(item))), c.max_width) for c in columns] for item in items]


def plain_table(out: Out, items: Sequence[Any], columns: Sequence[Column]) -> None:
    rows = [[c.header for c in columns], *_cells(items, columns)]
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(columns))]
    lines = []
    for row in rows:
        padded = [
            value + " " * (widths[i] - display_width(value)) if i < len(row) - 1 else value
            for i, value in enumerate(row)
        ]
        lines.append("  ".join(padded).rstrip() + "\n")
    out.write("".join(lines))


def rich_table(out: Out, items: Sequence[Any], columns: Sequence[Column]) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold" if out.color else ""
    )
    rows = []
    for item in items:
        row = []
        for column in columns:
            value = column.get(item)
            style = (column.style(value) if column.style else None) or ""
            row.append(Text(sanitize_line(cell(value)), style=style if out.color else ""))
        rows.append(row)
    console = out.console()
    gap = 3  # Rich's padding and separator per column in this box style
    widest = [
        max([len(column.header), *(r[index].cell_len for r in rows)]) for index, column in enumerate(columns)
    ]
    keep = list(range(len(columns)))

    def needed() -> int:
        return sum(min(widest[i], 12 if columns[i].max_width else 24) for i in keep) + gap * len(keep)

    while needed() > console.width and any(columns[i].drop for i in keep):
        keep.remove(max(keep, key=lambda i: columns[i].drop))
    # Widths decided here, not by Rich: short fixed columns (ids, statuses) keep their full
    # width; free-text columns share what is left, in proportion to what they hold.
    widths = {i: min(widest[i], 24) for i in keep if columns[i].max_width is None}
    flexible = [i for i in keep if columns[i].max_width is not None]
    wants = {i: min(widest[i], columns[i].max_width or widest[i]) for i in flexible}
    room = console.width - sum(widths.values()) - gap * len(keep)
    total = sum(wants.values()) or 1
    for i in flexible:
        share = wants[i] if total <= room else max(len(columns[i].header), room * wants[i] // total)
        widths[i] = max(1, min(wants[i], share))
    for i in keep:
        table.add_column(columns[i].header, width=widths[i], no_wrap=True, overflow="ellipsis")
    for row in rows:
        cells = [row[i] for i in keep]
        for i, text in zip(keep, cells, strict=True):
            text.truncate(widths[i], overflow="ellipsis")
        table.add_row(*cells)
    console.print(table)


def show_record(out: Out, item: Any, spec: Spec) -> None:
    fields = spec.fields(item) if spec.fields else [(c.header, c.get(item)) for c in spec.csv_columns]
    title = sanitize_line(spec.title(item)) if spec.title else None
    body = sanitize(spec.body(item)) if spec.body else None
    if out.is_terminal:
        from rich.table import Table
        from rich.text import Text

        console = out.console()
        if title:
            console.print(Text(title, style="bold" if out.color else ""))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim" if out.color else "", no_wrap=True)
        grid.add_column()
        for label, value in fields:
            grid.add_row(Text(label), Text(sanitize_line(cell(value))))
        console.print(grid)
        if body:
            console.print()
            console.print(Text(body))
        return
    width = max((len(label) for label, _ in fields), default=0)
    lines = [title + "\n"] if title else []
    for label, value in fields:
        lines.append(f"{label + ':':<{width + 1}}  {sanitize_line(cell(value))}\n")
    if body:
        lines.append("\n" + body.rstrip("\n") + "\n")
    out.write("".join(lines))


# --- specs --------------------------------------------------------------------------------


MESSAGE_CSV = [
    Column("id", lambda m: m.id),
    Column("conversation_id", lambda m: m.conversation_id),
    Column("kind", lambda m: m.kind),
    Column("author_type", lambda m: m.author.type),
    Column("author_id", lambda m: m.author.id),
    Column("author_name", lambda m: m.author.name),
    Column("created_at", lambda m: m.created_at),
    Column("body", lambda m: m.body),
]

MESSAGES = Spec(
    text_columns=[
        Column("ID", lambda m: m.id),
        Column("AT", lambda m: m.created_at, drop=1),
        Column("KIND", lambda m: m.kind),
        Column("AUTHOR", lambda m: m.author.name or m.author.type, max_width=24),
        Column("BODY", lambda m: m.body, max_width=80),
    ],
    csv_columns=MESSAGE_CSV,
    title=lambda m: f"Message {m.id} in conversation {m.conversation_id}",
    fields=lambda m: [
        ("Kind", m.kind),
        ("Author", f"{m.author.name} ({m.author.type})" if m.author.name else m.author.type),
        ("At", m.created_at),
    ],
    body=lambda m: m.body,
)

AGENTS = Spec(
    text_columns=[
        Column("ID", lambda a: a.id),
        Column("NAME", lambda a: a.name, max_width=28),
        Column("EMAIL", lambda a: a.email, max_width=32, drop=1),
        Column("ROLE", lambda a: a.role),
        Column("PRESENCE", lambda a: a.presence),
        Column("TIMEZONE", lambda a: a.timezone, drop=2),
    ],
    csv_columns=[
        Column("id", lambda a: a.id),
        Column("name", lambda a: a.name),
        Column("email", lambda a: a.email),
        Column("role", lambda a: a.role),
        Column("timezone", lambda a: a.timezone),
        Column("presence", lambda a: a.presence),
        Column("team_ids", lambda a: a.team_ids),
    ],
    title=lambda a: a.name,
    fields=lambda a: [
        ("ID", a.id),
        ("Email", a.email),
        ("Role", a.role),
        ("Time zone", a.timezone),
        ("Presence", a.presence),
        ("Teams", a.team_ids),
    ],
)

TEAMS = Spec(
    text_columns=[
        Column("ID", lambda t: t.id),
        Column("NAME", lambda t: t.name, max_width=30),
        Column("DESCRIPTION", lambda t: t.description, max_width=70),
    ],
    csv_columns=[
        Column("id", lambda t: t.id),
        Column("name", lambda t: t.name),
        Column("description", lambda t: t.description),
    ],
)

CONTACTS = Spec(
    text_columns=[
        Column("ID", lambda c: c.id),
        Column("NAME", lambda c: c.name, max_width=30),
        Column("EMAIL", lambda c: c.email, max_width=34),
        Column("PHONE", lambda c: c.phone, drop=2),
        Column("LANGUAGE", lambda c: c.language),
        Column("TIMEZONE", lambda c: c.timezone, drop=3),
    ],
    csv_columns=[
        Column("id", lambda c: c.id),
        Column("name", lambda c: c.name),
        Column("email", lambda c: c.email),
        Column("phone", lambda c: c.phone),
        Column("language", lambda c: c.language),
        Column("timezone", lambda c: c.timezone),
    ],
)

CANNED = Spec(
    text_columns=[
        Column("SHORTCODE", lambda c: c.shortcode),
        Column("LOCALE", lambda c: c.locale),
        Column("TITLE", lambda c: c.title, max_width=40),
        Column("BODY", lambda c: c.body, max_width=60, drop=1),
    ],
    csv_columns=[
        Column("id", lambda c: c.id),
        Column("shortcode", lambda c: c.shortcode),
        Column("locale", lambda c: c.locale),
        Column("title", lambda c: c.title),
        Column("body", lambda c: c.body),
    ],
    ident=lambda c: c.shortcode,
    title=lambda c: f"/{c.shortcode}: {c.title}",
    fields=lambda c: [("ID", c.id), ("Locale", c.locale)],
    body=lambda c: c.body,
)

KB_HITS = Spec(
    text_columns=[
        Column("ID", lambda h: h.id),
        Column("LOCALE", lambda h: h.locale),
        Column("TITLE", lambda h: h.title, max_width=44),
        Column("SNIPPET", lambda h: unmark(h.snippet), max_width=70),
    ],
    csv_columns=[
        Column("id", lambda h: h.id),
        Column("title", lambda h: h.title),
        Column("locale", lambda h: h.locale),
        Column("tags", lambda h: h.tags),
        Column("score", lambda h: h.score),
        Column("updated_at", lambda h: h.updated_at),
        Column("snippet", lambda h: h.snippet),
    ],
)

KB_ARTICLES = Spec(
    text_columns=KB_HITS.text_columns,
    csv_columns=[
        Column("id", lambda a: a.id),
        Column("slug", lambda a: a.slug),
        Column("title", lambda a: a.title),
        Column("locale", lambda a: a.locale),
        Column("tags", lambda a: a.tags),
        Column("updated_at", lambda a: a.updated_at),
        Column("body", lambda a: a.body),
    ],
    title=lambda a: a.title,
    fields=lambda a: [
        ("ID", a.id),
        ("Slug", a.slug),
        ("Locale", a.locale),
        ("Tags", ", ".join(a.tags)),
        ("Updated", a.updated_at),
    ],
    body=lambda a: a.body,
)


_KIND_STYLE = {
    "incoming": "cyan",
    "outgoing": "green",
    "note": "yellow",
    "bot": "magenta",
    "activity": "dim",
}


def show_transcript(out: Out, messages: Sequence[Any]) -> None:
    """Messages as a readable transcript: a header line each, then the body, indented."""
    if out.is_terminal:
        from rich.text import Text

        console = out.console()
        for message in messages:
            author = sanitize_line(message.author.name) or message.author.type
            header = Text(f"#{message.id}  {cell(message.created_at)}  ", style="dim" if out.color else "")
            header.append(
                f"{message.kind}  {author}",
                style=_KIND_STYLE.get(message.kind, "") if out.color else "",
            )
            console.print(header)
            console.print(Text(_indent(sanitize(message.body))))
        return
    chunks = []
    for message in messages:
        author = sanitize_line(message.author.name) or message.author.type
        chunks.append(f"#{message.id}  {cell(message.created_at)}  {message.kind}  {author}\n")
        chunks.append(_indent(sanitize(message.body)) + "\n")
    out.write("".join(chunks))


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.rstrip("\n").split("\n"))
