"""One conversation: header, thread, contact panel, who-else-is-here line, and composer.

The pane reads state from the app's store and asks the app to run network work; it
never talks to the backend itself.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from agent_console.core import clock
from agent_console.core.bot_view import full_line
from agent_console.core.models import Conversation, Message
from agent_console.core.visibility import wire_preview
from agent_console.tui.format import CHANNEL_NAMES, local_time
from agent_console.tui.safe_text import untrusted_line
from agent_console.tui.sla_display import header_line
from agent_console.tui.triage_display import header_line as triage_line
from agent_console.tui.widgets.composer import Composer
from agent_console.tui.widgets.thread import ThreadView


class ContactPanel(Vertical):
    DEFAULT_CSS = """
    ContactPanel { width: 30; border-left: solid $primary 30%; padding: 0 1; }
    ContactPanel > Static { height: auto; }
    ContactPanel > #contact-history { margin-top: 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="contact-details")
        yield Static(id="contact-history")

    def show(self, conversation: Conversation, earlier: list[Conversation]) -> None:
        contact = conversation.contact
        now = clock.utcnow()
        text = Text()
        text.append_text(untrusted_line(contact.name, "bold"))
        for label, value in (("email", contact.email), ("phone", contact.phone)):
            if value:
                text.append(f"\n{label}: ")
                text.append_text(untrusted_line(value))
        text.append(f"\nlanguage: {untrusted_line(contact.language).plain}")
        if contact.timezone:
            text.append("\nzone: ")
            text.append_text(untrusted_line(contact.timezone))
            text.append(f"\nlocal time: {local_time(now, contact.timezone, with_date=True)}", "bold")
        text.append(f"\nchannel: {CHANNEL_NAMES.get(conversation.channel, conversation.channel)}")
        self.query_one("#contact-details", Static).update(text)
        history = Text("Earlier conversations", style="bold")
        others = [c for c in earlier if c.id != conversation.id]
        if not others:
            history.append("\nnone")
        for other in others[:8]:
            history.append(f"\n#{other.id} {other.status} ")
            history.append_text(untrusted_line(wire_preview(other))[:40])
        self.query_one("#contact-history", Static).update(history)


class ConversationPane(Vertical):
    """Everything about the open conversation."""

    DEFAULT_CSS = """
    ConversationPane { width: 1fr; }
    ConversationPane > #conversation-header { height: auto; padding: 0 1; background: $boost; }
    ConversationPane > #conversation-body { height: 1fr; }
    ConversationPane > #presence-line { height: auto; padding: 0 1; color: $accent; }
    ConversationPane > #empty-pane { height: 1fr; content-align: center middle; color: $text-muted; }
    ConversationPane.-narrow ContactPanel { display: none; }
    ConversationPane.-narrow.-contact ContactPanel { display: block; width: 100%; border-left: none; }
    ConversationPane.-narrow.-contact ThreadView { display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.thread = ThreadView(id="thread")
        self.composer = Composer(id="composer")
        # Held, not queried: state can reach the pane while the console is closing.
        self._header = Static(id="conversation-header")
        self._contact = ContactPanel(id="contact-panel")
        self._signals = Static(id="presence-line")
        self._signals_text: Text | None = None
        self._header_text: Text | None = None
        self.agent_zone: str | None = None  # SLA due times in the header are in the agent's zone
        self.accept_key = "a"  # the key that accepts the triage suggestion, as bound (the screen sets it)

    def compose(self) -> ComposeResult:
        yield self._header
        with Horizontal(id="conversation-body"):
            yield self.thread
            yield self._contact
        yield self._signals
        yield self.composer

    def show_header(self, conversation: Conversation) -> None:
        text = Text()
        text.append(f"#{conversation.id} ", "bold")
        text.append_text(untrusted_line(conversation.subject or conversation.contact.name, "bold"))
        text.append(f"\n{conversation.status} · {conversation.priority} · ")
        text.append(CHANNEL_NAMES.get(conversation.channel, conversation.channel))
        text.append(" · ")
        if conversation.assignee:
            text.append_text(untrusted_line(conversation.assignee.name))
        else:
            text.append("unassigned", "italic")
        if conversation.team:
            text.append(" · team ")
            text.append_text(untrusted_line(conversation.team.name))
        if conversation.labels:
            text.append(" · ")
            text.append_text(untrusted_line(" ".join(f"#{label}" for label in conversation.labels)))
        if conversation.snoozed_until:
            text.append(
                f" · snoozed until {local_time(conversation.snoozed_until, None, with_date=True)} UTC"
            )
        if (bot := full_line(conversation)) is not None:
            text.append("\n")
            text.append_text(untrusted_line(bot, "italic"))
        sla_line = header_line(conversation, clock.utcnow(), self.agent_zone)
        if sla_line is not None:
            text.append("\n")
            text.append_text(sla_line)
        shifts = getattr(self.app, "shifts", None)
        pin = shifts.pin_text(conversation.id) if shifts is not None else None
        if pin is not None:  # a handoff note, pinned while the conversation is in play
            text.append("\n")
            text.append_text(pin)
        if conversation.triage is not None:  # a conversation the server has triaged (not the seeded ones)
            text.append("\n")
            text.append_text(triage_line(conversation, self.accept_key))
        if text != self._header_text:
            # Asked again with every change to the open conversation (each customer message):
            # the same header must cost no layout pass.
            self._header_text = text
            self._header.update(text)

    def begin(self, conversation_id: int, conversation: Conversation | None) -> None:
        """The agent moved to `conversation_id`: its header at once (from the queue's copy) and
        nothing of the previous thread while its own loads."""
        self.thread.want(conversation_id)
        if conversation is not None:
            self.show_header(conversation)
        else:
            self._header_text = Text(f"#{conversation_id} loading…", "bold")
            self._header.update(self._header_text)

    def load(
        self,
        conversation: Conversation,
        messages: list[Message],
        earlier: list[Conversation],
        agent_zone: str | None,
    ) -> bool:
        """Draw a loaded conversation; False (nothing drawn) if the agent has moved on."""
        if not self.thread.show(conversation, messages, agent_zone):
            return False
        self.agent_zone = agent_zone
        self.show_header(conversation)
        self._contact.show(conversation, earlier)
        return True

    def update_conversation(self, conversation: Conversation) -> None:
        self.show_header(conversation)
        self.thread.update_conversation(conversation)

    def show_signals(self, text: Text | None) -> None:
        if text == self._signals_text:
            return  # asked every clock tick: an unchanged line must cost no layout and no bytes
        self._signals_text = text
        self._signals.update(text or "")
