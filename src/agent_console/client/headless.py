"""A headless console: the console's client stack without Textual.

    AGENT_CONSOLE_TOKEN=acd_... python -m agent_console.client.headless --server URL

It runs what the TUI runs underneath (the sync engine following the live feed into a
`DeskState`, the durable outbox and its sender) and talks JSON lines: one command per
line on stdin, one answer or report per line on stdout.

Commands (`"id"` is optional and echoed back as `"re"`):

    {"op": "reply", "conversation_id": 12, "body": "...", "key": "optional-idempotency-key"}
    {"op": "note",  "conversation_id": 12, "body": "..."}             (a private note)
    {"op": "patch", "conversation_id": 12, "patch": {"status": "resolved"}}
    {"op": "retry", "item": 5, "force": true}                         (a failed outbox item)
    {"op": "track", "conversation_id": 12}                            (keep its messages)
    {"op": "state"}       the state, as below
    {"op": "outbox"}      every outbox item
    {"op": "flush"}       answer once nothing is pending in the outbox
    {"op": "quit"}        send what is pending (up to --drain-timeout), print the state, exit

End of input means "quit". Reports: {"event": "ready" | "connection" | "snapshot" |
"outbox" | "state", ...}. The state is {"seq", "connection", "conversations": {id: [status,
seq]}, "messages": {id: [message ids]} for tracked conversations, "outbox": counts,
"typing": {id: [who is typing]}}.

A reply is durable once its answer `{"ok": true, "item": N}` is printed: if the process dies
after that, the next start sends it, once. Messages of tracked conversations are read over
REST when tracking starts and after every snapshot that replaced the state (a resync), and
kept up to date from the feed in between.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import msgspec

from agent_console.client.backend import desk_key
from agent_console.client.backoff import full_jitter
from agent_console.client.errors import BackendError, NotAuthenticated, NotFound, Unreachable
from agent_console.client.localdb import default_path
from agent_console.client.native import NativeBackend
from agent_console.client.outbox import Outbox, OutboxItem, OutboxSender
from agent_console.client.sync import ConnectionState, Snapshot, SyncEngine
from agent_console.core import clock
from agent_console.core.models import ConversationPatch, Event
from agent_console.core.reducer import DeskState

TOKEN_ENV = "AGENT_CONSOLE_TOKEN"


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def item_json(item: OutboxItem) -> dict[str, Any]:
    return {
        "item": item.id,
        "kind": item.kind,
        "conversation_id": item.conversation_id,
        "key": item.idempotency_key,
        "state": item.state,
        "attempts": item.attempts,
        "reason": item.reason,
        "message_id": item.message_id,
        "unseen": [m.id for m in item.unseen],
    }


class HeadlessConsole:
    def __init__(
        self,
        backend: NativeBackend,
        *,
        db: Path,
        track_all: bool = False,
        track: tuple[int, ...] = (),
        heartbeat: float = 30.0,
        backoff_cap: float = 30.0,
        drain_timeout: float = 30.0,
    ) -> None:
        self.backend = backend
        self.db = db
        self.track_all = track_all
        self.state = DeskState()
        self.tracked: set[int] = set(track)
        self.connection = ConnectionState("connecting")
        self.heartbeat = heartbeat
        self.backoff_cap = backoff_cap
        self.drain_timeout = drain_timeout
        self.rng = random.Random()
        self.resyncs = 0
        self.outbox: Outbox | None = None
        self.sender: OutboxSender | None = None
        self.engine: SyncEngine | None = None
        self._refetch: asyncio.Queue[int] = asyncio.Queue()
        self._queued: set[int] = set()
        self._fetching: int | None = None
        self._stop = asyncio.Event()

    # --- start-up -------------------------------------------------------------------------

    async def _whoami(self) -> int:
        failures = 0
        while True:
            try:
                return (await self.backend.me()).id
            except Unreachable as exc:
                _emit({"event": "connection", "kind": "reconnecting", "detail": exc.message})
                await asyncio.sleep(full_jitter(failures, self.rng, cap=self.backoff_cap))
                failures += 1

    async def _local_key(self) -> str:
        """The desk's stable key (what the console files drafts and the outbox under)."""
        failures = 0
        while True:
            try:
                return desk_key(self.backend.name, await self.backend.desk())
            except NotFound:
                return self.backend.server  # a desk server from before desks had an id
            except Unreachable as exc:
                _emit({"event": "connection", "kind": "reconnecting", "detail": exc.message})
                await asyncio.sleep(full_jitter(failures, self.rng, cap=self.backoff_cap))
                failures += 1

    async def run(self) -> int:
        agent_id = await self._whoami()
        self.outbox = Outbox(self.db, await self._local_key(), account=str(agent_id))
        self.outbox.carry_over(self.backend.server)  # items queued when the URL was the key
        self.outbox.prune()
        self.sender = OutboxSender(
            self.outbox, self.backend, on_change=self._outbox_changed, backoff_cap=self.backoff_cap
        )
        self.engine = SyncEngine(
            self.backend,
            on_snapshot=self._snapshot,
            on_events=self._events,
            on_state=self._connection,
            heartbeat=self.heartbeat,
            backoff_cap=self.backoff_cap,
        )
        for conversation_id in self.tracked:
            self._track(conversation_id)
        _emit({"event": "ready", "agent_id": agent_id, "outbox": self.outbox.counts()})
        tasks = [
            asyncio.create_task(self.engine.run(), name="sync"),
            asyncio.create_task(self.sender.run(), name="outbox"),
            asyncio.create_task(self._fetcher(), name="fetch"),
            asyncio.create_task(self._commands(), name="commands"),
        ]
        stop = asyncio.create_task(self._stop.wait())
        code = 0
        try:
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop and task.exception() is not None:
                    exc = task.exception()
                    if isinstance(exc, NotAuthenticated):
                        _emit({"event": "connection", "kind": "offline", "detail": exc.message})
                        code = 3
                    else:
                        raise exc  # type: ignore[misc]
            if code == 0:
                await self._drain()
        finally:
            for task in [*tasks, stop]:
                task.cancel()
            await asyncio.gather(*tasks, stop, return_exceptions=True)
            _emit({"event": "state", **self.dump()})
            self.sender.close()
            self.outbox.close()
        return code

    async def _drain(self) -> None:
        """Give pending outbox items up to `drain_timeout` to go out before exiting."""
        assert self.outbox is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_timeout
        while self.outbox.counts()["pending"] and loop.time() < deadline:
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()

    # --- the sync engine's callbacks ----------------------------------------------------------

    def _snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.replace:
            self.resyncs += 1
            self.state.replace_snapshot(snapshot.conversations, snapshot.head_seq)
            # Events in the gap are gone: re-read every tracked thread.
            for conversation_id in self.tracked:
                self._schedule(conversation_id)
        else:
            self.state.load_snapshot(snapshot.conversations, snapshot.head_seq)
        if self.track_all:
            for conversation in snapshot.conversations:
                self._track(conversation.id)
        _emit(
            {
                "event": "snapshot",
                "replace": snapshot.replace,
                "head_seq": snapshot.head_seq,
                "conversations": len(snapshot.conversations),
            }
        )

    def _events(self, events: list[Event]) -> None:
        change = self.state.apply_all(events, clock.utcnow())
        if self.track_all:
            for conversation_id in change.conversations:
                self._track(conversation_id)

    def _connection(self, state: ConnectionState) -> None:
        self.connection = state
        _emit({"event": "connection", "kind": state.kind, "detail": state.detail})

    def _outbox_changed(self, item: OutboxItem) -> None:
        _emit({"event": "outbox", **item_json(item)})

    # --- tracked threads -------------------------------------------------------------------------

    def _track(self, conversation_id: int) -> None:
        if conversation_id in self.tracked and conversation_id in self.state.messages:
            return
        self.tracked.add(conversation_id)
        # Hold the thread from now on, so feed events land in it while the REST read runs.
        self.state.messages.setdefault(conversation_id, {})
        self._schedule(conversation_id)

    def _schedule(self, conversation_id: int) -> None:
        self.state.messages.setdefault(conversation_id, {})
        if conversation_id not in self._queued:
            self._queued.add(conversation_id)
            self._refetch.put_nowait(conversation_id)

    async def _fetcher(self) -> None:
        """Read tracked threads over REST; retried until the server answers."""
        failures = 0
        while True:
            conversation_id = await self._refetch.get()
            self._queued.discard(conversation_id)
            self._fetching = conversation_id
            while True:
                try:
                    messages = await self.backend.messages(conversation_id)
                except NotFound:
                    self.tracked.discard(conversation_id)
                    self.state.forget_messages(conversation_id)
                    break
                except Unreachable:
                    failures += 1
                    await asyncio.sleep(full_jitter(failures, self.rng, base=0.2, cap=self.backoff_cap))
                    continue
                failures = 0
                # Union with what the feed delivered meanwhile: messages never change or vanish.
                self.state.set_messages(conversation_id, messages)
                break
            self._fetching = None

    # --- commands ---------------------------------------------------------------------------------

    async def _commands(self) -> None:
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def read() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read, name="stdin", daemon=True).start()
        while True:
            line = await lines.get()
            if line is None:
                self.stop()
                return
            if not line.strip():
                continue
            try:
                command = json.loads(line)
                if not isinstance(command, dict):
                    raise ValueError("a command is a JSON object")
                answer = await self.handle(command)
            except (ValueError, KeyError, TypeError, msgspec.ValidationError, BackendError) as exc:
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                command = command if isinstance(command, dict) else {}
            if "id" in command:
                answer["re"] = command["id"]
            _emit(answer)
            if command.get("op") == "quit":
                self.stop()
                return

    async def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.outbox is not None
        op = command.get("op")
        if op in ("reply", "note"):
            item = self.outbox.enqueue_message(
                int(command["conversation_id"]),
                str(command["body"]),
                private=op == "note" or bool(command.get("private", False)),
                last_seen_message_id=command.get("last_seen_message_id"),
                force=bool(command.get("force", False)),
                key=command.get("key"),
            )
            return {"ok": True, "op": op, **item_json(item)}
        if op == "patch":
            patch = msgspec.convert(command["patch"], ConversationPatch, strict=False)
            item = self.outbox.enqueue_patch(int(command["conversation_id"]), patch, key=command.get("key"))
            return {"ok": True, "op": op, **item_json(item)}
        if op == "retry":
            item = self.outbox.retry(
                int(command["item"]),
                force=bool(command.get("force", False)),
                last_seen_message_id=command.get("last_seen_message_id"),
            )
            return {"ok": True, "op": op, **item_json(item)}
        if op == "track":
            self._track(int(command["conversation_id"]))
            return {"ok": True, "op": op}
        if op == "state":
            return {"ok": True, "op": op, **self.dump()}
        if op == "outbox":
            return {"ok": True, "op": op, "items": [item_json(i) for i in self.outbox.items()]}
        if op == "flush":
            while self.outbox.counts()["pending"]:
                await asyncio.sleep(0.05)
            return {"ok": True, "op": op, "outbox": self.outbox.counts()}
        if op == "quit":
            return {"ok": True, "op": op}
        raise ValueError(f"unknown op {op!r}")

    def dump(self) -> dict[str, Any]:
        return {
            "seq": self.state.seq,
            "connection": self.connection.kind,
            "conversations": {
                str(c.id): [c.status, c.seq]
                for c in sorted(self.state.conversations.values(), key=lambda c: c.id)
            },
            "messages": {str(cid): sorted(self.state.messages.get(cid, {})) for cid in sorted(self.tracked)},
            "refetching": len(self._queued) + (self._fetching is not None),
            "outbox": self.outbox.counts() if self.outbox is not None else {},
            "resyncs": self.resyncs,
            "reconnects": self.engine.reconnects if self.engine is not None else 0,
            # Who is typing where, as the feed said (expiry is the screen's business).
            "typing": {
                str(cid): sorted(key for key, signal in bucket.items() if signal.kind == "typing")
                for cid, bucket in sorted(self.state.signals.items())
                if any(signal.kind == "typing" for signal in bucket.values())
            },
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agent_console.client.headless",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--server", required=True, help="desk server URL, e.g. http://127.0.0.1:8765")
    parser.add_argument("--db", type=Path, default=None, help="local database (default: the console's)")
    parser.add_argument(
        "--track",
        type=int,
        action="append",
        default=[],
        help="keep this conversation's messages (repeatable)",
    )
    parser.add_argument("--track-all", action="store_true", help="keep the messages of every conversation")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="feed silence (s) that means dead")
    parser.add_argument("--backoff-cap", type=float, default=30.0, help="longest wait between reconnects")
    parser.add_argument(
        "--drain-timeout", type=float, default=30.0, help="on exit, how long to wait for pending outbox items"
    )
    parser.add_argument("--log", type=Path, default=None, help="write a (token-redacted) log here")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        print(f"error: set {TOKEN_ENV} to your API token", file=sys.stderr)
        return 2
    if args.log is not None:
        from agent_console.client.logs import setup_logging

        setup_logging(args.log, args.log_level.upper())

    async def go() -> int:
        backend = NativeBackend(args.server, token, verify=not args.insecure)
        console = HeadlessConsole(
            backend,
            db=args.db or default_path(),
            track_all=args.track_all,
            track=tuple(args.track),
            heartbeat=args.heartbeat,
            backoff_cap=args.backoff_cap,
            drain_timeout=args.drain_timeout,
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the session went away
            loop.add_signal_handler(signum, console.stop)
        try:
            return await console.run()
        except NotAuthenticated as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 3
        finally:
            await backend.aclose()

    return asyncio.run(go())


if __name__ == "__main__":
    sys.exit(main())
