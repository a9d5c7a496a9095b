"""Read marks from the console: show the agent's mark at once, and send it to the server,
where it lives (so it is the same after a restart and on another machine).

Opening a conversation reads what is on screen; `m` marks read or unread. The count itself
comes from core/reducer.py (the server's REST answers, then `conversation.read` and new
messages on the feed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent_console.client.errors import BackendError, NotAvailable

if TYPE_CHECKING:
    from agent_console.tui.app import ConsoleApp


class ReadSync:
    def __init__(self, app: ConsoleApp) -> None:
        self.app = app
        # False once the help desk said it keeps no read marks (an adapter answering
        # not_available): marks are then this session's only, and nothing more is sent.
        self.on_server = True

    def read(self, conversation_id: int, message_id: int | None) -> bool:
        """The agent has read up to `message_id`. True if that changed anything."""
        store = self.app.store
        mark = store.desk.reads.get(conversation_id)
        if message_id is None or (mark is not None and mark.unread == 0):
            return False  # nothing from the customer or a colleague after the mark: nothing to say
        store.mark_locally(conversation_id, read_to=message_id)
        if self.on_server:
            self.app.run_worker(
                self._send(conversation_id, message_id=message_id), group="read-marks", exit_on_error=False
            )
        return True

    def unread(self, conversation_id: int) -> None:
        self.app.store.mark_locally(conversation_id, read_to=None)
        if self.on_server:
            self.app.run_worker(
                self._send(conversation_id, unread=True), group="read-marks", exit_on_error=False
            )

    async def _send(
        self, conversation_id: int, *, message_id: int | None = None, unread: bool = False
    ) -> None:
        try:
            await self.app.backend.mark_read(conversation_id, message_id=message_id, unread=unread)
        except NotAvailable as exc:
            if self.on_server:  # said once, not at every conversation opened
                self.on_server = False
                self.app.report(exc, prefix="read marks stay in this console")
        except BackendError as exc:
            # The mark shown is only a guess now: read the real one back.
            self.app.report(exc, prefix=f"#{conversation_id}: read mark not saved")
            try:
                self.app.store.take_conversation(await self.app.backend.conversation(conversation_id))
            except BackendError:
                pass
