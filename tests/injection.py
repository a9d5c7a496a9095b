"""Load the terminal-injection corpus in tests/data/injection_vectors.json.

Shared by the sanitizer unit tests and the end-to-end test that pushes every
vector through the desk server into the running TUI and inspects the bytes the
terminal receives.

Each JSON entry has ``name``, ``category`` and one of:

* ``payload``: a string (written with JSON ``\\u`` escapes; may hold lone
  surrogates, which only a ``str`` can carry),
* ``payload_b64``: raw bytes, for invalid UTF-8 and 8-bit controls,
* ``generate``: ``{"char", "count", "suffix"}`` for huge inputs built at load time.

``forbidden`` lists substrings that must reach neither the sanitized text nor
the terminal. They are anchored to the payload (a marker or a neighbouring
byte), because the TUI legitimately writes its own CSI sequences: checking the
terminal stream for a bare ``"\\x1b["`` would always fail. ``expect`` (optional)
lists substrings that must be shown literally, e.g. markup that must not be
parsed. They may contain ``\\n``, which on screen means a line break.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

VECTORS_PATH = Path(__file__).parent / "data" / "injection_vectors.json"


@dataclass(frozen=True)
class Vector:
    name: str
    category: str
    raw: str | bytes
    forbidden: tuple[str, ...]
    expect: tuple[str, ...] = ()

    def __repr__(self) -> str:  # keep pytest ids and failure output short
        return f"Vector({self.name!r}, {self.category!r}, {len(self.raw)} units)"


def _raw(entry: dict) -> str | bytes:
    if "payload" in entry:
        return entry["payload"]
    if "payload_b64" in entry:
        return base64.b64decode(entry["payload_b64"], validate=True)
    if "generate" in entry:
        spec = entry["generate"]
        return spec["char"] * spec["count"] + spec.get("suffix", "")
    raise ValueError(f"vector {entry.get('name')!r} has no payload")


def load_vectors(path: Path = VECTORS_PATH) -> list[Vector]:
    """Return every vector of the corpus, in file order."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    vectors = [
        Vector(
            name=entry["name"],
            category=entry["category"],
            raw=_raw(entry),
            forbidden=tuple(entry.get("forbidden", ())),
            expect=tuple(entry.get("expect", ())),
        )
        for entry in entries
    ]
    names = [vector.name for vector in vectors]
    if len(set(names)) != len(names):
        raise ValueError("duplicate vector names in the corpus")
    return vectors
