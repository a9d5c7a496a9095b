"""Triage in the real console against the real desk server: the language and the suggested
priority with its rule in the queue row and the header, `a` accepts (through the outbox, `u`
undoes), `I` corrects the language, `s` suggests replies in the conversation's language first
with a fallback mark, and nothing hostile is rendered as markup."""

from __future__ import annotations

from pathlib import Path

from agent_console.tui.screens.pickers import PickerScreen
from agent_console.tui.screens.triage_actions import FALLBACK_MARK
from agent_console.tui.widgets.queue_list import QueueList
from tests.conftest import Desk, start_desk
from tests.test_tui_flows import (
    WIDE,
    console,
    conversation,
    focus_conversation,
    make_app,
    new_customer,
    ready,
)
from tests.test_undo import toasts
from tests.tui_helpers import region_text, screen_text, wait_for


def row_text(queue: QueueList, conversation_id: int) -> str:
    y = queue.index[conversation_id] - int(queue.scroll_y)
    return "".join(segment.text for segment in queue.render_line(y))


def header(app) -> str:  # noqa: ANN001
    return region_text(app, console(app).pane.query_one("#conversation-header"))


async def test_the_suggestion_shows_with_its_rule_and_a_accepts_it_undoably(
    desk: Desk, tmp_path: Path
) -> None:
    cid, name = new_customer(desk, body="Me hackearon la cuenta y ahora la eSIM no funciona")
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        queue = console(app).queue
        # Side by side the queue's subject column is narrow: the marks, then the customer's
        # words (the rule that fired is in the header).
        row = row_text(queue, cid)
        assert "⇡‼ Me hack" in row, row
        await wait_for(pilot, lambda: "suggested urgent" in header(app), what="the suggestion in the header")
        text = " ".join(header(app).split())
        assert "es (detected)" in text
        assert "security words: 'hackearon'" in text and "outage words: 'no funciona'" in text
        assert conversation(desk, cid)["priority"] == "normal"  # only suggested so far
        await pilot.press("a")
        await wait_for(
            pilot, lambda: conversation(desk, cid)["priority"] == "urgent", what="urgent on the server"
        )
        await wait_for(pilot, lambda: "u undo" in toasts(app), what="the undo line")
        # Accepted: nothing left to suggest in the row or the header.
        await wait_for(pilot, lambda: "⇡" not in row_text(queue, cid), what="the row's tag to go")
        assert "suggested" not in header(app)
        await pilot.press("u")
        await wait_for(pilot, lambda: conversation(desk, cid)["priority"] == "normal", what="undone there")
        await wait_for(pilot, lambda: "⇡‼ Me hack" in row_text(queue, cid), what="the suggestion back")


async def test_a_with_nothing_to_accept_changes_nothing(desk: Desk, tmp_path: Path) -> None:
    cid, name = new_customer(desk, body="How do I install the eSIM on my iPhone?")
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        before = conversation(desk, cid)
        await pilot.press("a")
        await wait_for(pilot, lambda: "No triage suggestion" in toasts(app), what="the explanation")
        after = conversation(desk, cid)
        assert (after["priority"], after["seq"]) == (before["priority"], before["seq"])


async def test_the_agent_corrects_the_language(desk: Desk, tmp_path: Path) -> None:
    cid, name = new_customer(desk, body="Olá, o meu eSIM não funciona desde ontem à noite")
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await wait_for(pilot, lambda: "pt (detected)" in header(app), what="the detected language")
        await pilot.press("I")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the language picker")
        await pilot.press(*"german", "enter")
        await wait_for(pilot, lambda: conversation(desk, cid)["language"] == "de", what="de on the server")
        assert conversation(desk, cid)["language_source"] == "agent"
        await wait_for(pilot, lambda: "de (set by an agent)" in header(app), what="the header to follow")
        # Any other language by its code.
        await pilot.press("I")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker again")
        await pilot.press(*"other", "enter")
        await wait_for(pilot, lambda: "Language code" in screen_text(app), what="the code prompt")
        await pilot.press(*"Italian", "enter")
        await wait_for(pilot, lambda: "two or three letters" in screen_text(app), what="the refusal")
        await pilot.press(*["backspace"] * 7, *"it", "enter")
        await wait_for(pilot, lambda: conversation(desk, cid)["language"] == "it", what="it on the server")


