"""The registry of bindable actions, and checking a user's key remaps against it.

Every `Binding` in the console has an id. Users remap keys in the config file's `[keys]`
table (`"conv.resolve" = "ctrl+r"`). A remap with an unknown id, a key Textual cannot
name, or a key another binding in the same place already uses is reported and skipped;
the other remaps still apply.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import Keys, _character_to_key

MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}
_NAMED = (
    {key.value for key in Keys}
    | {f"f{n}" for n in range(1, 25)}
    | {_character_to_key(chr(code)) for code in range(33, 127)}  # slash, question_mark, ...
)


@dataclass(frozen=True, slots=True)
class BindingInfo:
    id: str
    keys: tuple[str, ...]
    description: str
    scope: str  # the class whose BINDINGS holds it


def scopes() -> dict[str, list[Binding]]:
    """Every place that declares bindings, by name (imported here to avoid cycles)."""
    from agent_console.tui.app import ConsoleApp
    from agent_console.tui.screens.console import ConsoleScreen
    from agent_console.tui.screens.help import HelpScreen
    from agent_console.tui.screens.kb import KbScreen
    from agent_console.tui.screens.pickers import PickerScreen, PromptScreen, ReviewScreen
    from agent_console.tui.widgets.composer import ComposerInput
    from agent_console.tui.widgets.queue_list import QueueList
    from agent_console.tui.widgets.thread import ThreadView

    classes = [
        ConsoleApp,
        ConsoleScreen,
        QueueList,
        ThreadView,
        ComposerInput,
        KbScreen,
        PickerScreen,
        PromptScreen,
        ReviewScreen,
        HelpScreen,
    ]
    return {cls.__name__: [b for b in cls.BINDINGS if isinstance(b, Binding)] for cls in classes}


# Scopes active at the same time: a key in one shadows or clashes with the other.
TOGETHER = {
    "ConsoleScreen": ("ConsoleApp", "QueueList", "ThreadView"),
    "QueueList": ("ConsoleScreen", "ConsoleApp"),
    "ThreadView": ("ConsoleScreen", "ConsoleApp"),
}


def registry() -> list[BindingInfo]:
    out = []
    for scope, bindings in scopes().items():
        for binding in bindings:
            if binding.id:
                keys = tuple(k.strip() for k in binding.key.split(",") if k.strip())
                out.append(BindingInfo(binding.id, keys, binding.description, scope))
    return out


def valid_key(key: str) -> bool:
    parts = key.split("+")
    *mods, name = parts
    if not name or any(m not in MODIFIERS for m in mods):
        return False
    if len(name) == 1:
        return unicodedata.category(name)[0] != "C"
    return name in _NAMED


def check_keymap(keymap: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Split a user's keymap into the remaps to apply and one message per rejected remap."""
    known = registry()
    by_id: dict[str, list[BindingInfo]] = {}
    for info in known:
        by_id.setdefault(info.id, []).append(info)
    accepted: dict[str, str] = {}
    problems: list[str] = []
    for ident, value in keymap.items():
        if ident not in by_id:
            problems.append(f"[keys] {ident!r}: no such binding id (see ? for the ids)")
            continue
        if not isinstance(value, str) or not value.strip():
            problems.append(f'[keys] {ident!r}: give the key as a string, e.g. "ctrl+r"')
            continue
        keys = [k.strip() for k in value.split(",") if k.strip()]
        bad = [k for k in keys if not valid_key(k)]
        if bad:
            problems.append(f"[keys] {ident!r}: {', '.join(bad)} is not a key name (try ctrl+r, f5, x)")
            continue
        accepted[ident] = ",".join(keys)
    # Clashes: compare every binding's effective keys within scopes active together.
    effective = {
        (info.scope, info.id): tuple(accepted[info.id].split(",")) if info.id in accepted else info.keys
        for info in known
    }
    for ident in list(accepted):
        for info in by_id[ident]:
            neighbours = (info.scope, *TOGETHER.get(info.scope, ()))
            for (scope, other_id), other_keys in effective.items():
                if other_id == ident or scope not in neighbours:
                    continue
                shared = set(accepted[ident].split(",")) & set(other_keys)
                if shared:
                    problems.append(
                        f"[keys] {ident!r}: {', '.join(sorted(shared))} is already {other_id!r};"
                        " remap skipped"
                    )
                    accepted.pop(ident, None)
                    break
            if ident not in accepted:
                break
    return accepted, problems

