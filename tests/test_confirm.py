"""Acting on a colleague's conversation asks first, and only `y` says yes (issue 17, point 7).

The real console against both help desks (`helpdesk`): the conversation is assigned to a
colleague, the agent presses action keys in the console, and the help desk's record is checked.
"""

from __future__ import annotations

from pathlib import Path

from textual import events

from agent_console.tui.screens.confirm import ConfirmScreen
from agent_console.tui.screens.pickers import PickerScreen
from tests.backends import Helpdesk
from tests.test_tui_flows import WIDE, focus_conversation, make_app, ready
from tests.tui_helpers import screen_text, wait_for


async def focus_colleagues_conversation(pilot, cid: int, name: str) -> None:  # noqa: ANN001
    """Open a colleague's conversation and wait until the console knows whose it is."""
    await focus_conversation(pilot, cid, name)
    await wait_for(
        pilot, lambda: pilot.app.store.desk.conversations[cid].assignee is not None, what="the assignee"
    )


async def test_a_colleagues_conversation_changes_only_after_y(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    helpdesk.assign_to_colleague(cid)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_colleagues_conversation(pilot, cid, name)
        # Every answer but `y` cancels, including enter (the key a stray burst ends with), a
        # paste that contains "y", and a capital Y.
        for answer in ("n", "escape", "enter", "space", "Y", "1", "paste"):
            await pilot.press("p")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
            text = screen_text(app)
            assert f"#{cid} is {helpdesk.colleague}'s. Set it to pending?" in text
            assert "any other key cancels" in text
            if answer == "paste":
                app.post_message(events.Paste("yes y y"))
            else:
                await pilot.press(answer)
            await wait_for(
                pilot, lambda: not isinstance(app.screen, ConfirmScreen), what=f"{answer} to cancel"
            )
            await pilot.pause()
        assert helpdesk.conversation(cid)["status"] == "open"
        assert app.outbox is not None and app.outbox.items_for(cid) == []
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("y")
        await wait_for(
            pilot, lambda: helpdesk.conversation(cid)["status"] == "pending", what="pending after y"
        )
        assert helpdesk.conversation(cid)["assignee"] == helpdesk.colleague


async def test_unassign_and_picked_changes_name_the_change(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    helpdesk.assign_to_colleague(cid)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_colleagues_conversation(pilot, cid, name)
        await pilot.press("U")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        assert f"#{cid} is {helpdesk.colleague}'s. Unassign it?" in screen_text(app)
        await pilot.press("escape")
        # A picked change asks after the pick, so the question names it.
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the priority picker")
        await pilot.press(*"low", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        assert f"#{cid} is {helpdesk.colleague}'s. Set its priority to low?" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["priority"] == "low", what="low after y")
        # Take asks too: it moves the conversation away from the colleague.
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        assert "Take it (assign it to you)?" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert helpdesk.conversation(cid)["assignee"] == helpdesk.colleague


async def test_unassigned_and_own_conversations_do_not_ask(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("p")  # unassigned: at once
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "pending", what="pending")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("t")
        me = app.store.me
        assert me is not None
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["assignee_id"] == me.id, what="mine")
        await wait_for(
            pilot,
            lambda: (
                (app.store.desk.conversations[cid].assignee or me).id == me.id
                and app.store.desk.conversations[cid].assignee is not None
            ),
            what="the console to see it is mine",
        )
        await pilot.press("o")  # my own: at once
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "open", what="reopened")
        assert not isinstance(app.screen, ConfirmScreen)


async def test_ctrl_q_quits_while_the_confirmation_is_open(helpdesk: Helpdesk, tmp_path: Path) -> None:
    """The confirmation takes every key, but never the quit key: the console still ends."""
    cid, name = helpdesk.new_customer()
    helpdesk.assign_to_colleague(cid)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_colleagues_conversation(pilot, cid, name)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: app._exit, what="the console to quit")  # noqa: SLF001
    assert helpdesk.conversation(cid)["status"] == "open"
