"""`?`: the keys that work where you are, as they are bound now (remaps included)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def binding_rows(screen: Screen) -> list[tuple[str, str, str]]:
    """(keys, what it does, binding id) for every binding active on `screen`'s focus chain."""
    rows: dict[str, tuple[list[str], str, str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or binding.action in ("help",):
            continue
        ident = binding.id or binding.action
        keys, description, _ = rows.setdefault(ident, ([], binding.description, ident))
        display = screen.app.get_key_display(binding) if binding.key == key else key
        if display not in keys:
            keys.append(display)
    out = [(" ".join(keys), description, ident) for keys, description, ident in rows.values()]
    return sorted(out, key=lambda row: row[1].lower())


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
        self.rows = binding_rows(screen)
        self.title_text = title

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("Keys", no_wrap=True)
        table.add_column("Action")
        table.add_column(Text("id (for [keys] in config)"), style="dim", no_wrap=True)
        for keys, description, ident in self.rows:
            table.add_row(Text(keys, "bold"), Text(description), Text(ident))
        with Vertical():
            yield Static(Text(self.title_text, "bold"))
            with VerticalScroll():
                yield Static(table)
            yield Static(Text("ctrl+p: command palette with every action · esc: close"), id="help-hint")
