"""Render a results file as a Markdown table (for docs/BENCHMARKS.md).

    python -m bench.report [bench/results.json] [--compare OTHER.json] [--only P1,P2]

With --compare, a second value column shows OTHER's median for the same metric (e.g. a
run with proposed changes applied).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import DEFAULT_RESULTS


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def _value(result: dict) -> str:
    unit = result["unit"]
    low, mid, high = result["min"], result["median"], result["max"]
    if len(result["samples"]) == 1 or low == high:
        return f"{_number(mid)} {unit}"
    return f"{_number(mid)} {unit} ({_number(low)}–{_number(high)})"


def _target(result: dict) -> str:
    return "—" if result["target"] is None else f"≤ {result['target']:,g} {result['unit']}"


def _verdict(median: float, target: float | None) -> str:
    if target is None:
        return "info"
    return "pass" if median <= target else "**FAIL**"


def render(path: Path, compare: Path | None = None, only: set[str] | None = None) -> str:
    document = json.loads(path.read_text())
    other = {}
    if compare is not None:
        other = {(r["benchmark"], r["metric"]): r for r in json.loads(compare.read_text())["results"]}
    head = ["metric", "median (min–max)", "target", "verdict"]
    if compare is not None:
        head += ["with proposed changes", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for result in document["results"]:
        if only and result["benchmark"] not in only:
            continue
        row = [
            f"{result['benchmark']} {result['metric']}",
            _value(result),
            _target(result),
            _verdict(result["median"], result["target"]),
        ]
        if compare is not None:
            theirs = other.get((result["benchmark"], result["metric"]))
            row += [_value(theirs), _verdict(theirs["median"], theirs["target"])] if theirs else ["—", ""]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--only", help="comma-separated benchmarks")
    args = parser.parse_args()
    only = {n.strip() for n in args.only.split(",")} if args.only else None
    print(render(args.results, args.compare, only))


if __name__ == "__main__":
    main()
