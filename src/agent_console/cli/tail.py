"""`agent-console tail`: the live event feed as JSON lines, resumed across disconnects.

How it resumes: it remembers the seq of the last event it received (printed or filtered
out) and, whenever the websocket drops, reconnects with `since=<that seq>`. The server
replays everything after it, so nothing is missed; any event at or below that seq is
skipped, so nothing is printed twice. Reconnects back off exponentially with full jitter
(a random wait between 0 and min(cap, 0.5 s * 2^attempt), cap 30 s), with one status line
on stderr each time. `resync_required` (the server no longer keeps events that old) is
printed as `{"type":"resync_required","seq":N}` and tailing continues from N.

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent_console.cli.options import EPILOG, Settings, command
from agent_console.client.backoff import full_jitter

if TYPE_CHECKING:
    from agent_console.client.backend import Backend

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0

_TYPE_HELP = (
    "Only events of this type (repeat, or comma-separate; `conversation.*` matches a family):"
    " conversation.created, conversation.updated, message.created, presence.updated,"
    " typing, viewing, conversation.read."
)


def backoff_delay(
    attempt: int, rng: random.Random, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP
) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
    return full_jitter(attempt, rng, base=base, cap=cap)


def type_filter(values: list[str] | None) -> Callable[[str], bool] | None:
    """A predicate for --type values, or None for every type; BadParameter on unknown types."""
    from agent_console.core.models import EVENT_TYPES

    if not values:
        return None
    exact: set[str] = set()
    prefixes: list[str] = []
    for value in values:
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            if part.endswith(".*"):
                family = part[:-1]
                if not any(t.startswith(family) for t in EVENT_TYPES):
                    raise typer.BadParameter(f"no event type matches {part!r}", param_hint="--type")
                prefixes.append(family)
            elif part in EVENT_TYPES:
                exact.add(part)
            else:
                raise typer.BadParameter(
                    f"{part!r} is not an event type ({', '.join(EVENT_TYPES)})", param_hint="--type"
                )
    return lambda kind: kind in exact or any(kind.startswith(p) for p in prefixes)


def frame_line(event: Any) -> str:
    """The event as the server framed it: {"seq","type","at","data"}, compact JSON."""
    import msgspec

    from agent_console.core.clock import to_iso

    return msgspec.json.encode(
        {"seq": event.seq, "type": event.type, "at": to_iso(event.at), "data": event.data}
    ).decode()


async def follow(
    backend: Backend,
    since: int | None,
    *,
    emit: Callable[[str], None],
    status: Callable[[str], None],
    wanted: Callable[[str], bool] | None = None,
    cap: float = BACKOFF_CAP,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[Any]] | None = None,
) -> None:
    """Print events from `since` on, forever; returns only by cancellation or an auth error."""
    import asyncio
    import json

    from agent_console.client.errors import NotAuthenticated, Unreachable

    rng = rng or random.Random()
    sleep = sleep or asyncio.sleep
    # A reachable server and a valid token first (exit 6 or 3 otherwise), and an anchor:
    # without --since, start at the log's head so a drop before the first event loses nothing.
    if since is None:
        since = (await backend.conversations(view="all", limit=1)).head_seq
    else:
        await backend.me()
    last = since
    attempt = 0
    dropped = False
    while True:
        reason = "the server closed the feed"
        try:
            async for item in backend.feed(last, presence=False):  # a watcher, not a shift
                if dropped:
                    status(f"tail: reconnected, resuming after seq {last}")
                    dropped = False
                attempt = 0
                if item.kind == "event" and item.event is not None:
                    if item.seq <= last:
                        continue  # already printed (or filtered) before the drop
                    last = item.seq
                    if wanted is None or wanted(item.event.type):
                        emit(frame_line(item.event))
                elif item.kind == "resync_required":
                    emit(json.dumps({"type": "resync_required", "seq": item.seq}))
                    last = item.seq
        except NotAuthenticated:
            raise
        except Unreachable as exc:
            reason = exc.message
        delay = backoff_delay(attempt, rng, cap=cap)
        attempt += 1
        dropped = True
        status(f"tail: {reason}; reconnecting after seq {last} in {delay:.1f}s (attempt {attempt})")
        await sleep(delay)


def tail(
    settings: Settings,
    since: Annotated[
        int | None,
        typer.Option(
            min=0,
            metavar="SEQ",
            help="Replay events after this seq first (0: all the server keeps). Default: new ones.",
        ),
    ] = None,
    event_type: Annotated[list[str] | None, typer.Option("--type", metavar="TYPE", help=_TYPE_HELP)] = None,
    backoff_cap: Annotated[
        float,
        typer.Option("--backoff-cap", min=0.0, metavar="SECONDS", help="Longest wait between reconnects."),
    ] = BACKOFF_CAP,
) -> None:
    """Stream the live event feed as JSON lines, one event a line, until ctrl+c.

    Each line is the server's frame: {"seq": N, "type": "...", "at": "...", "data": {...}}.
    It survives disconnects and server restarts without gaps or duplicates (it resumes from
    the last seq it saw); status lines go to stderr.

    \b
    Examples:
      agent-console tail
      agent-console tail --since 0 --type message.created
      agent-console tail --type 'conversation.*' | jq -c '.data.conversation.id'
    """
    wanted = type_filter(event_type)
    from agent_console.cli import runtime

    conn = runtime.connection(settings)

    def emit(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def status(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    async def work(backend):
        import asyncio
        import signal

        task = asyncio.current_task()
        try:  # SIGTERM stops as cleanly as ctrl+c does
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        except (NotImplementedError, RuntimeError, AttributeError):  # pragma: no cover - Windows
            pass
        try:
            await follow(backend, since, emit=emit, status=status, wanted=wanted, cap=backoff_cap)
        except asyncio.CancelledError:
            return

    try:
        runtime.run_with(conn, work)
    except KeyboardInterrupt:
        return


def register(app: typer.Typer) -> None:
    command(app, "tail", output=False, epilog=EPILOG)(tail)
