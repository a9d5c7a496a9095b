"""`python -m bench --quick` runs end to end and reports in the documented shapes.

It drives the real console in a pty against a real desk server, so it is a smoke test of
the benchmark machinery, on a subset that runs in well under a minute (the whole quick
suite takes about a minute and a half on two cores). Nothing here asserts a time:
measuring is bench/'s job, not the test suite's.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUBSET = ("P1", "P2", "P7", "P8")  # pty + markers, burst + keys, websocket fan-out, RSS

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs a pty and /proc")


def test_bench_quick_smoke(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_CONSOLE_", "BENCH_"))}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", ",".join(SUBSET), "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard, not a target
    )
    assert done.returncode == 0, done.stderr[-4000:]

    lines = done.stdout.splitlines()
    assert lines[0].split() == ["metric", "median", "min", "max", "target", "verdict"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    rows = lines[2:]
    assert rows and all(row.rstrip().endswith(("pass", "FAIL", "info")) for row in rows)

    document = json.loads(out.read_text())
    assert document["quick"] is True
    assert {"python", "platform", "cpus", "cpu_model", "textual"} <= set(document["machine"])
    results = document["results"]
    # One entry per metric, one table row per entry, every benchmark asked for reported.
    assert len(results) == len(rows)
    keys = [(r["benchmark"], r["metric"]) for r in results]
    assert len(set(keys)) == len(keys)
    assert {r["benchmark"] for r in results} == set(SUBSET)
    for result, row in zip(results, rows, strict=True):
        assert row.startswith(f"{result['benchmark']}: {result['metric']}")
        fields = {"metric", "unit", "median", "min", "max", "target", "verdict", "samples", "note"}
        assert fields <= set(result)
        values = [result["median"], result["min"], result["max"], *result["samples"]]
        assert values and all(isinstance(v, int | float) and math.isfinite(v) for v in values), result
        assert result["min"] <= result["median"] <= result["max"]
        assert result["target"] is None or isinstance(result["target"], int | float)
        assert result["verdict"] in ("pass", "FAIL", "info")
