"""Shared pieces for benchmark modules: results, a registry, timing, a desk server with data.

A benchmark module is a module with `run(ctx: Context) -> list[Result]`, listed in
`BENCHMARKS` under a short name (what `--only` takes). To add one: write
`bench/<name>.py` with that function and add `"<name>": "bench.<name>"` below.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_RESULTS = BENCH_DIR / "results.json"

# name -> module path; every module has run(ctx) -> list[Result]
BENCHMARKS: dict[str, str] = {
    "cli": "bench.cli_startup",
    "P1": "bench.p1_event_to_screen",
    "P2": "bench.p2_burst",
    "P3": "bench.p3_scale",
    "P4": "bench.p4_startup",
    "P5": "bench.p5_kb_search",
    "P6": "bench.p6_bandwidth",
    "P7": "bench.p7_fanout",
    "P8": "bench.p8_memory",
    "P9": "bench.p9_picker",
    "STATS": "bench.stats_query",
    "P10": "bench.p10_bot",
    "PGKB": "bench.pg_kb_search",  # KB search on PostgreSQL next to SQLite (issue 14; not a target)
    "P11": "bench.p11_cluster",  # 4 processes on one PostgreSQL, one killed; SQLite beside it (issue 14)
}
# What `python -m bench` runs without --only: P4 includes the `cli` measurements.
DEFAULT_RUN: tuple[str, ...] = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11")


@dataclass
class Context:
    """What a benchmark run may use: how hard to try, and a scratch directory."""

    quick: bool
    workdir: Path
    repeats: int = 15
    warmup: int = 1
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))


@dataclass
class Result:
    """One measured metric: its samples and, when it has one, the target it must meet."""

    benchmark: str
    metric: str
    samples: list[float]
    unit: str = "ms"
    target: float | None = None  # the median must be at or below this
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        return "pass" if self.median <= self.target else "FAIL"

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data.update(
            median=round(self.median, 2),
            min=round(self.min, 2),
            max=round(self.max, 2),
            verdict=self.verdict,
            samples=[round(s, 2) for s in self.samples],
        )
        return data


# --- timing ----------------------------------------------------------------------------------


def time_command(
    argv: Sequence[str],
    *,
    repeats: int,
    warmup: int = 1,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> list[float]:
    """Wall-clock milliseconds of `argv` as a fresh process each time (a cold start of the
    interpreter and the program; the OS file cache stays warm, as it is for a user).

    Bytecode caches are allowed (PYTHONDONTWRITEBYTECODE is dropped; the warm-up run writes
    them), as an installed package has them: compiling sources on every start is a
    development-checkout artefact, not what a user pays."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    samples: list[float] = []
    for index in range(warmup + repeats):
        start = time.perf_counter()
        done = subprocess.run(
            list(argv),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        elapsed = (time.perf_counter() - start) * 1000
        if check and done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {detail}")
        if index >= warmup:
            samples.append(elapsed)
    return samples


def time_call(fn: Callable[[], object], *, repeats: int, warmup: int = 1) -> list[float]:
    """Milliseconds per call of `fn` in this process."""
    samples: list[float] = []
    for index in range(warmup + repeats):
        start = time.perf_counter()
        fn()
        if index >= warmup:
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def cli_command() -> list[str]:
    """How a user starts the CLI: the installed `agent-console` script next to this Python,
    or `python -m agent_console` when it is not installed as a script."""
    script = Path(sys.executable).with_name("agent-console")
    if script.exists():
        return [str(script)]
    found = shutil.which("agent-console")
    return [found] if found else [sys.executable, "-m", "agent_console"]


# --- a desk server with generated data ----------------------------------------------------------


@dataclass
class Desk:
    url: str
    token: str
    db: Path
    conversations: int

    def env(self) -> dict[str, str]:
        """Environment that points the CLI at this server (no config or keyring involved)."""
        return {"AGENT_CONSOLE_SERVER": self.url, "AGENT_CONSOLE_TOKEN": self.token}


@contextlib.contextmanager
def desk_server(workdir: Path, *, conversations: int = 240, seed: int = 7) -> Iterator[Desk]:
    """A desk server child on a free loopback port, its database seeded with the demo data
    set generated at `conversations` conversations, and an admin token for it."""
    from agent_console.server import db
    from agent_console.server.process import ServerProcess
    from agent_console.server.seed import seed_demo
    from agent_console.server.store import Store, ensure_agent

    path = workdir / f"bench-{conversations}.db"
    for stale in workdir.glob(f"{path.name}*"):
        stale.unlink()
    conn = db.connect(path)
    try:
        seed_demo(conn, seed=seed, conversations=conversations)
        _, token = ensure_agent(
            Store(conn), email="bench@bench.example", name="Bench", role="admin", timezone="UTC"
        )
        count = conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    finally:
        conn.close()
    with ServerProcess(path) as server:
        yield Desk(server.url, token, path, count)


# --- reporting -------------------------------------------------------------------------------


def table(results: Sequence[Result]) -> str:
    headers = ("metric", "median", "min", "max", "target", "verdict")
    rows = [
        (
            f"{r.benchmark}: {r.metric}",
            f"{r.median:.1f} {r.unit}",
            f"{r.min:.1f} {r.unit}",
            f"{r.max:.1f} {r.unit}",
            f"<= {r.target:g} {r.unit}" if r.target is not None else "-",
            r.verdict,
        )
        for r in results
    ]
    widths = [max(len(str(row[i])) for row in (headers, *rows)) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.partition(":")[2].strip()
                break
    try:
        from importlib.metadata import version

        textual = version("textual")
    except Exception:  # noqa: BLE001 - informational only
        textual = ""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu_model,
        "textual": textual,
    }


def write_results(path: Path, results: Sequence[Result], *, quick: bool) -> dict[str, object]:
    """Write (or update) the results file: entries of the benchmarks that ran are replaced,
    others are kept, so `--only` runs do not erase the rest."""
    ran = {r.benchmark for r in results}
    kept: list[dict[str, object]] = []
    if path.exists():
        try:
            previous = json.loads(path.read_text())
            kept = [r for r in previous.get("results", []) if r.get("benchmark") not in ran]
        except (ValueError, AttributeError):
            kept = []
    document = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": quick,
        "machine": machine(),
        "results": kept + [r.as_json() for r in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return document
