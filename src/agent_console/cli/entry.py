"""The `agent-console` entry point.

A bare `agent-console` (no arguments: the way an agent opens the console) goes straight to
the console without importing typer and the CLI's commands, about 65 ms of a start that
must paint within 500 ms. Anything else, and any trouble finding the desk, goes through
the CLI (`cli/main.py`), which parses, and reports errors as one line with an exit code.
"""

from __future__ import annotations

import os
import sys


def run() -> None:
    code = _bare_console() if _is_bare(sys.argv[1:]) else None
    if code is not None:
        sys.exit(code)
    from agent_console.cli import commands

    if not any(name.startswith("_AGENT_CONSOLE") for name in os.environ):  # completion needs all
        commands.only = commands.command_asked(sys.argv[1:])
    from agent_console.cli.main import run as run_cli

    run_cli()


def _is_bare(args: list[str]) -> bool:
    # Shell completion calls the program with no arguments and `_AGENT_CONSOLE_COMPLETE` set.
    return not args and not any(name.startswith("_AGENT_CONSOLE") for name in os.environ)


def _bare_console() -> int | None:
    """Open the console as `agent-console` with no options does; None when the connection or
    the config cannot be read, so the CLI says why, as it does for every command."""
    from agent_console.cli.launch import console_options, open_console
    from agent_console.client.config import load_config, resolve_connection

    try:
        options = console_options(resolve_connection(None, None), load_config())
    except Exception:  # noqa: BLE001 - the CLI reads them again and reports the error
        return None
    return open_console(options)
