"""`agent-console demo`: a seeded desk server, live customer traffic, and the console.

The demo database is kept between runs (the agent's replies, notes and drafts stay); it
says where it lives at every start, and `--fresh` starts over from a new seeded one.

Ending it: `ctrl+q`, ctrl+c (headless), SIGTERM or SIGHUP all take the same way out: the
console saves the draft and restores the terminal, then the simulator and the server are
stopped. The exit status is 0, or 128 + the signal number when a signal ended it (143
for SIGTERM, 129 for SIGHUP). The children also die with the demo if it is killed with
SIGKILL (Linux: PR_SET_PDEATHSIG), so nothing is left running.

If the desk server dies while the demo runs (try `kill -9` on it), the demo starts it again
on the same port: the console shows RECONNECTING, then LIVE, and sends what it held.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent_console.client.config import TuiSettings, load_config
from agent_console.server import db as database
from agent_console.server.process import PARENT_ENV, ServerProcess
from agent_console.server.seed import DEMO_AGENT_EMAIL, SIMULATOR_EMAIL, is_demo_desk
from agent_console.server.store import Store, ensure_agent

# Fictional, like the company: where Lumo Mobile's help center would be. KB links that
# the console puts into replies use it; the pages themselves are served by the demo server.
DEMO_PUBLIC_URL = "https://help.lumo-mobile.example"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
# The simulated colleagues' tokens for `simulate` (a JSON object: email -> token).
COLLEAGUES_ENV = "AGENT_CONSOLE_COLLEAGUE_TOKENS"


class Stopped(Exception):
    """A stop signal arrived outside the console (starting, headless, shutting down)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class NotADemo(Exception):
    pass


def _raise_stopped(signum: int, _frame: Any) -> None:
    raise Stopped(signum)


def say(text: str) -> None:
    """A line on stderr; never fails (after SIGHUP the terminal may be gone)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


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


def issue_colleague_tokens(db_path: Path) -> dict[str, str]:
    """Fresh tokens for the demo's other agents (the seeded colleagues, still active), so the
    simulator can answer as them. Nobody knew their seeded tokens; `server add-agent` or a
    rotate hands out one to sign in as a colleague (a demo started later replaces it)."""
    from agent_console.demo.dataset import load_agents

    store = Store(database.connect(db_path))
    try:
        tokens = {}
        for seed in load_agents():
            agent = store.find_agent_by_email(seed.email)
            if agent is not None and agent.active:
                tokens[seed.email] = store.rotate_token(seed.email)
        return tokens
    finally:
        store.conn.close()


def leave_handoff(db_path: Path) -> None:
    """The handoff from the night shift to the demo agent (demo/shifts.toml), once a day."""
    from agent_console.server.email_store import DeskStore
    from agent_console.server.shift_seed import leave_demo_handoff

    store = DeskStore(database.connect(db_path))
    try:
        leave_demo_handoff(store, DEMO_AGENT_EMAIL)
    finally:
        store.conn.close()


def demo_bot(db_path: Path) -> None:
    """The FAQ bot greets the demo's web chats (on at the first run; an admin's later "off" stays)."""
    store = Store(database.connect(db_path))
    try:
        if not store.conn.execute("SELECT 1 FROM bot_channels WHERE channel = 'web_chat'").fetchone():
            store.set_bot_channel("web_chat", True)
    finally:
        store.conn.close()


def demo_site_key(db_path: Path) -> str:
    """The demo desk's web chat site key (made on first run). It lists no other site: the
    desk's own /widget page works with any key, whatever port the demo got."""
    from agent_console.server.widget_store import WidgetStore

    store = Store(database.connect(db_path))
    try:
        widget = WidgetStore(store)
        held = next((key for key in widget.site_keys() if key.name == "demo"), None)
        return (held or widget.create_site_key("demo", ())).key
    finally:
        store.conn.close()


def describe(db_path: Path) -> dict[str, int] | None:
    """What a demo database holds (None when there is none), without changing it."""
    if not db_path.exists():
        return None
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        count = conn.execute
        return {
            "conversations": count("SELECT count(*) FROM conversations").fetchone()[0],
            "unassigned": count(
                "SELECT count(*) FROM conversations WHERE status = 'open' AND assignee_id IS NULL"
            ).fetchone()[0],
            "messages": count("SELECT count(*) FROM messages").fetchone()[0],
        }
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


