"""Small modal screens: a filtering picker, a line prompt, and the 409 review."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from agent_console.core.matching import Candidate, Index, Query
from agent_console.core.models import CannedResponse, Message
from agent_console.tui.safe_text import untrusted, untrusted_line
from agent_console.tui.widgets.choice_list import ChoiceList
from agent_console.tui.widgets.steady import SteadyInput

T = TypeVar("T")

# A match on the label counts most; a body that merely contains the query, least.
LABEL_WEIGHT, DETAIL_WEIGHT, SEARCH_WEIGHT = 1.0, 0.8, 0.4
LIST_ROWS = 18  # a picker's list shows at most this many entries at once
PREVIEW_ROWS = 11


@dataclass(frozen=True, slots=True)
class Choice(Generic[T]):
    label: str  # untrusted: shown through the sanitizer, matched as plain text
    value: T
    detail: str = ""  # untrusted too
    search: str = ""  # long text matched by substring or word prefix, never fuzzy (e.g. a body)
    rank: float = 0.0  # added to the match score: higher comes first (e.g. "in your language")


MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 80%; max-width: 100; height: auto; max-height: 85%;
    border: thick $primary; background: $surface; padding: 0 1;
}}
{name} .modal-title {{ text-style: bold; padding: 0 0 1 0; }}
{name} .modal-hint {{ color: $text-muted; padding: 1 0 0 0; }}
"""


