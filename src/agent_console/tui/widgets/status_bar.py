"""The status bar: connection state, the agent's presence, and queue counts."""

from __future__ import annotations

import time
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from agent_console.client.sync import ConnectionState
from agent_console.tui.safe_text import untrusted_line

PRESENCE_STYLES = {"online": "bold green", "busy": "bold yellow", "away": "bold magenta", "offline": "dim"}


def connection_label(state: ConnectionState, now_monotonic: float) -> tuple[str, str]:
    if state.kind == "live":
        return "● LIVE", "bold green"
    if state.kind == "reconnecting":
        wait = max(0, int((state.retry_at or now_monotonic) - now_monotonic + 0.999))
        stale = ""
        if state.since is not None:
            stale = " · STALE since " + datetime.fromtimestamp(state.since).strftime("%H:%M")
        return f"◌ RECONNECTING in {wait} s{stale}", "bold yellow"
    if state.kind == "offline":
        return f"✕ OFFLINE {state.detail}".rstrip(), "bold red"
    return "◌ CONNECTING", "yellow"


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; padding: 0 1; }
    """

    def show(
        self,
        state: ConnectionState,
        *,
        agent_name: str,
        presence: str,
        counts: dict[str, int],
        low_bandwidth: bool,
    ) -> None:
        label, style = connection_label(state, time.monotonic())
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(label, style)
        text.append("  ")
        text.append_text(untrusted_line(agent_name))
        text.append(" ")
        text.append(presence, PRESENCE_STYLES.get(presence, ""))
        text.append(
            f"  mine {counts.get('mine', 0)} · unassigned {counts.get('unassigned', 0)}"
            f" · open {counts.get('all', 0)} · urgent {counts.get('urgent', 0)}"
        )
        if low_bandwidth:
            text.append("  low-bandwidth", "dim")
        text.append("  ? help", "dim")
        self.update(text)
