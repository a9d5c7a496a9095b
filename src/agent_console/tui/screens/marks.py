"""Unread and notifications on the console screen: `m` marks read/unread, `M` quiet mode, and
what the agent is looking at (no notice for that). A mixin of the console screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent_console.tui.screens.console import ConsoleScreen

    _Screen = ConsoleScreen
else:
    # A Screen at run time (not a bare mixin) so Textual registers handlers defined here.
    from textual.screen import Screen as _Screen


class ReadingActions(_Screen):
    def looking_at(self) -> int | None:
        """The conversation on the agent's screen now (none under a window such as help)."""
        if self.app.screen is not self or self.open_id is None or not self._pane_visible():
            return None
        return self.open_id

    def action_toggle_read(self) -> None:
        """Unread → read up to its newest message; read → its newest message unread again."""
        conversation_id = self.target()
        store = self.console.store
        conversation = store.desk.conversations.get(conversation_id) if conversation_id else None
        if conversation is None:
            self.app.bell()
            return
        if store.unread(conversation.id):
            newest = conversation.last_message.id if conversation.last_message else None
            if conversation.id == self.open_id and self.pane.thread.last_seen_id:
                newest = max(newest or 0, self.pane.thread.last_seen_id)
            self.console.reads.read(conversation.id, newest)
            self.notify(f"#{conversation.id} marked read", timeout=2, markup=False)
        else:
            self.console.reads.unread(conversation.id)
            self.notify(f"#{conversation.id} marked unread", timeout=2, markup=False)

    def action_quiet(self) -> None:
        quiet = self.console.notifications.toggle_quiet()
        self.notify(
            "Quiet: notices show here only (no bell, no desktop notice)" if quiet else "Notifications on",
            timeout=3,
            markup=False,
        )
