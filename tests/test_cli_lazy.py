"""`agent-console` registers the command it runs only (cli/commands.py): the root's help lists
every command with the same line the full tree gives, and a command still has all its verbs,
options and help, without the other command modules being imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer

from agent_console.cli import commands
from tests.cli_support import REPO, base_env, run_cli

_FULL_HELP = """
import sys
sys.argv = ["agent-console", "--help"]
from agent_console.cli.main import run
run()
"""

_MODULES = """
import json, sys
sys.argv = ["agent-console", *json.loads(sys.argv[1])]
from agent_console.cli.entry import run
try:
    run()
except SystemExit:
    pass
print(json.dumps(sorted(n for n in sys.modules if n.startswith("agent_console.cli."))), file=sys.stderr)
"""


def _full_tree() -> dict[str, str]:
    from agent_console.cli.main import app  # imported here: everything registered

    root = typer.main.get_command(app)
    ctx = typer.Context(root)
    return {name: root.get_command(ctx, name).get_short_help_str(10**6) for name in root.list_commands(ctx)}


def _listed(help_text: str) -> dict[str, str]:
    lines = help_text.split("Commands:", 1)[1].split("Exit codes:", 1)[0].splitlines()
    return {name: line.strip() for name, _, line in (row.strip().partition(" ") for row in lines) if name}


def test_the_stub_lines_are_the_commands_own() -> None:
    full = _full_tree()
    mine = {name for names in commands.UNITS.values() for name in names}
    assert set(commands.LINES) == mine
    for name in mine:
        assert commands.LINES[name] == full[name], f"cli/commands.py LINES[{name!r}] is stale"


def test_root_help_is_the_full_trees_help(tmp_path: Path) -> None:
    lazy = run_cli("--help", env=base_env(tmp_path))
    assert lazy.code == 0, lazy.stderr
    # The same help from the full tree (cli/main.py imported directly: everything registered),
    # in the same kind of child process (the same width).
    env = {k: v for k, v in {**os.environ, **base_env(tmp_path)}.items() if v is not None}
    env["PYTHONPATH"] = str(REPO)
    full = subprocess.run(
        [sys.executable, "-c", _FULL_HELP], env=env, capture_output=True, text=True, timeout=60
    )
    assert lazy.stdout == full.stdout  # every line: options, commands and their lines, in order
    assert set(_listed(lazy.stdout)) == set(_full_tree())


def _modules(tmp_path: Path, args: list[str]) -> tuple[subprocess.CompletedProcess, list[str]]:
    env = {k: v for k, v in {**os.environ, **base_env(tmp_path)}.items() if v is not None}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-c", _MODULES, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, json.loads(done.stderr.strip().splitlines()[-1])


def test_a_command_loads_its_own_modules_and_keeps_its_verbs(tmp_path: Path) -> None:
    done, loaded = _modules(tmp_path, ["--server", "http://127.0.0.1:9", "conv", "--help"])
    assert "read" in done.stdout and "reply" in done.stdout and "attachments" in done.stdout, done.stdout
    assert "agent_console.cli.queue_cmds" in loaded and "agent_console.cli.read_cmds" in loaded
    assert "agent_console.cli.lookup_cmds" not in loaded and "agent_console.cli.admin_cmds" not in loaded
    done, loaded = _modules(tmp_path, ["kb", "--help"])
    assert "search" in done.stdout and "publish" in done.stdout  # kb_admin_cmds' verbs too
    assert "agent_console.cli.queue_cmds" not in loaded
    done, loaded = _modules(tmp_path, ["--help"])
    assert not [name for name in loaded if name.endswith("_cmds")], loaded
