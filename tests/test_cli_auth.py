"""auth login|logout|status, profiles, token storage, and the config file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from agent_console.client import config as cfg
from tests.backends import ChatwootDesk, Helpdesk
from tests.cli_support import FileKeyring, base_env, invoke, run_cli
from tests.conftest import Desk

NO_KEYRING = "keyring.backends.fail.Keyring"


def keyring_data(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "keyring.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_login_stores_the_token_in_the_keyring_and_the_server_in_the_config(
    desk: Desk, tmp_path: Path
) -> None:
    env = base_env(tmp_path)
    ran = run_cli(
        "auth", "login", "--server", desk.url + "/", "--token-stdin", env=env, input=desk.agent_token + "\n"
    )
    assert ran.code == 0, ran
    assert ran.stdout.startswith(f"logged in to {desk.url} as Sam Agent (agent); profile 'default'")
    assert desk.agent_token not in ran.stdout + ran.stderr
    text = (tmp_path / "config.toml").read_text()
    assert desk.agent_token not in text
    assert cfg.parse_config(text) == cfg.Config(
        default_profile="default", profiles={"default": cfg.Profile(server=desk.url)}
    )
    assert keyring_data(tmp_path) == {f"agent-console\ndefault@{desk.url}": desk.agent_token}

    # Now nothing but the config and the keyring: the profile is enough.
    me = run_cli("me", "-o", "json", env=env)
    assert me.code == 0, me
    assert me.json()["email"] == "sam@test.example"
    status = run_cli("auth", "status", "-o", "json", env=env)
    assert status.json()["token_source"] == "keyring" and status.json()["profile"] == "default"
    assert status.json()["agent"]["email"] == "sam@test.example"
    text_status = run_cli("auth", "status", env=env)
    assert "token:    from OS keyring" in text_status.stdout
    assert desk.agent_token not in text_status.stdout

    # A second, named profile; the default stays.
    admin = run_cli(
        "auth",
        "login",
        "--profile",
        "boss",
        "--token-stdin",
        "--server",
        desk.url,
        env=env,
        input=desk.admin_token,
    )
    assert admin.code == 0, admin
    assert run_cli("me", "--profile", "boss", "-q", env=env).stdout != me.stdout
    assert run_cli("--profile", "boss", "me", "-o", "json", env=env).json()["role"] == "admin"
    by_env = run_cli("me", "-o", "json", env={**env, "AGENT_CONSOLE_PROFILE": "boss"})
    assert by_env.json()["role"] == "admin"
    assert run_cli("me", "-o", "json", env=env).json()["role"] == "agent"
    unknown = run_cli("me", "--profile", "nope", env=env)
    assert unknown.code == 3 and "no profile named 'nope'" in unknown.stderr

    # A profile's token never goes to another server.
    elsewhere = run_cli("me", "--server", "http://127.0.0.1:9", env=env)
    assert elsewhere.code == 3 and "no token for http://127.0.0.1:9" in elsewhere.stderr

    # Logout forgets the token; --forget the profile too.
    out = run_cli("auth", "logout", env=env)
    assert out.code == 0 and "removed its token" in out.stdout
    assert f"agent-console\ndefault@{desk.url}" not in keyring_data(tmp_path)
    after = run_cli("me", env=env)
    assert after.code == 3 and "auth login" in after.stderr
    gone = run_cli("auth", "logout", "--profile", "boss", "--forget", env=env)
    assert gone.code == 0 and "forgotten" in gone.stdout
    assert "boss" not in cfg.load_config(tmp_path / "config.toml").profiles
    assert run_cli("auth", "logout", "--profile", "boss", env=env).code == 4


def test_login_refuses_bad_tokens_and_unreachable_servers(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path)
    bad = run_cli(
        "auth", "login", "--server", desk.url, "--token-stdin", env=env, input="acd_wrong-secret-token"
    )
    assert bad.code == 3 and "acd_wrong-secret-token" not in bad.stdout + bad.stderr
    assert not (tmp_path / "config.toml").exists() and keyring_data(tmp_path) == {}
    down = run_cli("auth", "login", "--server", "http://127.0.0.1:9", "--token-stdin", env=env, input="acd_x")
    assert down.code == 6
    no_tty = run_cli("auth", "login", "--server", desk.url, env=env)
    assert no_tty.code == 2 and "--token-stdin" in no_tty.stderr
    empty = run_cli("auth", "login", "--server", desk.url, "--token-stdin", env=env, input="\n")
    assert empty.code == 2
    no_server = run_cli("auth", "login", "--token-stdin", env=env, input="acd_x")
    assert no_server.code == 2 and "--server" in no_server.stderr
    bad_url = run_cli(
        "auth", "login", "--server", "desk.example.com", "--token-stdin", env=env, input="acd_x"
    )
    assert bad_url.code == 2


def test_without_a_keyring_nothing_is_written_in_plain_text(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, PYTHON_KEYRING_BACKEND=NO_KEYRING)
    ran = run_cli("auth", "login", "--server", desk.url, "--token-stdin", env=env, input=desk.agent_token)
    assert ran.code == 1
    assert "NOT saved" in ran.stderr and "AGENT_CONSOLE_TOKEN" in ran.stderr
    assert "--token-file" in ran.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert desk.agent_token not in path.read_text(errors="replace"), path
    # The profile (server) was kept: with the token in the environment it just works.
    assert run_cli("me", "-q", env=env).code == 3
    with_env = run_cli("me", "-o", "json", env={**env, "AGENT_CONSOLE_TOKEN": desk.agent_token})
    assert with_env.code == 0 and with_env.json()["email"] == "sam@test.example"


def test_token_file_is_an_explicit_opt_in(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, PYTHON_KEYRING_BACKEND=NO_KEYRING)
    token_file = tmp_path / "secrets" / "desk-token"
    ran = run_cli(
        "auth",
        "login",
        "--server",
        desk.url,
        "--token-stdin",
        "--token-file",
        str(token_file),
        env=env,
        input=desk.agent_token,
    )
    assert ran.code == 0, ran
    assert ran.stderr.startswith("warning: the token is stored in plain text in ")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().strip() == desk.agent_token
    profile = cfg.load_config(tmp_path / "config.toml").profiles["default"]
    assert profile.token_file == str(token_file)
    status = run_cli("auth", "status", "-o", "json", env=env)
    assert status.code == 0 and status.json()["token_source"] == "file"

    token_file.chmod(0o644)
    loose = run_cli("me", env=env)
    assert loose.code == 1 and "chmod 600" in loose.stderr
    token_file.chmod(0o600)
    assert run_cli("auth", "logout", env=env).code == 0
    assert not token_file.exists()


def test_config_path_and_show(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path)
    path = run_cli("config", "path", env=env)
    assert path.stdout == f"{tmp_path / 'config.toml'}\n"
    assert "no config file" in run_cli("config", "show", env=env).stdout
    (tmp_path / "config.toml").write_text(
        'default_profile = "work"\n\n[profiles.work]\nserver = "https://desk.example.com"\n'
    )
    shown = run_cli("config", "show", env=env)
    assert shown.code == 0 and 'server = "https://desk.example.com"' in shown.stdout
    assert run_cli("config", "show", "-o", "json", env=env).json() == {
        "default_profile": "work",
        "profiles": {"work": {"server": "https://desk.example.com"}},
    }
    assert "work,https://desk.example.com" in run_cli("config", "show", "-o", "csv", env=env).stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[profiles.work]\nserver = "https://a.example"\nsever = "x"\n',
            "line 3: unknown key 'sever' in [profiles.work]",
        ),
        (
            'default_profile = "work"\n[profiles.work]\nserver = 42\n',
            "line 3: server: expected `str`, got `int` in [profiles.work]",
        ),
        ('[profiles.work]\nca_bundle = "/x"\n', "missing required key 'server' in [profiles.work]"),
        ("color = true\n", "line 1: unknown key 'color'"),
        ('[profiles.work]\nserver = "https://a.example\n', "is not valid TOML"),
        ('default_profile = "nope"\n', "line 1: default_profile 'nope' names no [profiles.nope]"),
        ('[profiles.work]\nserver = "desk.example.com"\n', "line 2: [profiles.work] server"),
    ],
)
def test_config_errors_name_the_key_and_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    ran = invoke("convs", env=base_env(tmp_path))
    assert ran.code == 1
    assert ran.stderr.startswith(f"error: config file {tmp_path / 'config.toml'}")
    assert expected in ran.stderr, ran.stderr
    assert len(ran.stderr.splitlines()) == 1


# --- resolve_connection, in-process ---------------------------------------------------------------


@pytest.fixture
def keyring_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import keyring

    previous = keyring.get_keyring()
    monkeypatch.setenv("AGENT_CONSOLE_TEST_KEYRING", str(tmp_path / "keyring.json"))
    keyring.set_keyring(FileKeyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SERVER", "TOKEN", "PROFILE", "CA_BUNDLE"):
        monkeypatch.delenv(f"AGENT_CONSOLE_{name}", raising=False)
    path = tmp_path / "config.toml"
    monkeypatch.setenv("AGENT_CONSOLE_CONFIG", str(path))
    return path


def test_resolve_precedence(
    clean_env: Path, keyring_file: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_console.client import credentials

    bundle = tmp_path / "ca.pem"
    bundle.write_text("not really a certificate")
    cfg.save_config(
        cfg.Config(
            default_profile="a",
            profiles={
                "a": cfg.Profile(server="https://a.example"),
                "b": cfg.Profile(server="https://b.example", ca_bundle=str(bundle)),
            },
        )
    )
    assert stat.S_IMODE(os.stat(clean_env).st_mode) == 0o600
    credentials.store_token("a", "https://a.example", "tok-a")
    credentials.store_token("b", "https://b.example", "tok-b")

    conn = cfg.resolve_connection()
    assert (conn.server, conn.token, conn.profile, conn.token_source) == (
        "https://a.example",
        "tok-a",
        "a",
        "keyring",
    )
    assert conn.verify is True and "tok-a" not in repr(conn)
    conn = cfg.resolve_connection(profile="b")
    assert (conn.server, conn.token, conn.verify) == ("https://b.example", "tok-b", str(bundle))
    monkeypatch.setenv("AGENT_CONSOLE_PROFILE", "b")
    assert cfg.resolve_connection().token == "tok-b"
    assert cfg.resolve_connection(profile="a").token == "tok-a"  # the flag beats the env
    monkeypatch.setenv("AGENT_CONSOLE_TOKEN", "tok-env")
    conn = cfg.resolve_connection()
    assert (conn.token, conn.token_source, conn.server) == ("tok-env", "env", "https://b.example")
    monkeypatch.setenv("AGENT_CONSOLE_SERVER", "https://env.example/")
    conn = cfg.resolve_connection(server="https://flag.example")
    assert conn.server == "https://flag.example" and conn.ca_bundle is None
    monkeypatch.delenv("AGENT_CONSOLE_TOKEN")
    monkeypatch.delenv("AGENT_CONSOLE_PROFILE")
    with pytest.raises(cfg.NotAuthenticated, match="no token for https://env.example"):
        cfg.resolve_connection()
    monkeypatch.setenv("AGENT_CONSOLE_CA_BUNDLE", str(tmp_path / "missing.pem"))
    monkeypatch.setenv("AGENT_CONSOLE_TOKEN", "tok-env")
    with pytest.raises(cfg.ConfigError, match="CA bundle"):
        cfg.resolve_connection()


def test_env_only_still_checks_the_config(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Server and token from the environment win, but a broken config file is still an error
    (README: parsing is strict), not something found out the day the environment is unset."""
    monkeypatch.setenv("AGENT_CONSOLE_SERVER", "http://127.0.0.1:8765")
    monkeypatch.setenv("AGENT_CONSOLE_TOKEN", "tok")
    conn = cfg.resolve_connection()  # no config file at all is fine
    assert (conn.server, conn.token, conn.profile) == ("http://127.0.0.1:8765", "tok", None)
    clean_env.write_text('[profiles.work]\nserver = "https://a.example"\n')
    conn = cfg.resolve_connection()  # a valid one: the environment still wins
    assert (conn.server, conn.token, conn.profile) == ("http://127.0.0.1:8765", "tok", None)
    clean_env.write_text("this is not toml = = =")
    with pytest.raises(cfg.ConfigError, match="not valid TOML"):
        cfg.resolve_connection()
    with pytest.raises(cfg.ConfigError, match="not valid TOML"):
        cfg.resolve_connection(server="http://127.0.0.1:9")
    clean_env.write_text('[profiles.work]\nserver = "https://a.example"\nsever = "x"\n')
    with pytest.raises(cfg.ConfigError, match="line 3: unknown key 'sever' in \\[profiles.work\\]"):
        cfg.resolve_connection()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[tui]\nthem = "day-shift"\n', "line 2: unknown key 'them' in [tui]"),
        ('[profiles.work\nserver = "https://a.example"\n', "is not valid TOML"),
    ],
)
def test_config_errors_with_server_and_token_in_the_environment(
    tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / "config.toml").write_text(text)
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER="http://127.0.0.1:9", AGENT_CONSOLE_TOKEN="acd_x")
    for args in (["convs"], ["me", "-o", "json"], ["tail"], []):  # [] is the console (TUI)
        ran = invoke(*args, env=env)
        assert ran.code == 1, (args, ran)
        assert ran.stderr.startswith(f"error: config file {tmp_path / 'config.toml'}"), ran
        assert expected in ran.stderr and len(ran.stderr.splitlines()) == 1


