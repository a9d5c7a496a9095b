"""The console's shift keys: `w` opens the roster, `H` the handoff (a mixin of ConsoleScreen,
like ConversationActions, so the actions see what the agent is looking at)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from agent_console.client.errors import BackendError
from agent_console.core.models import NewHandoff

if TYPE_CHECKING:
    from agent_console.tui.app import ConsoleApp

HANDED = ("open", "pending", "snoozed")


class ShiftActions(Screen[None]):
    @property
    def console(self) -> ConsoleApp:
        return self.app  # type: ignore[return-value]

    def action_roster(self) -> None:
        from agent_console.tui.screens.roster import RosterScreen

        self.app.push_screen(RosterScreen())

    def action_handoff(self) -> None:
        from agent_console.tui.screens.handoff import HandoffScreen

        store = self.console.store
        me = store.me
        if me is None:
            self.notify("Not connected yet: try again in a moment.", severity="warning", markup=False)
            return
        if not hasattr(self.console.backend, "hand_over"):
            self.notify("This help desk has no handoffs: they need the desk server.", markup=False)
            return
        mine = sorted(
            (
                c
                for c in store.desk.conversations.values()
                if c.assignee is not None and c.assignee.id == me.id and c.status in HANDED
            ),
            key=lambda c: c.id,
        )
        self.app.push_screen(HandoffScreen(me, store.agents, store.teams, mine), self._hand_over)

    def _hand_over(self, handoff: NewHandoff | None) -> None:
        if handoff is not None:
            self.run_worker(self._send_handoff(handoff), group="handoff", exit_on_error=False)

    async def _send_handoff(self, handoff: NewHandoff) -> None:
        try:
            made = await self.console.backend.hand_over(handoff)  # type: ignore[attr-defined]
        except BackendError as exc:
            self.notify(f"handoff not sent: {exc.message}", severity="error", timeout=8, markup=False)
            return
        names = [a.name for a in made.to_agents] + ([f"team {made.to_team.name}"] if made.to_team else [])
        self.notify(
            f"Handed over {len(made.items)} conversation(s) to {', '.join(names)}", timeout=6, markup=False
        )
