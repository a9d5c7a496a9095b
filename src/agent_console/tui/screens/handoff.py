"""Ending a shift (`H`): write the handoff note, choose who receives (a team and/or agents),
review the conversations that go (untick to keep one; `ctrl+n` adds a note to the highlighted
one), then `ctrl+s` and `y` to confirm. The screen returns the request; the console sends it.

Names and subjects come from the server: they reach the widgets as `Content` built from plain
text (`safe_text`), never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static, TextArea
from textual.widgets.selection_list import Selection

from agent_console.core.models import Agent, Conversation, HandoffConversationNote, NewHandoff, Team
from agent_console.core.sanitize import sanitize_line
from agent_console.tui.safe_text import untrusted_content, untrusted_line
from agent_console.tui.screens.pickers import MODAL_CSS, PromptScreen

HINT = "tab: next part · space: tick · ctrl+n: note on the highlighted conversation · ctrl+s: hand over · esc"


@dataclass(frozen=True, slots=True)
class Receiver:
    kind: str  # "team" or "agent"
    id: int


class HandoffScreen(ModalScreen[NewHandoff | None]):
    DEFAULT_CSS = (
        MODAL_CSS.format(name="HandoffScreen")
        + """
    HandoffScreen > Vertical { overflow-y: auto; }
    HandoffScreen #handoff-note { height: 4; }
    HandoffScreen SelectionList { height: auto; max-height: 8; }
    HandoffScreen .part { color: $text-muted; padding: 1 0 0 0; }
    HandoffScreen #handoff-error { color: $error; height: auto; }
    """
    )
    BINDINGS = [
        Binding("ctrl+s", "submit", "Hand over", id="handoff.submit"),
        Binding("ctrl+n", "conversation_note", "Note on this conversation", id="handoff.note"),
        Binding("escape", "cancel", "Cancel", id="handoff.cancel"),
    ]

    def __init__(self, me: Agent, agents: list[Agent], teams: list[Team], mine: list[Conversation]) -> None:
        super().__init__()
        self.me = me
        self.agents = [a for a in agents if a.id != me.id and a.active]
        self.teams = teams
        self.mine = mine
        self.notes: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        receivers: list[Selection[Receiver]] = [
            Selection(untrusted_content(f"team {t.name}"), Receiver("team", t.id)) for t in self.teams
        ]
        receivers += [
            Selection(untrusted_content(f"{a.name} ({a.presence})"), Receiver("agent", a.id))
            for a in self.agents
        ]
        with Vertical():
            yield Static(Text("Hand over at the end of your shift", "bold"), classes="modal-title")
            yield Static(Text("Note for the next shift"), classes="part")
            yield TextArea(id="handoff-note")
            yield Static(Text("Receivers: one team and/or agents"), classes="part")
            yield SelectionList[Receiver](*receivers, id="handoff-receivers")
            yield Static(Text(f"Your open conversations ({len(self.mine)}): ticked ones go"), classes="part")
            yield SelectionList[int](
                *[Selection(self._label(c), c.id, True) for c in self.mine], id="handoff-conversations"
            )
            yield Static(id="handoff-error")
            yield Static(Text(HINT), classes="modal-hint")

    def _label(self, conversation: Conversation):  # -> Content
        text = f"#{conversation.id} {conversation.subject or conversation.contact.name}"
        if conversation.id in self.notes:
            text += f" — note: {self.notes[conversation.id]}"
        return untrusted_content(text)

    def on_mount(self) -> None:
        self.query_one("#handoff-note", TextArea).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_conversation_note(self) -> None:
        chooser = self.query_one("#handoff-conversations", SelectionList)
        index = chooser.highlighted
        if index is None or not self.mine:
            return
        conversation = self.mine[index]

        def keep(note: str | None) -> None:
            if note is None:
                return
            if note.strip():
                self.notes[conversation.id] = note.strip()
            else:
                self.notes.pop(conversation.id, None)
            chooser.replace_option_prompt_at_index(index, self._label(conversation))

        self.app.push_screen(
            PromptScreen(
                f"Note on #{conversation.id}",
                value=self.notes.get(conversation.id, ""),
                placeholder="empty: none",
            ),
            keep,
        )

    def request(self) -> tuple[NewHandoff | None, str]:
        """The request as chosen, or None and what is missing."""
        picked = self.query_one("#handoff-receivers", SelectionList).selected
        teams = [r.id for r in picked if r.kind == "team"]
        agents = [r.id for r in picked if r.kind == "agent"]
        if len(teams) > 1:
            return None, "choose one team (agents may be several)"
        if not teams and not agents:
            return None, "choose who receives: a team or agents"
        ids = list(self.query_one("#handoff-conversations", SelectionList).selected)
        note = self.query_one("#handoff-note", TextArea).text.strip()
        notes = [
            HandoffConversationNote(conversation_id=i, note=self.notes[i]) for i in ids if i in self.notes
        ]
        handoff = NewHandoff(
            to_team_id=teams[0] if teams else None,
            to_agent_ids=agents,
            note=note,
            conversation_ids=ids,
            notes=notes,
        )
        return handoff, ""

    def action_submit(self) -> None:
        handoff, problem = self.request()
        error = self.query_one("#handoff-error", Static)
        if handoff is None:
            error.update(Text(problem))
            return
        error.update(Text(""))
        names = [f"team {t.name}" for t in self.teams if t.id == handoff.to_team_id]
        names += [a.name for a in self.agents if a.id in handoff.to_agent_ids]
        question = f"Hand {len(handoff.conversation_ids or [])} conversation(s) to {', '.join(names)}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(handoff)

        self.app.push_screen(YesScreen(sanitize_line(question)), answered)


class YesScreen(ModalScreen[bool]):
    """Only `y` confirms; any other key or a paste cancels (as ConfirmScreen does)."""

    DEFAULT_CSS = MODAL_CSS.format(name="YesScreen") + "YesScreen > Vertical { border: thick $warning; }"

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        self.answered = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(untrusted_line(self.question, "bold"), classes="modal-title", id="yes-question")
            yield Static(Text("y: yes, hand over · any other key cancels"), classes="modal-hint")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        self._answer(event.key == "y")

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        self._answer(False)

    def _answer(self, yes: bool) -> None:
        if not self.answered:
            self.answered = True
            self.dismiss(yes)
