"""Open the console from a resolved connection and the config file: one place for both ways
in (a bare `agent-console`, which skips typer to paint sooner, and the CLI's root command),
so neither forgets a setting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent_console.client.config import Config, Connection


def console_options(conn: Connection, config: Config, *, theme: str | None = None) -> dict[str, Any]:
    """`run_console`'s arguments; ConfigError for a setting it cannot use."""
    from agent_console.client.config import ConfigError, TuiSettings
    from agent_console.tui.presence import parse_span

    settings = config.tui or TuiSettings()
    try:
        away_after = parse_span(config.presence.away_after if config.presence else None)
    except ValueError as exc:
        raise ConfigError(f"[presence] away_after: {exc}") from None
    return {
        "server": conn.server,
        "token": conn.token,
        "verify": conn.verify,
        "theme": theme or settings.theme,
        "keymap": config.keys,
        "low_bandwidth": settings.low_bandwidth,
        "undo_seconds": settings.undo_seconds,
        "take_on_reply": settings.take_on_reply,
        "urgent_window": settings.urgent_window,
        "notify": config.notify,
        "backend_kind": conn.backend,
        "account_id": conn.account_id,
        "portal": conn.portal,
        "away_after": away_after,
    }


def open_console(options: dict[str, Any]) -> int:
    from agent_console.tui.app import run_console

    return run_console(**options)
