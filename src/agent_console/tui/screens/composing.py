"""The composer's side of the console: replies and notes, drafts, the send path through the
outbox, conflict review, canned responses and knowledge-base inserts.

A mixin of the console screen, kept apart so the screen file holds layout and state flow only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from textual import on, work

from agent_console.client.errors import BackendError
from agent_console.client.outbox import OutboxItem
from agent_console.core import clock
from agent_console.core.models import CannedResponse, Conversation
from agent_console.core.sanitize import sanitize_line
from agent_console.core.templates import context_for, fill
from agent_console.tui.safe_text import untrusted
from agent_console.tui.screens.pickers import PickerScreen, ReviewScreen, canned_choices
from agent_console.tui.widgets.composer import ComposerInput

if TYPE_CHECKING:
    from agent_console.tui.screens.console import ConsoleScreen

    _Screen = ConsoleScreen
else:
    # A Screen at run time (not a bare mixin) so Textual registers the @on handlers defined here.
    from textual.screen import Screen as _Screen

KB_HITS = 10  # knowledge-base hits per search: what the search window shows without scrolling


class Composing(_Screen):
    """Writing to the customer or the team, and everything that feeds the composer."""

    def action_reply(self) -> None:
        self._open_composer(private=False)

    def action_note(self) -> None:
        self._open_composer(private=True)

    def _open_composer(self, *, private: bool) -> None:
        target = self.target()
        if target is None:
            return
        if target != self.open_id or not self.has_class("-reading"):
            self.open_conversation(target, focus=False)
        self.pane.composer.private = private
        self.pane.composer.input.focus()

    def action_kb(self) -> None:
        # The conversation the agent is on (open, or under the queue's cursor): its language first.
        target = self.target()
        conversation = self._lookup(target) if target else None
        locale = conversation.language if conversation else None
        backend = self.console.backend

        async def search(query: str):  # noqa: ANN202
            # Ten hits fit the window without a scrollbar, and fewer cost less per keystroke.
            hits = await backend.kb_search(query, locale=locale, limit=KB_HITS)
            if locale and len(hits) < 3:
                # Few answers in the customer's language: add the others.
                others = await backend.kb_search(query, limit=KB_HITS)
                hits += [h for h in others if h.id not in {x.id for x in hits}]
            return hits

        def insert(text: str | None) -> None:
            if text and self.open_id is not None:
                self.add_class("-reading")
                self.pane.composer.input.insert(("\n" if self.pane.composer.text else "") + text)
                self.pane.composer.input.focus()

        from agent_console.tui.screens.kb import KbScreen  # on first use: Markdown costs start-up ~50 ms

        me = self.console.store.me
        admin = (
            backend
            if me is not None and me.role == "admin" and hasattr(backend, "update_kb_article")
            else None
        )
        kb = KbScreen(search, backend.kb_article, self.console.kb_link, locale=locale, admin=admin)
        self.app.push_screen(kb, insert)

    # --- composer ------------------------------------------------------------------------

    @on(ComposerInput.ToggleMode)
    def _toggle_mode(self) -> None:
        composer = self.pane.composer
        composer.private = not composer.private

    @on(ComposerInput.Leave)
    def _leave_composer(self) -> None:
        self._save_draft()
        self.pane.thread.focus()

    @on(ComposerInput.Changed)
    def _composer_changed(self) -> None:
        if self.open_id is None or self.composer_for != self.open_id:
            return
        self._mark_draft_start(self.open_id)
        now = clock.utcnow()
        if self.typing_until is None or self.typing_until - now < timedelta(seconds=3):
            if self.typing_until is None:
                self.console.signal_typing(self.open_id, True, self.pane.composer.private)
            self.typing_until = now + timedelta(seconds=5)
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(0.5, self._save_draft)

    def on_unmount(self) -> None:
        # Quitting right after typing must not lose the last half second of the draft.
        self._save_draft()

    def _save_draft(self) -> None:
        # Keyed to the conversation whose text the composer holds, never a stale one.
        if self.composer_for is not None and self.console.drafts is not None:
            composer = self.pane.composer
            self.console.drafts.save(
                self.composer_for,
                composer.text,
                private=composer.private,
                seen_message_id=self.draft_seen.get(self.composer_for),
            )

    def _mark_draft_start(self, conversation_id: int) -> None:
        """The first keystroke of a draft fixes what the agent had seen: anything newer is shown
        for review on send. An emptied composer starts a new draft."""
        if not self.pane.composer.text.strip():
            self.draft_seen.pop(conversation_id, None)
        elif conversation_id not in self.draft_seen:
            self.draft_seen[conversation_id] = self.pane.thread.last_seen_id

    @on(ComposerInput.Send)
    def _send(self) -> None:
        if self.open_id is None:
            return
        outbox = self.console.outbox
        if outbox is None:
            self.notify("Not connected yet: your text is kept.", severity="warning", markup=False)
            return
        composer = self.pane.composer
        body = composer.text
        if not body.strip():
            self.notify("Nothing to send.", severity="warning")
            return
        # What the agent had seen when this draft began, not the thread now: what arrived
        # while typing is on screen, but unread; the server answers 409 and we review it.
        seen = self.draft_seen.pop(self.open_id, self.pane.thread.last_seen_id)
        # A reply takes an unassigned conversation, queued first: it leaves Unassigned before
        # the customer sees the answer, so no colleague picks it up meanwhile.
        self.take_on_reply(self.open_id, private=composer.private)
        # Durable from here on: queued locally first, then sent (and resent) until it lands.
        outbox.enqueue_message(self.open_id, body, private=composer.private, last_seen_message_id=seen)
        if self.console.drafts is not None:
            self.console.drafts.discard(self.open_id)
        composer.set_text("")
        if self.typing_until is not None:
            self.typing_until = None
            self.console.signal_typing(self.open_id, False, composer.private)

    def outbox_changed(self, item: OutboxItem) -> None:
        """A queued reply, note or action moved on: show it where the agent is looking."""
        if item.conversation_id == self.open_id:
            self.pane.thread.show_queued(item)
        if item.kind != "message":
            return
        if item.is_conflict and item.id not in self.reviewing:
            self.reviewing.add(item.id)
            self.run_worker(self._review(item), group="review")
        elif item.state == "failed" and not item.is_conflict:
            self.notify(
                sanitize_line(f"#{item.conversation_id}: not sent ({item.reason}); R retries"),
                severity="error",
                timeout=10,
                markup=False,
            )
        elif item.state == "sent" and item.attempts == 1:
            self.notify("Note saved." if item.private else "Reply sent.", timeout=2)

    async def _review(self, item: OutboxItem) -> None:
        """The customer or a colleague wrote meanwhile: show it, then send anyway or edit."""
        outbox = self.console.outbox
        try:
            if self.open_id == item.conversation_id:
                self.pane.thread.add(item.unseen)
            choice = await self.app.push_screen_wait(ReviewScreen(item.unseen))
            if outbox is None:
                return
            if choice == "send":
                outbox.retry(item.id, force=True)
                return
            # Edit: the text goes back into the composer (after whatever is there) to rework.
            outbox.discard(item.id)
            self.pane.thread.drop_queued(item.id)
            if self.open_id != item.conversation_id:
                self.open_conversation(item.conversation_id)
            composer = self.pane.composer
            composer.set_text(
                f"{composer.text}\n{item.body}" if composer.text.strip() else item.body, private=item.private
            )
            # Reviewed: the draft now answers everything up to the newest message shown.
            self.draft_seen[item.conversation_id] = max(
                [m.id for m in item.unseen] + [self.pane.thread.last_seen_id or 0]
            )
            composer.input.focus()
        finally:
            self.reviewing.discard(item.id)

    @on(ComposerInput.CannedRequested)
    def _canned(self) -> None:
        self.pick_canned()

    @work(exclusive=True, group="canned")
    async def pick_canned(self) -> None:
        console = self.console
        conversation = self._lookup(self.open_id) if self.open_id else None
        if conversation is None:
            return
        if self.canned_cache is None:
            try:
                self.canned_cache = await console.backend.canned_responses()
            except BackendError as exc:
                console.report(exc)
                return
        chosen = await self.app.push_screen_wait(
            PickerScreen(
                "Canned responses",
                canned_choices(self.canned_cache, conversation.language),
                preview=lambda canned: untrusted(canned.body),
                hint="type to search shortcode, title and text · enter insert · esc keep typing",
            )
        )
        if chosen is None:
            self.pane.composer.input.focus()
            return
        self._insert_canned(conversation, chosen)

    def _insert_canned(
        self, conversation: Conversation, canned: CannedResponse, *, after_slash: bool = True
    ) -> None:
        me = self.console.store.me
        values = context_for(
            contact_name=sanitize_line(conversation.contact.name),
            contact_email=conversation.contact.email,
            agent_name=me.name if me else "",
            conversation_id=conversation.id,
        )
        filled = fill(canned.body, values)
        area = self.pane.composer.input
        row, column = area.cursor_location
        # Replace the `/` that opened the picker.
        if after_slash and column > 0 and area.document.get_line(row)[column - 1] == "/":
            area.delete((row, column - 1), (row, column))
            column -= 1
        start = (row, column)
        area.insert(filled.text, start)
        if filled.cursor is not None:
            area.move_cursor(_offset_location(filled.text, start, filled.cursor))
        area.focus()


def _offset_location(text: str, start: tuple[int, int], offset: int) -> tuple[int, int]:
    before = text[:offset]
    lines = before.split("\n")
    if len(lines) == 1:
        return (start[0], start[1] + len(before))
    return (start[0] + len(lines) - 1, len(lines[-1]))
