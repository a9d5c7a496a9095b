"""docs/DEPLOYMENT.md names only commands, options and settings that exist.

An operator copies those lines into unit files and deploy scripts: an option that was renamed,
or a setting nobody reads, would fail on their machine (or, for a setting, silently do nothing).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import typer.main
import uvicorn.config

from agent_console.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "DEPLOYMENT.md"
SOURCE = ROOT / "src" / "agent_console"

# Where the program is started: its own name, or the doc's wrapper that runs it as the service user.
_PROGRAM = re.compile(r"(?:agent-console|desk-admin)(?![\w@.-])")
# What ends a command on a shell line: a comment, a pipe, a list or a redirection.
_END = re.compile(r"\s#|\||;|&|>")
_FENCE = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _logical_lines(block: str) -> list[str]:
    """Lines of a code block with backslash continuations joined."""
    return block.replace("\\\n", " ").splitlines()


def _invocations(text: str) -> list[tuple[list[str], list[str]]]:
    """(command path, options) of every run of the program in the doc's shell and unit blocks."""
    root = typer.main.get_command(app)
    found = []
    for lang, block in _FENCE.findall(text):
        if lang not in ("sh", "ini"):
            continue
        for line in _logical_lines(block):
            for match in _PROGRAM.finditer(line):
                rest = line[match.end() :]
                cut = _END.search(rest)
                # Quotes come off: `sh -c '... agent-console server migrate'` ends in one.
                words = [w.strip("'\"") for w in (rest[: cut.start()] if cut else rest).split()]
                command: Any = root
                path: list[str] = []
                while words and words[0] in getattr(command, "commands", {}):
                    path.append(words.pop(0))
                    command = command.commands[path[-1]]
                if path:  # a path or a user name (`sudo -u agent-console`), not a run of the program
                    found.append((path, [w.partition("=")[0] for w in words if w.startswith("--")]))
    return found


def _options(command: Any) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


def test_every_command_and_option_in_the_code_blocks_exists() -> None:
    root = typer.main.get_command(app)
    runs = _invocations(_doc())
    assert len(runs) >= 10, "the doc's commands were not found: is the parser still right?"
    seen = {" ".join(path) for path, _ in runs}
    assert {"serve", "server migrate", "server add-agent"} <= seen
    for path, flags in runs:
        command = root
        for name in path:
            command = command.commands[name]
        unknown = [flag for flag in flags if flag not in _options(command)]
        assert not unknown, f"`agent-console {' '.join(path)}` has no option {unknown}"


def test_every_option_named_in_the_prose_exists() -> None:
    root = typer.main.get_command(app)
    commands: Any = root.commands  # typer's own click: its groups are no `click.Group`
    desk = [commands["serve"], *commands["server"].commands.values()]
    known = set().union(*(_options(command) for command in desk))
    prose = _FENCE.sub("", _doc())
    named = {span.split()[0] for span in re.findall(r"`(--[a-z][^`]*)`", prose)}
    assert len(named) >= 5
    assert not named - known, f"the doc names options no desk command has: {sorted(named - known)}"


def test_every_setting_named_is_read() -> None:
    code = "\n".join(path.read_text(encoding="utf-8") for path in SOURCE.rglob("*.py"))
    text = _doc()
    names = set(re.findall(r"\bAGENT_CONSOLE_[A-Z_]+\b", text))
    assert {"AGENT_CONSOLE_DB", "AGENT_CONSOLE_PUBLIC_URL", "AGENT_CONSOLE_SMTP_PASSWORD"} <= names
    # The connection guard builds its names from a suffix (server/guard.py).
    unread = [n for n in names if n not in code and f'"{n.removeprefix("AGENT_CONSOLE_")}"' not in code]
    assert not unread, f"the doc names settings nothing reads: {sorted(unread)}"
    assert "FORWARDED_ALLOW_IPS" in text
    assert '"FORWARDED_ALLOW_IPS"' in inspect.getsource(uvicorn.config), "uvicorn no longer reads it"
