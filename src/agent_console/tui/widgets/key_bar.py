"""The key hints on the bottom line: one widget drawing one line of text.

Textual's Footer is a container of one widget per key, and it removes and mounts all of them
again whenever the keys in force change: at every focus move (enter, escape, tab), every time
undo comes and goes, and several times while the console starts. That is a style pass over a
dozen new widgets each time, on the way to the first frame and on keys an agent presses all
night. Here a change of keys only redraws the one line, and only when its text changed.

It reads the same bindings the Footer reads (`screen.active_bindings`, those with `show`, one
per action, disabled ones dimmed, the command palette's key on the right), and a click on a
key presses it, as the Footer's do. Keys that do not fit are left out whole, never cut.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class KeyHint(NamedTuple):
    key: str  # what a click presses
    display: str  # how the key is written (⏎, ^g, ...)
    description: str
    enabled: bool


class KeyBar(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.hints: tuple[KeyHint, ...] = ()
        self.palette: KeyHint | None = None
        self._spans: list[tuple[int, int, KeyHint]] = []  # where each drawn hint is, for clicks

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        hints, palette = self._read(screen)
        if (hints, palette) != (self.hints, self.palette):
            self.hints, self.palette = hints, palette
            self.refresh()

    def _read(self, screen: Screen) -> tuple[tuple[KeyHint, ...], KeyHint | None]:
        app = self.app
        seen: set[str] = set()
        hints: list[KeyHint] = []
        bindings = screen.active_bindings
        for _node, binding, enabled, _tooltip in bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            hints.append(KeyHint(binding.key, app.get_key_display(binding), binding.description, enabled))
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in bindings:
            _node, binding, enabled, _tooltip = bindings[app.COMMAND_PALETTE_BINDING]
            palette = KeyHint(binding.key, app.get_key_display(binding), binding.description, enabled)
            hints = [hint for hint in hints if hint.key != binding.key]
        return tuple(hints), palette

    def _piece(self, hint: KeyHint) -> Text:
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        description_style = self.get_component_rich_style("key-bar--description", partial=True)
        piece = Text.assemble((f" {hint.display} ", key_style), (f"{hint.description} ", description_style))
        if not hint.enabled:
            piece.stylize("dim")
        return piece

    def render(self) -> Text:
        width = self.size.width
        right = Text()
        if self.palette is not None:
            right = Text.assemble(("▏", "dim"), self._piece(self.palette))
        room = max(0, width - right.cell_len)
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        for hint in self.hints:
            piece = self._piece(hint)
            if line.cell_len + piece.cell_len > room:
                break  # left out whole rather than cut in the middle of a word
            self._spans.append((line.cell_len, line.cell_len + piece.cell_len, hint))
            line.append_text(piece)
        if right:
            start = width - right.cell_len
            line.append(" " * max(0, start - line.cell_len))
            if self.palette is not None:
                self._spans.append((start, width, self.palette))
            line.append_text(right)
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, hint in self._spans:
            if start <= event.x < end:
                if hint.enabled:
                    self.app.simulate_key(hint.key)
                else:
                    self.app.bell()
                return
