"""The `agent-console` command.

Import hygiene: this module imports only typer (and the CLI's own modules, which import
only typer too; run from the entry point, only those of the command asked for). Each
command imports what it needs when it runs, so `agent-console convs --output json` never
pays for Textual or the server, and `--help` pays for nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agent_console.cli import commands
from agent_console.cli.groups import RootGroup
from agent_console.cli.options import (
    EPILOG,
    HELP_OPTION_NAMES,
    VERBOSE,
    NoColorOption,
    ProfileOption,
    ServerOption,
    VerboseOption,
)

app = typer.Typer(
    name="agent-console",
    cls=RootGroup,
    help=(
        "A keyboard-driven console for 24/7 help desk agents, with its own desk server.\n\n"
        "Run without a command to open the console (TUI). Commands are scriptable: plural"
        " nouns list (convs, agents), singular noun + id + verb acts (conv 42 resolve).\n\n"
        "\b\nExamples:\n"
        "  agent-console auth login --server https://desk.example.com\n"
        "  agent-console convs --view mine\n"
        "  agent-console conv 42 reply 'On it!'\n"
        "  agent-console tail --type message.created"
    ),
    epilog=EPILOG,
    no_args_is_help=False,
    invoke_without_command=True,
    # Sub-commands' contexts inherit these names: `-h` works wherever `--help` does.
    context_settings={"help_option_names": list(HELP_OPTION_NAMES)},
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from agent_console import __version__

        print(f"agent-console {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            expose_value=False,
            help="Print the version and exit.",
        ),
    ] = False,
    server: ServerOption = None,
    profile: ProfileOption = None,
    verbose: VerboseOption = False,
    no_color: NoColorOption = False,
    theme: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Console theme: night-shift, day-shift, high-contrast or terminal."
        ),
    ] = None,
) -> None:
    """Open the console (TUI) when no command is given."""
    ctx.obj = {"server": server, "profile": profile, "verbose": verbose, "no_color": no_color}
    VERBOSE["on"] = verbose
    if ctx.invoked_subcommand is not None:
        return
    from agent_console.cli.launch import console_options, open_console
    from agent_console.client.config import load_config, resolve_connection

    options = console_options(resolve_connection(server, profile), load_config(), theme=theme)
    raise typer.Exit(open_console(options))


# Every command module, or only the one the entry point runs (cli/commands.py says why).
commands.register(app)


def run() -> None:
    app()