def test_dump_config_round_trips_odd_names_and_values() -> None:
    config = cfg.Config(
        default_profile="a.b-c_d",
        profiles={
            "a.b-c_d": cfg.Profile(server="https://x.example", ca_bundle='/p/"q"\\r\x7fé'),
        },
    )
    assert cfg.parse_config(cfg.dump_config(config)) == config


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_login_prompts_for_the_token_without_echo(desk: Desk, tmp_path: Path) -> None:
    import pty
    import select
    import subprocess
    import sys
    import time

    from tests.cli_support import REPO

    env = {k: v for k, v in {**os.environ, **base_env(tmp_path)}.items() if v is not None}
    env["PYTHONPATH"] = str(REPO)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_console", "auth", "login", "--server", desk.url],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""

    def read_until(marker: bytes, timeout: float = 30) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    return

    try:
        read_until(b"Token (input hidden): ")
        os.write(master, desk.agent_token.encode() + b"\n")
        read_until(b"logged in to")
        assert proc.wait(30) == 0
        read_until(b"\n", timeout=1)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert b"logged in to" in seen
    assert desk.agent_token.encode() not in seen  # never echoed
    assert keyring_data(tmp_path) == {f"agent-console\ndefault@{desk.url}": desk.agent_token}


def test_auth_status_names_the_help_desk(helpdesk: Helpdesk, tmp_path: Path) -> None:
    env = helpdesk.env(tmp_path)
    status = invoke("auth", "status", "-o", "json", env=env)
    assert status.code == 0, status
    assert status.json()["server"] == helpdesk.url
    text = invoke("auth", "status", env=env)
    assert text.code == 0 and (("Chatwoot account 1" in text.stdout) == (helpdesk.kind == "chatwoot")), text
    canned = invoke("canned", "list", "-o", "json", env=env)
    assert canned.code == 0 and canned.json(), canned


