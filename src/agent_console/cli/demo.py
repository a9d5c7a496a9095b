"""`agent-console demo`: a seeded desk server, live customer traffic, and the console."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agent_console.server import db as database
from agent_console.server.process import ServerProcess
from agent_console.server.seed import DEMO_AGENT_EMAIL, SIMULATOR_EMAIL
from agent_console.server.store import Store, ensure_agent


def issue_demo_tokens(db_path: Path) -> tuple[str, str]:
    """Fresh tokens for the demo agent and the traffic simulator (created on first run)."""
    store = Store(database.connect(db_path))
    try:
        _, agent_token = ensure_agent(
            store, email=DEMO_AGENT_EMAIL, name="Demo Agent", role="admin", timezone="UTC"
        )
        _, sim_token = ensure_agent(
            store, email=SIMULATOR_EMAIL, name="Channel simulator", role="integration", timezone="UTC"
        )
    finally:
        store.conn.close()
    return agent_token, sim_token


def run_demo(db_path: Path, *, rate: float, headless: bool) -> int:
    print(f"starting the desk server (database: {db_path}) ...", file=sys.stderr, flush=True)
    with ServerProcess(db_path, demo=True) as server:
        agent_token, sim_token = issue_demo_tokens(db_path)
        simulator = None
        if rate > 0:
            # The token goes through the environment, never the command line (ps shows that).
            simulator = subprocess.Popen(
                [sys.executable, "-m", "agent_console", "simulate", "--rate", str(rate)],
                env={**os.environ, "AGENT_CONSOLE_SERVER": server.url, "AGENT_CONSOLE_TOKEN": sim_token},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            return _open_console(server.url, agent_token, headless=headless)
        finally:
            if simulator is not None:
                simulator.terminate()
                simulator.wait(5)
            print("stopping the desk server ...", file=sys.stderr, flush=True)


def _open_console(url: str, token: str, *, headless: bool) -> int:
    if headless or not sys.stdout.isatty():
        print(f"server: {url}")
        print(f"token:  {token}")
        print(
            "export AGENT_CONSOLE_SERVER and AGENT_CONSOLE_TOKEN with these to use the CLI;"
            " press ctrl+c to stop.",
            file=sys.stderr,
            flush=True,
        )
        try:
            import time

            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
    from agent_console.tui.app import run_console

    return run_console(server=url, token=token)
