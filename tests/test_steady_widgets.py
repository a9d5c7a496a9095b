"""The console's own input and choice list, on their own in a real Textual app (pilot):
typing past the box's width still shows what is typed, and a new list of choices never leaves
rows of the old one on screen (the list repaints only the rows that changed)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from agent_console.tui.widgets.choice_list import ChoiceList
from agent_console.tui.widgets.steady import SteadyInput
from tests.tui_helpers import region_text, wait_for


class InputApp(App):
    CSS = "SteadyInput { width: 24; }"

    def compose(self) -> ComposeResult:
        yield SteadyInput(id="box")


async def test_typing_past_the_width_shows_the_end_of_the_text() -> None:
    app = InputApp()
    async with app.run_test(size=(60, 10)) as pilot:
        typed = "abcdefghijklmnopqrstuvwxyz0123456789XYZ"
        await pilot.press(*typed)
        box = app.query_one(SteadyInput)
        await wait_for(pilot, lambda: box.value == typed, what="every key in the box")
        await wait_for(pilot, lambda: "789XYZ" in region_text(app, box), what="the end of the text in view")
        assert "abc" not in region_text(app, box)  # scrolled: the start is out of the box
        await pilot.press("home")
        await wait_for(pilot, lambda: "abcdef" in region_text(app, box), what="the start again after home")


class ListApp(App):
    def compose(self) -> ComposeResult:
        yield ChoiceList(id="choices", row_height=2)


def _items(names: list[str]) -> tuple[list[str], list[Text]]:
    return names, [Text(f"{name} title\n{name} snippet") for name in names]


async def test_a_new_list_leaves_no_row_of_the_old_one() -> None:
    app = ListApp()
    async with app.run_test(size=(60, 30)) as pilot:
        choices = app.query_one(ChoiceList)
        first = [f"alpha{i}" for i in range(10)]
        choices.set_items(*_items(first))
        await wait_for(pilot, lambda: "alpha9 snippet" in region_text(app, choices), what="the first list")
        # Fewer rows, the first kept, the others new: the rows below must be blank now.
        second = ["alpha0", "beta1", "beta2"]
        choices.set_items(*_items(second))

        def shows_second() -> bool:
            text = region_text(app, choices)
            return all(f"{n} snippet" in text for n in second) and not any(
                f"alpha{i} " in text for i in range(1, 10)
            )

        await wait_for(pilot, shows_second, what="only the second list")
        # The highlight moves to the new first row: drawn in the highlight's style.
        choices.set_items(*_items(["gamma"]))
        await wait_for(
            pilot,
            lambda: "gamma title" in region_text(app, choices) and "alpha0" not in region_text(app, choices),
            what="the third list",
        )
        assert choices.highlighted == 0
