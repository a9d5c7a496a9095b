"""Actions on a conversation: take, assign, status, snooze, priority, labels, presence, retry,
and undo.

Every change goes through `_patch`: a conversation assigned to someone else asks first
(`ConfirmScreen`, only `y` confirms), then the change is queued in the outbox and leaves an
undo entry; `u` takes back the newest one for `[tui] undo_seconds`.

A mixin of the console screen, kept apart so the screen file holds layout and state flow only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agent_console.core import clock
from agent_console.core.models import ConversationPatch
from agent_console.core.undo import fields_of, predict, reversal, touched
from agent_console.tui.format import zone
from agent_console.tui.keys import key_hint
from agent_console.tui.screens.confirm import ConfirmScreen
from agent_console.tui.screens.labels import LabelsScreen, count_labels
from agent_console.tui.screens.pickers import Choice, PickerScreen, PromptScreen
from agent_console.tui.undo import describe, phrase

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
    now = clock.utcnow()
    try:
        moment = parse_when(text, agent_zone, now)
        too_far = moment - now > clock.MAX_SNOOZE_AHEAD
    except (ValueError, OverflowError):  # 99999999d overflows before it is too far
        return "use 30m, 4h, 2d, tomorrow, or a date-time like 2026-12-01T09:00"
    if moment <= now:
        return "that time has passed; pick a time in the future"
    if too_far:
        return f"at most {clock.MAX_SNOOZE_AHEAD.days} days (a year) ahead"
    return None


class ConversationActions(_Screen):
    """Every action that changes a conversation goes through `_patch` (and so the outbox)."""

    def _patch(
        self,
        conversation_id: int | None,
        patch: ConversationPatch,
        done: str,
        *,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Change a conversation: ask first when it is a colleague's, then queue it (undoable)."""
        if conversation_id is None:
            self.app.bell()
            return
        conversation = self._lookup(conversation_id)
        me = self.console.store.me
        owner = conversation.assignee if conversation is not None else None
        if owner is not None and (me is None or owner.id != me.id):
            doing, _ = self._describe(patch)

            def answered(yes: bool | None) -> None:
                if yes:
                    self._act(conversation_id, patch, done, then=then)

            self.app.push_screen(
                ConfirmScreen(conversation_id, owner.name, phrase(doing, "it") + "?"), answered
            )
            return
        self._act(conversation_id, patch, done, then=then)

    def _describe(self, patch: ConversationPatch) -> tuple[str, str]:
        store = self.console.store
        me = store.me
        tz = zone(me.timezone if me else None)

        def when(moment: datetime) -> str:
            local = moment.astimezone(tz) if tz else moment
            return local.strftime("%a %d %b %H:%M")

        return describe(
            patch,
            me_id=me.id if me else None,
            agent_names={agent.id: agent.name for agent in store.agents},
            team_names={team.id: team.name for team in store.teams},
            when=when,
        )

    def _act(
        self,
        conversation_id: int,
        patch: ConversationPatch,
        done: str,
        *,
        then: Callable[[], None] | None = None,
        why: str = "",
    ) -> None:
        """Queue the change and keep what undoes it (the fields as they were, with this
        conversation's own actions still in the outbox counted as done)."""
        console = self.console
        conversation = self._lookup(conversation_id)
        before = None
        if conversation is not None:
            before = console.undo.overlay(conversation_id, fields_of(conversation), self._still_queued)
        item = console.update_conversation(conversation_id, patch, done, then=then)
        if item is None or before is None:
            return
        after = predict(before, patch)
        _, past = self._describe(patch)
        summary = phrase(past, f"#{conversation_id}")
        console.undo.push(
            conversation_id,
            item.id,
            reversal(before, patch),
            {name: after[name] for name in touched(patch)},
            summary,
        )
        seconds = console.undo.seconds
        hint = key_hint(self, "conv.undo", "u")
        self.notify(f"{summary}{why} · {hint} undo ({seconds:g} s)", timeout=seconds, markup=False)
        self.refresh_bindings()
        # Hide `u` from the footer once the window has passed.
        self.set_timer(seconds + 0.1, self.refresh_bindings)

    def _still_queued(self, item_id: int) -> bool:
        outbox = self.console.outbox
        item = outbox.get(item_id) if outbox is not None else None
        return item is not None and item.state == "pending"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            # Shown in the footer (and run) only while there is something to undo.
            return self.console.undo.peek() is not None
        return super().check_action(action, parameters)

    def action_undo(self) -> None:
        """u: take back the newest action still inside its undo window."""
        console = self.console
        entry = console.undo.pop()
        outbox = console.outbox
        self.refresh_bindings()
        if entry is None or outbox is None:
            self.notify("Nothing to undo.", timeout=2)
            return
        item = outbox.get(entry.item_id)
        if item is None or item.state == "failed":
            # It never changed the server: drop it so a retry cannot bring it back.
            if item is not None:
                outbox.discard(item.id)
            self.notify(f"Undone: {entry.summary} (it had not gone through)", timeout=4, markup=False)
        elif item.state == "pending" and outbox.withdraw(item.id):
            self.notify(f"Undone: {entry.summary} (never sent)", timeout=4, markup=False)
        else:
            undo_item = outbox.enqueue_undo(entry.conversation_id, entry.reversal, undoes=item.id)
            console.undo_labels[undo_item.id] = entry.summary
            self.notify(f"Undoing: {entry.summary}…", timeout=3, markup=False)

    def take_on_reply(self, conversation_id: int, *, private: bool) -> None:
        """A reply to an unassigned conversation takes it (`[tui] take_on_reply`); a note, or a
        reply to a colleague's conversation, does not."""
        console = self.console
        me = console.store.me
        conversation = self._lookup(conversation_id)
        if private or not console.take_on_reply or me is None or conversation is None:
            return
        if conversation.assignee is None:
            patch = ConversationPatch(assignee_id=me.id)
            self._act(conversation_id, patch, "assigned to you", why=" (you replied)")

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
                detail=f"{store.presence_of(agent)} · {agent.timezone}",  # live, from the feed
                rank=1.0 if store.presence_of(agent) == "online" else 0.0,
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
        self._patch(
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

    def action_bot(self) -> None:
        # Status too, so undo (which restores the touched fields) sets it back and stops the bot.
        self._patch(self.target(), ConversationPatch(status="pending", bot=True), "sent back to the bot")

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
        # The labels this console holds open the picker at once; the desk's list follows.
        known = count_labels(c.labels for c in self.console.store.desk.conversations.values())

        def chosen(labels: list[str] | None) -> None:
            latest = self._lookup(target) or conversation
            if labels is not None and labels != latest.labels:
                self._patch(target, ConversationPatch(labels=labels), "labels set")

        backend = self.console.backend
        self.app.push_screen(
            LabelsScreen(f"Labels of #{target}", conversation.labels, known, load=backend.labels), chosen
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
