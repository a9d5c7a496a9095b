"""The Textual app: wiring only. Screens and widgets own their rooms; the store owns state."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.color import ColorSystem
from textual import work
from textual.actions import parse as parse_action
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import Screen

from agent_console.client.backend import Backend, desk_key
from agent_console.client.backoff import full_jitter
from agent_console.client.config import NotifySettings
from agent_console.client.drafts import Drafts
from agent_console.client.errors import BackendError, NotAuthenticated, NotFound
from agent_console.client.outbox import Outbox, OutboxItem, OutboxSender
from agent_console.client.sync import SNAPSHOT_PAGE, ConnectionState, SyncEngine
from agent_console.core.models import ConversationPatch, Desk, KbArticle, KbHit
from agent_console.core.sanitize import sanitize_line
from agent_console.tui.collector import QuietCollector
from agent_console.tui.keys import check_keymap, palette_help
from agent_console.tui.notifications import Notifications
from agent_console.tui.presence import AutoAway
from agent_console.tui.reading import ReadSync
from agent_console.tui.screens.console import ConsoleScreen
from agent_console.tui.shifts import ShiftRoom
from agent_console.tui.store import ConnectionChanged, DeskStore, OutboxChanged, StateChanged
from agent_console.tui.themes import load_themes, resolve_theme_name
from agent_console.tui.undo import DEFAULT_UNDO_SECONDS, UndoStack

DEFAULT_URGENT_WINDOW = timedelta(minutes=15)  # [tui] urgent_window

# Actions no binding declares but the app still performs (palette, Textual internals).
ALWAYS_ALLOWED = {"quit", "command_palette", "focus_next", "focus_previous", "help", "back"}


class ConsoleApp(App[int]):
    TITLE = "agent-console"
    BINDINGS = [
        # Priority: seen before any screen, so a modal that takes every key (the confirm) never
        # keeps the agent from quitting.
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("ctrl+p", "command_palette", "All actions", show=False, id="app.palette"),
    ]
    ENABLE_COMMAND_PALETTE = True
    # A large desk: rows per page read from the server, conversations read at start (a prefix of
    # every view; a desk at most this big is held whole), rows of a view held beyond that.
    queue_page = SNAPSHOT_PAGE
    queue_hold = 2_000
    queue_window = 2_000

    def __init__(
        self,
        backend: Backend,
        *,
        theme: str | None = None,
        keymap: dict[str, str] | None = None,
        low_bandwidth: bool | None = None,
        drafts: Drafts | None = None,
        outbox_path: Path | str = ":memory:",
        heartbeat: float = 30.0,
        undo_seconds: float = DEFAULT_UNDO_SECONDS,
        take_on_reply: bool = True,
        handle_signals: bool = False,
        urgent_window: timedelta = DEFAULT_URGENT_WINDOW,
        notify: NotifySettings | None = None,
        welcome: str | None = None,
        away_after: float = 0.0,
        idle_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.welcome = welcome  # shown once at start (the demo: where its web chat widget is)
        self.handle_signals = handle_signals  # off under tests: the test runner owns its signals
        self.stopped_by: int | None = None  # the signal that ended the console, if one did
        self._previous_handlers: dict[int, Any] = {}
        self._signal_loop: asyncio.AbstractEventLoop | None = None
        self.backend = backend
        self.outbox_path = outbox_path
        self.outbox: Outbox | None = None  # opened once we know who is signed in
        self.patch_labels: dict[int, str] = {}  # outbox item id -> what to say when it lands
        self.undo = UndoStack(undo_seconds)  # recent actions `u` can take back
        self.undo_labels: dict[int, str] = {}  # undo item id -> the action it takes back
        self.take_on_reply = take_on_reply
        self.store = DeskStore(self, urgent_window=urgent_window)
        self.reads = ReadSync(self)  # read marks: shown at once, kept on the server
        self.notifications = Notifications(self, notify)
        self.shifts = ShiftRoom(self)  # handoff pins and summary, routing's waits (tui/shifts.py)
        self.store.on_applied = self._applied
        self.auto_away = AutoAway(self, away_after, idle_clock)  # [presence] away_after
        self.auto_away_interval: float | None = None  # how often idleness is checked (None: by away_after)
        self.drafts = drafts
        self.heartbeat = heartbeat
        self.low_bandwidth = (
            bool(os.environ.get("SSH_CONNECTION")) if low_bandwidth is None else low_bandwidth
        )
        if self.low_bandwidth:
            # Over SSH every frame costs bytes: no animation, fewer frames, slower clocks.
            self.animation_level = "none"
            self.store.frame_interval = 1 / 10
            self.store.quiet_at_once = False
            # 256 colours: a styled cell's SGR is "38;5;N", not "38;2;R;G;B" (about half the
            # bytes of every repaint; the themes read the same).
            self.console._color_system = ColorSystem.EIGHT_BIT  # noqa: SLF001 - what Strip.render reads
        self.clock_interval = 15.0 if self.low_bandwidth else 5.0
        self.requested_theme = resolve_theme_name(theme)
        self.user_keymap = keymap or {}
        self.keymap_problems: list[str] = []
        self.engine: SyncEngine | None = None
        self.desk: Desk | None = None  # who we talk to, once connected (local state is keyed by it)
        self._started = time.time()
        # The real program keeps full garbage collections off its frames (tui/collector.py).
        self.collector: QuietCollector | None = None

    # --- start-up ----------------------------------------------------------------------

    def on_mount(self) -> None:
        for theme in load_themes().values():
            self.register_theme(theme)
        if self.requested_theme in self.available_themes:
            self.theme = self.requested_theme
        else:
            self.notify(
                f"unknown theme {self.requested_theme!r}; using night-shift", severity="warning", markup=False
            )
            self.theme = "night-shift"
        accepted, self.keymap_problems = check_keymap(self.user_keymap)
        self.set_keymap(accepted)
        for problem in self.keymap_problems:
            self.notify(problem, title="Key remap skipped", severity="warning", timeout=12, markup=False)
        self.push_screen(ConsoleScreen())
        if self.auto_away.enabled:
            every = self.auto_away_interval or min(5.0, max(0.2, self.auto_away.away_after / 4))
            self.set_interval(every, self.auto_away.check)
        if self.welcome:
            self.notify(self.welcome, timeout=30, markup=False)
        # After the first frame: making the HTTP client (httpx's import, its TLS context) and
        # the first requests would otherwise hold that frame back (P4).
        self.call_after_refresh(self.connect)
        if self.handle_signals:
            self._install_signal_handlers()

    # --- signals: leave like a well-behaved Unix program ------------------------------------

    def _install_signal_handlers(self) -> None:
        """SIGTERM and SIGHUP (an SSH link that dropped) end the console the way ctrl+q does.

        The exit runs the normal path: screens unmount (the draft being typed is saved), the
        driver leaves the alternate screen and restores the terminal modes, and the console
        returns 128 + the signal number, the shell's convention for "ended by a signal".
        """
        # The loop's own handlers: a signal can land on any thread (a hang-up often reaches
        # Textual's input thread), and only the loop's wake-up fd then ends its wait at once.
        # A plain signal.signal handler ran only when something else woke the loop: an idle
        # console took from a second to minutes to notice its SSH link had dropped.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            self._previous_handlers[signum] = signal.getsignal(signum)
            loop.add_signal_handler(signum, self._stop_for_signal, signum)
        self._signal_loop = loop

    def _stop_for_signal(self, signum: int) -> None:
        if self.stopped_by is None:
            self.stopped_by = signum
            self.exit(128 + signum)

    def restore_signal_handlers(self) -> None:
        loop = self._signal_loop
        for signum, previous in self._previous_handlers.items():
            if loop is not None and not loop.is_closed():
                loop.remove_signal_handler(signum)
            signal.signal(signum, previous)
        self._previous_handlers.clear()

    @work(group="sync", exit_on_error=False)
    async def connect(self) -> None:
        # Who the agent is, read alongside the first page of the queue rather than before it
        # (one round trip on the way to the first row, not two; P4). The feed waits for it.
        identity = asyncio.create_task(self._identify())

        async def identified() -> None:
            if not await asyncio.shield(identity):
                raise NotAuthenticated("sign-in failed")

        self.engine = SyncEngine(
            self.backend,
            on_snapshot=self.store.take_snapshot,
            on_events=self.store.take_events,
            on_state=self.store.take_connection,
            heartbeat=self.heartbeat,
            page_size=self.queue_page,
            hold=self.queue_hold,
            early_first_page=True,
            urgent_window=self.store.urgent_seconds,
            before_feed=identified,
        )
        try:
            await self.engine.run()
        except NotAuthenticated as exc:
            # A token refused from the start is said once, by the identity check.
            if await asyncio.shield(identity):
                self.report(exc, prefix="the server no longer accepts your token")
        finally:
            identity.cancel()

    async def _identify(self) -> bool:
        """Who am I, and with whom: retried until the server answers, so a console started
        during an outage still comes up (and sends what it queued) once it is back. False
        when the token is refused (said to the agent here)."""
        failures = 0
        while True:
            try:
                me, self.desk, teams = await asyncio.gather(
                    self.backend.me(), self._desk(), self.backend.teams()
                )
                self.store.take_identity(me, teams)
                break
            except NotAuthenticated as exc:
                self.store.take_connection(ConnectionState("offline", detail=exc.message))
                self.report(exc, prefix="sign-in failed")
                return False
            except BackendError as exc:
                delay = full_jitter(failures)
                failures += 1
                if self.store.connection.kind != "live":
                    self.store.take_connection(
                        ConnectionState(
                            "reconnecting",
                            retry_at=time.monotonic() + delay,
                            since=self._started,
                            detail=exc.message,
                        )
                    )
                await asyncio.sleep(delay)
        self.run_worker(self.shifts.load(), group="shifts", exit_on_error=False)
        key = self.local_key()
        if self.drafts is not None:
            self.drafts.adopt(key)
        if self.store.me is not None:
            self.start_outbox(str(self.store.me.id), key)
        return True

    async def _desk(self) -> Desk | None:
        try:
            return await self.backend.desk()
        except NotFound:
            return None  # a desk server from before desks had an id: fall back to its URL

    def local_key(self) -> str:
        """What drafts and the outbox are filed under: the desk's id, or its URL if it has none."""
        if self.desk is not None:
            return desk_key(self.backend.name, self.desk)
        return getattr(self.backend, "server", "")

    def start_outbox(self, account: str, key: str | None = None) -> None:
        """Open this agent's outbox and send whatever it holds, left over from last time too."""
        server = getattr(self.backend, "server", "")
        self.outbox = Outbox(self.outbox_path, key or server, account=account)
        # Items queued before desks had an id are filed under the URL: they still go out.
        self.outbox.carry_over(server)
        sender = OutboxSender(self.outbox, self.backend, on_change=self._outbox_changed)
        self.run_worker(self._run_sender(sender), group="outbox", exit_on_error=False)

    async def _run_sender(self, sender: OutboxSender) -> None:
        try:
            await sender.run()
        except NotAuthenticated as exc:
            self.report(exc, prefix="queued replies wait until you sign in again")
        finally:
            sender.close()

    def _outbox_changed(self, item: OutboxItem) -> None:
        self.post_message(OutboxChanged(item))

    def on_outbox_changed(self, message: OutboxChanged) -> None:
        item = message.item
        if item.kind == "patch" and item.state == "sent":
            label = self.patch_labels.pop(item.id, "updated")
            if item.attempts > 1:  # said at once when queued; again only if it had to wait
                self.notify(f"#{item.conversation_id} {label}", timeout=2, markup=False)
        elif item.kind == "undo" and item.state in ("sent", "failed"):
            label = self.undo_labels.pop(item.id, f"the change to #{item.conversation_id}")
            if item.state == "sent":
                self.notify(f"Undone: {label}", timeout=4, markup=False)
            else:
                self.notify(
                    sanitize_line(f"{label[:1].upper()}{label[1:]}: {item.reason}"),
                    severity="error",
                    timeout=10,
                    markup=False,
                )
        elif item.kind == "patch" and item.state == "failed":
            self.patch_labels.pop(item.id, None)
            self.notify(
                sanitize_line(f"#{item.conversation_id} not changed: {item.reason}"),
                severity="error",
                timeout=8,
                markup=False,
            )
        screen = self._console_screen()
        if screen is not None:
            screen.outbox_changed(item)

    # --- store → screens -----------------------------------------------------------------

    def _applied(self, events: list[Any]) -> None:
        self.notifications.take(events)
        self.shifts.take(events)

    async def on_event(self, event: Any) -> None:
        from textual import events

        if isinstance(event, events.Key):
            self.auto_away.touch()  # any key: the agent is here (back online if auto-away)
        await super().on_event(event)

    def _console_screen(self) -> ConsoleScreen | None:
        """The console screen once it is mounted (it draws the current state when it mounts)."""
        for screen in self.screen_stack:
            if isinstance(screen, ConsoleScreen) and screen.is_mounted:
                return screen
        return None

    def _settle_collector(self) -> None:
        if self.collector is not None and self.store.loaded and self.store.connection.kind == "live":
            if not self.collector.settled:
                self.collector.settle()  # the queue is in: long-lived from here on
                self.set_interval(20.0, self.collector.tick)

    def is_idle(self, quiet: float = 3.0) -> bool:
        """Nothing typed and no event applied for `quiet` seconds, on the console screen
        with no toast showing: a pause now is a pause nobody waits on."""
        away = self.auto_away
        return (
            away.clock() - away.last_key >= quiet
            and time.monotonic() - self.store.last_flush >= quiet
            and isinstance(self.screen, ConsoleScreen)
            and not self._notifications
        )

    def on_state_changed(self, message: StateChanged) -> None:
        self._settle_collector()
        screen = self._console_screen()
        if screen is not None:
            with self.batch_update():
                screen.apply(message.change, resynced=message.resynced)
            if message.resynced:
                screen.reload_open()

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        self._settle_collector()
        screen = self._console_screen()
        if screen is not None:
            screen.refresh_status()

    # --- network work the screens ask for ---------------------------------------------------

    def update_conversation(
        self,
        conversation_id: int,
        patch: ConversationPatch,
        done: str,
        then: Callable[[], None] | None = None,
    ) -> OutboxItem | None:
        """Queue an action in the outbox: it survives a dropped link or a crash, and lands once."""
        if self.outbox is None:
            self.notify("Not connected yet: try again in a moment.", severity="warning", markup=False)
            return None
        item = self.outbox.enqueue_patch(conversation_id, patch)
        self.patch_labels[item.id] = done
        if then is not None:
            self.call_after_refresh(then)
        return item

    @work(group="signals", exit_on_error=False)
    async def signal_typing(self, conversation_id: int, active: bool, private: bool) -> None:
        try:
            await self.backend.set_typing(conversation_id, active=active, private=private)
        except BackendError:
            pass  # a lost typing signal only fades; never bother the agent with it

    @work(group="signals", exit_on_error=False)
    async def signal_viewing(self, conversation_id: int, active: bool) -> None:
        try:
            await self.backend.set_viewing(conversation_id, active=active)
        except BackendError:
            pass

    @work(group="presence", exit_on_error=False)
    async def set_presence(self, presence: str) -> None:
        try:
            self.store.me = await self.backend.set_presence(presence)
        except BackendError as exc:
            self.report(exc, prefix="presence not changed")
            return
        screen = self._console_screen()
        if screen is not None:
            screen.refresh_status()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Low-bandwidth mode: a notification is a line in the status bar, not a toast (a product
        call for SSH links: a toast coming and going costs ~13 KB at 160x48, the line ~300 B)."""
        screen = self._console_screen()
        if not self.low_bandwidth or screen is None or self.screen is not screen:
            super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)
            return
        try:
            text = Content.from_markup(message).plain if markup else message
        except Exception:  # noqa: BLE001 - a bracket that is not markup: shown as written
            text = message
        screen.show_notice(
            f"{title}: {text}" if title else text,
            severity=severity,
            timeout=self.NOTIFICATION_TIMEOUT if timeout is None else timeout,
        )

    def report(self, exc: BackendError, *, prefix: str = "") -> None:
        """Errors can quote server text: sanitized, and never parsed as markup."""
        text = sanitize_line(f"{prefix}: {exc.message}" if prefix else exc.message)
        self.notify(text, severity="error", timeout=8, markup=False)

    def kb_link(self, item: KbArticle | KbHit) -> str | None:
        """The article's public address for a customer, or None when the desk has none.

        Never the console's own server URL: that is often loopback or an internal host a
        customer cannot open. A help desk with a public help center of its own (Chatwoot) names
        the article's page there.
        """
        own = getattr(self.backend, "article_link", None)
        if own is not None:
            return own(item)
        public = self.desk.public_url if self.desk is not None else None
        return f"{public.rstrip('/')}/kb/{item.id}" if public else None

    # --- safety: only actions the console declares may run ----------------------------------

    def _allowed_actions(self) -> set[str]:
        names = set(ALWAYS_ALLOWED)
        for active in self.screen.active_bindings.values():
            names.add(parse_action(active.binding.action)[1])  # (namespace, name, parameters)
        return names

    async def run_action(self, action: Any, default_namespace: Any = None, namespaces: Any = None) -> bool:
        name = (parse_action(action) if isinstance(action, str) else action)[1]
        if name not in self._allowed_actions():
            self.log.warning(f"refused action {name!r}: not bound anywhere in the console")
            return False
        return await super().run_action(action, default_namespace, namespaces)

    # --- command palette: every action ----------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        console = self._console_screen()
        # Textual's own "Keys" panel lists its internals; `?` is the console's help.
        yield from (c for c in super().get_system_commands(screen) if c.title != "Keys")
        if console is None:
            return
        for binding in ConsoleScreen.BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                action = binding.action
                yield SystemCommand(
                    binding.description,
                    palette_help(console, binding),
                    lambda action=action: self.call_later(console.run_action, action),
                )
        for theme in ("night-shift", "day-shift", "high-contrast", "terminal"):
            yield SystemCommand(
                f"Theme: {theme}",
                "switch the colour theme",
                lambda theme=theme: setattr(self, "theme", theme),
            )


def run_console(
    *,
    server: str,
    token: str,
    theme: str | None = None,
    keymap: dict[str, str] | None = None,
    verify: bool | str = True,
    low_bandwidth: bool | None = None,
    undo_seconds: float | None = None,
    take_on_reply: bool | None = None,
    urgent_window: int | None = None,
    notify: NotifySettings | None = None,
    backend_kind: str = "native",
    account_id: int | None = None,
    portal: str | None = None,
    welcome: str | None = None,
    away_after: float = 600.0,
) -> int:
    """Open the console on a desk server (or Chatwoot: `backend_kind`); returns the exit code.

    0 when the agent quits; 128 + N when signal N ended it (143 for SIGTERM, 129 for
    SIGHUP), after the same clean exit: draft saved, terminal restored.
    """
    from platformdirs import user_log_path

    from agent_console.client.localdb import default_path
    from agent_console.client.logs import setup_logging, teardown_logging
    from agent_console.client.native import NativeBackend

    # Everything logs to a file (never the terminal the console draws on), tokens redacted.
    level = os.environ.get("AGENT_CONSOLE_LOG_LEVEL", "WARNING").upper()
    log_handler = setup_logging(user_log_path("agent-console") / "console.log", level)
    if backend_kind == "chatwoot":
        from agent_console.client.chatwoot import ChatwootBackend

        backend = ChatwootBackend(server, token, account_id=account_id or 0, portal=portal, verify=verify)
    else:
        backend = NativeBackend(server, token, verify=verify)
    drafts = Drafts(default_path(), server)
    app = ConsoleApp(
        backend,
        theme=theme,
        keymap=keymap,
        drafts=drafts,
        outbox_path=default_path(),
        low_bandwidth=low_bandwidth,
        handle_signals=True,
        undo_seconds=DEFAULT_UNDO_SECONDS if undo_seconds is None else undo_seconds,
        take_on_reply=True if take_on_reply is None else take_on_reply,
        urgent_window=DEFAULT_URGENT_WINDOW if urgent_window is None else timedelta(minutes=urgent_window),
        notify=notify,
        welcome=welcome,
        away_after=away_after,
    )
    app.collector = QuietCollector(app.is_idle)
    if sys.platform.startswith("linux"):
        from agent_console.tui.driver import ConsoleDriver

        app.driver_class = ConsoleDriver  # survives the terminal hanging up (tui/driver.py)
    try:
        result = app.run()
    finally:
        app.collector.release()
        app.restore_signal_handlers()
        drafts.close()
        teardown_logging(log_handler)
    return result or 0
