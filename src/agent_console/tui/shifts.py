"""The console's shift room: handoff notes pinned on conversations, the handoff summary at
start, and routing's waits (what the lead watches).

Fed by the store's applied events (`conversation.handed_over`, `conversation.routed`) and by
one read of the recent handoffs once the agent is known. Every text from the server here is
untrusted: it leaves this module as `Text` built by `safe_text`, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text

from agent_console.client.errors import BackendError
from agent_console.core.models import Event, Handoff
from agent_console.tui.safe_text import untrusted_line

if TYPE_CHECKING:
    from agent_console.tui.app import ConsoleApp


@dataclass(frozen=True, slots=True)
class Pin:
    handoff_id: int
    from_name: str
    note: str
    conversation_note: str


class ShiftRoom:
    def __init__(self, app: ConsoleApp) -> None:
        self.app = app
        self.pins: dict[int, Pin] = {}  # conversation id -> the newest handoff note on it
        self.waiting: dict[int, str] = {}  # conversation id -> why routing could not place it
        self.summary: str | None = None  # the handoff summary shown at start

    # --- reading at start ----------------------------------------------------------------

    async def load(self) -> None:
        calls = getattr(self.app.backend, "handoffs", None)
        if calls is None:  # another help desk: no shifts there
            return
        try:
            handoffs = await self.app.backend.handoffs()
            status = await self.app.backend.routing()
        except BackendError:
            return  # an older desk server: the console works without the room
        for handoff in reversed(handoffs):  # oldest first: the newest pin wins
            self._pin_all(handoff)
        self.waiting = {w.conversation_id: w.reason for w in status.waiting}
        me = self.app.store.me
        received = [h for h in handoffs if me is None or h.from_agent.id != me.id]
        if received:
            self.summary = summary_text(received)
            self.app.notify(self.summary, title="Handoff", timeout=30, markup=False)
        self._redraw()

    def _pin_all(self, handoff: Handoff) -> None:
        for item in handoff.items:
            self.pins[item.conversation_id] = Pin(
                handoff.id, handoff.from_agent.name, handoff.note, item.note
            )

    # --- the feed ---------------------------------------------------------------------------

    def take(self, events: list[Event]) -> None:
        changed = False
        me = self.app.store.me
        for event in events:
            data: dict[str, Any] = event.data
            if event.type == "conversation.handed_over":
                source = data.get("from_agent") or {}
                self.pins[data["conversation_id"]] = Pin(
                    data.get("handoff_id", 0),
                    str(source.get("name", "")),
                    str(data.get("note") or ""),
                    str(data.get("conversation_note") or ""),
                )
                changed = True
                target = data.get("to_agent") or {}
                if me is not None and target.get("id") == me.id:
                    self.app.notify(
                        f"#{data['conversation_id']} handed to you by {source.get('name', '')}",
                        title="Handoff",
                        timeout=8,
                        markup=False,
                    )
            elif event.type == "conversation.routed":
                conversation_id = data.get("conversation_id")
                if data.get("agent_id") is None:
                    first = not self.waiting
                    self.waiting[conversation_id] = str(data.get("reason", ""))
                    # The lead hears when the queue starts to back up, not of every wait after that
                    # (the tabs line keeps the count).
                    if first and me is not None and me.role == "admin":
                        self.app.notify(
                            f"#{conversation_id} waits: {data.get('reason', '')}",
                            title="Routing",
                            severity="warning",
                            timeout=8,
                            markup=False,
                        )
                else:
                    self.waiting.pop(conversation_id, None)
                changed = True
        if changed:
            self._redraw()

    def _redraw(self) -> None:
        screen = self.app._console_screen()  # noqa: SLF001 - the app's own lookup of its screen
        if screen is None:
            return
        screen.refresh_tabs()
        if screen.open_id is not None:
            conversation = self.app.store.desk.conversations.get(screen.open_id)
            if conversation is not None:
                screen.pane.show_header(conversation)

    # --- what screens show ----------------------------------------------------------------------

    def pin_text(self, conversation_id: int) -> Text | None:
        pin = self.pins.get(conversation_id)
        if pin is None or not (pin.note or pin.conversation_note):
            return None
        text = Text("📌 handoff from ", "bold")
        text.append_text(untrusted_line(pin.from_name, "bold"))
        text.append(": ")
        text.append_text(untrusted_line(" — ".join(t for t in (pin.note, pin.conversation_note) if t)))
        return text

    def waiting_mark(self) -> Text | None:
        if not self.waiting:
            return None
        return Text(f"⚑ {len(self.waiting)} waiting for routing", "bold")


def summary_text(handoffs: list[Handoff]) -> str:
    """One toast for what was handed over (plain text: the toast is not parsed as markup)."""
    from agent_console.core.sanitize import sanitize_line

    lines = []
    for h in handoffs[:5]:
        ids = " ".join(f"#{i.conversation_id}" for i in h.items[:8]) or "no conversations"
        note = f": {h.note}" if h.note else ""
        lines.append(sanitize_line(f"{h.from_agent.name} handed over {ids}{note}")[:300])
    if len(handoffs) > 5:
        lines.append(f"and {len(handoffs) - 5} more")
    return "\n".join(lines)
