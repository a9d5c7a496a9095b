"""The architecture's arrows, enforced: each layer imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "agent_console"

# Which of our packages each layer may import (its own included).
ALLOWED = {
    "core": {"core"},
    "demo": {"demo", "core"},
    "client": {"client", "core", "demo"},
    "server": {"server", "core", "demo"},
    "tui": {"tui", "client", "core"},
    "cli": {"cli", "client", "core", "server", "tui", "demo"},
}
# core/ is pure: no I/O, no UI, no network libraries.
CORE_FORBIDDEN = {
    "textual",
    "rich",
    "httpx",
    "websockets",
    "socket",
    "sqlite3",
    "litestar",
    "uvicorn",
    "keyring",
    "platformdirs",
    "asyncio",
    "subprocess",
    "os",
}


def imports_of(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def modules(layer: str) -> list[Path]:
    return sorted((SRC / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_downward(layer: str) -> None:
    problems = []
    for path in modules(layer):
        for name, line in imports_of(path):
            parts = name.split(".")
            if parts[0] == "agent_console" and len(parts) > 1 and parts[1] in ALLOWED:
                if parts[1] not in ALLOWED[layer]:
                    problems.append(f"{path.relative_to(SRC)}:{line} imports {name}")
    assert not problems, "layer violations:\n" + "\n".join(problems)


def test_core_stays_pure() -> None:
    problems = [
        f"{path.relative_to(SRC)}:{line} imports {name}"
        for path in modules("core")
        for name, line in imports_of(path)
        if name.split(".")[0] in CORE_FORBIDDEN
    ]
    assert not problems, "core/ must stay free of I/O and UI:\n" + "\n".join(problems)


def test_layers_exist() -> None:
    assert all(modules(layer) for layer in ALLOWED)
