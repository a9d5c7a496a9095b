"""Notifications from the console: a toast, the terminal bell and a desktop notice (OSC 9 or
OSC 777, through tmux when inside it), for what needs the agent while they look elsewhere.

What deserves a notice and how often is decided in core/notify.py (pure, tested there); this
room feeds it the events the store applied and writes the bytes to the terminal driver.
`[notify]` in the config file sets kinds and outputs; `M` toggles quiet mode (toasts only).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from agent_console.client.config import NotifySettings
from agent_console.core.models import Conversation, Event
from agent_console.core.notify import (
    BEL,
    KINDS,
    Delivery,
    Me,
    Throttle,
    decide,
    desktop_bytes,
    desktop_protocol,
    in_tmux,
)

if TYPE_CHECKING:
    from agent_console.tui.app import ConsoleApp

WORKING_VIEWS = ("mine", "unassigned", "all", "urgent")


class Notifications:
    def __init__(
        self, app: ConsoleApp, settings: NotifySettings | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        settings = settings or NotifySettings()
        env = os.environ if env is None else env
        self.app = app
        self.kinds = frozenset(kind for kind in KINDS if getattr(settings, kind) is not False)
        self.toast = settings.toast is not False
        self.bell = settings.bell is not False
        self.protocol = desktop_protocol(env, settings.desktop or "auto")
        self.tmux = in_tmux(env)
        self.quiet = bool(settings.quiet)
        self.throttle = Throttle(interval=float(settings.interval or 10))
        self._timer = None

    # --- from the store ----------------------------------------------------------------------

    def take(self, events: list[Event]) -> None:
        """Events just applied to state: notice what deserves it."""
        store = self.app.store
        me = store.me
        if me is None or not self.kinds:
            return
        who = Me(id=me.id, name=me.name, email=me.email, team_ids=frozenset(me.team_ids))
        screen = self.app._console_screen()  # noqa: SLF001 - the app's own lookup of its screen
        looking_at = screen.looking_at() if screen is not None else None
        notices = [
            notice
            for event in events
            if (
                notice := decide(
                    event,
                    me=who,
                    lookup=store.desk.conversations.get,
                    looking_at=looking_at,
                    in_views=self._in_views,
                    kinds=self.kinds,
                )
            )
            is not None
        ]
        delivery = self.throttle.offer(notices, time.monotonic())
        if delivery is not None:
            self.deliver(delivery)
        self._schedule()

    def _in_views(self, conversation: Conversation) -> bool:
        store = self.app.store
        return any(store.in_view(conversation, view) for view in WORKING_VIEWS)

    def _schedule(self) -> None:
        due = self.throttle.next_due()
        if due is not None and self._timer is None:
            self._timer = self.app.set_timer(max(0.0, due - time.monotonic()), self._release)

    def _release(self) -> None:
        self._timer = None
        delivery = self.throttle.due(time.monotonic())
        if delivery is not None:
            self.deliver(delivery)
        self._schedule()

    # --- out -----------------------------------------------------------------------------------

    def deliver(self, delivery: Delivery) -> None:
        if self.toast:
            # Sanitized in core; shown as plain text, never markup.
            self.app.notify(delivery.body or delivery.title, title=delivery.title, timeout=8, markup=False)
        if self.quiet:
            return
        data = (BEL if self.bell else "") + desktop_bytes(delivery, self.protocol, tmux=self.tmux)
        if data:
            self.write(data)

    def write(self, data: str) -> None:
        """Straight to the terminal, between frames. Textual has no public call for raw
        sequences (it writes its own OSC 52 the same way); `App.bell` skips headless drivers."""
        driver = self.app._driver  # noqa: SLF001
        if driver is not None:
            driver.write(data)

    def toggle_quiet(self) -> bool:
        self.quiet = not self.quiet
        return self.quiet
