"""The same TUI flows and CLI commands on both help desks: the desk server and Chatwoot (issue #11).

"Works on Chatwoot" is the same bar as "works on the desk server": each test runs twice, through
the `helpdesk` fixture (tests/backends.py), and checks the help desk's own record of what the
agent did. Where Chatwoot lacks a feature, the last tests check that the console says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_console.client.drafts import Drafts
from agent_console.tui.app import ConsoleApp
from agent_console.tui.screens.confirm import ConfirmScreen
from agent_console.tui.screens.labels import LabelsScreen
from agent_console.tui.screens.pickers import PickerScreen, ReviewScreen
from tests.cli_support import invoke
from tests.test_tui_flows import WIDE, console, focus_conversation, ready
from tests.tui_helpers import screen_text, wait_for


def make_app(helpdesk, tmp_path: Path) -> ConsoleApp:
    local = tmp_path / "local.db"
    return ConsoleApp(helpdesk.backend(), drafts=Drafts(local, helpdesk.url), outbox_path=local)


def bodies(helpdesk, conversation_id: int, kind: str | None = None) -> list[str]:
    return [body for k, body in helpdesk.messages(conversation_id) if kind is None or k == kind]


# --- the TUI ----------------------------------------------------------------------------------


async def test_tui_opens_a_conversation_and_replies(helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer("The QR code says it was already used")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        text = screen_text(app)
        assert "The QR code says it was already used" in text and name in text
        await pilot.press("r", *"Try restarting", "ctrl+s")
        await wait_for(pilot, lambda: "Try restarting" in bodies(helpdesk, cid, "outgoing"), what="the reply")
        await pilot.press("escape", "n", *"VIP customer", "ctrl+s")
        await wait_for(pilot, lambda: "VIP customer" in bodies(helpdesk, cid, "note"), what="the note")
        await wait_for(pilot, lambda: app.outbox.counts()["pending"] == 0, what="the outbox to settle")
        assert bodies(helpdesk, cid, "outgoing").count("Try restarting") == 1
        # A customer's answer arrives live in the open thread.
        helpdesk.customer_says(cid, "restarting did it, thanks")
        await wait_for(pilot, lambda: "restarting did it, thanks" in screen_text(app), what="the live answer")


async def test_tui_actions_reach_the_help_desk(helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer("My eSIM will not activate")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        me = app.store.me
        await pilot.press("t")
        await wait_for(
            pilot, lambda: helpdesk.conversation(cid)["assignee"] == me.name, what="assigned to me"
        )
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="priority picker")
        await pilot.press(*"urgent", "enter")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["priority"] == "urgent", what="urgent")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LabelsScreen), what="labels picker")
        await pilot.press(*"vip", "enter", *"billing", "enter", "ctrl+s")
        await wait_for(
            pilot, lambda: helpdesk.conversation(cid)["labels"] == ["vip", "billing"], what="labels"
        )
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="agent picker")
        await pilot.press(*helpdesk.colleague.split()[0], "enter")
        await wait_for(
            pilot, lambda: helpdesk.conversation(cid)["assignee"] == helpdesk.colleague, what="the colleague"
        )
        await wait_for(
            pilot,
            lambda: (
                (app.store.desk.conversations[cid].assignee or None) is not None
                and app.store.desk.conversations[cid].assignee.name == helpdesk.colleague
            ),
            what="the console to see the colleague's assignment",
        )
        await pilot.press("z")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="snooze picker")
        await pilot.press("enter")  # first choice: 1 hour
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: helpdesk.conversation(cid)["status"] == "snoozed", what="snoozed")
        assert helpdesk.conversation(cid)["snoozed"]
        await wait_for(pilot, lambda: "snoozed" in screen_text(app), what="snoozed in the header")


async def test_tui_holds_a_stale_reply_for_review(helpdesk, tmp_path: Path) -> None:
    cid, name = helpdesk.new_customer("hello?")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        app.workers.cancel_group(app, "sync")  # the feed stalls while the customer writes again
        helpdesk.customer_says(cid, "never mind, found it")
        await pilot.press("r", *"Here is how", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), what="the review screen")
        assert "never mind, found it" in screen_text(app)
        assert "Here is how" not in bodies(helpdesk, cid, "outgoing")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: bodies(helpdesk, cid, "outgoing") == ["Here is how"], what="the forced reply"
        )
        assert console(app).pane.composer.text == ""


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_lists_shows_and_writes(helpdesk, tmp_path: Path) -> None:
    env = helpdesk.env(tmp_path)
    cid, name = helpdesk.new_customer("Export to CSV is empty")
    listed = invoke("convs", "--status", "open", "--all-pages", "-o", "json", env=env)
    assert listed.code == 0, listed
    assert cid in [c["id"] for c in listed.json()]
    shown = invoke("conv", str(cid), env=env)
    assert shown.code == 0 and name in shown.stdout, shown
    thread = invoke("conv", str(cid), "messages", "-o", "json", env=env)
    assert [m["body"] for m in thread.json() if m["kind"] == "incoming"] == ["Export to CSV is empty"]
    sent = invoke("conv", str(cid), "reply", "Thanks, looking now", "-o", "json", env=env)
    assert sent.code == 0 and sent.json()["kind"] == "outgoing", sent
    noted = invoke("conv", str(cid), "note", "-", env=env, input="from\nstdin\n")
    assert noted.code == 0 and noted.stdout.startswith("sent note #"), noted
    assert bodies(helpdesk, cid, "outgoing") == ["Thanks, looking now"]
    assert bodies(helpdesk, cid, "note") == ["from\nstdin\n"]


def test_cli_actions(helpdesk, tmp_path: Path) -> None:
    env = helpdesk.env(tmp_path)
    cid, _ = helpdesk.new_customer("Refund please")

    def run(*args: str) -> dict:
        ran = invoke("conv", str(cid), *args, "-o", "json", env=env)
        assert ran.code == 0, ran
        return ran.json()

    for verb, status in (("resolve", "resolved"), ("open", "open"), ("pending", "pending")):
        assert run(verb)["status"] == status
        assert helpdesk.conversation(cid)["status"] == status
    for level in ("urgent", "high", "normal", "low"):
        assert run("priority", level)["priority"] == level
        assert helpdesk.conversation(cid)["priority"] == level
    assert run("assign", "--agent", "me")["assignee"] is not None
    assert run("assign", "--agent", helpdesk.colleague.lower())["assignee"]["name"] == helpdesk.colleague
    assert run("assign", "--team", "billing")["team"]["name"] == "Billing"
    cleared = run("unassign", "--team")
    assert cleared["assignee"] is None and cleared["team"] is None
    assert helpdesk.conversation(cid)["assignee"] is None
    assert run("label", "billing,refund")["labels"] == ["billing", "refund"]
    assert run("label", "--remove", "billing", "--add", "esim")["labels"] == ["refund", "esim"]
    assert helpdesk.conversation(cid)["labels"] == ["refund", "esim"]
    snoozed = run("snooze", "--until", "2h")
    assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"]
    assert helpdesk.conversation(cid)["snoozed"]


def test_cli_auth_status_and_lookups(helpdesk, tmp_path: Path) -> None:
    env = helpdesk.env(tmp_path)
    status = invoke("auth", "status", "-o", "json", env=env)
    assert status.code == 0, status
    assert status.json()["server"] == helpdesk.url
    text = invoke("auth", "status", env=env)
    assert text.code == 0 and (("Chatwoot account 1" in text.stdout) == (helpdesk.kind == "chatwoot")), text
    canned = invoke("canned", "list", "-o", "json", env=env)
    assert canned.code == 0 and canned.json(), canned


# --- what Chatwoot lacks, said plainly ----------------------------------------------------------


async def test_chatwoot_says_what_it_lacks_in_the_console(chatwoot, tmp_path: Path) -> None:
    from tests.backends import ChatwootHelpdesk

    helpdesk = ChatwootHelpdesk(chatwoot)
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, 3, "Lea Dubois")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LabelsScreen), what="labels picker")
        await wait_for(
            pilot,
            lambda: "not available on Chatwoot" in screen_text(app),
            what="the picker saying desk-wide label counts are not there",
        )


def test_chatwoot_login_checks_the_token_with_the_profile(chatwoot, tmp_path: Path) -> None:
    from tests.cli_support import base_env

    env = base_env(tmp_path)
    args = ("auth", "login", "--backend", "chatwoot", "--server", chatwoot.url, "--token-stdin")
    refused = invoke(*args, "--account", "1", env=env, input="wrong-token\n")
    assert refused.code == 3, refused
    missing = invoke(*args, env=env, input=chatwoot.agent.token + "\n")
    assert missing.code == 2 and "--account" in missing.stderr
    ran = invoke(*args, "--account", "1", "--portal", "help", env=env, input=chatwoot.agent.token + "\n")
    assert ran.code == 0, ran
    assert "logged in to" in ran.stdout and "Night Agent" in ran.stdout
    config = (tmp_path / "config.toml").read_text()
    assert 'backend = "chatwoot"' in config and "account_id = 1" in config and 'portal = "help"' in config
    assert chatwoot.agent.token not in config
    # The profile alone now reaches Chatwoot: no environment needed.
    listed = invoke("convs", "-o", "json", env=env)
    assert listed.code == 0 and {c["id"] for c in listed.json()} >= {1, 2, 3}, listed
    hits = invoke("kb", "search", "refund", "-o", "json", env=env)
    assert hits.code == 0 and [h["title"] for h in hits.json()] == ["Refunds"], hits


@pytest.mark.parametrize("missing", ["AGENT_CONSOLE_ACCOUNT"])
def test_chatwoot_by_environment_needs_its_account(chatwoot, tmp_path: Path, missing: str) -> None:
    from tests.cli_support import base_env

    env = base_env(tmp_path, **{**chatwoot.env(), missing: None})
    ran = invoke("convs", env=env)
    assert ran.code == 1 and "AGENT_CONSOLE_ACCOUNT" in ran.stderr, ran


async def test_hostile_text_from_either_desk_is_shown_inert(helpdesk, tmp_path: Path) -> None:
    """A customer's escape sequences and markup arrive through Chatwoot's API and feed too: the
    console shows them as visible, inert text, never as terminal commands or markup."""
    hostile = "pay here \x1b]52;c;SGVsbG8=\x07 [@click=app.quit]now[/] \u202eevil"
    cid, name = helpdesk.new_customer("first line")
    app = make_app(helpdesk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        helpdesk.customer_says(cid, hostile)
        # Markup shown as typed (not run), the escape and the bidi override as placeholders;
        # waited for together, as a toast may cover part of the thread for a moment.
        shown = ("␛]52;c;SGVsbG8=␇", "[@click=app.quit]now[/]", "⟨U+202E⟩")
        await wait_for(
            pilot, lambda: all(part in screen_text(app) for part in shown), timeout=30, what="the inert text"
        )
        assert app.is_running  # the click action never ran
        for _ in range(20):  # and no frame ever carries the raw controls
            text = screen_text(app)
            assert "\x1b" not in text and "\u202e" not in text
            await pilot.pause(0.02)
