"""schemathesis against the running desk server's own OpenAPI document, every phase and
every check: examples, coverage (boundary and negative values), fuzzing, and the stateful
phase (chains of calls through the links it infers between operations). 0 failures means:
no 5xx; no response the document does not describe (status, content type, headers, body);
nothing the document allows is refused (a label of "", `61261.0` as an id) and nothing it
forbids is accepted; OPTIONS and 405 answers list every method a path takes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ENGINES, Desk, start_desk

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL

# Examples per operation and phase: enough to reach every boundary the coverage phase
# derives, small enough to finish in a minute or two on two shared cores.
MAX_EXAMPLES = "100"


# A body past the 1 MiB limit is refused with 413 before its fields are looked at: a
# rejection like 422, which schemathesis's default list for invalid data leaves out.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
"""


@pytest.fixture
def own_desk(database: Path | str) -> Iterator[Desk]:
    """A seeded desk of this test's own: with an admin token the fuzzer deactivates agents,
    rotates their tokens and renames labels, which the session desk's other users must not see."""
    running = start_desk(database)
    yield running
    running.server.stop()


@pytest.mark.timeout(1200)  # the admin routes doubled the operations to fuzz
def test_api_conforms_to_its_document_in_every_phase(own_desk: Desk, tmp_path: Path) -> None:
    desk = own_desk
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            f"{desk.api}/openapi.json",
            "--url",
            desk.url,
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--header",
            f"Authorization: Bearer {desk.admin_token}",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "1",
            # The same cases every run (CI must not flake on a new random draw) ...
            "--generation-deterministic",
            # ... and strings a client can send as UTF-8: lone surrogates in a generated Python
            # string reach the server as JSON escapes that pair up into other characters.
            "--generation-codec",
            "utf-8",
            "--continue-on-failure",
            "--workers",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=1100,
    )
    report = result.stdout[-20_000:] + result.stderr[-3_000:]
    assert result.returncode == 0, report
    # Every phase ran: the stateful one reports the scenarios it played.
    assert "Coverage" in result.stdout and "Scenarios:" in result.stdout, report
