"""Exit codes, one-line errors, --help everywhere, completion, and import hygiene."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_support import REPO, base_env, invoke, run_cli
from tests.conftest import Desk


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


COMMANDS = [
    ["convs"],
    ["conv", "1"],
    ["conv", "1", "messages"],
    ["conv", "1", "resolve"],
    ["conv", "1", "reply", "hello"],
    ["conv", "1", "snooze", "--until", "tomorrow"],
    ["conv", "1", "assign", "--agent", "me"],
    ["kb", "search", "esim"],
    ["kb", "show", "1"],
    ["canned", "list"],
    ["canned", "show", "greet"],
    ["agents"],
    ["teams"],
    ["contacts"],
    ["me"],
    ["auth", "status"],
    ["tail"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_server_down_is_6(tmp_path: Path, args: list[str]) -> None:
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=closed_port_url(), AGENT_CONSOLE_TOKEN="acd_x")
    ran = invoke(*args, env=env)
    assert ran.code == 6, ran
    assert ran.stderr.startswith("error: cannot reach the desk server at http://127.0.0.1:")
    assert len(ran.stderr.splitlines()) == 1 and ran.stdout == ""


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_bad_token_is_3_and_never_shown(desk: Desk, tmp_path: Path, args: list[str]) -> None:
    token = "acd_this-token-is-wrong-and-secret"
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=token)
    ran = invoke(*args, "--verbose", env=env)
    assert ran.code == 3, ran
    assert ran.stderr.startswith("error: ") and "Traceback" not in ran.stderr
    assert token not in ran.stdout + ran.stderr
    assert "secret" not in ran.stdout + ran.stderr


def test_bad_token_in_a_child_process(desk: Desk, tmp_path: Path) -> None:
    token = "acd_child-process-secret"
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=token)
    ran = run_cli("convs", "-v", env=env)
    assert ran.code == 3
    assert ran.stderr == "error: invalid bearer token [unauthorized, HTTP 401]\n"
    down = run_cli("convs", env={**env, "AGENT_CONSOLE_SERVER": closed_port_url()})
    assert down.code == 6 and down.stderr.count("\n") == 1


def test_not_configured_is_3_with_a_way_out(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    ran = invoke("convs", env=env)
    assert ran.code == 3
    assert "auth login --server URL" in ran.stderr and "AGENT_CONSOLE_SERVER" in ran.stderr
    no_token = invoke("convs", env={**env, "AGENT_CONSOLE_SERVER": "http://127.0.0.1:9"})
    assert no_token.code == 3 and "AGENT_CONSOLE_TOKEN" in no_token.stderr
    bare = run_cli(env=env)  # the TUI needs a connection first: no Textual, just the hint
    assert bare.code == 3 and "auth login --server URL" in bare.stderr
    assert "`agent-console demo` runs a demo desk" in bare.stderr  # a new user can try it at once
    assert len(bare.stderr.splitlines()) == 1
    bad_url = invoke("convs", "--server", "ftp://desk", env=env)
    assert bad_url.code == 1 and "not an http:// or https:// URL" in bad_url.stderr


def test_unexpected_errors_are_one_line_unless_verbose(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_console.cli import runtime

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(runtime, "call", boom)
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    quiet = invoke("agents", env=env)
    assert quiet.code == 1
    assert quiet.stderr == ("error: unexpected RuntimeError: kaboom (run again with --verbose for details)\n")
    loud = invoke("--verbose", "agents", env=env)
    assert loud.code == 1 and "Traceback" in loud.stderr and "kaboom" in loud.stderr


def test_global_and_per_command_options(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, AGENT_CONSOLE_TOKEN=desk.agent_token)
    before = invoke("--server", desk.url, "me", "-q", env=env)
    after = invoke("me", "-q", "--server", desk.url, env=env)
    assert before.code == after.code == 0 and before.stdout == after.stdout
    # The command's own value wins over the app-level one.
    wins = invoke("--server", closed_port_url(), "me", "--server", desk.url, "-q", env=env)
    assert wins.code == 0


def test_broken_pipe_is_quiet(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    child_env = {k: v for k, v in {**dict(__import__("os").environ), **env}.items() if v is not None}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_console", "convs", "--status", "all", "--all-pages", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10).startswith(b"[{")
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(30) == 0
    assert stderr == ""


# --- help ---------------------------------------------------------------------------------------

SERVER_COMMANDS = {"serve", "demo", "simulate", "server"}  # cli/server_cmds.py, documented there


def all_command_paths() -> list[list[str]]:
    import typer

    from agent_console.cli.main import app

    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]
    stack = [([name], cmd) for name, cmd in root.commands.items() if name not in SERVER_COMMANDS]
    while stack:
        path, cmd = stack.pop()
        paths.append(path)
        stack.extend(([*path, name], sub) for name, sub in getattr(cmd, "commands", {}).items())
    return sorted(paths)


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("path", all_command_paths(), ids=lambda p: " ".join(p) or "(root)")
def test_every_command_has_help_with_an_example_and_exit_codes(
    tmp_path: Path, path: list[str], flag: str
) -> None:
    ran = invoke(*path, flag, env=base_env(tmp_path))
    assert ran.code == 0, ran
    assert ran.stdout.startswith("Usage: agent-console"), ran.stdout
    assert "Example" in ran.stdout, ran.stdout
    assert "Exit codes:" in ran.stdout and "6  the desk server is unreachable" in ran.stdout


def test_short_help_after_an_id_and_on_server_commands(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    assert invoke("conv", "42", "-h", env=env).stdout.startswith("Usage: agent-console conv 42 [VERB]")
    assert invoke("conv", "42", "reply", "-h", env=env).stdout.startswith(
        "Usage: agent-console conv 42 reply"
    )
    for command in sorted(SERVER_COMMANDS):
        ran = invoke(command, "-h", env=env)
        assert ran.code == 0 and ran.stdout.startswith(f"Usage: agent-console {command}"), ran


def test_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    ran = run_cli("--version", env=base_env(tmp_path))
    assert ran.code == 0, ran
    assert ran.stdout == f"agent-console {version('agent-console')}\n" and ran.stderr == ""
    # Eager: it answers before anything needs a server or a valid command.
    assert invoke("--version", "convs", env=base_env(tmp_path)).code == 0
    seen = probe(tmp_path, ["--version"], base_env(tmp_path))
    assert seen["code"] == 0
    assert not {"textual", "rich", "httpx", "msgspec", "websockets", "keyring"} & set(seen["top"])


def test_conv_verb_help_shows_the_id_first(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    assert invoke("conv", "42", "snooze", "--help", env=env).stdout.startswith(
        "Usage: agent-console conv 42 snooze [OPTIONS]"
    )
    assert invoke("conv", "reply", "--help", env=env).stdout.startswith(
        "Usage: agent-console conv ID reply [OPTIONS] {TEXT|-}"
    )
    group = invoke("conv", "42", "--help", env=env).stdout
    assert group.startswith("Usage: agent-console conv 42 [VERB] [ARGS]...") and "snooze" in group


def test_shell_completion_offers_verbs_after_the_id(tmp_path: Path) -> None:
    env = base_env(
        tmp_path,
        _AGENT_CONSOLE_COMPLETE="complete_bash",
        COMP_WORDS="agent-console conv 42 re",
        COMP_CWORD="3",
    )
    ran = run_cli(env=env)
    assert ran.code == 0, ran
    assert {"reply", "resolve"} <= set(ran.stdout.split())


# --- import hygiene --------------------------------------------------------------------------------

_PROBE = """
import json, sys
report = sys.argv[2]
sys.argv = ["agent-console", *json.loads(sys.argv[1])]
from agent_console.cli.main import app
try:
    app()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted({name.split(".")[0] for name in sys.modules})
with open(report, "w") as handle:
    json.dump({"code": code, "top": loaded}, handle)
"""


def probe(tmp_path: Path, args: list[str], env: dict) -> dict:
    report = tmp_path / "modules.json"
    child_env = {k: v for k, v in {**dict(__import__("os").environ), **env}.items() if v is not None}
    child_env["PYTHONPATH"] = str(REPO)
    subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args), str(report)],
        env=child_env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(report.read_text())


def test_convs_json_never_imports_textual_or_rich(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    seen = probe(tmp_path, ["convs", "--output", "json"], env)
    assert seen["code"] == 0
    assert "textual" not in seen["top"]
    assert "rich" not in seen["top"]  # JSON output needs no renderer
    assert "agent_console" in seen["top"] and "httpx" in seen["top"]


def test_help_imports_neither_textual_nor_the_client(tmp_path: Path) -> None:
    for args in (["--help"], ["convs", "--help"], ["conv", "1", "reply", "--help"]):
        seen = probe(tmp_path, args, base_env(tmp_path))
        assert seen["code"] == 0
        assert not {"textual", "rich", "httpx", "msgspec", "websockets", "keyring"} & set(seen["top"])
