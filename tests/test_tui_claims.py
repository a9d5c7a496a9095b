"""What the README promises about the console, each checked on screen and on the server.

Keys: ctrl+t, ctrl+enter, e, i, f2, o, p, U; key remaps (problems shown, every other binding
still working); drafts for several conversations; low-bandwidth mode under SSH_CONNECTION;
NO_COLOR. Actions run on conversations assigned to the test's own agent (or unassigned), and
the server is polled with a deadline: the console may hold an action back for its undo window.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from pathlib import Path

import pytest

from agent_console.client.drafts import Drafts
from agent_console.tui.screens.pickers import PickerScreen
from agent_console.tui.widgets.composer import ComposerInput
from agent_console.tui.widgets.conversation_pane import ContactPanel
from tests.backends import ChatwootDesk, ChatwootHelpdesk, Helpdesk
from tests.conftest import Desk
from tests.test_tui_flows import NARROW, WIDE, console, make_app, new_customer, ready
from tests.tui_helpers import poll, region_text, screen_text, wait_for

SERVER_WAIT = 20.0  # an action may wait out the undo window before it is sent


def squash(text: str) -> str:
    return "".join(text.split())


async def open_by_filter(pilot, conversation_id: int, name: str) -> None:
    """Filter the queue down to one customer and open the conversation, as an agent would."""
    app = pilot.app
    await wait_for(pilot, lambda: conversation_id in app.store.desk.conversations, what="the conversation")
    if isinstance(app.focused, ComposerInput):
        await pilot.press("escape")  # leave the composer first: there `/` is canned responses
    await pilot.press("slash", "ctrl+a", "ctrl+k", *name.split()[0], "enter")
    queue = console(app).queue
    await wait_for(pilot, lambda: queue.rows == [conversation_id], what="the filter to narrow the queue")
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: (
            console(app).open_id == conversation_id
            and [m.message.conversation_id for m in console(app).pane.thread.message_items()][:1]
            == [conversation_id]
        ),
        what=f"conversation {conversation_id} to open",
    )


def toasts(app) -> str:
    """The notifications on screen, each read off its own region (whitespace taken out)."""
    return " ".join(squash(region_text(app, toast)) for toast in app.screen.query("Toast"))


def header_text(app) -> str:
    return region_text(app, console(app).pane.query_one("#conversation-header"))


def mine(helpdesk: Helpdesk, conversation_id: int) -> None:
    """Assign the conversation to the test's own agent (setup, not the test)."""
    helpdesk.assign_to_me(conversation_id)


# --- composer keys --------------------------------------------------------------------------------


