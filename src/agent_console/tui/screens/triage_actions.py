"""Triage in the console: accept the rules' suggested priority (`a`), correct the conversation's
language (palette, `I`), and suggested replies (`s`): canned responses and KB articles for the
customer's last messages, the conversation's language first, inserted into the composer.

The suggestions are worked out by the server (server/suggest.py): the console fetches one short
list per key press and does nothing per keystroke that grows with the desk. A mixin of the console
screen, kept apart so the screen file holds layout and state flow only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work

from agent_console.client.errors import BackendError
from agent_console.core.language import DESK_LANGUAGES
from agent_console.core.models import ConversationPatch, Suggestion
from agent_console.core.sanitize import sanitize, sanitize_line
from agent_console.tui.safe_text import untrusted
from agent_console.tui.screens.pickers import Choice, PickerScreen, PromptScreen
from agent_console.tui.triage_display import suggestion

if TYPE_CHECKING:
    from agent_console.tui.screens.console import ConsoleScreen

    _Screen = ConsoleScreen
else:
    from textual.screen import Screen as _Screen

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "de": "German",
    "fr": "French",
    "pt": "Portuguese",
    "ja": "Japanese",
}
_CODE = re.compile(r"^[a-z]{2,3}$")
FALLBACK_MARK = "⚑ other language"


def suggestion_choices(items: list[Suggestion], language: str) -> list[Choice[Suggestion]]:
    """Picker entries in the server's order; a suggestion in another language says so."""
    choices = []
    for position, item in enumerate(items):
        kind = "canned" if item.kind == "canned" else "KB"
        label = f"/{item.canned.shortcode}" if item.canned is not None else f"KB: {item.title}"
        detail = f"{item.title} · " if item.canned is not None else ""
        detail += f"[{item.locale}] {kind}"
        if item.fallback:
            detail += f" · {FALLBACK_MARK} (none in {language})"
        if item.matched:
            detail += " · matched " + ", ".join(item.matched)
        choices.append(
            Choice(
                sanitize_line(label), item, detail=sanitize_line(detail), rank=(len(items) - position) / 10
            )
        )
    return choices


def _preview(item: Suggestion) -> Text:
    if item.canned is not None:
        return untrusted(item.canned.body)
    from agent_console.tui.screens.kb import snippet_text

    return snippet_text(item.snippet)


class TriageActions(_Screen):
    def action_accept_triage(self) -> None:
        """a: set the priority the triage rules suggest (through the outbox, undoable)."""
        target = self.target()
        conversation = self._lookup(target) if target else None
        priority = suggestion(conversation) if conversation is not None else None
        if conversation is None or priority is None or conversation.triage is None:
            self.notify("No triage suggestion to accept here.", timeout=3)
            return
        rule = conversation.triage.rules[0].rule if conversation.triage.rules else "triage"
        done = sanitize_line(f"priority set to {priority} ({rule})")
        self._patch(target, ConversationPatch(priority=priority), done)

    def action_language(self) -> None:
        """Correct the conversation's language: the desk's languages, or any other code."""
        target = self.target()
        conversation = self._lookup(target) if target else None
        if conversation is None:
            self.app.bell()
            return
        choices = [
            Choice(f"{code} {LANGUAGE_NAMES[code]}", code, rank=1.0 if code == conversation.language else 0.0)
            for code in DESK_LANGUAGES
        ]
        choices.append(Choice("Other…", ""))

        def chosen(code: str | None) -> None:
            if code == "":
                self.app.push_screen(
                    PromptScreen(
                        "Language code (ISO 639-1)",
                        placeholder="e.g. it, nl, pl",
                        check=lambda text: (
                            None if _CODE.match(text.strip()) else "two or three letters, e.g. it"
                        ),
                    ),
                    lambda text: self.set_language(target, text.strip()) if text else None,
                )
            elif code is not None:
                self.set_language(target, code)

        self.app.push_screen(PickerScreen(f"Language of #{target}", choices), chosen)

    @work(group="language", exit_on_error=False)
    async def set_language(self, conversation_id: int, code: str) -> None:
        console = self.console
        try:
            conversation = await console.backend.set_language(conversation_id, code)
        except BackendError as exc:
            console.report(exc, prefix="language not changed")
            return
        console.store.take_conversation(conversation)
        self.notify(f"#{conversation_id}: language set to {code}", timeout=3, markup=False)

    def action_suggest(self) -> None:
        target = self.target()
        if target is None:
            self.app.bell()
            return
        if target != self.open_id:
            self.open_conversation(target, focus=False)  # its thread and draft load meanwhile
        self.suggest(target)

    @work(exclusive=True, group="suggest", exit_on_error=False)
    async def suggest(self, conversation_id: int) -> None:
        """s: the server's suggestions in a picker; the chosen one goes into the composer."""
        console = self.console
        try:
            found = await console.backend.suggestions(conversation_id)
        except BackendError as exc:
            console.report(exc, prefix="no suggestions")
            return
        if not found.items:
            self.notify("No canned response or article matches the customer's last messages.", timeout=4)
            return
        chosen = await self.app.push_screen_wait(
            PickerScreen(
                f"Suggested replies for #{conversation_id} ({sanitize_line(found.language)} first)",
                suggestion_choices(found.items, found.language),
                preview=_preview,
                hint="enter insert · type to filter · esc close",
            )
        )
        conversation = self._lookup(conversation_id)
        if chosen is None or conversation is None:
            return
        if self.open_id != conversation_id:
            self.notify("Not inserted: another conversation is open now.", severity="warning", timeout=4)
            return
        self.add_class("-reading")
        if chosen.canned is not None:
            self._insert_canned(conversation, chosen.canned, after_slash=False)
            return
        try:
            article = await console.backend.kb_article(chosen.id)
        except BackendError as exc:
            console.report(exc, prefix="article not inserted")
            return
        from agent_console.core.plain_markdown import to_plain
        from agent_console.tui.screens.kb import first_paragraph, quote

        text = quote(to_plain(first_paragraph(sanitize(article.body))))  # the customer reads it as text
        link = console.kb_link(article)
        composer = self.pane.composer
        composer.input.insert(("\n" if composer.text else "") + (f"{text}\n({link})" if link else text))
        composer.input.focus()
