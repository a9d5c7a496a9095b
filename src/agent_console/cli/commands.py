"""The CLI's top-level commands, by the modules that define them, registered for the command
asked only.

Importing every command module and letting typer build the whole tree (every group, every
parameter) cost `agent-console --help` about half of its 120 ms budget, and every command
paid it. The entry point says which command it runs (`only`) before `cli/main.py` is
imported; main then registers that command's modules alone. For the root's own help it
registers each command as a stub carrying the one line `--help` lists (from `LINES`, which
tests/test_cli_lazy.py keeps equal to the real commands'). Imported any other way (tests,
completion), main registers everything, as before.

Import hygiene: the standard library only; command modules are imported when registered.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

# Modules registered together (kb_admin_cmds adds to the kb and canned groups of lookup_cmds;
# read_cmds adds `conv ID read|unread` to queue_cmds' group), and the commands they define.
UNITS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("queue_cmds", "read_cmds"): ("convs", "conv"),
    ("lookup_cmds", "kb_admin_cmds"): ("agents", "teams", "contacts", "me", "kb", "canned"),
    ("tail",): ("tail",),
    ("auth_cmds",): ("auth", "config"),
    ("server_cmds",): ("serve", "demo", "simulate", "server"),
    # shift_cmds adds `agent ID schedule` and `team ID coverage` to admin_cmds' groups.
    ("admin_cmds", "shift_cmds"): ("labels", "agent", "team", "label", "roster", "handoff", "routing"),
    ("sla_cmds",): ("sla",),
    ("stats_cmds",): ("stats",),
}

# What `agent-console --help` lists for each, in its order (commands, then groups).
LINES: dict[str, str] = {
    "convs": "List the queue, most urgent first (the one whose answer is due soonest on top).",
    "agents": "List agents with their role, presence and time zone.",
    "teams": "List teams.",
    "contacts": "List or search contacts (customers).",
    "me": "Show the agent your token belongs to (name, role, time zone, presence).",
    "tail": "Stream the live event feed as JSON lines, one event a line, until ctrl+c.",
    "serve": "Run the desk server: REST under /api/v1 and the live feed at /api/v1/events.",
    "demo": "Start a seeded desk server with live customer traffic, and open the console on it.",
    "simulate": (
        "Play customers writing in (new chats, follow-ups, impatient pings) against a running server."
    ),
    "labels": "List labels: the managed list with colours, and every label in use, with counts.",
    "roster": "Who is on shift now, who is next, and coverage gaps over the next 24 hours (warnings).",
    "handoff": "End your shift: hand your open conversations to a team or to named agents, with a note.",
    "routing": "Routing's mode and cap, and the conversations waiting in team queues (and why).",
    "stats": "The desk's KPIs: first response, resolution, SLA, CSAT, bot, backlog, by hour, team, agent.",
    "conv": "Act on one conversation: conv ID [VERB].",
    "kb": "Search and read the knowledge base.",
    "canned": "List and show canned responses.",
    "auth": "Log in to a desk server and manage stored tokens (named profiles).",
    "config": "Where the config file is and what it says (it never holds tokens).",
    "server": "Administer a desk server's database.",
    "agent": "Manage agents (admin): invite, change, deactivate, rotate a token.",
    "team": "Manage teams (admin): create, rename, members.",
    "label": (
        "Manage the label list (admin): add with a colour, recolour, rename (renaming onto a label merges)."
    ),
    "sla": "List, show and change SLA policies (set and delete need an admin token).",
}

GROUPS = {"conv", "kb", "canned", "auth", "config", "server", "agent", "team", "label", "sla"}
HELP = "--help"  # `only` for the root's own help: stubs with the listed line
# None: register everything. A command name: its modules alone. HELP: stubs.
only: str | None = None

# The root's options that take a value (the command is the first word after the options).
_VALUED = {"--server", "--profile", "--theme"}


def command_asked(args: list[str]) -> str | None:
    """The command `args` run, HELP for the root's help, None when it cannot tell (then all is
    registered: an unknown word gets click's own error and suggestions)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-h", "--help"):
            return HELP
        elif arg in _VALUED:
            skip = True
        elif arg.startswith("-"):
            continue
        else:
            return arg if any(arg in names for names in UNITS.values()) else None
    return None


def register(app: typer.Typer) -> None:
    """Register what `only` asks for on the root `app`."""
    if only == HELP:
        import typer

        for name, line in LINES.items():
            if name in GROUPS:  # listed as click lists a group's line (its own width)
                app.add_typer(typer.Typer(help=line, rich_markup_mode=None), name=name)
            else:
                app.command(name, help=line, add_help_option=False)(_stub)
        return
    for modules, names in UNITS.items():
        if only is not None and only not in names:
            continue
        for name in modules:
            module = import_module(f"agent_console.cli.{name}")
            if name == "read_cmds":
                module.register()  # adds to queue_cmds' `conv` group
            else:
                module.register(app)


def _stub() -> None:
    """Listed in the root's help only: a command that is run is registered for real."""