def test_chatwoot_login_checks_the_token_with_the_profile(chatwoot: ChatwootDesk, tmp_path: Path) -> None:
    env = base_env(tmp_path)
    args = ("auth", "login", "--backend", "chatwoot", "--server", chatwoot.url, "--token-stdin")
    refused = invoke(*args, "--account", "1", env=env, input="wrong-token\n")
    assert refused.code == 3, refused
    missing = invoke(*args, env=env, input=chatwoot.agent.token + "\n")
    assert missing.code == 2 and "--account" in missing.stderr
    ran = invoke(*args, "--account", "1", "--portal", "help", env=env, input=chatwoot.agent.token + "\n")
    assert ran.code == 0, ran
    assert "logged in to" in ran.stdout and "Night Agent" in ran.stdout
    config = (tmp_path / "config.toml").read_text()
    assert 'backend = "chatwoot"' in config and "account_id = 1" in config and 'portal = "help"' in config
    assert chatwoot.agent.token not in config
    # The profile alone now reaches Chatwoot: no environment needed.
    listed = invoke("convs", "-o", "json", env=env)
    assert listed.code == 0 and {c["id"] for c in listed.json()} >= {1, 2, 3}, listed
    hits = invoke("kb", "search", "refund", "-o", "json", env=env)
    assert hits.code == 0 and [h["title"] for h in hits.json()] == ["Refunds"], hits


