"""The roster (`w`): who is on now, who is next, coverage gaps over the next 24 hours, and
the conversations routing could not place. Times in the agent's own zone.

It follows the desk while it is open: an event that moves what it shows (tui/store.py's
ROSTER_EVENTS) reads it again, at most once per FOLLOW_EVERY seconds however busy the feed."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text
from textual import on, work
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
from agent_console.tui.store import RosterChanged

STYLES = {"head": "bold", "gap": "bold yellow", "none": "italic"}
# A busy desk's presence changes come by the second: one read per this many seconds at most.
FOLLOW_EVERY = 2.0


class RosterScreen(ModalScreen[None]):
    DEFAULT_CSS = (
        MODAL_CSS.format(name="RosterScreen")
        + """
    RosterScreen #roster-body { height: auto; max-height: 55vh; }  /* the hint stays on an 80x24 screen */
    """
    )
    BINDINGS = [
        Binding("escape,w,q", "close", "Close", id="roster.close"),
        Binding("r", "reload", "Reload", id="roster.reload"),
    ]

    wants_roster_events = True

    def __init__(self) -> None:
        super().__init__()
        self._loaded_at = -float("inf")
        self._follow_pending = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Roster"), classes="modal-title")
            with VerticalScroll(id="roster-body"):
                yield Static(Text("loading…"), id="roster-text")
            yield Static(Text("live · r: reload · esc: close"), classes="modal-hint")

    def on_mount(self) -> None:
        self.action_reload()

    def action_close(self) -> None:
        self.dismiss(None)

    @on(RosterChanged)
    def _desk_changed(self) -> None:
        if self._follow_pending:
            return  # one read is already coming: it will see this change too
        self._follow_pending = True
        wait = self._loaded_at + FOLLOW_EVERY - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self._follow)
        else:
            self.call_later(self._follow)  # (a timer of 0 s divides by zero in Textual)

    def _follow(self) -> None:
        self._follow_pending = False
        self.action_reload()

    @work(exclusive=True, group="roster", exit_on_error=False)
    async def action_reload(self) -> None:
        self._loaded_at = time.monotonic()
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
