"""Cold start of the CLI: `agent-console --help` and `agent-console convs --output json`
against a local desk server holding 200+ conversations, next to the interpreter's floor
(`python -c pass`) measured in the same run.

Targets (medians): --help <= 120 ms, convs --output json <= 250 ms.
"""

from __future__ import annotations

import sys

from bench.common import Context, Result, cli_command, desk_server, time_command

HELP_TARGET_MS = 120.0
CONVS_TARGET_MS = 250.0


def run(ctx: Context) -> list[Result]:
    cli = cli_command()
    shown = "agent-console" if cli[0].endswith("agent-console") else "python -m agent_console"
    results = [
        Result(
            "cli",
            "python -c pass (floor)",
            time_command([sys.executable, "-c", "pass"], repeats=ctx.repeats, warmup=ctx.warmup),
        )
    ]
    ctx.log(f"cli: timing `{shown} --help` x{ctx.repeats}")
    results.append(
        Result(
            "cli",
            f"{shown} --help",
            time_command([*cli, "--help"], repeats=ctx.repeats, warmup=ctx.warmup),
            target=HELP_TARGET_MS,
        )
    )
    ctx.log("cli: starting a desk server with generated data")
    with desk_server(ctx.workdir, conversations=240) as desk:
        ctx.log(f"cli: timing `{shown} convs --output json` x{ctx.repeats} ({desk.url})")
        samples = time_command(
            [*cli, "convs", "--output", "json"],
            repeats=ctx.repeats,
            warmup=ctx.warmup,
            env=desk.env(),
        )
        results.append(
            Result(
                "cli",
                f"{shown} convs --output json",
                samples,
                target=CONVS_TARGET_MS,
                note=f"local desk server, {desk.conversations} conversations, token from env",
            )
        )
    return results
