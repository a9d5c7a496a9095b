"""The `agent-console` entry point: bare, it opens the console without loading the CLI (typer
and every command: ~65 ms of a start that must paint within 500 ms); with arguments, or
when the desk cannot be found, the CLI runs as before and says why in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli_support import REPO, base_env

# Runs the installed entry point's function with `run_console` replaced by a recorder: what
# the console would be opened with, and which top-level modules were loaded by then.
_PROBE = """
import json, sys
report, sys.argv = sys.argv[1], ["agent-console", *json.loads(sys.argv[2])]
import agent_console.tui.app as tui_app

def recorder(**options):
    top = sorted({name.split(".")[0] for name in sys.modules})
    with open(report, "w") as handle:
        json.dump({"options": {k: str(v) for k, v in options.items()}, "top": top}, handle)
    return 7

tui_app.run_console = recorder
from agent_console.cli.entry import run
run()
"""


def _probe(tmp_path: Path, args: list[str], **env: str | None) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp_path / "opened.json"
    child = {k: v for k, v in {**os.environ, **base_env(tmp_path, **env)}.items() if v is not None}
    child["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(report), json.dumps(args)],
        env=child,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, (json.loads(report.read_text()) if report.exists() else {})


def test_bare_agent_console_opens_the_console_without_the_cli(tmp_path: Path) -> None:
    done, opened = _probe(
        tmp_path, [], AGENT_CONSOLE_SERVER="http://127.0.0.1:9", AGENT_CONSOLE_TOKEN="acd_test-token"
    )
    assert done.returncode == 7, done.stderr  # the console's own exit code
    assert opened["options"]["server"] == "http://127.0.0.1:9"
    assert opened["options"]["token"] == "acd_test-token"
    assert "typer" not in opened["top"]


def test_with_options_the_cli_opens_the_console_as_before(tmp_path: Path) -> None:
    done, opened = _probe(
        tmp_path,
        ["--theme", "day-shift"],
        AGENT_CONSOLE_SERVER="http://127.0.0.1:9",
        AGENT_CONSOLE_TOKEN="acd_test-token",
    )
    assert done.returncode == 7, done.stderr
    assert opened["options"]["theme"] == "day-shift"


def test_bare_without_a_desk_gets_the_clis_one_line_error(tmp_path: Path) -> None:
    done, opened = _probe(tmp_path, [])
    assert opened == {}  # no console opened
    assert done.returncode == 3  # not authenticated, as every command says it
    assert done.stderr.startswith("error: no desk server configured")
    assert len(done.stderr.strip().splitlines()) == 1
