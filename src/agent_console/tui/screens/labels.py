"""The labels picker: the desk's labels offered, several chosen, new ones made on the way.

Type to filter; space or enter toggles the highlighted label (and clears the filter);
typing a name no label has offers "create label 'name'"; ctrl+s applies, escape cancels.
Names are folded (`VIP` is `vip`) as the server stores them, so what is shown is what
will be stored.

It opens at once with the labels the console already holds (its queue), then merges the
desk's full list (`GET /labels`) when that arrives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from agent_console.client.errors import BackendError
from agent_console.core.labels import fold_label, label_problem
from agent_console.core.matching import Candidate, Index, Query
from agent_console.core.models import LabelCount
from agent_console.tui.safe_text import untrusted_line
from agent_console.tui.screens.pickers import LIST_ROWS, MODAL_CSS
from agent_console.tui.widgets.choice_list import ChoiceList
from agent_console.tui.widgets.steady import SteadyInput


class LabelFilter(SteadyInput):
    """A label never holds a space, so space is left to the screen's toggle binding."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character != " " and super().check_consume_key(key, character)


@dataclass(frozen=True, slots=True)
class Row:
    name: str  # folded
    create: bool = False  # the "create label" row for a name no label has yet


def count_labels(label_lists: Iterable[Sequence[str]]) -> dict[str, int]:
    """Folded label -> how many of the lists carry it."""
    counts: dict[str, int] = {}
    for labels in label_lists:
        for name in dict.fromkeys(fold_label(label) for label in labels):
            counts[name] = counts.get(name, 0) + 1
    return counts


