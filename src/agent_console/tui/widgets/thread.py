"""The conversation thread: customer, agent, private note, bot and activity messages, each
styled apart, with times in the agent's zone and the customer's local time beside them.

One widget draws the whole thread with the Line API, as the queue does: each message (and
each reply still in the outbox) is rendered once into lines for the current width and
cached; the thread is those blocks one after another. A live message is a few new lines
and no layout of widgets: mounting a widget per message cost a layout pass and a repaint
of the thread region for every message, 50-90 ms at 20 messages a second (P1).

Following the newest message does not scroll the thread by each message's lines (Textual has
no terminal scrolling: every line of the region would be drawn again, ~7 KB and most of the
CPU of a message at 160x48). When a new message does not fit below the last one, the thread
jumps once so that it sits near the top with a few lines of context above and room below;
the next messages are drawn into that room, a few lines each, until it is full.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from datetime import date, datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agent_console.client.outbox import OutboxItem
from agent_console.core import clock
from agent_console.core.models import Conversation, Message
from agent_console.core.sanitize import DISPLAY_LIMIT, clip
from agent_console.tui.attachments import attachments_text
from agent_console.tui.format import local_time, stamp, zone
from agent_console.tui.safe_text import untrusted, untrusted_line

KIND_LABELS = {"incoming": "", "outgoing": "", "note": "private note", "bot": "bot", "activity": ""}
BAR = "█"  # the coloured bar at the left of a message, as a thick left border drew it
# Cells around a message's text: the thread's padding (1 each side), and for a message with a
# bar, the bar and a cell of padding each side; activity lines are indented by 2 instead.
THREAD_PAD, BAR_CELLS, ACTIVITY_INDENT = 1, 3, 2


class MessageItem:
    """One delivered message as the thread shows it."""

    def __init__(self, message: Message) -> None:
        self.message = message
        self.expanded = False
        self.clipped = 0  # characters left out until `e` (0: the whole message is shown)
        self.virtual_region = Region()  # its lines in the thread (without the blank line after it)

    @property
    def key(self) -> tuple[str, int]:
        return ("message", self.message.id)


class OutboxLine:
    """A reply or note the console has queued: sending, or failed with the reason."""

    def __init__(self, item: OutboxItem) -> None:
        self.item = item
        self.virtual_region = Region()

    @property
    def key(self) -> tuple[str, int]:
        return ("queued", self.item.id)


Block = MessageItem | OutboxLine


class ThreadView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("e", "expand", "Show all of long messages", show=False, id="thread.expand"),
        # In the thread, the queue's motion keys move through the conversation instead.
        Binding("j,down", "scroll_down", "Scroll the conversation down", show=False, id="thread.down"),
        Binding("k,up", "scroll_up", "Scroll the conversation up", show=False, id="thread.up"),
        Binding("g,home", "scroll_home", "First message", show=False, id="thread.first"),
        Binding("G,end", "scroll_end", "Newest message", show=False, id="thread.last"),
        Binding("pagedown,ctrl+f", "page_down", "Page down (thread)", show=False, id="thread.page_down"),
        Binding("pageup,ctrl+b", "page_up", "Page up (thread)", show=False, id="thread.page_up"),
    ]
    COMPONENT_CLASSES = {
        "thread--incoming",
        "thread--incoming-bar",
        "thread--outgoing",
        "thread--outgoing-bar",
        "thread--note",
        "thread--note-bar",
        "thread--bot",
        "thread--bot-bar",
        "thread--activity",
        "thread--queued",
        "thread--queued-bar",
        "thread--failed",
        "thread--failed-bar",
        "thread--empty",
    }
    # The scrollbar is always there: the text keeps its width when the thread grows past the
    # screen (nothing wraps again), and a longer thread never changes the layout (see `_grow`).
    DEFAULT_CSS = """
    ThreadView { height: 1fr; overflow-x: hidden; overflow-y: scroll; }
    ThreadView > .thread--incoming-bar { color: $secondary; }
    ThreadView > .thread--outgoing { background: $primary 10%; }
    ThreadView > .thread--outgoing-bar { color: $primary; }
    ThreadView > .thread--note { background: $warning 15%; }
    ThreadView > .thread--note-bar { color: $warning; }
    ThreadView > .thread--bot { color: $text-muted; }
    ThreadView > .thread--bot-bar { color: $accent; }
    ThreadView > .thread--activity { color: $text-muted; text-style: italic; }
    ThreadView > .thread--queued { color: $text-muted; }
    ThreadView > .thread--queued-bar { color: $primary 50%; }
    ThreadView > .thread--failed-bar { color: $error; }
    ThreadView > .thread--empty { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.conversation: Conversation | None = None
        self.agent_zone: str | None = None
        self.shown: list[int] = []
        self.items: list[MessageItem] = []  # delivered messages, in the order drawn
        self.queued: dict[int, OutboxLine] = {}  # outbox item id -> its line, drawn below them
        # The conversation the screen wants here (set at once when the agent moves); whatever
        # arrives for another one is stale and dropped. Every change is synchronous on the
        # loop, so a reload, a live message and a queued reply never interleave.
        self.wanted: int | None = None
        self.reading_history = False  # `placeholder` while the wanted thread is read
        self.placeholder = "loading…"  # or why it could not be read yet
        self._strips: dict[tuple[str, int], list[Strip]] = {}  # each block's lines at `_width`
        self._starts: list[int] = []  # first line of each block, in drawing order
        self._order: list[Block] = []
        self._width = 0
        self._day: date | None = None  # the agent's date the stamps were written for
        self._theme = ""
        self._follow = True  # at the newest message: new ones stay in view
        self._lines = 0  # lines the blocks take
        self._room = 0  # the scroll length kept past them (blank room for the next messages)
        self._base = Style()
        self._blank = Strip.blank(0)

    # --- what the thread holds -----------------------------------------------------------

    def want(self, conversation_id: int | None) -> None:
        """The agent moved to `conversation_id`: from now on only its thread may be drawn here.
        What the thread holds is hidden until `clear` or `show` replaces it."""
        self.wanted = conversation_id
        # Hidden in this same frame: the next one must not pair a new header with old rows.
        stale = self.conversation is None or self.conversation.id != conversation_id
        if stale != self.has_class("-stale"):
            self.set_class(stale, "-stale")
            self.refresh()  # drawn blank while stale

    def clear(self, conversation_id: int) -> None:
        """Empty the thread while `conversation_id` loads (never another conversation's rows)."""
        if self.wanted != conversation_id or (
            self.conversation is not None and self.conversation.id == conversation_id
        ):
            return  # moved on again, or that thread is already here
        self.conversation = None
        self.shown = []
        self.items = []
        self.queued = {}
        self.reading_history = True
        self.placeholder = "loading…"
        self.remove_class("-stale")
        self._relayout(follow=True, fresh=True)

    def loading_failed(self, conversation_id: int, why: str) -> None:
        """Say in the empty thread why `conversation_id` is not here yet (it is retried)."""
        if self.wanted == conversation_id and self.conversation is None and self.reading_history:
            self.placeholder = why
            self.refresh()

    def show(self, conversation: Conversation, messages: list[Message], agent_zone: str | None) -> bool:
        """Show a whole thread (a different conversation, or after a reload). False, and nothing
        drawn, when the agent has moved to another conversation since it was asked for."""
        if conversation.id != self.wanted:
            return False
        self.conversation = conversation
        self.agent_zone = agent_zone
        self.reading_history = False
        self.remove_class("-stale")
        self.queued = {}
        self.shown = [m.id for m in messages]
        self.items = [MessageItem(m) for m in messages]
        self._strips.clear()
        self._relayout(follow=True, fresh=True)
        return True

    def add(self, messages: list[Message]) -> int:
        """Append messages that arrived live; keep the reader's place unless at the end."""
        conversation = self.conversation
        if conversation is None or conversation.id != self.wanted:
            return 0  # the thread that loads next reads them from the store
        seen = set(self.shown)
        fresh: list[Message] = []
        for m in sorted(messages, key=lambda m: m.id):
            if m.id not in seen and m.conversation_id == conversation.id:
                seen.add(m.id)
                fresh.append(m)
        if not fresh:
            return 0
        self.shown += [m.id for m in fresh]
        # Delivered messages go above what is still queued, which stays at the bottom.
        self.items += [MessageItem(m) for m in fresh]
        for line in list(self.queued.values()):
            if line.item.message_id in seen:
                del self.queued[line.item.id]
        self._relayout()
        return len(fresh)

    def show_queued(self, item: OutboxItem) -> None:
        """Show (or update, or clear) a queued reply or note of this conversation."""
        mine = self.conversation is not None and item.conversation_id == self.conversation.id
        if not mine or item.kind != "message":
            return
        line = self.queued.get(item.id)
        if item.state == "sent" and (item.message_id in self.shown or item.message_id is None):
            self.drop_queued(item.id)
            return
        if line is None:
            self.queued[item.id] = OutboxLine(item)
            self._relayout(follow=True)  # the agent's own reply: shown where it went
        else:
            line.item = item
            self._strips.pop(line.key, None)
            self._relayout()

    def drop_queued(self, item_id: int) -> None:
        if self.queued.pop(item_id, None) is not None:
            self._relayout()

    def update_conversation(self, conversation: Conversation) -> None:
        if self.conversation is None or self.conversation.id != conversation.id:
            return  # a newer copy of another conversation than the one drawn here
        before, self.conversation = self.conversation.contact.timezone, conversation
        if conversation.contact.timezone != before:
            self._strips.clear()  # "their time" beside each customer message
            self._relayout()

    @property
    def last_seen_id(self) -> int | None:
        return max(self.shown) if self.shown else None

    def message_items(self) -> list[MessageItem]:
        """The delivered messages the thread holds for the conversation it shows."""
        return list(self.items)

    def text_region(self, block: Block) -> Region:
        """Where a block's text is on the screen now (its bar and padding left out; lines
        scrolled out of view included): the cells a reader sees of that message."""
        content = self.scrollable_content_region
        if self._is_activity(block):
            left = right = THREAD_PAD + ACTIVITY_INDENT
        else:
            left, right = THREAD_PAD + BAR_CELLS - 1, THREAD_PAD + 1
        return Region(
            content.x + left,
            content.y + block.virtual_region.y - int(self.scroll_y),
            max(0, self._width - left - right),
            block.virtual_region.height,
        )

    def tick(self, now: datetime) -> None:
        """Stamps read "HH:MM" today and carry the date otherwise: redraw them past midnight."""
        if self._day is not None and self._today(now) != self._day:
            self._strips.clear()
            self._relayout()

    def action_expand(self) -> None:
        clipped = [item for item in self.items if item.clipped]
        for item in clipped:
            item.expanded = True
            self._strips.pop(item.key, None)
        if clipped:
            self._relayout()

    # --- lines ------------------------------------------------------------------------------

    def _blocks(self) -> Iterator[Block]:
        yield from self.items
        yield from self.queued.values()

    def _today(self, now: datetime) -> date:
        tz = zone(self.agent_zone)
        return (now.astimezone(tz) if tz else now).date()

    def _relayout(self, *, follow: bool = False, fresh: bool = False) -> None:
        """Lay the blocks out again (new, changed or gone ones rendered, the rest from the
        cache), repaint the lines that changed, and keep the newest message in view if the
        reader was there. `fresh`: a whole thread drawn anew, its end at the bottom."""
        width = self.scrollable_content_region.width
        now = clock.utcnow()
        day, theme = self._today(now), self.app.theme
        if (width, day, theme) != (self._width, self._day, self._theme):
            fresh = fresh or width != self._width  # rewrapped: the room is measured again
            self._strips.clear()
            self._width, self._day, self._theme = width, day, theme
            self._base = self.rich_style  # computed once: it walks the DOM every time
            self._blank = Strip.blank(width, self._base)
        follow = follow or self._follow
        before = [
            (block.key, start, self._strips.get(block.key))
            for block, start in zip(self._order, self._starts, strict=True)
        ]
        order = list(self._blocks())
        starts: list[int] = []
        strips: dict[tuple[str, int], list[Strip]] = {}
        changed = None  # the first line that is not what it was
        line = 0
        for index, block in enumerate(order):
            lines = self._strips.get(block.key)
            if lines is None:
                lines = self._render_block(block, width, now)
            strips[block.key] = lines
            starts.append(line)
            if changed is None and (
                index >= len(before)
                or before[index][:2] != (block.key, line)
                or before[index][2] is not lines
            ):
                changed = line
            gap = 0 if self._is_activity(block) else 1  # the blank line after a message
            block.virtual_region = Region(0, line, width, len(lines) - gap)
            line += len(lines)
        if changed is None and len(before) != len(order):
            changed = line  # blocks at the end went away
        self._strips, self._starts, self._order = strips, starts, order
        drawn_before, self._lines = self._lines, line + (1 if self.reading_history and not order else 0)
        top, height = int(self.scroll_y), self.scrollable_content_region.height
        target = None
        if fresh:
            self._room = 0
        if follow and (fresh or self._lines > top + height):
            if fresh or height <= 0:
                target = max(0, self._lines - height)  # the end at the bottom
            else:
                # Jump: the first new line near the top, a quarter of the view of context above
                # it, the end in view, and room below for what comes next.
                first = self._lines if changed is None else changed
                target = max(0, self._lines - height, first - height // 4)
                self._room = target + height
        self._grow(Size(width, max(self._lines, self._room)))
        if follow:
            self._follow = True
            if target is not None:
                self.scroll_to(y=target, animate=False, immediate=True, force=True)
        top = int(self.scroll_y)
        if not order or (changed is not None and changed < top + height):
            # Lines above the change stand, and so do blank lines below both the old and the new
            # end: a message below the reader's view, or into the room, costs its own lines.
            start = 0 if not order else max(0, changed - top)
            end = height if not order else min(height, max(drawn_before, self._lines) - top)
            if end > start:
                self.refresh(Region(0, start, self.size.width, end - start))

    def _grow(self, size: Size) -> None:
        """The thread's new length. Only a new width needs a layout pass: a longer thread
        changes this widget's scrollbar and nothing else on the screen, while assigning
        `virtual_size` lays out the whole screen (and repaints what moved) for every message."""
        if size.width != self.virtual_size.width or not self.show_vertical_scrollbar:
            self.virtual_size = size
            return
        self.set_reactive(ThreadView.virtual_size, size)
        bar = self.vertical_scrollbar
        bar.window_virtual_size = size.height
        bar.window_size = self.scrollable_content_region.height

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # Scrolling up to read releases the newest message; scrolling back down holds it again.
        self._follow = new >= self.max_scroll_y

    def on_resize(self) -> None:
        if self.scrollable_content_region.width != self._width:
            self._relayout()
        elif self._follow:
            self._room = 0  # measured for the old height: the end goes to the bottom again
            self._grow(Size(self._width, self._lines))
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)

    @staticmethod
    def _is_activity(block: Block) -> bool:
        return isinstance(block, MessageItem) and block.message.kind == "activity"

    def render_line(self, y: int) -> Strip:
        # A new width is wrapped for in `on_resize` (the scrollbar is always there, so only a
        # resize changes it); until then the lines are cut or padded to fit.
        width = self.scrollable_content_region.width
        row = int(self.scroll_y) + y
        blank = self._blank.adjust_cell_length(width)
        if self.has_class("-stale") or not self._order:
            if self.reading_history and not self.has_class("-stale") and row == 0:
                return self._line(Text(self.placeholder), width, self._style("thread--empty"))
            return blank
        index = bisect_right(self._starts, row) - 1
        lines = self._strips[self._order[index].key] if index >= 0 else []
        at = row - self._starts[index]
        if at >= len(lines):
            return blank
        return lines[at].adjust_cell_length(width, self._base)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def _render_block(self, block: Block, width: int, now: datetime) -> list[Strip]:
        if isinstance(block, OutboxLine):
            failed = block.item.state == "failed"
            style = self._style("thread--failed" if failed else "thread--queued")
            bar = self._style("thread--failed-bar" if failed else "thread--queued-bar")
            return self._barred(self._outbox_text(block.item), width, style, bar) + [self._blank]
        kind = block.message.kind
        text = self._message_text(block, now)
        if kind == "activity":
            return self._indented(text, width, self._style("thread--activity"))
        return self._barred(
            text, width, self._style(f"thread--{kind}"), self._style(f"thread--{kind}-bar")
        ) + [self._blank]

    def _message_text(self, block: MessageItem, now: datetime) -> Text:
        """What one message shows: its author line, then its body (clipped until `e`). Further
        lines of a message (such as its attachments) are appended to this text."""
        message = block.message
        when = stamp(message.created_at, self.agent_zone, now)
        if message.kind == "activity":
            return Text.assemble(untrusted_line(message.body), (f"  {when}", "dim"))
        header = Text()
        name = message.author.name or ("Lumo bot" if message.kind == "bot" else "customer")
        header.append_text(untrusted_line(name, "bold"))
        label = KIND_LABELS[message.kind]
        if message.author.type == "bot" and message.kind != "bot":
            label = f"bot · {label}" if label else "bot"  # e.g. the bot's hand-off note
        if label:
            header.append(f"  [{label}]", "italic")
        header.append(f"  {when}", "dim")
        contact_zone = self.conversation.contact.timezone if self.conversation else None
        if message.kind == "incoming" and contact_zone:
            header.append(f"  (their time {local_time(message.created_at, contact_zone)})", "dim")
        body, hidden = (message.body, 0) if block.expanded else clip(message.body, DISPLAY_LIMIT)
        block.clipped = hidden
        text = Text.assemble(header, "\n", untrusted(body))
        if hidden:
            text.append(f"\n… {hidden:,} more characters (press e to show all)", "bold italic")
        if files := attachments_text(message):
            text.append_text(Text("\n").append_text(files))
        return text

    @staticmethod
    def _outbox_text(item: OutboxItem) -> Text:
        if item.state == "failed":
            status = Text(f"✕ not sent: {item.reason or 'refused'} · R to retry", "bold")
        elif item.attempts:
            status = Text(f"◌ sending (try {item.attempts + 1}: {item.reason or 'waiting'})", "italic")
        else:
            status = Text("◌ sending…", "italic")
        label = "private note" if item.private else "reply"
        body, hidden = clip(item.body, 600)  # the agent's own text: a reminder, not the record
        more = f"\n… {hidden:,} more characters" if hidden else ""
        return Text.assemble(status, f"  [{label}]\n", untrusted(body), more)

    def _wrap(self, text: Text, width: int) -> list[Text]:
        return list(text.wrap(self.app.console, max(1, width), overflow="fold"))

    def _barred(self, text: Text, width: int, style: Style, bar: Style) -> list[Strip]:
        """A message with a coloured bar at its left: bar, a cell, the text, a cell."""
        inner = width - 2 * THREAD_PAD - BAR_CELLS
        base = self._base
        pad = Segment(" " * THREAD_PAD, base)
        lead = [pad, Segment(BAR, base + style + Style(color=bar.color)), Segment(" ", base + style)]
        tail = [Segment(" ", base + style), pad]
        return [self._strip(lead, line, inner, base + style, tail, width) for line in self._wrap(text, inner)]

    def _indented(self, text: Text, width: int, style: Style) -> list[Strip]:
        inner = width - 2 * THREAD_PAD - 2 * ACTIVITY_INDENT
        base = self._base
        lead = [Segment(" " * (THREAD_PAD + ACTIVITY_INDENT), base)]
        tail = [Segment(" " * (THREAD_PAD + ACTIVITY_INDENT), base)]
        return [self._strip(lead, line, inner, base + style, tail, width) for line in self._wrap(text, inner)]

    def _line(self, text: Text, width: int, style: Style) -> Strip:
        base = self._base
        pad = [Segment(" " * THREAD_PAD, base)]
        return self._strip(pad, text, width - 2 * THREAD_PAD, base + style, pad, width)

    def _strip(
        self, lead: list[Segment], line: Text, inner: int, style: Style, tail: list[Segment], width: int
    ) -> Strip:
        line.end = ""
        body = Strip(list(line.render(self.app.console))).adjust_cell_length(max(0, inner)).apply_style(style)
        return Strip(list(Segment.simplify([*lead, *body, *tail])), width).adjust_cell_length(
            width, self._base
        )
