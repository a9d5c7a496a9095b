"""Actions on a conversation: take, assign, status, snooze, priority, labels, presence, retry.

A mixin of the console screen, kept apart so the screen file holds layout and state flow only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agent_console.core import clock
from agent_console.core.models import ConversationPatch
from agent_console.core.sanitize import sanitize_line
from agent_console.tui.format import zone
from agent_console.tui.screens.pickers import Choice, PickerScreen, PromptScreen

if TYPE_CHECKING:
    from agent_console.tui.screens.console import ConsoleScreen

    _Screen = ConsoleScreen
else:
    # A Screen at run time (not a bare mixin) so Textual registers the @on handlers defined here.
    from textual.screen import Screen as _Screen


def parse_when(text: str, agent_zone: str | None, now: datetime) -> datetime:
    """`30m`, `4h`, `2d`, `tomorrow` (09:00 in the agent's zone) or an ISO date-time."""
    value = text.strip().lower()
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[:-1].isdigit() and value[-1:] in units:
        return now + timedelta(**{units[value[-1]]: int(value[:-1])})
    tz = zone(agent_zone)
    local_now = now.astimezone(tz) if tz else now
    if value == "tomorrow":
        tomorrow = (local_now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
        return tomorrow
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz or local_now.tzinfo)
    return moment


def check_when(text: str, agent_zone: str | None) -> str | None:
    try:
        moment = parse_when(text, agent_zone, clock.utcnow())
    except ValueError:
        return "use 30m, 4h, 2d, tomorrow, or a date-time like 2026-12-01T09:00"
    if moment <= clock.utcnow():
        return "that time has passed; pick a time in the future"
    return None


class ConversationActions(_Screen):
    """Every action that changes a conversation goes through `_patch` (and so the outbox)."""

    def _patch(self, conversation_id: int | None, patch: ConversationPatch, done: str) -> None:
        if conversation_id is None:
            self.app.bell()
            return
        self.console.update_conversation(conversation_id, patch, done)

    def action_assign_me(self) -> None:
        me = self.console.store.me
        if me is not None:
            self._patch(self.target(), ConversationPatch(assignee_id=me.id), "assigned to you")

    def action_unassign(self) -> None:
        self._patch(self.target(), ConversationPatch(assignee_id=None), "unassigned")

    def action_assign_agent(self) -> None:
        target = self.target()
        store = self.console.store
        choices = [
            Choice(
                agent.name,
                agent.id,
                detail=f"{agent.presence} · {agent.timezone}",
                rank=1.0 if store.desk.presence.get(agent.id, agent.presence) == "online" else 0.0,
            )
            for agent in store.agents
        ]

        self._pick_then_patch(
            target, "Assign to agent", choices, lambda a: ConversationPatch(assignee_id=a), "assigned"
        )

    def action_assign_team(self) -> None:
        target = self.target()
        choices = [Choice(team.name, team.id, detail=team.description) for team in self.console.store.teams]

        self._pick_then_patch(
            target, "Assign to team", choices, lambda t: ConversationPatch(team_id=t), "team set"
        )

    def action_resolve(self) -> None:
        target = self.target()
        if target is None:
            self.app.bell()
            return
        row = self.queue.index.get(target)
        self.console.update_conversation(
            target,
            ConversationPatch(status="resolved"),
            "resolved",
            then=lambda: self._open_next(row, target),
        )

    def _open_next(self, row: int | None, done: int) -> None:
        # The queue may not have dropped the resolved conversation yet: skip it either way.
        rows = [r for r in self.queue.rows if r != done]
        if not rows:
            self.remove_class("-reading")
            return
        position = min(row or 0, len(rows) - 1)
        self.queue.select(rows[position])
        self.open_conversation(rows[position], focus=False)

    def action_reopen(self) -> None:
        self._patch(self.target(), ConversationPatch(status="open"), "reopened")

    def action_pending(self) -> None:
        self._patch(self.target(), ConversationPatch(status="pending"), "set to pending")

    def action_snooze(self) -> None:
        target = self.target()
        me = self.console.store.me
        agent_zone = me.timezone if me else None
        now = clock.utcnow()
        choices = [
            Choice("1 hour", "1h"),
            Choice("4 hours", "4h"),
            Choice("Tomorrow 09:00", "tomorrow", detail=f"in your zone ({agent_zone or 'UTC'})"),
            Choice("Custom…", "custom"),
        ]

        def snooze(value: str | None) -> None:
            if value is None:
                return
            if value == "custom":
                self.app.push_screen(
                    PromptScreen(
                        "Snooze until",
                        placeholder="30m, 4h, 2d, tomorrow, 2026-12-01T09:00",
                        check=lambda text: check_when(text, agent_zone),
                    ),
                    snooze,
                )
                return
            until = parse_when(value, agent_zone, now if value != "custom" else clock.utcnow())
            self._patch(target, ConversationPatch(snoozed_until=until), "snoozed")

        self.app.push_screen(PickerScreen("Snooze", choices), snooze)

    def action_priority(self) -> None:
        choices = [Choice(name, name) for name in ("urgent", "high", "normal", "low")]
        self._pick_then_patch(
            self.target(), "Priority", choices, lambda p: ConversationPatch(priority=p), "priority set"
        )

    def _pick_then_patch(
        self,
        target: int | None,
        title: str,
        choices: list[Choice],
        patch_for: Callable[[Any], ConversationPatch],
        done: str,
    ) -> None:
        """Ask with a picker; queue the change for `target` if the agent chose."""

        def chosen(value: Any) -> None:
            if value is not None:
                self._patch(target, patch_for(value), done)

        self.app.push_screen(PickerScreen(title, choices), chosen)

    def action_labels(self) -> None:
        target = self.target()
        conversation = self._lookup(target) if target else None
        if conversation is None:
            self.app.bell()
            return

        def check(text: str) -> str | None:
            labels = [part.strip() for part in text.split(",") if part.strip()]
            if any(" " in label for label in labels):
                return "labels are single words, separated by commas"
            return None

        def chosen(text: str | None) -> None:
            if text is not None:
                labels = [part.strip() for part in text.split(",") if part.strip()]
                self._patch(target, ConversationPatch(labels=labels), "labels set")

        self.app.push_screen(
            PromptScreen(
                "Labels (comma-separated; empty removes all)",
                value=sanitize_line(", ".join(conversation.labels)),
                check=check,
            ),
            chosen,
        )

    def action_presence(self) -> None:
        choices = [Choice(name, name) for name in ("online", "busy", "away")]

        def chosen(presence: str | None) -> None:
            if presence is not None:
                self.console.set_presence(presence)

        self.app.push_screen(PickerScreen("Your presence", choices), chosen)

    def action_retry(self) -> None:
        """R: send again every failed reply and action of the conversation."""
        target = self.target()
        outbox = self.console.outbox
        if target is None or outbox is None:
            return
        failed = outbox.items_for(target, states=("failed",))
        if not failed:
            self.notify("Nothing to retry here.", timeout=2)
            return
        for item in failed:
            outbox.retry(item.id)
