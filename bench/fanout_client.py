"""Many live-feed sockets in one process, for P7 (run by bench.p7_fanout, not by hand).

    python -m bench.fanout_client URL TOKENS_FILE OUT_FILE

Opens one websocket per token (`/api/v1/events`, live only), prints READY when all are
open, stamps every `message.created` frame whose body starts with a `FO<serial>` marker
with time.monotonic() as it arrives, and on a line "STOP" on stdin (or after an hour at
most) writes {"sockets": [[[serial, stamp], ...], ...], "closed": [...]} to OUT_FILE.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time

MARK = re.compile(r'"body":"FO(\d+)')


async def main(url: str, tokens: list[str], out: str) -> None:
    from websockets.asyncio.client import connect

    ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/api/v1/events"
    received: list[list[tuple[int, float]]] = [[] for _ in tokens]
    closed: list[str] = ["" for _ in tokens]
    sockets = []
    for token in tokens:
        sockets.append(
            await connect(
                ws_url,
                additional_headers={"Authorization": f"Bearer {token}"},
                max_size=None,
                open_timeout=30,
                ping_interval=None,
            )
        )

    async def pump(index: int) -> None:
        seen = received[index]
        try:
            async for frame in sockets[index]:
                stamp = time.monotonic()
                if '"message.created"' in frame:
                    match = MARK.search(frame)
                    if match:
                        seen.append((int(match.group(1)), stamp))
            closed[index] = f"closed by the server: {sockets[index].close_code}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded for the report
            closed[index] = f"{type(exc).__name__}: {exc}"

    tasks = [asyncio.create_task(pump(i)) for i in range(len(tokens))]
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), 3600)
    except TimeoutError:
        pass
    for task in tasks:
        task.cancel()
    # Results first: closing 100 sockets politely is not what is measured.
    with open(out, "w") as handle:
        json.dump({"sockets": received, "closed": closed}, handle)
    try:
        await asyncio.wait_for(asyncio.gather(*(s.close() for s in sockets), return_exceptions=True), 5)
    except TimeoutError:
        pass


if __name__ == "__main__":
    url, tokens_file, out_file = sys.argv[1:4]
    with open(tokens_file) as handle:
        token_list = [line.strip() for line in handle if line.strip()]
    asyncio.run(main(url, token_list, out_file))