async def test_ctrl_t_switches_reply_and_note(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    mine(helpdesk, cid)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await open_by_filter(pilot, cid, name)
        composer = console(app).pane.composer
        await pilot.press("r")
        await wait_for(
            pilot, lambda: "Reply to the customer" in region_text(app, composer), what="reply mode"
        )
        await pilot.press("ctrl+t")
        await wait_for(
            pilot,
            lambda: "Private note · only agents see this" in region_text(app, composer),
            what="note mode",
        )
        await pilot.press(*"switched to a note", "ctrl+s")
        await wait_for(
            pilot,
            lambda: (
                [(m["body"], m["kind"]) for m in helpdesk.messages(cid)][-1:]
                == [("switched to a note", "note")]
            ),
            timeout=SERVER_WAIT,
            what="the note on the server",
        )
        await pilot.press("ctrl+t")
        await wait_for(
            pilot, lambda: "Reply to the customer" in region_text(app, composer), what="reply again"
        )
        await pilot.press(*"and a reply", "ctrl+s")
        await wait_for(
            pilot,
            lambda: (
                [(m["body"], m["kind"]) for m in helpdesk.messages(cid)][-1:] == [("and a reply", "outgoing")]
            ),
            timeout=SERVER_WAIT,
            what="the reply on the server",
        )


async def test_ctrl_enter_sends(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    mine(helpdesk, cid)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await open_by_filter(pilot, cid, name)
        await pilot.press("r", *"sent with ctrl+enter")
        composer = console(app).pane.composer
        await wait_for(pilot, lambda: "sent with ctrl+enter" in region_text(app, composer), what="the typing")
        await pilot.press("ctrl+enter")
        await wait_for(
            pilot,
            lambda: (
                [m["body"] for m in helpdesk.messages(cid) if m["kind"] == "outgoing"]
                == ["sent with ctrl+enter"]
            ),
            timeout=SERVER_WAIT,
            what="the reply on the server",
        )
        await wait_for(
            pilot, lambda: "sent with ctrl+enter" not in region_text(app, composer), what="cleared"
        )
        await wait_for(
            pilot,
            lambda: "sent with ctrl+enter" in region_text(app, console(app).pane.thread),
            what="in the thread",
        )


# --- reading keys ----------------------------------------------------------------------------------


async def test_e_shows_all_of_a_very_long_message(helpdesk: Helpdesk, tmp_path: Path) -> None:
    tail = "END-OF-THE-LONG-MESSAGE"
    long_body = "word " * 20_000 + tail  # 100,000 characters: past what the thread shows at first
    cid, name = helpdesk.new_customer(long_body)
    assert helpdesk.messages(cid)[0]["body"] == long_body  # the server has all of it
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await open_by_filter(pilot, cid, name)
        thread = console(app).pane.thread
        thread.scroll_end(animate=False, immediate=True)
        await wait_for(
            pilot,
            lambda: "more characters (press e to show all)" in region_text(app, thread),
            what="the clipped message",
        )
        assert tail not in screen_text(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: not any(m.clipped for m in thread.message_items()), what="expanded")
        thread.scroll_end(animate=False, immediate=True)
        await wait_for(
            pilot, lambda: tail in region_text(app, thread), what="the end of the message on screen"
        )
        assert "more characters" not in region_text(app, thread)


async def test_i_shows_the_contact_panel_on_a_narrow_terminal(helpdesk: Helpdesk, tmp_path: Path) -> None:
    email = f"panel-{os.getpid()}-{time.monotonic_ns() % 10**6}@cust.example"
    cid, name = helpdesk.new_customer(email=email)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        await open_by_filter(pilot, cid, name)
        panel = console(app).pane.query_one(ContactPanel)
        assert panel.region.area == 0 and email not in screen_text(app)
        await pilot.press("i")
        await wait_for(pilot, lambda: email in squash(region_text(app, panel)), what="the contact panel")
        assert "Asia/Tokyo" in region_text(app, panel)
        await pilot.press("i")
        await wait_for(pilot, lambda: panel.region.area == 0, what="the panel hidden again")
        assert email not in screen_text(app)


# --- status keys -----------------------------------------------------------------------------------


async def test_f2_sets_presence(desk: Desk, tmp_path: Path) -> None:
    # Desk server only: Chatwoot's API sets no availability for the agent (next test).
    app = make_app(desk, tmp_path)
    me = desk.agent.get("/me").json()
    try:
        async with app.run_test(size=WIDE) as pilot:
            await ready(pilot)
            await pilot.press("f2")
            await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the presence picker")
            await pilot.press(*"away", "enter")
            await wait_for(
                pilot,
                lambda: desk.agent.get("/me").json()["presence"] == "away",
                timeout=SERVER_WAIT,
                what="away on the server",
            )
            await wait_for(
                pilot, lambda: f"{me['name']} away" in screen_text(app), what="away in the status bar"
            )
    finally:
        desk.agent.patch("/me", json={"presence": "online"})  # the shared desk's agent


async def test_f2_on_chatwoot_says_presence_is_set_there(chatwoot: ChatwootDesk, tmp_path: Path) -> None:
    app = make_app(ChatwootHelpdesk(chatwoot), tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the presence picker")
        await pilot.press(*"away", "enter")
        await wait_for(
            pilot,
            lambda: "not available on Chatwoot" in " ".join(str(n.message) for n in app._notifications),  # noqa: SLF001
            what="the console to say it is not available",
        )
        assert chatwoot.emulator.call(lambda: chatwoot.agent.availability) != "away"


async def test_o_reopens_and_p_sets_pending(helpdesk: Helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer()
    mine(helpdesk, cid)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await open_by_filter(pilot, cid, name)
        await pilot.press("p")
        await wait_for(
            pilot,
            lambda: helpdesk.conversation(cid)["status"] == "pending",
            timeout=SERVER_WAIT,
            what="pending",
        )
        await wait_for(pilot, lambda: "pending" in header_text(app), what="pending in the header")
        await pilot.press("o")
        await wait_for(
            pilot,
            lambda: helpdesk.conversation(cid)["status"] == "open",
            timeout=SERVER_WAIT,
            what="reopened",
        )
        await wait_for(pilot, lambda: "open ·" in header_text(app), what="open in the header")


async def test_U_unassigns(helpdesk: Helpdesk, tmp_path: Path) -> None:  # noqa: N802 - the key is capital U
    cid, name = helpdesk.new_customer()
    mine(helpdesk, cid)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await open_by_filter(pilot, cid, name)
        await wait_for(
            pilot, lambda: helpdesk.me["name"] in header_text(app), what="assigned to me in the header"
        )
        await pilot.press("U")
        await wait_for(
            pilot,
            lambda: helpdesk.conversation(cid)["assignee"] is None,
            timeout=SERVER_WAIT,
            what="unassigned",
        )
        await wait_for(pilot, lambda: "unassigned" in header_text(app), what="unassigned in the header")


# --- key remaps ------------------------------------------------------------------------------------


async def test_bad_remaps_are_reported_on_screen_and_every_other_binding_works(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    cid, name = helpdesk.new_customer()
    mine(helpdesk, cid)
    keymap = {
        "conv.resolve": "ctrl+r",  # fine: applied
        "conv.snooze": "r",  # r is reply's: skipped, z still snoozes
        "no.such.binding": "f5",  # unknown id: skipped
        "conv.note": "ctrl+notakey",  # not a key: skipped, n still writes a note
    }
    app = make_app(helpdesk, tmp_path, keymap=keymap)
    async with app.run_test(size=WIDE, notifications=True) as pilot:  # pilot hides toasts by default
        await ready(pilot)
        for shown in ("no.such.binding", "conv.snooze", "conv.reply", "conv.note", "ctrl+notakey"):
            await wait_for(pilot, lambda s=shown: s in toasts(app), what=f"{shown} reported on screen")
        assert "Keyremapskipped" in toasts(app)
        await open_by_filter(pilot, cid, name)
        composer = console(app).pane.composer
        # r is still reply, n still note (their remaps were skipped, their keys kept).
        await pilot.press("r")
        await wait_for(pilot, lambda: "Reply to the customer" in region_text(app, composer), what="r replies")
        await pilot.press(*"still a reply", "ctrl+s")
        await wait_for(
            pilot,
            lambda: ("still a reply", "outgoing") in [(m["body"], m["kind"]) for m in helpdesk.messages(cid)],
            timeout=SERVER_WAIT,
            what="the reply",
        )
        await pilot.press("escape", "n")
        await wait_for(pilot, lambda: "Private note" in region_text(app, composer), what="n writes a note")
        await pilot.press(*"still a note", "ctrl+s")
        await wait_for(
            pilot,
            lambda: ("still a note", "note") in [(m["body"], m["kind"]) for m in helpdesk.messages(cid)],
            timeout=SERVER_WAIT,
            what="the note",
        )
        await pilot.press("escape", "z")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="z still snoozes")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PickerScreen), what="the picker closed")
        # The accepted remap works in place of the default.
        await pilot.press("ctrl+r")
        await wait_for(
            pilot,
            lambda: helpdesk.conversation(cid)["status"] == "resolved",
            timeout=SERVER_WAIT,
            what="resolved by the remap",
        )


# --- drafts ----------------------------------------------------------------------------------------


async def test_drafts_are_kept_per_conversation_and_across_restarts(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    people = [helpdesk.new_customer(f"question {n}") for n in range(3)]
    for cid, _ in people:
        mine(helpdesk, cid)
    (first, first_name), (second, second_name), (third, third_name) = people
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        composer = console(app).pane.composer
        await open_by_filter(pilot, first, first_name)
        await pilot.press("r", *"draft for the first")
        await open_by_filter(pilot, second, second_name)
        await pilot.press("n", *"note draft for the second")
        await open_by_filter(pilot, third, third_name)
        await wait_for(pilot, lambda: composer.text == "", what="an empty composer for the third")
        await open_by_filter(pilot, first, first_name)
        await wait_for(
            pilot, lambda: "draft for the first" in region_text(app, composer), what="the first's draft back"
        )
        assert composer.text == "draft for the first" and not composer.private
        await open_by_filter(pilot, second, second_name)
        await wait_for(
            pilot,
            lambda: (
                "note draft for the second" in region_text(app, composer)
                and "Private note" in region_text(app, composer)
            ),
            what="the second's note draft back",
        )
    drafts = Drafts(tmp_path / "local.db", app.local_key())  # filed under the desk's id
    assert drafts.load(first)[:2] == ("draft for the first", False)
    assert drafts.load(second)[:2] == ("note draft for the second", True)
    assert drafts.load(third) is None
    # Nothing of it was sent.
    for cid, _ in people:
        assert [m for m in helpdesk.messages(cid) if m["kind"] in ("outgoing", "note")] == []
    again = make_app(helpdesk, tmp_path)
    async with again.run_test(size=WIDE) as pilot:
        await ready(pilot)
        composer = console(again).pane.composer
        await open_by_filter(pilot, second, second_name)
        await wait_for(
            pilot,
            lambda: "note draft for the second" in region_text(again, composer),
            what="restored (second)",
        )
        await open_by_filter(pilot, first, first_name)
        await wait_for(
            pilot, lambda: "draft for the first" in region_text(again, composer), what="restored (first)"
        )


# --- low bandwidth ---------------------------------------------------------------------------------


async def test_ssh_connection_means_low_bandwidth(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over SSH: no animation and fewer frames (feed events are drawn at most 10 times a second).
    The terminal's behaviour, whichever help desk: run on the desk server only."""
    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.9 50122 198.51.100.7 22")
    cid, name = new_customer(desk)
    app = make_app(desk, tmp_path)
    assert app.animation_level == "none"
    frames: list[float] = []
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await wait_for(
            pilot, lambda: "low-bandwidth" in screen_text(app), what="low-bandwidth in the status bar"
        )
        store = app.store
        flush = store.flush

        def counted_flush() -> None:
            frames.append(time.monotonic())
            flush()

        store.flush = counted_flush
        # A burst of customer messages, as fast as the server takes them.
        burst = 300  # long enough to span several 100 ms frames however fast the server answers

        def write() -> None:
            client = desk.client(desk.admin_token)
            for n in range(burst):
                client.post(
                    "/inbound",
                    json={
                        "channel": "web_chat",
                        "contact": {"name": "x"},
                        "body": f"burst {n}",
                        "conversation_id": cid,
                    },
                )

        writer = threading.Thread(target=write)
        writer.start()
        await wait_for(
            pilot,
            lambda: store.desk.conversations[cid].last_message.body == f"burst {burst - 1}",
            timeout=60,
            what="the burst to arrive",
        )
        writer.join(30)
    gaps = [b - a for a, b in zip(frames, frames[1:], strict=False)]
    assert len(frames) >= 3, f"the burst was drawn in {len(frames)} frames: too few to tell"
    assert min(gaps) >= 0.09, f"frames {min(gaps) * 1000:.0f} ms apart over SSH"


# --- NO_COLOR --------------------------------------------------------------------------------------

SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def colours(output: str) -> set[str]:
    """Every foreground/background colour the terminal was told to use, as written."""
    found: set[str] = set()
    for match in SGR.finditer(output):
        params = match.group(1).replace(":", ";").split(";")
        at = 0
        while at < len(params):
            p = params[at]
            if p in ("38", "48") and at + 1 < len(params):
                if params[at + 1] == "2":
                    found.add("rgb:" + ",".join(params[at + 2 : at + 5]))
                    at += 5
                    continue
                if params[at + 1] == "5":
                    found.add("256:" + params[at + 2] if at + 2 < len(params) else "256:?")
                    at += 3
                    continue
            if p.isdigit() and (30 <= int(p) <= 37 or 40 <= int(p) <= 47 or 90 <= int(p) <= 107):
                found.add("16:" + p)
            at += 1
    return found


def grey(colour: str) -> bool:
    if not colour.startswith("rgb:"):
        return False
    parts = colour[4:].split(",")
    return len(set(parts)) == 1


def run_console_in_a_pty(desk: Desk, tmp_path: Path, extra_env: dict[str, str]) -> str:
    from tests.test_injection_e2e import COLUMNS, ROWS, Terminal

    env = {k: v for k, v in os.environ.items() if k not in ("SSH_CONNECTION", "TEXTUAL", "NO_COLOR")}
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        COLUMNS=str(COLUMNS),
        LINES=str(ROWS),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        **extra_env,
    )
    code = (
        "import sys\n"
        "from agent_console.tui.app import run_console\n"
        f"sys.exit(run_console(server={desk.url!r}, token={desk.agent_token!r}))\n"
    )
    terminal = Terminal([sys.executable, "-c", code], env)
    try:
        assert terminal.wait_for(re.compile(r"LIVE"), 0, 60), "the console never went live"
        terminal.settle(quiet=0.3, at_most=5.0)
        terminal.press(b"\x11")  # ctrl+q
        terminal.proc.wait(15)
    finally:
        terminal.close()
    return terminal.text()


def test_no_color_is_honoured(desk: Desk, tmp_path: Path) -> None:
    coloured = colours(run_console_in_a_pty(desk, tmp_path / "colour", {}))
    assert any(not grey(c) for c in coloured), "the control run shows no colour: the check proves nothing"
    plain = colours(run_console_in_a_pty(desk, tmp_path / "plain", {"NO_COLOR": "1"}))
    assert plain, "nothing was drawn"
    assert all(grey(c) for c in plain), (
        f"colours under NO_COLOR: {sorted(c for c in plain if not grey(c))[:10]}"
    )


def test_poll_helper_fails_on_a_deadline() -> None:
    with pytest.raises(AssertionError, match="never"):
        poll(lambda: False, timeout=0.1, what="never")
