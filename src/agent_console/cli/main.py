"""The `agent-console` command.

Import hygiene: this module imports only typer. Each command imports what it needs when
it runs, so `agent-console convs --output json` never pays for Textual or the server.
"""

from __future__ import annotations

import typer

from agent_console.cli import server_cmds

app = typer.Typer(
    name="agent-console",
    help="A keyboard-driven console for 24/7 help desk agents, with its own desk server.",
    no_args_is_help=False,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
server_cmds.register(app)


def run() -> None:
    app()