class FilterInput(SteadyInput):
    """A filter box that hands its new text to `on_change` as the value changes.

    A posted `Changed` message is handled after the echo was drawn, so the filtered list
    would come a frame (>= 17 ms) later; called from the watcher, both share one frame."""

    def __init__(self, on_change: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_change = on_change

    def watch_value(self, value: str) -> None:
        if self.is_attached:  # typed ahead of an escape: the picker is closing
            self._on_change(value)


class PickerScreen(ModalScreen[T | None], Generic[T]):
    """Type to filter, arrows to move, enter to choose, escape to cancel.

    Filtering is `core.matching`: a fuzzy match on the label and detail, a bounded substring
    or word-prefix match on the long `search` text, all folded once when the screen opens.
    The list is filtered as the box's value changes, in the same frame as the echo; very
    long lists are filtered by a worker in slices instead, a newer keystroke cancels the
    older filter, and results are drawn only for the query still in the box. The best
    `MAX_SHOWN` entries are listed; the status line says how many more matched.
    """

    DEFAULT_CSS = (
        MODAL_CSS.format(name="PickerScreen")
        + """
    PickerScreen Input { width: 1fr; }
    PickerScreen #picker-status { height: 1; color: $text-muted; }
    PickerScreen #picker-preview { color: $text-muted; padding: 1 0 0 0; }
    """
    )
    BINDINGS = [
        Binding("escape", "dismiss_none", "Cancel", id="picker.cancel"),
        Binding("down", "move(1)", "Down", show=False, id="picker.down"),
        Binding("up", "move(-1)", "Up", show=False, id="picker.up"),
    ]
    MAX_SHOWN = 50
    SYNC_CHARS = 1_000_000  # up to this much text (500 long canned responses) a filter is ~3 ms
    SLICE = 200  # entries scored between two yields to the event loop, above that

    def __init__(
        self,
        title: str,
        choices: Sequence[Choice[T]],
        *,
        query: str = "",
        preview: Callable[[T], Text] | None = None,
        hint: str = "type to filter · enter choose · esc cancel",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.initial_query = query
        self.preview = preview
        self.hint = hint
        self.index = Index([candidate(choice) for choice in self.choices])
        self.shown_choices: list[Choice[T]] = []
        self.matched = 0  # how many matched the query shown (more than are drawn, maybe)
        self.shown_query: str | None = None  # the query the list was filtered for
        self.filter_box: Input | None = None
        self._prompts: dict[int, Text] = {}  # built once per choice, on first show
        self._previewed: Choice[T] | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), classes="modal-title")
            self.filter_box = FilterInput(
                self._changed, value=self.initial_query, placeholder="filter", id="picker-filter"
            )
            yield self.filter_box
            yield ChoiceList(id="picker-options")
            yield Static(id="picker-status")
            if self.preview is not None:
                yield Static(id="picker-preview")
            yield Static(Text(self.hint), classes="modal-hint")

    def on_mount(self) -> None:
        self._fit(self.app.size.height)
        self.refilter(self.initial_query)
        self.query_one(Input).focus()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        """Fixed heights for the list and the preview, as many rows as the terminal allows.

        A box that keeps its size as the list narrows: a change of size is a new layout,
        and a new layout repaints the dimmed console behind the modal."""
        # The modal's 85 % less its border, title, filter box, list border, status and hint.
        spare = int(height * 0.85) - 12
        options = self.query_one(ChoiceList)
        preview_rows = 0
        if self.preview is not None:
            preview_rows = min(PREVIEW_ROWS, max(3, spare // 3))
            self.query_one("#picker-preview", Static).styles.height = preview_rows
        rows = min(max(len(self.choices), 1), LIST_ROWS, max(3, spare - preview_rows))
        options.styles.height = rows + options.styles.gutter.height

    def _changed(self, value: str) -> None:
        if not self.is_mounted:
            return  # the initial value: on_mount filters for it
        if self.index.size <= self.SYNC_CHARS:
            # A few milliseconds: filtered in the same frame as the key's echo, never stale.
            self.refilter(value)
        else:
            self._filter(value)

    def refilter(self, query: str) -> None:
        """Filter for `query` now, on the event loop (bounded: see core.matching)."""
        parsed = Query.of(query)
        order = self.index.ranked(self.index.scan(parsed)) if parsed else self.index.everything()
        self._show(query, order)

    @work(exclusive=True, group="picker-filter")
    async def _filter(self, query: str) -> None:
        """Filter in slices, yielding between them: keys keep echoing, and the next keystroke
        cancels this one (exclusive worker) at its next yield."""
        parsed = Query.of(query)
        if not parsed:
            order = self.index.everything()
        else:
            hits: list[tuple[float, int]] = []
            for start in range(0, len(self.index), self.SLICE):
                hits += self.index.scan(parsed, start, start + self.SLICE)
                await asyncio.sleep(0)
            order = self.index.ranked(hits)
        box = self.filter_box
        if box is not None and box.is_attached and query == box.value:
            self._show(query, order)  # a late result for an old query (or a closed picker) is dropped

    def _show(self, query: str, order: list[int]) -> None:
        self.shown_query = query
        self.matched = len(order)
        self.shown_choices = [self.choices[i] for i in order[: self.MAX_SHOWN]]
        shown = order[: self.MAX_SHOWN]
        self.query_one(ChoiceList).set_items(shown, [self._prompt_of(i) for i in shown])
        self.query_one("#picker-status", Static).update(self._status(query), layout=False)
        self._show_preview()

    def _status(self, query: str) -> Text:
        if not self.matched and query.strip():
            status = Text("nothing matches ")
            status.append_text(untrusted_line(query.strip(), "bold"))
            return status
        if self.matched > len(self.shown_choices):
            return Text(f"{len(self.shown_choices)} of {self.matched} shown · type to narrow")
        return Text("")

    def _prompt_of(self, index: int) -> Text:
        prompt = self._prompts.get(index)
        if prompt is None:
            prompt = self._prompts[index] = self._prompt(self.choices[index])
        return prompt

    def _prompt(self, choice: Choice[T]) -> Text:
        text = untrusted_line(choice.label, "bold")
        if choice.detail:
            text.append("  ")
            text.append_text(untrusted_line(choice.detail, "dim"))
        return text

    def _show_preview(self) -> None:
        if self.preview is None:
            return
        index = self.query_one(ChoiceList).highlighted
        shown = None if index is None or index >= len(self.shown_choices) else self.shown_choices[index]
        if shown is self._previewed and shown is not None:
            return  # the same entry on top: nothing to redraw
        self._previewed = shown
        panel = self.query_one("#picker-preview", Static)
        # Fixed heights: no new layout (and no repaint of the console behind) per keystroke.
        panel.update("" if shown is None else self.preview(shown.value), layout=False)

    @on(ChoiceList.Highlighted)
    def _highlighted(self) -> None:
        self._show_preview()

    def action_move(self, step: int) -> None:
        options = self.query_one(ChoiceList)
        if not self.shown_choices:
            return
        current = options.highlighted or 0
        options.highlighted = max(0, min(len(self.shown_choices) - 1, current + step))

    @on(Input.Submitted, "#picker-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value != self.shown_query:
            # Enter came before the filter of the last keystroke: never choose from a list
            # filtered for another query.
            self.refilter(event.value)
        self._choose(self.query_one(ChoiceList).highlighted)

    @on(ChoiceList.Selected)
    def _selected(self, event: ChoiceList.Selected) -> None:
        self._choose(event.index)

    def _choose(self, index: int | None) -> None:
        if index is not None and 0 <= index < len(self.shown_choices):
            self._close(self.shown_choices[index].value)

    def action_dismiss_none(self) -> None:
        self._close(None)

    def _close(self, value: T | None) -> None:
        self.workers.cancel_group(self, "picker-filter")  # no filter outlives the picker
        self.dismiss(value)


def canned_choices(library: Sequence[CannedResponse], language: str) -> list[Choice[CannedResponse]]:
    """The canned picker's entries: the shortcode first, then title and locale, the body
    searched; responses in the customer's language rank first."""
    return [
        Choice(
            f"/{canned.shortcode}",
            canned,
            detail=f"{canned.title} [{canned.locale}]",
            search=canned.body,
            rank=0.5 if canned.locale == language else 0.0,
        )
        for canned in library
    ]


def candidate(choice: Choice) -> Candidate:
    """What the matcher sees of a choice (bench/p9_picker.py predicts the list with it)."""
    return Candidate(
        short=((choice.label, LABEL_WEIGHT), (choice.detail, DETAIL_WEIGHT)),
        long=((choice.search, SEARCH_WEIGHT),) if choice.search else (),
        rank=choice.rank,
    )


class PromptScreen(ModalScreen[str | None]):
    """One line of input, with a check that explains what is wrong."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="PromptScreen")
        + """
    PromptScreen #prompt-error { color: $error; height: auto; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(
        self,
        title: str,
        *,
        value: str = "",
        placeholder: str = "",
        check: Callable[[str], str | None] | None = None,
        hint: str = "enter to confirm · esc to cancel",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.check = check
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), classes="modal-title")
            yield SteadyInput(value=self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static(id="prompt-error")
            yield Static(Text(self.hint), classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        problem = self.check(event.value) if self.check else None
        if problem:
            self.query_one("#prompt-error", Static).update(Text(problem))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReviewScreen(ModalScreen[str]):
    """The server said someone wrote meanwhile: show it, then send anyway or edit."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="ReviewScreen")
        + """
    ReviewScreen VerticalScroll { height: auto; max-height: 55vh; }  /* its keys stay on an 80x24 screen */
    ReviewScreen .unseen { border-left: thick $warning; padding: 0 1; margin: 0 0 1 0; }
    """
    )
    BINDINGS = [
        Binding("enter,ctrl+s", "choose('send')", "Send anyway", id="review.send"),
        Binding("escape,e", "choose('edit')", "Edit", id="review.edit"),
    ]

    def __init__(self, unseen: list[Message]) -> None:
        super().__init__()
        self.unseen = unseen

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(f"{len(self.unseen)} new message(s) arrived while you were writing", "bold"),
                classes="modal-title",
            )
            with VerticalScroll():
                for message in self.unseen:
                    text = untrusted_line(message.author.name or message.kind, "bold")
                    text.append(f"  ({message.kind})\n", "dim")
                    text.append_text(untrusted(message.body))
                    yield Static(text, classes="unseen")
            yield Static(Text("enter: send your reply anyway · esc: go back and edit"), classes="modal-hint")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
