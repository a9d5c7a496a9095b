"""`python -m bench [--only NAME[,NAME]] [--quick] [--out PATH] [--strict] [--list]`.

Prints a table (metric, median, min, max, target, verdict) and writes the results to
bench/results.json (or --out). --quick is a smoke run (few repeats, well under a minute).
Exit status: 0, or 1 with --strict when a metric misses its target.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BENCHMARKS, DEFAULT_RESULTS, DEFAULT_RUN, Context, Result, table, write_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        help=f"comma-separated benchmarks: {', '.join(BENCHMARKS)}"
        f" (default: {','.join(DEFAULT_RUN)}; P4 includes cli)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: few repeats")
    parser.add_argument("--repeats", type=int, help="samples per metric (default 15, quick 5)")
    parser.add_argument("--out", type=Path, default=DEFAULT_RESULTS, help="results JSON path")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    if args.list:
        for name, module in BENCHMARKS.items():
            print(f"{name}\t{module}")
        return 0
    names = [n.strip() for n in (args.only or ",".join(DEFAULT_RUN)).split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")

    repeats = args.repeats or (5 if args.quick else 15)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="agent-console-bench-") as scratch:
        for name in names:
            module = importlib.import_module(BENCHMARKS[name])
            ctx = Context(quick=args.quick, workdir=Path(scratch), repeats=repeats)
            started = time.perf_counter()
            results += module.run(ctx)
            ctx.log(f"{name}: done in {time.perf_counter() - started:.1f} s")
    print(table(results))
    write_results(args.out, results, quick=args.quick)
    print(f"\nresults written to {args.out}", file=sys.stderr)
    if args.strict and any(r.verdict == "FAIL" for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
