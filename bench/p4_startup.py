"""P4 start-up: the CLI (`--help`, `convs --output json`; measured by bench.cli_startup and
reported here under P4) and the console's first paint.

TUI first paint. `agent-console` (the installed entry point, the way an agent starts it;
server and token from the environment) is spawned in a real 160x48 pty; time from just
before the spawn to the first frame of the console screen on the terminal (its status
bar). Also spawn to the first queue row (target 600 ms), which adds the REST snapshot of
a desk with 200 open conversations. The floor is `python -c pass`, in the same table.
"""

from __future__ import annotations

import dataclasses
import re

from bench import cli_startup
from bench.common import Context, Result, cli_command
from bench.datagen import Spec
from bench.harness import COLS, ROWS, console_env, console_queue, generated, live_desk
from bench.terminal import Terminal

PAINT_TARGET = 500.0
FIRST_ROW_TARGET = 600.0  # first paint must not be bought with a later first row
SPEC = Spec(open_conversations=200, closed_conversations=40, messages=1200, kb_articles=40)
FIRST_FRAME = re.compile(rb"CONNECTING|LIVE")


def run(ctx: Context) -> list[Result]:
    results = [dataclasses.replace(r, benchmark="P4") for r in cli_startup.run(ctx)]
    runs = 2 if ctx.quick else 10
    gen = generated(ctx, "p4", SPEC)
    first_name = console_queue(gen.path)[0].contact.name.encode()
    paints: list[float] = []
    rows: list[float] = []
    with live_desk(gen) as desk:
        env = console_env(ctx, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.token)
        ctx.log(f"P4: console first paint x{runs} (+1 warm-up)")
        for index in range(runs + 1):
            with Terminal([*cli_command()], env=env, cols=COLS, rows=ROWS) as term:
                painted = term.wait_for_regex(FIRST_FRAME, timeout=30)
                shown = term.wait_for(first_name, timeout=30)
                if painted is None or shown is None:
                    raise RuntimeError("P4: the console did not paint")
                if index:  # the first start writes bytecode caches, as an install would have
                    paints.append((painted[1] - term.spawned_at) * 1000)
                    rows.append((shown[1] - term.spawned_at) * 1000)
                term.wait_quiet(0.3, timeout=10)
    results += [
        Result(
            "P4",
            "TUI first paint",
            paints,
            target=PAINT_TARGET,
            note="`agent-console` spawn to the console screen's first frame",
        ),
        Result(
            "P4",
            "TUI spawn to first queue row",
            rows,
            target=FIRST_ROW_TARGET,
            note=f"{len(console_queue(gen.path))} open conversations over REST",
        ),
    ]
    return results
