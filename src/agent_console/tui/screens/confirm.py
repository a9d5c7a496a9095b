"""Asking before acting on a colleague's conversation.

Only `y` confirms. Every other key (escape, `n`, enter, space, a digit...) and a paste
cancel: a key pressed by mistake, or a burst of them, must never change someone else's
work. Quit keys still quit (the app sees them first).
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from agent_console.tui.safe_text import untrusted_line
from agent_console.tui.screens.pickers import MODAL_CSS

HINT = "y: yes, do it · any other key cancels (stray keys are safe)"


class ConfirmScreen(ModalScreen[bool]):
    """ "#82 is Ana Ruiz's. Set it to pending?" — True only for `y`."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="ConfirmScreen")
        + """
    ConfirmScreen > Vertical { border: thick $warning; }
    """
    )

    def __init__(self, conversation_id: int, assignee: str, question: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.assignee = assignee  # untrusted (a name from the server)
        self.question = question  # built from sanitized parts
        self.answered = False  # keys already on their way must not answer twice

    def compose(self) -> ComposeResult:
        title = Text(f"#{self.conversation_id} is ", "bold")
        title.append_text(untrusted_line(self.assignee, "bold"))
        title.append("'s. ", "bold")
        title.append(self.question, "bold")
        with Vertical():
            yield Static(title, classes="modal-title", id="confirm-question")
            yield Static(Text(HINT), classes="modal-hint")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        self._answer(event.key == "y")

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        self._answer(False)

    def _answer(self, yes: bool) -> None:
        if not self.answered:
            self.answered = True
            self.dismiss(yes)
