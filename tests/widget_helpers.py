"""Helpers for the web chat widget tests and tools: a desk server with a site key, visitors
over REST and the customer websocket, and Debian's Chromium driven by Playwright.

Chromium is the system package (`apt-get install chromium`, done by .ci/run); Playwright never
downloads a browser here. A missing browser is a failure, not a skip: `launch_chromium` says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from agent_console.server.process import ServerProcess
from tests.conftest import Desk, add_agent

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium; Playwright's launch gives it a new, temporary user-data-dir."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
    )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def add_site_key(db: Path | str, *origins: str) -> str:
    """A site key made with the real `server add-site-key` command."""
    args = [sys.executable, "-m", "agent_console", "server", "add-site-key", "--db", str(db)]
    for origin in origins:
        args += ["--origin", origin]
    result = subprocess.run(args, capture_output=True, text=True, check=True)
    return result.stdout.strip()


@dataclass
class WidgetDesk(Desk):
    site_key: str = ""

    def widget_url(self, key: str | None = None) -> str:
        return f"{self.url}/widget?key={key or self.site_key}"


def start_widget_desk(
    db: Path | str, *, limits: str = "", demo: bool = False, port: int = 0, origins: tuple[str, ...] = ()
) -> WidgetDesk:
    env = {"AGENT_CONSOLE_WIDGET_LIMITS": limits} if limits else {}
    server = ServerProcess(db, demo=demo, port=port, env=env)
    server.start()
    admin = add_agent(db, name="Avery Admin", email="admin@test.example", role="admin")
    agent = add_agent(db, name="Sam Agent", email="sam@test.example")
    return WidgetDesk(server.url, db, admin, agent, server, site_key=add_site_key(db, *origins))


def restart(desk: WidgetDesk, *, limits: str = "") -> None:
    """Stop the desk server and start it again on the same port and database."""
    port = int(desk.url.rsplit(":", 1)[1])
    desk.server.stop()
    env = {"AGENT_CONSOLE_WIDGET_LIMITS": limits} if limits else {}
    desk.server = ServerProcess(desk.db, port=port, env=env)
    desk.server.start()


def poll(condition: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Visitor:
    """A customer without a browser: the widget's REST API and its websocket."""

    def __init__(self, desk: WidgetDesk, *, origin: str | None = None, key: str | None = None) -> None:
        self.desk = desk
        headers = {"Origin": origin} if origin else {}
        self.http = httpx.Client(base_url=f"{desk.api}/widget", headers=headers, timeout=10)
        answer = self.http.post("/session", json={}, headers={"X-Site-Key": key or desk.site_key})
        assert answer.status_code == 201, answer.text
        self.token = answer.json()["token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def say(self, body: str, conversation_id: int | None = None) -> dict:
        answer = self.http.post("/messages", json={"body": body, "conversation_id": conversation_id})
        assert answer.status_code == 201, answer.text
        return answer.json()

    @contextmanager
    def socket(self, since: int | None) -> Iterator[Any]:
        with connect(
            self.desk.url.replace("http://", "ws://") + "/api/v1/widget/events", open_timeout=10
        ) as ws:
            ws.send(json.dumps({"type": "hello", "token": self.token, "since": since}))
            yield ws


def frames_until(ws: Any, done: Callable[[dict], bool], timeout: float = 30.0) -> list[dict]:
    """Every frame (pings left out) up to and including the first for which `done` holds."""
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame.get("type") == "ping":
            continue
        out.append(frame)
        if done(frame):
            return out


def conversation_with(desk: Desk, text: str) -> dict:
    """The conversation (agent view) holding a message with this unique word."""

    def find() -> dict | None:
        items = desk.agent.get("/conversations", params={"status": "all", "q": text}).json()["items"]
        return items[0] if items else None

    return poll(find, what=f"a conversation with {text!r}")