def remove_demo_database(db_path: Path, *, confirm: bool) -> bool:
    """Delete the demo database (and its WAL files) for `--fresh`. False if the agent said no.

    Refuses a database that is not a demo desk: `--db` could point at a real one.
    """
    if not db_path.exists():
        return True
    held = describe(db_path)
    conn = database.connect(db_path)
    try:
        demo_desk = is_demo_desk(conn)
    finally:
        conn.close()
    if not demo_desk:
        raise NotADemo(f"{db_path} is not a demo database; --fresh deletes only what the demo made")
    summary = ", ".join(f"{n} {what}" for what, n in (held or {}).items()) or "unreadable"
    if confirm:
        answer = input(f"Delete the demo database {db_path} ({summary}) and start over? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            say("kept it; starting the demo on it")
            return False
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    say(f"removed the demo database {db_path} ({summary})")
    return True


def run_demo(
    db_path: Path,
    *,
    rate: float,
    headless: bool,
    fresh: bool = False,
    theme: str | None = None,
    config_path: Path | None = None,
) -> int:
    # The config first: a bad one is an error to fix, never silently skipped.
    config = load_config(config_path)
    settings = config.tui or TuiSettings()
    previous = {signum: signal.signal(signum, _raise_stopped) for signum in STOP_SIGNALS}
    try:
        if fresh:
            try:
                remove_demo_database(db_path, confirm=sys.stdin.isatty() and not headless)
            except NotADemo as exc:
                say(f"error: {exc}")
                return 2
        held = describe(db_path)
        if held:
            say(
                f"demo database: {db_path} (kept between runs: {held.get('conversations', '?')}"
                f" conversations, {held.get('unassigned', '?')} waiting unassigned;"
                " `agent-console demo --fresh` starts over)"
            )
        else:
            say(f"demo database: {db_path} (new: seeding the Lumo Mobile demo desk)")
        return _run(db_path, rate=rate, headless=headless, theme=theme or settings.theme, config=config)
    except Stopped as stop:
        return 128 + stop.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class ServerKeeper(threading.Thread):
    """Starts the demo's desk server again, on the same port, whenever it dies before the demo
    ends. The replacement is started from this thread, which lives as long as the demo, so
    PR_SET_PDEATHSIG (tied to the starting thread) still ends it with the demo."""

    def __init__(self, server: ServerProcess) -> None:
        super().__init__(name="desk-server-keeper", daemon=True)
        self.server = server
        self.stopping = threading.Event()
        self.lock = threading.Lock()  # held while a replacement starts; stop() waits for it
        self.restarts = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            proc = self.server.proc
            if proc is not None:
                proc.wait()
            if self.stopping.wait(1.0):  # a pause, so a server that cannot start does not spin
                return
            with self.lock:
                if self.stopping.is_set():
                    return
                try:
                    self.server.start()
                    self.restarts += 1
                except (RuntimeError, OSError):
                    continue  # the port may still be held for a moment: try again

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            self.server.stop()


def _run(db_path: Path, *, rate: float, headless: bool, theme: str | None, config: Any) -> int:
    say("starting the desk server ...")
    # Routing on: new conversations go to whoever is on shift and online, up to the cap.
    routing = ("--routing", "least_loaded", "--routing-cap", "6")
    server = ServerProcess(db_path, demo=True, extra_args=("--public-url", DEMO_PUBLIC_URL, *routing))
    keeper = ServerKeeper(server)
    simulator: subprocess.Popen[bytes] | None = None
    try:
        server.start()
        server.port = urlsplit(server.url).port or 0  # a replacement comes back where the console looks
        keeper.start()
        agent_token, sim_token = issue_demo_tokens(db_path)
        leave_handoff(db_path)  # the night shift's note waits for the demo agent
        demo_bot(db_path)
        widget_url = f"{server.url}/widget?key={demo_site_key(db_path)}"
        say(f"web chat widget: {widget_url}  (open it in a browser and chat with the console)")
        if rate > 0:
            # Tokens go through the environment, never the command line (ps shows that).
            simulator = subprocess.Popen(
                [sys.executable, "-m", "agent_console", "simulate", "--rate", str(rate)],
                env={
                    **os.environ,
                    "AGENT_CONSOLE_SERVER": server.url,
                    "AGENT_CONSOLE_TOKEN": sim_token,
                    COLLEAGUES_ENV: json.dumps(issue_colleague_tokens(db_path)),
                    PARENT_ENV: str(os.getpid()),
                },
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        if headless or not sys.stdout.isatty():
            return _wait_headless(server.url, agent_token, widget_url)
        from agent_console.tui.app import run_console

        # Every [tui] setting, as `agent-console` passes them: the demo is the same console.
        settings = config.tui or TuiSettings()
        options = {name: getattr(settings, name) for name in settings.__struct_fields__}
        options["theme"] = theme
        return run_console(
            server=server.url,
            token=agent_token,
            keymap=config.keys,
            notify=config.notify,
            # The terminal line above is hidden behind the console: say it where the agent looks.
            welcome=f"Chat as a customer: open {widget_url} in a browser",
            **options,
        )
    finally:
        # Shutting down: a second signal must not cut this short and orphan a child.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        if simulator is not None:
            simulator.terminate()
            try:
                simulator.wait(5)
            except subprocess.TimeoutExpired:
                simulator.kill()
                simulator.wait()
        say("stopping the desk server ...")
        keeper.stop()


def _wait_headless(url: str, token: str, widget_url: str) -> int:
    print(f"server: {url}", flush=True)
    print(f"token:  {token}", flush=True)
    print(f"widget: {widget_url}", flush=True)
    say("export AGENT_CONSOLE_SERVER and AGENT_CONSOLE_TOKEN with these to use the CLI; ctrl+c stops.")
    try:
        while True:  # until ctrl+c (KeyboardInterrupt) or a stop signal (Stopped)
            if hasattr(signal, "pause"):
                signal.pause()
            else:
                import time

                time.sleep(3600)
    except KeyboardInterrupt:
        return 0