@pytest.mark.parametrize("missing", ["AGENT_CONSOLE_ACCOUNT"])
def test_chatwoot_by_environment_needs_its_account(
    chatwoot: ChatwootDesk, tmp_path: Path, missing: str
) -> None:
    env = base_env(tmp_path, **{**chatwoot.env(), missing: None})
    ran = invoke("convs", env=env)
    assert ran.code == 1 and "AGENT_CONSOLE_ACCOUNT" in ran.stderr, ran


def test_chatwoot_portal_by_environment(chatwoot: ChatwootDesk, tmp_path: Path) -> None:
    """With no config file, AGENT_CONSOLE_PORTAL names the help center; without it, KB search
    says what to set instead of failing."""
    without = invoke(
        "kb", "search", "refund", env=base_env(tmp_path, **chatwoot.env(AGENT_CONSOLE_PORTAL=None))
    )
    assert without.code == 1 and 'portal = "slug"' in without.stderr, without
    found = invoke("kb", "search", "refund", "-o", "json", env=base_env(tmp_path, **chatwoot.env()))
    assert found.code == 0 and [h["title"] for h in found.json()] == ["Refunds"], found


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["sla", "list"], "SLA policies is not available on Chatwoot"),
        (["labels"], "counting labels across the desk is not available on Chatwoot"),
        (["stats"], "is not available on Chatwoot"),
        (["roster"], "rosters and handoffs need the desk server"),
        (["team", "new", "Nights"], "admin commands need the desk server"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_desk_server_only_commands_say_so_on_chatwoot(
    chatwoot: ChatwootDesk, tmp_path: Path, args: list[str], said: str
) -> None:
    """Desk-server features (SLA policies, label counts, KPIs, shifts, admin) are tested on the
    desk server only; on Chatwoot each command says plainly that it is not there."""
    ran = invoke(*args, env=base_env(tmp_path, **chatwoot.env()))
    assert ran.code == 1 and ran.stdout == "", ran
    assert ran.stderr.startswith("error: ") and said in ran.stderr and len(ran.stderr.splitlines()) == 1, ran
