"""Notifications in the real console, against the real desk server: the bytes of BEL and OSC 9 /
OSC 777 (wrapped for tmux) reach the terminal driver, nothing fires for the agent's own actions,
a burst gives one summary, quiet mode keeps to toasts, and an SLA event emitted through the real
store's transaction and event path (the feed the console follows) notifies the agent it is for."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from agent_console.client.config import NotifySettings
from agent_console.client.native import NativeBackend
from agent_console.server import db
from agent_console.server.app import create_app
from agent_console.server.guard import FeedWebSocketProtocol
from agent_console.server.run import bind
from agent_console.server.store import Store
from agent_console.tui.app import ConsoleApp
from tests.conftest import Desk
from tests.test_tui_flows import NARROW, make_app, new_customer, ready
from tests.test_tui_views import customer_writes, patch
from tests.tui_helpers import wait_for

OSC = re.compile(r"\x1b\]([^\x07]*)\x07")


def capture(app: ConsoleApp) -> list[str]:
    """Everything written to the terminal driver from now on."""
    written: list[str] = []
    driver = app._driver  # noqa: SLF001 - the terminal's side of the console, where the bytes go
    original = driver.write

    def write(data: str) -> None:
        written.append(data)
        original(data)

    driver.write = write  # type: ignore[method-assign]
    return written


def toasts(app: ConsoleApp) -> list[str]:
    """Every toast the console shows from now on (title and text)."""
    shown: list[str] = []
    original = app.notify

    def notify(message: str, *, title: str = "", **kwargs: object) -> None:
        shown.append(f"{title}\n{message}")
        original(message, title=title, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return shown


def terminal_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name in ("TERM_PROGRAM", "LC_TERMINAL", "TMUX", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def my_id(desk: Desk) -> int:
    return desk.agent.get("/me").json()["id"]


async def mine_in_console(pilot, desk: Desk) -> tuple[int, str]:  # noqa: ANN001
    """A new conversation assigned to this agent (by the admin), held by the console."""
    app = pilot.app
    cid, name = new_customer(desk, body="My order never arrived")
    patch(desk, cid, assignee_id=my_id(desk))
    await wait_for(
        pilot,
        lambda: (c := app.store.desk.conversations.get(cid)) is not None and c.assignee is not None,
        what="the conversation assigned to me",
    )
    return cid, name


@pytest.mark.parametrize(
    ("env", "start"),
    [
        ({"TERM_PROGRAM": "iTerm.app", "TERM": "xterm-256color"}, "\x1b]9;Reply from #"),
        (
            {"TERM": "rxvt-unicode-256color", "TMUX": "/tmp/tmux-0/default,1,0"},
            "\x1bPtmux;\x1b\x1b]777;notify;Reply from #",
        ),
    ],
    ids=["osc9", "osc777-in-tmux"],
)
async def test_a_customer_reply_rings_and_reaches_the_desktop(
    fresh_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], start: str
) -> None:
    desk = fresh_desk
    terminal_env(monkeypatch, **env)
    settings = NotifySettings(new_conversation=False, interval=1)
    app = make_app(desk, tmp_path, notify=settings)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        written = capture(app)
        cid, name = await mine_in_console(pilot, desk)
        assert not any("\x07" in data for data in written), written  # the assignment itself is no notice
        customer_writes(desk, cid, name, "Hello? The tracking page is blank")
        await wait_for(pilot, lambda: any(start in data for data in written), what="the desktop notice")
        sent = "".join(written)
        assert sent.count("\x07") >= 2  # the bell, and the OSC's own terminator
        assert f"#{cid} {name}" in sent and "tracking page is blank" in sent
        # Quiet mode (M): the toast only, no bell, no desktop notice.
        before = len(written)
        shown = toasts(app)
        await pilot.press("M")
        customer_writes(desk, cid, name, "Please answer, quietly")
        await wait_for(pilot, lambda: any("quietly" in t for t in shown), what="the toast in quiet mode")
        assert not any("\x07" in data for data in written[before:])


async def test_nothing_fires_for_the_agents_own_actions(
    fresh_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = fresh_desk
    terminal_env(monkeypatch, TERM_PROGRAM="WezTerm")
    app = make_app(desk, tmp_path, notify=NotifySettings(new_conversation=False, interval=1))
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        cid, _ = await mine_in_console(pilot, desk)
        written = capture(app)
        # The agent's own note mentioning themself and their own reply (from another device).
        for body, private in (("@Sam remember the refund", True), ("@Sam Agent here: on it", False)):
            answer = desk.agent.post(
                f"/conversations/{cid}/messages", json={"body": body, "private": private}
            )
            assert answer.status_code == 201
        await wait_for(
            pilot, lambda: app.store.desk.conversations[cid].message_count >= 4, what="my messages applied"
        )
        assert not any("\x07" in data or "\x1b]9;" in data for data in written)
        # A colleague's mention of the agent does fire, through the same path.
        desk.admin.post(f"/conversations/{cid}/messages", json={"body": "@sam please check", "private": True})
        await wait_for(pilot, lambda: "\x1b]9;" in "".join(written), what="the mention's notice")
        assert "mentioned you in #" in "".join(written)


async def test_a_burst_gives_one_summary(
    fresh_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = fresh_desk
    terminal_env(monkeypatch, TERM_PROGRAM="iTerm.app")
    app = make_app(desk, tmp_path, notify=NotifySettings(interval=2))
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        written = capture(app)
        for n in range(12):
            new_customer(desk, body=f"burst {n}")
            await pilot.pause(0.1)  # the console applies each in a frame of its own
        await wait_for(
            pilot, lambda: "things need you" in "".join(written), timeout=20, what="the summary of the burst"
        )
        await pilot.pause(2.5)  # one more interval: nothing else may follow
        notices = OSC.findall("".join(written))
        bells = "".join(written).count("\x07") - len(notices)
        assert 1 <= len(notices) <= 2 and bells == len(notices), notices
        summary = notices[-1]
        count = int(re.search(r"(\d+) things need you", summary).group(1))
        assert "new conversations" in summary
        assert count + (len(notices) - 1) == 12  # the first alone, or all twelve in one


@contextlib.asynccontextmanager
async def desk_in_process(path: Path) -> AsyncIterator[tuple[str, Store]]:
    """The real desk server in this event loop, so a test can write through its store."""
    app = create_app(path, ping_interval=5)
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws=FeedWebSocketProtocol)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app.state.store
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_sla_events_from_the_store_notify_the_agent_they_are_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal_env(monkeypatch, TERM_PROGRAM="iTerm.app")
    path = tmp_path / "desk.db"
    db.connect(path).close()
    async with desk_in_process(path) as (url, store):
        me, token = store.create_agent(name="Sam Agent", email="sam@test.example")
        other, _ = store.create_agent(name="Olga Other", email="olga@test.example")
        from agent_console.core.models import InboundContact, InboundMessage

        def conversation(name: str, assignee: int) -> int:
            result = store.inbound(
                InboundMessage(channel="email", contact=InboundContact(name=name), body="Where is my refund?")
            )
            from agent_console.core.models import ConversationPatch

            store.patch_conversation(result.conversation_id, ConversationPatch(assignee_id=assignee), me)
            return result.conversation_id

        mine = conversation("Maria Mine", me.id)
        theirs = conversation("Theo Theirs", other.id)
        app = ConsoleApp(
            NativeBackend(url, token),
            outbox_path=tmp_path / "local.db",
            notify=NotifySettings(new_conversation=False, interval=1),
        )
        async with app.run_test(size=NARROW) as pilot:
            await ready(pilot)
            written = capture(app)

            def emit(kind: str, cid: int, assignee: int, **extra: object) -> None:
                payload = {
                    "conversation_id": cid,
                    "clock": "frt",
                    "due_at": "2026-11-29T12:30:00Z",
                    "policy": "Email",
                    "assignee_id": assignee,
                    "team_id": None,
                    **extra,
                }
                with store._write() as tx:  # noqa: SLF001 - the store's one transaction-and-events path
                    tx.emit(kind, payload)

            emit("sla.breached", theirs, other.id, breached_by_s=120)  # a colleague's: not for me
            emit("sla.warning", mine, me.id)
            await wait_for(pilot, lambda: "\x1b]9;" in "".join(written), what="the SLA warning's notice")
            emit("sla.breached", mine, me.id, breached_by_s=300)
            await wait_for(pilot, lambda: "SLA breached" in "".join(written), what="the breach's notice")
            sent = "".join(written)
            assert f"SLA warning #{mine} Maria Mine" in sent and "first response due 12:30 UTC" in sent
            assert "missed by 5m" in sent
            assert f"#{theirs}" not in sent
