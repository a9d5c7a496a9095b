"""The composer: a multi-line reply box with a Reply / Private note switch.

`/` typed at the start of a word asks for the canned-response picker. Sending is
ctrl+enter, or the alternative key from the config (ctrl+s by default, because many
terminals cannot tell ctrl+enter from enter).
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static, TextArea


class ComposerInput(TextArea):
    cursor_blink = reactive(False, init=False)  # see widgets/steady.py
    BINDINGS = [
        Binding("ctrl+enter,ctrl+s", "send", "Send", id="composer.send", priority=True),
        Binding("ctrl+t", "toggle_mode", "Reply/Note", id="composer.toggle_mode"),
        Binding("escape", "leave", "Leave composer", id="composer.leave"),
    ]

    class CannedRequested(Message):
        """`/` typed at the start of a word: offer canned responses."""

    class Send(Message):
        pass

    class ToggleMode(Message):
        pass

    class Leave(Message):
        pass

    def action_send(self) -> None:
        self.post_message(self.Send())

    def action_toggle_mode(self) -> None:
        self.post_message(self.ToggleMode())

    def action_leave(self) -> None:
        self.post_message(self.Leave())

    async def _on_key(self, event) -> None:  # noqa: ANN001 - textual.events.Key
        await super()._on_key(event)
        if event.character == "/" and self._slash_starts_word():
            # The slash stays (an agent who wanted one has it); the picker is offered.
            self.post_message(self.CannedRequested())

    def _slash_starts_word(self) -> bool:
        row, column = self.cursor_location
        line = self.document.get_line(row)
        if column == 0 or line[column - 1] != "/":
            return False
        return column == 1 or line[column - 2].isspace()


class Composer(Vertical):
    DEFAULT_CSS = """
    Composer { height: auto; max-height: 14; border-top: solid $primary 50%; }
    Composer.-note { border-top: solid $warning; }
    Composer > #composer-mode { height: 1; padding: 0 1; color: $text-muted; }
    Composer.-note > #composer-mode { color: $warning; text-style: bold; }
    Composer > ComposerInput { height: auto; min-height: 1; max-height: 12; border: none; padding: 0 1; }
    Composer:focus-within > ComposerInput { min-height: 3; }
    """

    private: reactive[bool] = reactive(False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.input = ComposerInput(
            id="composer-input", soft_wrap=True, show_line_numbers=False, tab_behavior="focus"
        )

    def compose(self):  # noqa: ANN201
        yield Static(id="composer-mode")
        yield self.input

    @property
    def text(self) -> str:
        return self.input.text

    def set_text(self, text: str, *, private: bool | None = None) -> None:
        self.input.load_text(text)
        if private is not None:
            self.private = private
        self.input.move_cursor(self.input.document.end)

    def watch_private(self, private: bool) -> None:
        self.set_class(private, "-note")
        label = Text()
        if private:
            label.append("Private note", "bold")
            label.append(" · only agents see this · ctrl+t for reply · ctrl+s send")
        else:
            label.append("Reply", "bold")
            label.append(" to the customer · ctrl+t for private note · ctrl+s send · / canned")
        self.query_one("#composer-mode", Static).update(label)

    def on_mount(self) -> None:
        self.watch_private(self.private)
