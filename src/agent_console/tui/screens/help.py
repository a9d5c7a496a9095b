"""`?`: the keys that work where you are, as they are bound now (remaps included), grouped
(Queue, Conversation, Composer, App) in the order an agent learns them."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from agent_console.tui.keys import help_rows

# What the marks and the escape key mean: no key shows these, so help says them.
LEGEND = (
    (
        "3",
        "in the queue's `new` column: messages from the customer or colleagues since you last read"
        " the conversation (your own never count); opening it reads it, m marks read or unread",
    ),
    ("99+", "in the `new` column: a hundred or more unread"),
    ("esc", "steps back one level: composer → thread → queue; clears the filter; closes any window"),
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90%; max-width: 110; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen #help-hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close help", id="help.close")]

    def __init__(self, screen: Screen, title: str) -> None:
        super().__init__()
        self.groups = help_rows(screen)
        self.rows = [row for _, rows in self.groups for row in rows]
        self.title_text = title

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("Keys", no_wrap=True, min_width=10)
        table.add_column("Action", ratio=1)
        table.add_column(Text("id (for [keys] in config)"), style="dim", no_wrap=True)
        for group, rows in self.groups:
            table.add_row(Text(group, "bold underline"), Text(""), Text(""))
            for keys, description, ident in rows:
                table.add_row(Text(keys, "bold"), Text(description), Text(ident))
            table.add_row(Text(""), Text(""), Text(""))
        table.add_row(Text("Marks", "bold underline"), Text(""), Text(""))
        for mark, meaning in LEGEND:
            table.add_row(Text(mark, "bold"), Text(meaning), Text(""))
        with Vertical():
            yield Static(Text(self.title_text, "bold"))
            with VerticalScroll():
                yield Static(table)
            yield Static(Text("ctrl+p: command palette with every action · esc: close"), id="help-hint")
