"""The `agent-console` command.

Import hygiene: this module imports only typer (and the CLI's own modules, which import
only typer too). Each command imports what it needs when it runs, so `agent-console convs
--output json` never pays for Textual or the server, and `--help` pays for nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agent_console.cli import (
    admin_cmds,
    auth_cmds,
    kb_admin_cmds,
    lookup_cmds,
    queue_cmds,
    read_cmds,
    server_cmds,
    shift_cmds,
    sla_cmds,
    stats_cmds,
    tail,
)
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
    from agent_console.client.config import TuiSettings, load_config, resolve_connection

    conn = resolve_connection(server, profile)
    config = load_config()
    settings = config.tui or TuiSettings()
    from agent_console.tui.app import run_console

    raise typer.Exit(
        run_console(
            server=conn.server,
            token=conn.token,
            verify=conn.verify,
            theme=theme or settings.theme,
            keymap=config.keys,
            low_bandwidth=settings.low_bandwidth,
            undo_seconds=settings.undo_seconds,
            take_on_reply=settings.take_on_reply,
            urgent_window=settings.urgent_window,
            notify=config.notify,
            backend_kind=conn.backend,
            account_id=conn.account_id,
            portal=conn.portal,
            away_after=_away_after(config),
        )
    )


def _away_after(config) -> float:  # noqa: ANN001 - client.config.Config, imported when the TUI opens
    from agent_console.tui.presence import parse_span

    return parse_span(config.presence.away_after if config.presence else None)


queue_cmds.register(app)
lookup_cmds.register(app)
tail.register(app)
auth_cmds.register(app)
server_cmds.register(app)
admin_cmds.register(app)
kb_admin_cmds.register(app)
sla_cmds.register(app)
read_cmds.register()  # conv ID read|unread
stats_cmds.register(app)
shift_cmds.register(app)


def run() -> None:
    app()
