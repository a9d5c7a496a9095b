"""Only actions the console binds somewhere in force (or a few it always allows) may run:
an action named by anything else is refused. The quit key works on every screen."""

from __future__ import annotations

from agent_console.client.native import NativeBackend
from agent_console.tui.app import ConsoleApp
from agent_console.tui.screens.confirm import ConfirmScreen


async def test_unbound_actions_are_refused_and_quit_is_always_allowed() -> None:
    app = ConsoleApp(NativeBackend("http://127.0.0.1:9", "unused"))
    async with app.run_test() as pilot:
        await pilot.pause()
        dark = app.theme
        assert await app.run_action("toggle_dark") is False, "not bound anywhere in the console"
        assert app.theme == dark
        app.push_screen(ConfirmScreen(1, "Ana Ruiz", "Set it to pending?"))
        await pilot.pause()
        assert "quit" in app._allowed_actions()  # noqa: SLF001 - the allowlist itself
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app._exit  # noqa: SLF001 - the app is on its way out
