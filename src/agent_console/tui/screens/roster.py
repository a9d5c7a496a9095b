"""The roster (`w`): who is on now, who is next, coverage gaps over the next 24 hours, and
the conversations routing could not place. Times in the agent's own zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from agent_console.client.errors import BackendError
from agent_console.core.models import RosterView
from agent_console.core.roster_text import roster_lines
from agent_console.tui.safe_text import untrusted_line
from agent_console.tui.screens.pickers import MODAL_CSS

STYLES = {"head": "bold", "gap": "bold yellow", "none": "italic"}


class RosterScreen(ModalScreen[None]):
    DEFAULT_CSS = (
        MODAL_CSS.format(name="RosterScreen")
        + """
    RosterScreen #roster-body { height: auto; max-height: 30; }
    """
    )
    BINDINGS = [
        Binding("escape,w,q", "close", "Close", id="roster.close"),
        Binding("r", "reload", "Reload", id="roster.reload"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Roster"), classes="modal-title")
            with VerticalScroll(id="roster-body"):
                yield Static(Text("loading…"), id="roster-text")
            yield Static(Text("r: reload · esc: close"), classes="modal-hint")

    def on_mount(self) -> None:
        self.action_reload()

    def action_close(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="roster", exit_on_error=False)
    async def action_reload(self) -> None:
        app = self.app
        backend = app.backend  # type: ignore[attr-defined]
        if not hasattr(backend, "roster"):
            self.show_text(Text("This help desk has no shifts: the roster needs the desk server."))
            return
        try:
            view = await backend.roster()
        except BackendError as exc:
            self.show_text(untrusted_line(f"roster not loaded: {exc.message}"))
            return
        self.show(view)

    def show(self, view: RosterView) -> None:
        me = self.app.store.me  # type: ignore[attr-defined]
        name = me.timezone if me is not None else "UTC"
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            zone, name = ZoneInfo("UTC"), "UTC"
        text = Text()
        for kind, line in roster_lines(view, zone, name):
            text.append_text(untrusted_line(line, STYLES.get(kind, "")))
            text.append("\n")
        waiting = self.app.shifts.waiting  # type: ignore[attr-defined]
        text.append("Waiting for routing\n", "bold")
        if not waiting:
            text.append("  none\n", "italic")
        for conversation_id, reason in sorted(waiting.items()):
            text.append(f"  #{conversation_id} ")
            text.append_text(untrusted_line(reason))
            text.append("\n")
        self.show_text(text)

    def show_text(self, text: Text) -> None:
        self.query_one("#roster-text", Static).update(text)
