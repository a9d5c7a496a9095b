"""The registry of bindable actions, and checking a user's key remaps against it.

Every `Binding` in the console has an id. Users remap keys in the config file's `[keys]`
table (`"conv.resolve" = "ctrl+r"`). A remap with an unknown id, a key Textual cannot
name, or a key another binding in the same place already uses is reported and skipped;
the other remaps still apply.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.keys import Keys, _character_to_key

if TYPE_CHECKING:
    from textual.screen import Screen

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
    from agent_console.tui.screens.dashboard import DashboardScreen
    from agent_console.tui.screens.handoff import HandoffScreen
    from agent_console.tui.screens.help import HelpScreen
    from agent_console.tui.screens.kb import KbScreen
    from agent_console.tui.screens.labels import LabelsScreen
    from agent_console.tui.screens.pickers import PickerScreen, PromptScreen, ReviewScreen
    from agent_console.tui.screens.roster import RosterScreen
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
        LabelsScreen,
        PromptScreen,
        ReviewScreen,
        HelpScreen,
        DashboardScreen,
        RosterScreen,
        HandoffScreen,
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
    if not keymap:
        return {}, []  # nothing to check: the registry imports every screen (the KB's Markdown too)
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


# --- help: what the agent reads ---------------------------------------------------------------

# Groups in the order `?` shows them; within a group, the order an agent learns the keys in.
# Ids not listed here (added later) join the group their prefix names, after these.
HELP_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Queue",
        (
            "queue.down",
            "queue.up",
            "queue.first",
            "queue.last",
            "queue.page_down",
            "queue.page_up",
            "queue.open",
            "queue.filter",
            "view.mine",
            "view.unassigned",
            "view.all",
            "view.urgent",
            "view.pending",
            "view.snoozed",
            "view.resolved",
        ),
    ),
    (
        "Conversation",
        (
            "thread.down",
            "thread.up",
            "thread.first",
            "thread.last",
            "thread.page_down",
            "thread.page_up",
            "thread.expand",
            "conv.reply",
            "conv.note",
            "conv.assign_me",
            "conv.resolve",
            "conv.snooze",
            "conv.pending",
            "conv.reopen",
            "conv.priority",
            "conv.labels",
            "conv.assign_agent",
            "conv.assign_team",
            "conv.unassign",
            "conv.contact",
            "conv.retry",
            "kb.search",
            "conv.back",
        ),
    ),
    ("Composer", ("composer.send", "composer.toggle_mode", "composer.leave")),
    (
        "App",
        (
            "agent.presence",
            "shift.roster",
            "shift.handoff",
            "stats.dashboard",
            "notify.quiet",
            "help",
            "app.palette",
            "app.quit",
        ),
    ),
)
_PREFIX_GROUP = {
    "queue": "Queue",
    "view": "Queue",
    "thread": "Conversation",
    "conv": "Conversation",
    "kb": "Conversation",
    "composer": "Composer",
}
_ORDER = {ident: (g, i) for g, (_, idents) in enumerate(HELP_GROUPS) for i, ident in enumerate(idents)}
_GROUP_INDEX = {name: g for g, (name, _) in enumerate(HELP_GROUPS)}

_KEY_NAMES = {
    "escape": "esc",
    "pagedown": "PgDn",
    "pageup": "PgUp",
    "home": "Home",
    "end": "End",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "space": "space",
    "tab": "tab",
    "enter": "enter",
    "delete": "del",
    "backspace": "backspace",
}
_CHAR_FOR = {_character_to_key(chr(code)): chr(code) for code in range(33, 127)}


def key_name(key: str) -> str:
    """What a key is called on the keyboard: `slash` → `/`, `question_mark` → `?`, `f2` → `F2`."""
    *mods, name = key.strip().split("+")
    if name in _KEY_NAMES:
        name = _KEY_NAMES[name]
    elif name in _CHAR_FOR:
        name = _CHAR_FOR[name]
    elif len(name) > 1 and name[0] == "f" and name[1:].isdigit():
        name = name.upper()
    return "+".join([*mods, name])


def group_of(ident: str) -> str:
    if ident in _ORDER:
        return HELP_GROUPS[_ORDER[ident][0]][0]
    return _PREFIX_GROUP.get(ident.partition(".")[0], "App")


def _sort_key(ident: str) -> tuple[int, int, str]:
    group, index = _ORDER.get(ident, (_GROUP_INDEX[group_of(ident)], 999))
    return (group, index, ident)


def _typed_as_text(key: str) -> bool:
    """A printable key with no modifier: an input or the composer takes it as text."""
    return "+" not in key and (len(key) == 1 or key in _CHAR_FOR)


def help_rows(screen: Screen) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The keys that work where the agent is, as bound now (remaps included), grouped and
    in teaching order: [(group, [(keys, what it does, binding id), ...]), ...].

    Only the console's own bindings (they have ids): Textual's internal ones (Scroll Left,
    Focus Next) are no help to an agent. While a text box has focus, plain printable keys
    type text, so the other places' one-letter keys are left out.
    """
    focused = screen.focused
    typing = focused is not None and _is_text_box(focused)
    rows: dict[str, tuple[list[str], str]] = {}
    here = None  # the group of the focused widget's own keys: listed first
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.id or not binding.description:
            continue
        if active.node is focused and here is None:
            here = group_of(binding.id)
        if typing and _typed_as_text(key) and active.node is not focused:
            continue
        keys, _ = rows.setdefault(binding.id, ([], binding.description))
        name = key_name(key)
        if name not in keys:
            keys.append(name)
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for ident in sorted(rows, key=_sort_key):
        keys, description = rows[ident]
        groups.setdefault(group_of(ident), []).append((" ".join(keys), description, ident))
    names = [name for name, _ in HELP_GROUPS if name in groups]
    if here in names:
        names.remove(here)
        names.insert(0, here)
    return [(name, groups[name]) for name in names]


def _is_text_box(widget: object) -> bool:
    from textual.widgets import Input, TextArea

    return isinstance(widget, (Input, TextArea))


def key_hint(screen: Screen, ident: str, fallback: str) -> str:
    """How to press the binding `ident` from where the agent is now: its key as bound (a remap
    shows its new key), with `esc` first when a text box would take that key as text."""
    keys = [key for key, active in screen.active_bindings.items() if active.binding.id == ident]
    key = keys[0] if keys else fallback
    focused = screen.focused
    if focused is not None and _is_text_box(focused) and _typed_as_text(key):
        return f"esc {key_name(key)}"
    return key_name(key)


def palette_help(screen: Screen, binding: Binding) -> str:
    """Human key names for a console binding, as bound now (a remap shows its new key)."""
    keys = [key_name(k) for k, a in screen.active_bindings.items() if a.binding.id == binding.id]
    if not keys:
        keys = [key_name(k) for k in binding.key.split(",") if k.strip()]
    return " or ".join(dict.fromkeys(keys))
