"""Themes shipped in `themes/` (TOML), loaded into Textual `Theme`s."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from textual.theme import Theme

DEFAULT_THEME = "night-shift"
ALIASES = {"dark": "night-shift", "light": "day-shift", "ansi": "terminal", "contrast": "high-contrast"}
_FIELDS = {
    "name",
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "dark",
    "luminosity_spread",
    "text_alpha",
    "variables",
    "ansi",
}


def themes_dir() -> Path:
    """Installed wheels carry the themes inside the package; a source checkout has them at the top."""
    packaged = resources.files("agent_console") / "themes"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "themes"


def load_themes(directory: Path | None = None) -> dict[str, Theme]:
    themes: dict[str, Theme] = {}
    for path in sorted((directory or themes_dir()).glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        unknown = set(data) - _FIELDS
        if unknown:
            raise ValueError(f"{path.name}: unknown theme keys {', '.join(sorted(unknown))}")
        themes[data["name"]] = Theme(**data)
    return themes


def resolve_theme_name(name: str | None) -> str:
    if not name:
        return DEFAULT_THEME
    return ALIASES.get(name, name)
