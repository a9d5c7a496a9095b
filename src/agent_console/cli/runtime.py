"""Running one command against the help desk: resolve the connection, open the backend,
await the work, close. Errors propagate to the root group, which maps them to exit codes."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from agent_console.cli.options import Settings

if TYPE_CHECKING:
    from agent_console.client.backend import Backend
    from agent_console.client.config import Connection

T = TypeVar("T")


def connection(settings: Settings) -> Connection:
    from agent_console.client.config import resolve_connection

    return resolve_connection(settings.server, settings.profile)


def open_backend(conn: Connection) -> Backend:
    # httpx's package __init__ imports its optional command-line client (click, rich, pygments)
    # when those happen to be installed: ~40 ms of start-up that a `convs --output json` does
    # not need. A None entry makes that optional import fail fast, as httpx expects it may.
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    verify = conn.verify
    if conn.server.startswith("http://"):
        # No TLS to a plain-http server, so skip loading the CA store (~40 ms). The context
        # trusts nothing: should anything turn this into TLS, verification fails closed.
        import ssl

        verify = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # type: ignore[assignment]
    if conn.backend == "chatwoot":
        from agent_console.client.chatwoot import ChatwootBackend

        assert conn.account_id is not None  # resolve_connection refuses Chatwoot without one
        return ChatwootBackend(
            conn.server, conn.token, account_id=conn.account_id, portal=conn.portal, verify=verify
        )
    from agent_console.client.native import NativeBackend

    return NativeBackend(conn.server, conn.token, verify=verify)


def call(settings: Settings, work: Callable[[Backend], Awaitable[T]]) -> T:
    """Run `work(backend)` to completion and return what it returned."""
    conn = connection(settings)
    return run_with(conn, work)


def run_with(conn: Connection, work: Callable[[Backend], Awaitable[T]]) -> T:
    import asyncio

    async def main() -> T:
        backend = open_backend(conn)
        try:
            return await work(backend)
        finally:
            await backend.aclose()

    return asyncio.run(main())


def read_text_argument(
    text: str, what: str, *, max_chars: int | None = None, desk: str = "the desk server"
) -> str:
    """TEXT, or all of stdin for `-`; empty text, or text over `max_chars`, is a usage error
    (exit 2), found before anything is sent."""
    import typer

    if text == "-":
        if sys.stdin is None:
            raise typer.BadParameter(f"'-' reads the {what} from stdin, but there is no stdin")
        text = sys.stdin.read()
    if not text.strip():
        raise typer.BadParameter(f"the {what} is empty")
    if max_chars is not None and len(text) > max_chars:
        raise typer.BadParameter(
            f"the {what} is {len(text):,} characters; {desk} takes at most {max_chars:,}"
        )
    return text


def max_message_chars(backend: str = "native") -> int | None:
    """The longest message body the help desk takes: on the desk server what the wire schema
    allows, read from the schema itself (`core.models.Body`) so the CLI and the server can
    never disagree; on Chatwoot what its message model allows."""
    from typing import get_args

    if backend == "chatwoot":
        from agent_console.client.chatwoot.mapping import MAX_CONTENT

        return MAX_CONTENT

    from agent_console.core.models import Body

    limits = [getattr(meta, "max_length", None) for meta in get_args(Body)[1:]]
    return next((limit for limit in limits if limit is not None), None)


async def collect_pages(
    fetch: Callable[[int, str | None], Awaitable[Any]], *, limit: int, all_pages: bool
) -> list[Any]:
    """Read keyset pages (`fetch(want, cursor)` returns one with `items` and `next_cursor`) until
    `limit` items are in, or to the end with `all_pages`; at most 500 a request."""
    items: list[Any] = []
    cursor = None
    while True:
        want = 500 if all_pages else min(500, limit - len(items))
        page = await fetch(want, cursor)
        items += page.items
        cursor = page.next_cursor
        if cursor is None or (not all_pages and len(items) >= limit):
            return items
