"""`agent-console demo` as a new user meets it: its config, its database, `--fresh`.

Real runs of the command: headless (stdout is a pipe) where the console is not the point,
in a pty where it is.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
from bench.terminal import Terminal

from agent_console.server import db as database
from tests.test_signals import demo_env


def write_config(tmp_path: Path, text: str) -> None:
    folder = tmp_path / "config" / "agent-console"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(text, encoding="utf-8")


def run_headless(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """Start a headless demo, read its desk's id, stop it; (exit code, desk id, stderr)."""
    code, desk_id, err, _ = run_headless_desk(tmp_path, *args)
    return code, desk_id, err


def run_headless_desk(tmp_path: Path, *args: str) -> tuple[int, str, str, dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_console", "demo", "--headless", "--rate", "0", *args],
        env=demo_env(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()
        if not first.startswith("server: "):
            proc.wait(60)
            return proc.returncode, "", first + (proc.stderr.read() if proc.stderr else ""), {}
        url = first.split()[1]
        token = proc.stdout.readline().split()[1]
        desk = httpx.get(f"{url}/api/v1/desk", headers={"Authorization": f"Bearer {token}"}).json()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        return proc.returncode, desk["id"], err, desk
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_bad_config_is_reported_and_nothing_starts(tmp_path: Path) -> None:
    write_config(tmp_path, '[tui]\nthem = "day-shift"\n')
    code, _, err = run_headless(tmp_path, "--db", str(tmp_path / "demo.db"))
    assert code != 0
    assert "config file" in err and "them" in err
    assert not (tmp_path / "demo.db").exists()  # refused before any server started


def test_the_demo_says_where_its_database_lives_and_keeps_it(tmp_path: Path) -> None:
    default = tmp_path / "data" / "agent-console" / "demo.db"
    code, first_id, err = run_headless(tmp_path)
    assert code == 128 + signal.SIGTERM
    assert f"demo database: {default} (new" in err
    code, second_id, err = run_headless(tmp_path)
    assert f"demo database: {default} (kept between runs: 240 conversations" in err
    assert "--fresh" in err
    assert second_id == first_id


def test_fresh_starts_over_and_says_what_it_removed(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    _, old_id, _ = run_headless(tmp_path, "--db", str(db))
    code, new_id, err = run_headless(tmp_path, "--db", str(db), "--fresh")
    assert f"removed the demo database {db} (240 conversations" in err
    assert "(new: seeding" in err
    assert new_id != old_id


def test_fresh_refuses_a_database_the_demo_did_not_make(tmp_path: Path) -> None:
    real = tmp_path / "desk.db"
    database.connect(real).close()  # a real desk's database: no demo seed, no simulator
    code, _, err = run_headless(tmp_path, "--db", str(real), "--fresh")
    assert code == 2 and "not a demo database" in err
    assert real.exists()


def test_fresh_asks_first_on_a_terminal_and_the_config_theme_applies(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    run_headless(tmp_path, "--db", str(db))
    write_config(tmp_path, '[tui]\ntheme = "day-shift"\n\n[keys]\n"no.such.binding" = "f9"\n')
    argv = [sys.executable, "-m", "agent_console", "demo", "--db", str(db), "--rate", "0", "--fresh"]
    with Terminal(argv, env=demo_env(tmp_path), cols=120, rows=40) as terminal:
        terminal.close_timeout = 20
        assert terminal.wait_for(b"Delete the demo database", 0, 30), terminal.text()[-500:]
        terminal.send(b"y\r")
        assert terminal.wait_for(b"removed the demo database", 0, 30)
        assert terminal.wait_for(b"LIVE", 0, 90)  # loaded and on the feed
        # The widget's address, said inside the console (the line printed before it is hidden).
        assert terminal.wait_for(b"Chat as a customer", 0, 20)
        # day-shift's background (#FAFAF7), not night-shift's (#10141A): the config's theme.
        assert terminal.wait_for(b"48;2;250;250;247", 0, 10)
        assert b"48;2;16;20;26" not in terminal.text()
        # The config's key remaps reach the console too (this one is reported as unknown).
        assert terminal.wait_for(b"no.such.binding", 0, 10)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 240
    finally:
        conn.close()


def test_the_demo_sets_a_public_url_of_its_own(tmp_path: Path) -> None:
    _, _, _, desk = run_headless_desk(tmp_path, "--db", str(tmp_path / "d.db"))
    assert desk["public_url"] == "https://help.lumo-mobile.example"
    assert desk["name"] == "Lumo Mobile Support"


def test_the_demo_prints_a_widget_page_to_chat_with_the_console(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent_console",
            "demo",
            "--headless",
            "--rate",
            "0",
            "--db",
            str(tmp_path / "d.db"),
        ],
        env=demo_env(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[2].startswith("widget: "), lines
        widget_url = lines[2].split()[1]
        page = httpx.get(widget_url)
        assert page.status_code == 200 and 'src="/widget.js"' in page.text
        assert "<title>Lumo Mobile" in page.text  # the desk's own name
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert f"web chat widget: {widget_url}" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
