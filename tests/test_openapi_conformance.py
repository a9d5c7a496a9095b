"""schemathesis against the running desk server's own OpenAPI document, every phase and
every check: examples, coverage (boundary and negative values), fuzzing, and the stateful
phase (chains of calls through the links it infers between operations). 0 failures means:
no 5xx; no response the document does not describe (status, content type, headers, body);
nothing the document allows is refused (a label of "", `61261.0` as an id) and nothing it
forbids is accepted; OPTIONS and 405 answers list every method a path takes."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import Desk

# Examples per operation and phase: enough to reach every boundary the coverage phase
# derives, small enough to finish in a minute or two on two shared cores.
MAX_EXAMPLES = "25"


def test_api_conforms_to_its_document_in_every_phase(desk: Desk) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
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
            "--generation-deterministic",
            "--continue-on-failure",
            "--workers",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = result.stdout[-20_000:] + result.stderr[-3_000:]
    assert result.returncode == 0, report
    # Every phase ran: the stateful one reports the scenarios it played.
    assert "Coverage" in result.stdout and "Scenarios:" in result.stdout, report