async def test_suggested_replies_come_in_the_conversations_language_and_fill_placeholders(
    desk: Desk, tmp_path: Path
) -> None:
    cid, name = new_customer(desk, body="Hola, me cobraron dos veces y quiero un reembolso, por favor")
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await wait_for(pilot, lambda: app.store.desk.conversations[cid].language == "es", what="es")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the suggestions")
        picker = app.screen
        await wait_for(pilot, lambda: picker.shown_choices, what="suggestions listed")
        first = picker.shown_choices[0].value
        assert first.kind == "canned" and first.locale == "es" and not first.fallback
        assert first.canned.shortcode.startswith("reembolso") or "Reembolso" in first.title
        assert "reembolso" in first.matched
        assert FALLBACK_MARK not in screen_text(app)  # enough in Spanish: no other language offered
        kb = [c.value for c in picker.shown_choices if c.value.kind == "kb"]
        assert kb and all(item.locale == "es" for item in kb)
        await pilot.press("enter")
        composer = console(app).pane.composer
        await wait_for(pilot, lambda: composer.text.strip(), what="the inserted response")
        assert "{{" not in composer.text
        assert name.split()[0] in composer.text  # {{contact.first_name}} filled


async def test_suggestions_in_another_language_are_marked_and_kb_inserts_plain_text(
    desk: Desk, tmp_path: Path
) -> None:
    cid, name = new_customer(desk, body="QRコードをスキャンしたら、もう使用済みと表示されました")
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await wait_for(pilot, lambda: app.store.desk.conversations[cid].language == "ja", what="ja")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the suggestions")
        picker = app.screen
        await wait_for(pilot, lambda: picker.shown_choices, what="suggestions listed")
        items = [c.value for c in picker.shown_choices]
        assert items and all(
            item.fallback and item.locale != "ja" for item in items
        )  # the desk has no ja text
        assert f"{FALLBACK_MARK} (none in ja)" in screen_text(app)
        article = next(c for c in picker.shown_choices if c.value.kind == "kb")
        assert "QR" in article.value.title
        await pilot.press(*"QR")
        await wait_for(
            pilot, lambda: picker.shown_choices and picker.shown_choices[0].value.kind == "kb", what="kb"
        )
        await pilot.press("enter")
        composer = console(app).pane.composer
        await wait_for(pilot, lambda: composer.text.startswith("> "), what="the quoted article")
        assert "**" not in composer.text and "](" not in composer.text  # Markdown taken out
        assert "/kb/" in composer.text  # with its public link


async def test_hostile_rule_text_and_languages_are_shown_as_text(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[rules.evil]\nkind = "words"\nreason = "[@click=app.quit]boom[/] [red]x"\npriority = "high"\n'
        'words.any = ["[b]pwned[/b]"]\n',
        encoding="utf-8",
    )
    desk = start_desk(tmp_path / "desk.db", demo=False, extra_args=("--triage-rules", str(rules)))
    try:
        cid, name = new_customer(desk, body="you got [b]pwned[/b] \x1b[31m", language="[blink]xx")
        app = make_app(desk, tmp_path)
        async with app.run_test(size=WIDE) as pilot:
            await ready(pilot)
            await focus_conversation(pilot, cid, name)
            await wait_for(pilot, lambda: "suggested high" in header(app), what="the suggestion")
            text = header(app)
            assert "[@click=app.quit]boom[/] [red]x: '[b]pwned[/b]'" in " ".join(text.split())
            assert "\x1b" not in screen_text(app)
            assert app.is_running
    finally:
        desk.server.stop()
