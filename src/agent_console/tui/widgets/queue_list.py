"""The queue: a virtual list of conversations (Line API).

Only visible rows are rendered, and each rendered row is cached by what it shows
(conversation seq, width, cursor, the SLA label it reads), so a live update redraws the
rows it touched and nothing else, and the clock repaints only labels that changed. Rows
are keyed by conversation id: a new order never clears the list, the cursor stays on its
conversation, and the view does not jump when rows arrive above it. Arrivals below the
fold are counted, not scrolled to.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agent_console.core import clock
from agent_console.core.bot_view import compact_line, short_line
from agent_console.core.models import Conversation
from agent_console.core.sanitize import sanitize_line
from agent_console.core.visibility import wire_preview
from agent_console.tui.format import channel_short, priority_mark
from agent_console.tui.sla_display import WIDTH as SLA_WIDTH
from agent_console.tui.sla_display import sla_label
from agent_console.tui.triage_display import row_tag, suggestion

Lookup = Callable[[int], Conversation | None]
# The cells' own styles ("": none); a row's final styles are worked out per kind of row.
# A subject column this wide shows the triage rule's name before the preview; narrower, only
# the suggested priority's marks (the customer's words need the room more).
RULE_ROOM = 40
CELL_CLASSES = (
    "",
    *(f"queue--{n}" for n in ("breached", "soon", "ok", "urgent", "high", "dim", "unread", "bot")),
)
Unread = Callable[[int], int]
Preview = Callable[[Conversation], str]


def unread_cell(count: int) -> str:
    """The `new` column (3 cells): messages from the customer or colleagues since you last read
    the conversation; blank when none, `99+` past two digits."""
    if count <= 0:
        return "   "
    return str(count).center(3) if count < 100 else "99+"


class QueueList(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="queue.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="queue.up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="queue.page_down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="queue.page_up"),
        Binding("home,g", "first", "First", show=False, id="queue.first"),
        Binding("end,G", "last", "Last", show=False, id="queue.last"),
        Binding("enter,l", "open", "Open", id="queue.open"),
    ]

    COMPONENT_CLASSES = {
        "queue--cursor",
        "queue--breached",
        "queue--soon",
        "queue--ok",
        "queue--urgent",
        "queue--high",
        "queue--dim",
        "queue--bot",
        "queue--unread",
        "queue--header",
    }

    DEFAULT_CSS = """
    QueueList { height: 1fr; overflow-x: hidden; }  /* rows are cut to fit: never a sideways bar */
    QueueList > .queue--cursor { background: $primary 40%; }
    QueueList:focus > .queue--cursor { background: $primary 70%; text-style: bold; }
    QueueList > .queue--breached { color: $error; text-style: bold; }
    QueueList > .queue--soon { color: $warning; }
    QueueList > .queue--ok { color: $success; }
    QueueList > .queue--urgent { color: $error; text-style: bold; }
    QueueList > .queue--high { color: $warning; text-style: bold; }
    QueueList > .queue--dim { color: $foreground 60%; }
    QueueList > .queue--bot { color: $secondary; text-style: italic; }
    QueueList > .queue--unread { color: $accent; text-style: bold; }
    """

    cursor_id: reactive[int | None] = reactive(None, always_update=True, repaint=False)

    class Opened(Message):
        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    class Highlighted(Message):
        def __init__(self, conversation_id: int | None) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    class Resized(Message):
        """The list's width changed (a resize, or shown again): column titles must follow."""

    class NewBelow(Message):
        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def __init__(
        self,
        lookup: Lookup,
        *,
        unread: Unread | None = None,
        preview: Preview | None = None,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.lookup = lookup
        self.preview = preview or wire_preview
        self.unread = unread or (lambda _conversation_id: 0)
        self.rows: list[int] = []
        self.index: dict[int, int] = {}
        self.unseen_new: set[int] = set()
        self.timezone_of_agent = "UTC"
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self._cell_cache: dict[tuple, dict[str, Style]] = {}
        self._width = 0  # the rows' width, set as each frame's lines are rendered
        self._now = clock.utcnow()
        # home/end on a list that holds part of a view: True when the owner reads that end first
        # (and moves the cursor there when it is in).
        self.jump: Callable[[str], bool] = lambda _where: False

    # --- data --------------------------------------------------------------------------

    def set_rows(self, rows: list[int], *, created: set[int] | frozenset[int] = frozenset()) -> None:
        """Show `rows` in this order, keeping the cursor's conversation where it is on screen."""
        anchor_id = self.cursor_id
        anchor_offset = None
        old_rows, old_top = self.rows, int(self.scroll_y)
        if anchor_id is not None and anchor_id in self.index:
            anchor_offset = self.index[anchor_id] - old_top
        self.rows = rows
        self.index = {conversation_id: i for i, conversation_id in enumerate(rows)}
        self.virtual_size = Size(self.size.width, len(rows))
        if anchor_id not in self.index:
            # The conversation left this view: stay at the same position in the list.
            old = anchor_offset if anchor_offset is not None else 0
            position = min(max(0, int(self.scroll_y) + old), len(rows) - 1)
            self.cursor_id = rows[position] if rows else None
            self.post_message(self.Highlighted(self.cursor_id))
        elif anchor_offset is not None:
            self.scroll_to(y=max(0, self.index[anchor_id] - anchor_offset), animate=False, immediate=True)
        self.unseen_new |= {c for c in created if c in self.index}
        self.unseen_new &= set(self.index)
        self._mark_seen()
        # Repaint only the lines that now show another conversation (or none): a new order
        # below the fold costs nothing on the terminal.
        top = int(self.scroll_y)
        for offset in range(self.lines_shown):
            before = old_rows[old_top + offset] if old_top + offset < len(old_rows) else None
            after = rows[top + offset] if top + offset < len(rows) else None
            if before != after:
                self._repaint(offset)

    def refresh_conversations(self, ids: set[int]) -> None:
        """Repaint only the visible rows that show one of `ids`."""
        top = int(self.scroll_y)
        for offset in range(self.lines_shown):
            row = top + offset
            if row < len(self.rows) and self.rows[row] in ids:
                self._repaint(offset)

    def _repaint(self, offset: int) -> None:
        """Repaint screen line `offset` of the list. (`refresh_line` takes a virtual row and
        subtracts the scroll offset: given a screen line, it repainted another line once the
        list was scrolled.) The row's cells only: with the scrollbar's cells in the region, every
        row repaint rewrote the scrollbar's cells on that line too (~30 bytes)."""
        self.refresh(Region(0, offset, self.scrollable_content_region.width, 1))

    def tick(self, now: datetime) -> None:
        """The SLA clocks move: repaint the rows whose label changed (most read the same for
        minutes or days), not every row each minute."""
        before, self._now = self._now, now
        if now.replace(second=0, microsecond=0) == before.replace(second=0, microsecond=0):
            return
        top = int(self.scroll_y)
        for offset, conversation_id in enumerate(self.rows[top : top + self.lines_shown]):
            conversation = self.lookup(conversation_id)
            if conversation is not None and sla_label(conversation, before) != sla_label(conversation, now):
                self._repaint(offset)

    def _mark_seen(self) -> None:
        if self.unseen_new:
            top = int(self.scroll_y)
            visible = set(self.rows[top : top + self.lines_shown])
            self.unseen_new -= visible
            below = sum(1 for c in self.unseen_new if self.index.get(c, 0) >= top)
            self.post_message(self.NewBelow(below))
        else:
            self.post_message(self.NewBelow(0))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._mark_seen()

    # --- rendering -----------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # The rows' width (the scrollbar takes its cells), worked out once for the lines of a
        # frame instead of once a line.
        self._width = self.scrollable_content_region.width
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        row = int(self.scroll_y) + y
        width = self._width or self.scrollable_content_region.width
        if row >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        conversation_id = self.rows[row]
        conversation = self.lookup(conversation_id)
        if conversation is None:
            return Strip.blank(width, self.rich_style)
        is_cursor = conversation_id == self.cursor_id
        unread = self.unread(conversation_id)
        key = (
            conversation_id,
            conversation.seq,
            unread,
            width,
            is_cursor,
            self.has_focus,
            sla_label(conversation, self._now),  # the clock as the row shows it, not the minute
            self.app.theme,
        )
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        strip = self._render_row(conversation, width, is_cursor, unread)
        self._cache[key] = strip
        return strip

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _render_row(self, conversation: Conversation, width: int, is_cursor: bool, unread: int) -> Strip:
        # Low-bandwidth mode (over SSH) draws a row in one style: every change of colour costs
        # an escape sequence, and a repainted row is mostly those. The whole row takes the
        # colour of an SLA that is breached or due soon; the priority (‼ ! ↓), the SLA's time
        # and the unread mark are characters, so they still read without their colours.
        one_style = getattr(self.app, "low_bandwidth", False)
        label, level = sla_label(conversation, self._now)
        whole = level if one_style and level in ("breached", "soon") else ""
        # Each cell's final style is worked out once per kind of row (the styles of the widget
        # and its classes, stacked as rich would stack them), then a row is a few segments:
        # a page of new rows (PageDown) is a frame's main work.
        cells = self._cell_styles(is_cursor, "one" if one_style else "", whole)
        mark, weight = priority_mark(conversation.priority)
        customer_width, subject_width, assignee_width = columns(width)
        preview = sanitize_line(self.preview(conversation))
        segments = [
            Segment(label.rjust(SLA_WIDTH), cells[f"queue--{level}"]),
            Segment(" ", cells[""]),
            Segment(mark, cells[f"queue--{weight}" if weight else ""]),
            Segment(" ", cells[""]),
            Segment(channel_short(conversation.channel).ljust(4), cells["queue--dim"]),
            Segment(" " + _fit(sanitize_line(conversation.contact.name), customer_width) + " ", cells[""]),
            Segment(_fit(conversation.language[:2], 2), cells["queue--dim"]),
            Segment(" ", cells[""]),
        ]
        # The rules' suggested priority and the rule that fired, first (tui/triage_display.py).
        tag = row_tag(conversation, with_rule=subject_width >= RULE_ROOM)
        if tag:
            tag = _fit(tag, min(cell_len(tag), subject_width * 2 // 3))
            segments.append(Segment(tag, cells.get(f"queue--{suggestion(conversation)}", cells[""])))
            subject_width -= cell_len(tag)
        bot = short_line(conversation)  # "handed off by bot: <reason>" (ASCII) before the preview
        if bot is not None and len(bot) + 10 > subject_width:
            bot = compact_line(conversation)  # "bot: <reason>" when the column is narrow
        if bot is not None:
            cell = _fit(f"{bot} · {preview}", subject_width)
            segments += [Segment(cell[: len(bot)], cells["queue--bot"]), Segment(cell[len(bot) :], cells[""])]
        else:
            segments.append(Segment(_fit(preview, subject_width), cells[""]))
        if assignee_width:
            who = sanitize_line(conversation.assignee.name) if conversation.assignee else "—"
            segments += [Segment(" ", cells[""]), Segment(_fit(who, assignee_width), cells["queue--dim"])]
        segments += [Segment(" ", cells[""]), Segment(unread_cell(unread), cells["queue--unread"])]
        strip = Strip(segments).adjust_cell_length(width, cells["pad"])
        return Strip(list(Segment.simplify(strip)), width)

    def _cell_styles(self, is_cursor: bool, mode: str, whole: str) -> dict[str, Style]:
        """The style of each kind of cell in a row, as the row used to stack them: the cell's
        class style (none in one-style mode, where `whole` colours the row), the cursor's over
        it, the widget's style under it (and the cursor's under that, for the padding)."""
        key = (is_cursor, mode, whole, self.has_focus, self.app.theme)
        styles = self._cell_cache.get(key)
        if styles is not None:
            return styles
        base = self.rich_style
        cursor = self._style("queue--cursor") if is_cursor else None
        styles = {}
        for name in CELL_CLASSES:
            style = Style() if mode or not name else self._style(name)
            if whole:
                style = style + self._style(f"queue--{whole}")
            if cursor is not None:
                style = style + cursor
            style = base + style
            styles[name] = cursor + style if cursor is not None else style
        styles["pad"] = cursor + base if cursor is not None else base
        self._cell_cache[key] = styles
        return styles

    # --- navigation ----------------------------------------------------------------------

    def watch_cursor_id(self, old: int | None, new: int | None) -> None:
        for conversation_id in (old, new):
            if conversation_id is not None and conversation_id in self.index:
                offset = self.index[conversation_id] - int(self.scroll_y)
                if 0 <= offset < self.lines_shown:
                    self._repaint(offset)

    def _move_to(self, row: int) -> None:
        if not self.rows:
            return
        row = max(0, min(row, len(self.rows) - 1))
        self.cursor_id = self.rows[row]
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + self.lines_shown:
            self.scroll_to(y=row - self.lines_shown + 1, animate=False, immediate=True)
        self.post_message(self.Highlighted(self.cursor_id))

    @property
    def lines_shown(self) -> int:
        """Rows on screen: the widget's height less any scrollbar, so the cursor is never
        scrolled to a line the scrollbar covers."""
        return self.scrollable_content_region.height

    @property
    def cursor_row(self) -> int:
        return self.index.get(self.cursor_id, 0) if self.cursor_id is not None else 0

    def action_cursor_down(self) -> None:
        self._move_to(self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self._move_to(self.cursor_row - 1)

    def action_page_down(self) -> None:
        self._move_to(self.cursor_row + max(1, self.lines_shown - 1))

    def action_page_up(self) -> None:
        self._move_to(self.cursor_row - max(1, self.lines_shown - 1))

    def action_first(self) -> None:
        if not self.jump("start"):
            self._move_to(0)

    def action_last(self) -> None:
        if not self.jump("end"):
            self._move_to(len(self.rows) - 1)

    def action_open(self) -> None:
        if self.cursor_id is not None:
            self.post_message(self.Opened(self.cursor_id))

    def select(self, conversation_id: int) -> None:
        if conversation_id in self.index:
            self._move_to(self.index[conversation_id])

    def on_click(self, event) -> None:  # noqa: ANN001 - textual.events.Click
        row = int(self.scroll_y) + event.y
        if 0 <= row < len(self.rows):
            self._move_to(row)
            if event.chain >= 2:
                self.action_open()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows))
        self._cache.clear()
        self.post_message(self.Resized())

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


def columns(width: int) -> tuple[int, int, int]:
    """(customer, subject, assignee) widths: columns give way as the terminal narrows,
    and the subject keeps at least 10 cells."""
    customer = 18 if width >= 100 else 14
    assignee = 14 if width >= 100 else (10 if width >= 70 else 0)
    fixed = SLA_WIDTH + 1 + 1 + 1 + 4 + 1 + customer + 1 + 2 + 1 + 4 + (assignee + 1 if assignee else 0)
    return customer, max(10, width - fixed), assignee


def header(width: int) -> str:
    """Column titles aligned with the rows."""
    customer, subject, assignee = columns(width)
    sla = "SLA".rjust(SLA_WIDTH)
    text = f"{sla} P chan {_fit('customer', customer)} {'la'} {_fit('subject / last message', subject)}"
    if assignee:
        text += f" {_fit('assignee', assignee)}"
    return text + " new"  # over the unread count: messages since you last read it


def _fit(text: str, width: int) -> str:
    """Pad or cut to exactly `width` terminal cells (CJK and emoji take two)."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)