class LabelsScreen(ModalScreen[list[str] | None]):
    """Dismisses with the chosen labels (folded, in order) or None when cancelled."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="LabelsScreen")
        + """
    LabelsScreen #labels-selected { height: 2; padding: 1 0 0 0; }
    LabelsScreen #labels-error { height: 1; color: $error; }
    """
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="labels.cancel"),
        # Priority: before the filter box, which leaves the space alone (see LabelFilter).
        Binding("space", "toggle", "Toggle", priority=True, id="labels.toggle"),
        Binding("ctrl+s", "apply", "Apply", id="labels.apply"),
        Binding("down", "move(1)", "Down", show=False, id="labels.down"),
        Binding("up", "move(-1)", "Up", show=False, id="labels.up"),
    ]
    MAX_SHOWN = 50

    def __init__(
        self,
        title: str,
        current: Sequence[str],
        known: dict[str, int],
        *,
        load: Callable[[], Awaitable[list[LabelCount]]] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.selected: list[str] = list(dict.fromkeys(fold_label(label) for label in current))
        self.counts = {fold_label(name): count for name, count in known.items()}
        for name in self.selected:
            self.counts.setdefault(name, 0)
        self.load = load
        self.names: list[str] = []
        self.index = Index([])
        self.rows: list[Row] = []
        self._order_names()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), classes="modal-title")
            yield LabelFilter(placeholder="filter, or a new label's name", id="labels-filter")
            yield ChoiceList(id="labels-options")
            yield Static(id="labels-error")
            yield Static(id="labels-selected")
            yield Static(
                Text("space/enter toggle · ctrl+s apply · esc cancel"),
                classes="modal-hint",
            )

    def on_mount(self) -> None:
        self._fit(self.app.size.height)
        self.refilter()
        self.query_one(Input).focus()
        if self.load is not None:
            self.run_worker(self._load(self.load), group="labels-load")

    async def _load(self, load: Callable[[], Awaitable[list[LabelCount]]]) -> None:
        try:
            desk_labels = await load()
        except BackendError as exc:
            self.query_one("#labels-error", Static).update(
                untrusted_line(f"showing this console's labels only: {exc.message}")
            )
            return
        for item in desk_labels:
            self.counts[fold_label(item.name)] = item.count
        self._order_names()
        self._fit(self.app.size.height)
        self.refilter()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        """A list of fixed height (as many rows as the terminal allows), so filtering never
        changes the box's size (a new layout) and the selection line and keys stay in view."""
        # The modal's 85 % less its border, title, filter box, list border, error,
        # selection line and hint.
        spare = int(height * 0.85) - 14
        options = self.query_one(ChoiceList)
        rows = min(len(self.names) + 1, LIST_ROWS, max(3, spare))
        options.styles.height = max(rows, 1) + options.styles.gutter.height

    def _order_names(self) -> None:
        """Chosen labels first (as they are on the conversation), then the most used."""
        others = sorted(
            (name for name in self.counts if name not in self.selected), key=lambda n: (-self.counts[n], n)
        )
        self.names = [*self.selected, *others]
        self.index = Index([Candidate(short=((name, 1.0),)) for name in self.names])

    # --- filtering -----------------------------------------------------------------------

    @property
    def query_text(self) -> str:
        return self.query_one(Input).value

    @on(Input.Changed, "#labels-filter")
    def _changed(self) -> None:
        self.query_one("#labels-error", Static).update("")
        self.refilter()

    def refilter(self) -> None:
        """Labels are short and few: filtered on the spot (bounded, see core.matching)."""
        raw = self.query_text
        highlighted = self.highlighted_row
        order = self.index.search(raw)
        rows = [Row(self.names[i]) for i in order[: self.MAX_SHOWN]]
        typed = fold_label(raw)
        if typed in self.counts:  # the label named exactly comes first: enter takes it
            rows = [Row(typed), *(row for row in rows if row.name != typed)]
        elif typed:
            rows.append(Row(typed, create=True))
        self.rows = rows
        options = self.query_one(ChoiceList)
        options.set_items([self._row_key(row) for row in rows], [self._prompt(row) for row in rows])
        if rows:
            keep = rows.index(highlighted) if highlighted in rows and not Query.of(raw) else 0
            options.highlighted = keep
        self._show_selected()

    def _row_key(self, row: Row) -> tuple[str, bool, bool, int]:
        """What a row's drawing depends on (the list caches drawn rows by it)."""
        return (row.name, row.create, row.name in self.selected, self.counts.get(row.name, 0))

    def _prompt(self, row: Row) -> Text:
        if row.create:
            text = Text("+ create label ", "italic")
            text.append_text(untrusted_line(row.name, "bold"))
            return text
        text = Text("[x] " if row.name in self.selected else "[ ] ")
        text.append_text(untrusted_line(row.name, "bold" if row.name in self.selected else ""))
        count = self.counts.get(row.name, 0)
        if count:
            text.append(f"  {count}", "dim")
        return text

    def _show_selected(self) -> None:
        if self.selected:
            text = Text("selected: ")
            text.append_text(untrusted_line(", ".join(self.selected), "bold"))
        else:
            text = Text("no labels selected: applying removes them all", "dim")
        text.no_wrap = True
        text.overflow = "ellipsis"
        self.query_one("#labels-selected", Static).update(text)

    @property
    def highlighted_row(self) -> Row | None:
        index = self.query_one(ChoiceList).highlighted
        return self.rows[index] if index is not None and 0 <= index < len(self.rows) else None

    # --- choosing --------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        if self.rows:
            options = self.query_one(ChoiceList)
            current = options.highlighted or 0
            options.highlighted = max(0, min(len(self.rows) - 1, current + step))

    @on(Input.Submitted, "#labels-filter")
    def _submitted(self) -> None:
        self.action_toggle()

    @on(ChoiceList.Selected)
    def _clicked(self) -> None:
        self.action_toggle()  # the click moved the highlight there

    def action_toggle(self) -> None:
        row = self.highlighted_row
        if row is None:
            self.app.bell()
            return
        if row.create:
            problem = label_problem(row.name)
            if problem:
                self.query_one("#labels-error", Static).update(Text(problem))
                self.app.bell()
                return
            self.counts[row.name] = 0
            self.selected.append(row.name)
            self.names.append(row.name)
            self.index = Index([Candidate(short=((name, 1.0),)) for name in self.names])
        elif row.name in self.selected:
            self.selected.remove(row.name)
        else:
            self.selected.append(row.name)
        filter_box = self.query_one(Input)
        if filter_box.value:
            filter_box.value = ""  # the next label starts from the whole list
        self.refilter()
        options = self.query_one(ChoiceList)
        if Row(row.name) in self.rows:
            options.highlighted = self.rows.index(Row(row.name))

    def action_apply(self) -> None:
        self.dismiss(list(self.selected))

    def action_cancel(self) -> None:
        self.dismiss(None)
