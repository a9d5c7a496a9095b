"""The conversation thread: customer, agent, private note, bot and activity messages, each
styled apart, with times in the agent's zone and the customer's local time beside them."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from agent_console.client.outbox import OutboxItem
from agent_console.core import clock
from agent_console.core.models import Conversation, Message
from agent_console.core.sanitize import DISPLAY_LIMIT, clip
from agent_console.tui.attachments import attachments_text
from agent_console.tui.format import local_time, stamp
from agent_console.tui.safe_text import untrusted, untrusted_line

KIND_LABELS = {"incoming": "", "outgoing": "", "note": "private note", "bot": "bot", "activity": ""}


class MessageItem(Static):
    DEFAULT_CSS = """
    MessageItem { padding: 0 1; margin: 0 0 1 0; }
    MessageItem.-incoming { border-left: thick $secondary; }
    MessageItem.-outgoing { border-left: thick $primary; background: $primary 10%; }
    MessageItem.-note { border-left: thick $warning; background: $warning 15%; }
    MessageItem.-bot { border-left: thick $accent; color: $text-muted; }
    MessageItem.-activity { color: $text-muted; text-style: italic; margin: 0; padding: 0 2; }
    """

    def __init__(
        self, message: Message, conversation: Conversation, agent_zone: str | None, *, expanded: bool = False
    ) -> None:
        super().__init__(classes=f"-{message.kind}")
        self.message = message
        self.conversation = conversation
        self.agent_zone = agent_zone
        self.expanded = expanded
        self.clipped = 0

    def render(self) -> Text:
        message = self.message
        now = clock.utcnow()
        when = stamp(message.created_at, self.agent_zone, now)
        if message.kind == "activity":
            return Text.assemble(untrusted_line(message.body), (f"  {when}", "dim"))
        header = Text()
        name = message.author.name or ("Lumo bot" if message.kind == "bot" else "customer")
        header.append_text(untrusted_line(name, "bold"))
        label = KIND_LABELS[message.kind]
        if label:
            header.append(f"  [{label}]", "italic")
        header.append(f"  {when}", "dim")
        contact_zone = self.conversation.contact.timezone
        if message.kind == "incoming" and contact_zone:
            header.append(f"  (their time {local_time(message.created_at, contact_zone)})", "dim")
        body, hidden = (message.body, 0) if self.expanded else clip(message.body, DISPLAY_LIMIT)
        self.clipped = hidden
        text = Text.assemble(header, "\n", untrusted(body))
        if hidden:
            text.append(f"\n… {hidden:,} more characters (press e to show all)", "bold italic")
        if files := attachments_text(message):
            text.append_text(Text("\n").append_text(files))
        return text


class OutboxLine(Static):
    """A reply or note the console has queued: sending, or failed with the reason."""

    DEFAULT_CSS = """
    OutboxLine { padding: 0 1; margin: 0 0 1 0; border-left: thick $primary 50%; color: $text-muted; }
    OutboxLine.-failed { border-left: thick $error; color: $text; }
    """

    def __init__(self, item: OutboxItem) -> None:
        super().__init__()
        self.item = item

    def render(self) -> Text:
        item = self.item
        if item.state == "failed":
            status = Text(f"✕ not sent: {item.reason or 'refused'} · R to retry", "bold")
        elif item.attempts:
            status = Text(f"◌ sending (try {item.attempts + 1}: {item.reason or 'waiting'})", "italic")
        else:
            status = Text("◌ sending…", "italic")
        label = "private note" if item.private else "reply"
        body, hidden = clip(item.body, 600)  # the agent's own text: a reminder, not the record
        more = f"\n… {hidden:,} more characters" if hidden else ""
        return Text.assemble(status, f"  [{label}]\n", untrusted(body), more)


class ThreadView(VerticalScroll, can_focus=True):
    BINDINGS = [
        Binding("e", "expand", "Show all of long messages", show=False, id="thread.expand"),
        # In the thread, the queue's motion keys move through the conversation instead.
        Binding("j,down", "scroll_down", "Scroll the conversation down", show=False, id="thread.down"),
        Binding("k,up", "scroll_up", "Scroll the conversation up", show=False, id="thread.up"),
        Binding("g,home", "scroll_home", "First message", show=False, id="thread.first"),
        Binding("G,end", "scroll_end", "Newest message", show=False, id="thread.last"),
        Binding("pagedown,ctrl+f", "page_down", "Page down (thread)", show=False, id="thread.page_down"),
        Binding("pageup,ctrl+b", "page_up", "Page up (thread)", show=False, id="thread.page_up"),
    ]
    DEFAULT_CSS = """
    ThreadView { height: 1fr; padding: 0 1; }
    ThreadView > .thread--empty { color: $text-muted; }
    ThreadView.-stale > * { display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.conversation: Conversation | None = None
        self.agent_zone: str | None = None
        self.shown: list[int] = []
        self.queued: dict[int, OutboxLine] = {}  # outbox item id -> its line
        # The conversation the screen wants here (set at once when the agent moves); whatever
        # arrives for another one is stale and dropped. Every change to the children goes
        # through one lock, so a reload, a live message and a queued reply never interleave
        # their awaits (a message mounted into a half-removed thread, or twice).
        self.wanted: int | None = None
        self._lock = asyncio.Lock()

    def want(self, conversation_id: int | None) -> None:
        """The agent moved to `conversation_id`: from now on only its thread may be drawn here.
        What the thread holds is hidden until `clear` or `show` replaces it (both under the lock)."""
        self.wanted = conversation_id
        # Hidden in this same frame: the next one must not pair a new header with old rows.
        self.set_class(self.conversation is None or self.conversation.id != conversation_id, "-stale")

    async def clear(self, conversation_id: int) -> None:
        """Empty the thread while `conversation_id` loads (never another conversation's rows)."""
        async with self._lock:
            if self.wanted != conversation_id or (
                self.conversation is not None and self.conversation.id == conversation_id
            ):
                return  # moved on again, or that thread is already here
            self.conversation = None
            self.shown = []
            self.queued = {}
            await self.remove_children()
            self.remove_class("-stale")
            await self.mount(Static("loading…", classes="thread--empty"))

    async def show(
        self, conversation: Conversation, messages: list[Message], agent_zone: str | None
    ) -> bool:
        """Show a whole thread (a different conversation, or after a reload). False, and nothing
        drawn, when the agent has moved to another conversation since it was asked for."""
        async with self._lock:
            if conversation.id != self.wanted:
                return False
            self.conversation = conversation
            self.agent_zone = agent_zone
            await self.remove_children()
            self.remove_class("-stale")
            self.queued = {}
            self.shown = [m.id for m in messages]
            await self.mount_all([MessageItem(m, conversation, agent_zone) for m in messages])
        # After layout: the pane may only now be getting its size (narrow screens).
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        return True

    def on_mount(self) -> None:
        # Anchored to the end: a new message is laid out already in view, in the frame that
        # mounts it. (Measuring "at the end" before each add and scrolling after it lost the
        # end under a burst: the next message came before the last scroll had landed, and the
        # thread stopped following.) Scrolling up releases the anchor, so a reader's place is
        # kept; back at the end, it holds again.
        self.anchor()

    async def add(self, messages: list[Message]) -> int:
        """Append messages that arrived live; keep the reader's place unless at the end."""
        async with self._lock:
            return await self._add(messages)

    async def _add(self, messages: list[Message]) -> int:
        conversation = self.conversation
        if conversation is None or conversation.id != self.wanted:
            return 0  # the thread that loads next reads them from the store
        seen = set(self.shown)
        fresh: list[Message] = []
        for m in sorted(messages, key=lambda m: m.id):
            if m.id not in seen and m.conversation_id == conversation.id:
                seen.add(m.id)
                fresh.append(m)
        if not fresh:
            return 0
        self.shown += [m.id for m in fresh]
        first_queued = next(iter(self.queued.values()), None)
        items = [MessageItem(m, conversation, self.agent_zone) for m in fresh]
        # Delivered messages go above what is still queued, which stays at the bottom.
        await self.mount_all(items, before=first_queued) if first_queued else await self.mount_all(items)
        for line in list(self.queued.values()):
            if line.item.message_id in self.shown:
                self._drop_queued(line.item.id)
        return len(fresh)

    async def show_queued(self, item: OutboxItem) -> None:
        """Show (or update, or clear) a queued reply or note of this conversation."""
        async with self._lock:
            await self._show_queued(item)

    async def _show_queued(self, item: OutboxItem) -> None:
        mine = self.conversation is not None and item.conversation_id == self.conversation.id
        if not mine or item.kind != "message":
            return
        line = self.queued.get(item.id)
        if item.state == "sent" and (item.message_id in self.shown or item.message_id is None):
            self._drop_queued(item.id)
            return
        if line is None:
            line = self.queued[item.id] = OutboxLine(item)
            await self.mount(line)
            self.scroll_end(animate=False)
        else:
            line.item = item
            line.refresh(layout=True)

    def _drop_queued(self, item_id: int) -> None:
        line = self.queued.pop(item_id, None)
        if line is not None:
            line.remove()

    def update_conversation(self, conversation: Conversation) -> None:
        if self.conversation is None or self.conversation.id != conversation.id:
            return  # a newer copy of another conversation than the one drawn here
        self.conversation = conversation
        for item in self.query(MessageItem):
            item.conversation = conversation

    @property
    def last_seen_id(self) -> int | None:
        return max(self.shown) if self.shown else None

    def action_expand(self) -> None:
        for item in self.query(MessageItem):
            if item.clipped:
                item.expanded = True
                item.refresh(layout=True)
