"""Many live-feed sockets in one process, for P7 (run by bench.p7_fanout, not by hand).

    python -m bench.fanout_client URL TOKENS_FILE OUT_FILE

Opens one websocket per token (`/api/v1/events`, live only), up to 100 handshakes at a
time, and prints `READY <seconds>` when all are open (the seconds from the first handshake
to the last). It stamps every `message.created` frame whose body starts with a `FO<serial>`
marker with time.monotonic() as it arrives, counts `presence.updated` frames per socket, and
on a line "STOP" on stdin (or after an hour at most) writes
{"sockets": [[[serial, stamp], ...], ...], "closed": [...], "presence": [...]} to OUT_FILE.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import time

MARK = re.compile(r'"body":"FO(\d+)')


async def main(url: str, tokens: list[str], out: str) -> None:
    from websockets.asyncio.client import connect

    ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/api/v1/events"
    received: list[list[tuple[int, float]]] = [[] for _ in tokens]
    presence = [0 for _ in tokens]
    closed: list[str] = ["" for _ in tokens]
    sockets: list = [None] * len(tokens)
    gate = asyncio.Semaphore(100)

    async def open_one(index: int) -> None:
        async with gate:
            sockets[index] = await connect(
                ws_url,
                additional_headers={"Authorization": f"Bearer {tokens[index]}"},
                max_size=None,
                open_timeout=60,
                ping_interval=None,
                compression=None,
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
                elif '"presence.updated"' in frame:
                    presence[index] += 1
            closed[index] = f"closed by the server: {sockets[index].close_code}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded for the report
            closed[index] = f"{type(exc).__name__}: {exc}"

    started = time.monotonic()
    tasks: list[asyncio.Task] = []

    async def open_and_pump(index: int) -> None:
        await open_one(index)
        tasks.append(asyncio.create_task(pump(index)))

    await asyncio.gather(*(open_and_pump(i) for i in range(len(tokens))))
    print(f"READY {time.monotonic() - started:.3f}", flush=True)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), 3600)
    except TimeoutError:
        pass
    for task in tasks:
        task.cancel()
    # Results first: closing many sockets politely is not what is measured.
    with open(out, "w") as handle:
        json.dump({"sockets": received, "closed": closed, "presence": presence}, handle)
    try:
        await asyncio.wait_for(asyncio.gather(*(s.close() for s in sockets), return_exceptions=True), 5)
    except TimeoutError:
        pass


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a socket per agent
    url, tokens_file, out_file = sys.argv[1:4]
    with open(tokens_file) as handle:
        token_list = [line.strip() for line in handle if line.strip()]
    asyncio.run(main(url, token_list, out_file))
