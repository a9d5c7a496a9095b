"""The canned picker under the typing that froze it (issue 17, point 1): the real console
against the real desk server, keys arriving as a terminal delivers them."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.app import App
from textual.widgets import Input

from agent_console.tui.screens.pickers import Choice, PickerScreen
from tests.conftest import Desk
from tests.test_tui_flows import WIDE, console, focus_conversation, make_app, new_customer, ready
from tests.tui_helpers import screen_text, wait_for


def type_ahead(app: App, keys: list[str]) -> None:
    """Queue key presses at once, as a terminal does when the agent types faster than the
    console answers (the pilot's `press` waits for the app after each key)."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


def shown(picker: PickerScreen) -> list[str]:
    return [choice.label for choice in picker.shown_choices]


async def test_canned_picker_answers_the_reported_sequence(desk: Desk, tmp_path: Path) -> None:
    cid, name = new_customer(desk)
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("r", *"Hi there ", "slash")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the canned picker")
        picker = app.screen
        box = picker.query_one(Input)

        # `closing`, backspaces, `closing` again, `c`: typed without waiting for the console.
        type_ahead(app, [*"closing", *["backspace"] * 7, *"closing", "c"])
        await wait_for(
            pilot,
            lambda: box.value == "closingc" and picker.shown_query == "closingc",
            timeout=20,
            what="the picker to answer the last key",
        )
        # No shortcode, title or text holds "closingc": the picker says so.
        assert shown(picker) == []
        assert "nothing matches closingc" in screen_text(app)

        type_ahead(app, ["backspace"])
        await wait_for(
            pilot,
            lambda: picker.shown_query == "closing" and "/close" in shown(picker),
            timeout=20,
            what="the closing responses listed",
        )
        assert "Closing" in screen_text(app)

        type_ahead(app, [*"xyz", "escape"])
        await wait_for(pilot, lambda: not isinstance(app.screen, PickerScreen), timeout=20, what="escape")
        composer = console(app).pane.composer
        assert composer.text == "Hi there /"
        assert composer.input.has_focus


async def test_enter_right_after_typing_chooses_from_the_latest_filter(desk: Desk, tmp_path: Path) -> None:
    """A fast `/clos⏎` must insert what matches `clos`, never the first entry of an older list."""
    cid, name = new_customer(desk)
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("r", "slash")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the canned picker")
        type_ahead(app, [*"apn", "enter"])
        composer = console(app).pane.composer
        await wait_for(pilot, lambda: "APN" in composer.text, timeout=20, what="the APN response inserted")


class PickerApp(App[None]):
    """A bare app holding one picker over many long entries (more than one filter slice)."""

    def __init__(self, choices: list[Choice[int]]) -> None:
        super().__init__()
        self.choices = choices
        self.result: list[int | None] = []

    def on_mount(self) -> None:
        self.push_screen(PickerScreen("Many", self.choices), self.result.append)


def many_choices(count: int) -> list[Choice[int]]:
    filler = "Thanks for waiting, we are checking the closing balance of your account. " * 12
    return [
        Choice(f"/entry-{i:04d}", i, detail=f"Entry {i}", search=f"{filler} code{i:04d}")
        for i in range(count)
    ]


async def test_enter_typed_ahead_of_a_slow_filter_chooses_what_the_query_matches() -> None:
    app = PickerApp(many_choices(2000))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        type_ahead(app, [*"entry-1234", "enter"])
        await wait_for(pilot, lambda: app.result, timeout=20, what="a choice")
        assert app.result == [1234]


async def test_escape_typed_ahead_of_filters_closes_the_picker() -> None:
    app = PickerApp(many_choices(2000))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        type_ahead(app, [*"closing balance code", *["backspace"] * 5, *"code1", "escape"])
        await wait_for(pilot, lambda: app.result, timeout=20, what="the picker to close")
        assert app.result == [None]
