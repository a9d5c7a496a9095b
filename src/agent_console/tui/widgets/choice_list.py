"""The pickers' list: a fixed-height window of prompts of one line (or `row_height` lines,
as the KB search's title and snippet), drawn with the Line API.

Why not Textual's OptionList: it lays out every option it holds and changes its virtual
size (a new layout of the screen) whenever the list changes, which is every keystroke in
a picker. Here a new list costs the visible rows only, each row's strip is cached by
(key, highlighted, width), and the widget's size never changes.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget


class ChoiceList(Widget, can_focus=False):
    COMPONENT_CLASSES = {"choice-list--highlight"}
    DEFAULT_CSS = """
    ChoiceList { background: $surface; border: tall $border-blurred; padding: 0 1; width: 1fr; }
    ChoiceList > .choice-list--highlight {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }
    """

    highlighted: reactive[int | None] = reactive(None, init=False)

    class Highlighted(Message):
        """The highlight moved (to `index`, or None on an empty list)."""

        def __init__(self, index: int | None) -> None:
            super().__init__()
            self.index = index

    class Selected(Message):
        """A row was clicked."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None, row_height: int = 1) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.row_height = row_height  # lines per row: a prompt's lines past it are cut
        self.keys: list[Hashable] = []
        self.prompts: list[Text] = []
        self.top = 0  # the first row shown
        self._cache: LRUCache[tuple[Hashable, bool, int, str], list[Strip]] = LRUCache(512)

    def set_items(self, keys: Sequence[Hashable], prompts: Sequence[Text]) -> None:
        """Show these rows (a prompt per key; equal keys must have equal prompts)."""
        before = self._shown()
        self.keys = list(keys)
        self.prompts = list(prompts)
        self.top = 0
        # Quietly: whoever set the rows knows the first one is highlighted (no message, so
        # no second frame for it); moves and clicks post `Highlighted`.
        self.set_reactive(ChoiceList.highlighted, 0 if self.keys else None)
        # Repaint the rows that show something else now, not the whole list: a keystroke that
        # changes a few hits (or none) leaves the rest, and the blank rows below, as they were.
        after = self._shown()
        width = self.content_size.width
        for row in range(max(len(before), len(after))):
            if row >= len(before) or row >= len(after) or before[row] != after[row]:
                self.refresh(Region(0, row * self.row_height, width, self.row_height))

    def _shown(self) -> list[tuple[Hashable, bool]]:
        """What each visible row shows: its key, and whether it is highlighted."""
        rows = max(1, self.content_size.height // self.row_height)
        shown = range(self.top, min(len(self.keys), self.top + rows))
        return [(self.keys[i], i == self.highlighted) for i in shown]

    def watch_highlighted(self, old: int | None, new: int | None) -> None:
        if new is not None:
            height = max(1, self.content_size.height // self.row_height)
            if new < self.top:
                self.top = new
            elif new >= self.top + height:
                self.top = new - height + 1
        self.post_message(self.Highlighted(new))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = self.top + y // self.row_height
        width = self.content_size.width
        if index >= len(self.keys) or width <= 0:
            # Cached: the widget's style is worked out from its ancestors on every read.
            blank_key = ("", False, width, self.app.theme)
            blank = self._cache.get(blank_key)
            if blank is None:
                blank = [Strip.blank(width, self.rich_style)]
                self._cache[blank_key] = blank
            return blank[0]
        is_highlighted = index == self.highlighted
        key = (self.keys[index], is_highlighted, width, self.app.theme)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._render_row(self.prompts[index], width, is_highlighted)
            self._cache[key] = cached
        return cached[y % self.row_height]

    def _render_row(self, prompt: Text, width: int, is_highlighted: bool) -> list[Strip]:
        highlight = self.get_component_rich_style("choice-list--highlight", partial=True)
        base = self.rich_style
        lines = prompt.split("\n", allow_blank=True)[: self.row_height]
        strips = []
        for line in [*lines, *[Text()] * (self.row_height - len(lines))]:
            line.no_wrap = True
            line.end = ""
            line.truncate(width, overflow="ellipsis")
            if is_highlighted:
                line.stylize(highlight)
            strip = (
                Strip(list(line.render(self.app.console))).adjust_cell_length(width, base).apply_style(base)
            )
            if is_highlighted:
                strip = strip.apply_style(highlight)
            strips.append(Strip(list(Segment.simplify(strip)), width))
        return strips

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.top + offset.y // self.row_height
        if 0 <= index < len(self.keys):
            self.highlighted = index
            self.post_message(self.Selected(index))
