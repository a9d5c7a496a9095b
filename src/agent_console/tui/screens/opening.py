"""Opening a conversation on the console screen: the pane follows the cursor (side by side),
the thread is read from the server while the feed keeps what arrives meanwhile, and a late
answer for one conversation is never drawn as, or holds up, the next. A mixin of the console
screen."""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING

from textual import work

from agent_console.client.errors import BackendError, Unreachable

if TYPE_CHECKING:
    from agent_console.tui.screens.console import ConsoleScreen

    _Screen = ConsoleScreen
else:
    # A Screen at run time (not a bare mixin) so Textual registers handlers defined here.
    from textual.screen import Screen as _Screen

# Waits between tries to read a conversation while the desk cannot be reached.
LOAD_RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0)


class OpeningConversations(_Screen):
    def _follow_cursor(self) -> None:
        conversation_id, self._follow = self._follow, None
        if conversation_id is not None and self.has_class("-wide"):  # still side by side
            self.open_conversation(conversation_id, focus=False)

    def open_conversation(self, conversation_id: int, *, focus: bool = True) -> None:
        if self.open_id != conversation_id:
            self._save_draft()
            self.composer_for = None  # until this conversation's draft is in the composer
            previous = self.open_id
            self.open_id = conversation_id
            store = self.console.store
            if previous is not None:
                store.desk.forget_messages(previous)  # only the open thread is kept
            # From now on the feed keeps this thread's messages, so none that arrive while its
            # history loads are lost; the pane shows its header at once and no other thread.
            store.desk.track(conversation_id)
            self.pane.begin(conversation_id, store.desk.conversations.get(conversation_id))
            self.pane.thread.clear(conversation_id)
            self.load_conversation(conversation_id)
        self.add_class("-reading")
        self._mark_open_read()  # back to a conversation already loaded: what arrived is read now
        if focus:
            self.pane.thread.focus()

    @work(exclusive=True, group="open-conversation", exit_on_error=False)
    async def load_conversation(self, conversation_id: int) -> None:
        """Read a conversation's history and draw it, if the agent is still on it. A newer call
        cancels this one (exclusive), and the thread itself drops a result for another
        conversation, so a late answer is never drawn as, and never holds up, the next one."""
        console = self.console
        backend = console.backend
        for attempt in itertools.count():
            try:
                conversation = await backend.conversation(conversation_id)
                messages = await backend.messages(conversation_id)
                earlier = (
                    await backend.conversations(
                        view="all", statuses=(), contact_id=conversation.contact.id, limit=20
                    )
                ).items
                break
            except Unreachable as exc:
                # The desk is away for a moment: keep trying while the agent stays here (a
                # newer open cancels this worker), and say so where the thread would be.
                if attempt == 0:
                    console.report(exc)
                wait = LOAD_RETRY_SECONDS[min(attempt, len(LOAD_RETRY_SECONDS) - 1)]
                self.pane.thread.loading_failed(
                    conversation_id, f"could not load: {exc} (trying again in {wait:g} s)"
                )
                await asyncio.sleep(wait)
            except BackendError as exc:
                console.report(exc)
                self.pane.thread.loading_failed(conversation_id, f"could not load: {exc}")
                return
        if self.open_id != conversation_id or not self.is_attached:
            return  # the agent moved on (or the console is closing) while this loaded
        console.store.take_conversation(conversation)
        # Merged with what the feed brought since `track`: the thread misses nothing.
        console.store.desk.set_messages(conversation_id, messages)
        me = console.store.me
        drawn = self.pane.load(
            console.store.desk.conversations.get(conversation_id, conversation),
            console.store.desk.thread(conversation_id),
            earlier,
            me.timezone if me else None,
        )
        if not drawn or self.open_id != conversation_id:
            return
        if console.outbox is not None:
            for item in console.outbox.items_for(conversation_id, states=("pending", "failed")):
                self.pane.thread.show_queued(item)
        draft = console.drafts.load(conversation_id) if console.drafts else None
        if draft and console.drafts is not None:
            # A draft from before seen marks were kept: what is on screen now is the best guess.
            seen = console.drafts.seen(conversation_id)
            self.draft_seen[conversation_id] = seen if seen is not None else self.pane.thread.last_seen_id
        else:
            self.draft_seen.pop(conversation_id, None)
        self.pane.composer.set_text(draft[0] if draft else "", private=draft[1] if draft else False)
        self.composer_for = conversation_id
        self._mark_open_read()
        self._show_signals(conversation_id)
        if self.viewing not in (None, conversation_id):
            console.signal_viewing(self.viewing, False)
        console.signal_viewing(conversation_id, True)
        self.viewing = conversation_id

    def reload_open(self) -> None:
        """After a resync the feed skipped what the snapshot covers: re-read the open thread."""
        if self.open_id is not None:
            self.load_conversation(self.open_id)
