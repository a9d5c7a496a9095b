"""`python -m bench --quick --only cli` runs and reports in the documented shapes.

Nothing here asserts a time: measuring is bench/'s job, not the test suite's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli_support import REPO


def test_bench_quick_cli_smoke(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_CONSOLE_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "cli", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["metric", "median", "min", "max", "target", "verdict"]
    rows = lines[2:]
    assert len(rows) == 3
    assert "python -c pass (floor)" in rows[0] and rows[0].rstrip().endswith("info")
    assert "--help" in rows[1] and "<= 120 ms" in rows[1]
    assert "convs --output json" in rows[2] and "<= 250 ms" in rows[2]
    assert all(row.rstrip().endswith(("pass", "FAIL", "info")) for row in rows)

    document = json.loads(out.read_text())
    assert document["quick"] is True
    assert {"python", "platform", "cpus"} <= set(document["machine"])
    results = document["results"]
    assert [r["benchmark"] for r in results] == ["cli"] * 3
    for result in results:
        assert {"metric", "unit", "median", "min", "max", "target", "verdict", "samples"} <= set(result)
        assert result["unit"] == "ms" and len(result["samples"]) == 5
        assert result["min"] <= result["median"] <= result["max"]
    assert [r["target"] for r in results] == [None, 120.0, 250.0]
    assert "conversations" in results[2]["note"]
