"""Options every client command shares, added by one decorator so they stay consistent.

`--server`, `--profile`, `--verbose` and `--no-color` are accepted both on the app
(`agent-console --profile work convs`) and on each command (`agent-console convs --profile
work`); the command's own value wins. `--output` and `--quiet` belong to commands that print
records.

Import hygiene: typer and the standard library only.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import typer

OutputFormat = Literal["text", "json", "csv"]
HELP_OPTION_NAMES = ("-h", "--help")
CONV_ID_KEY = "agent_console.conv_id"

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "ok"),
    (1, "error (bad request, server error, unreadable config)"),
    (2, "usage: a bad option, value or verb (e.g. a bad --until or priority)"),
    (3, "not authenticated: no token, a bad token, or not allowed"),
    (4, "not found: no such conversation, article, agent..."),
    (5, "conflict: someone wrote since you last looked"),
    (6, "the desk server is unreachable"),
)

EPILOG = "\b\nExit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES)

# The CLI's own error handler reads this to decide whether to print details.
VERBOSE = {"on": False}


@dataclass
class Settings:
    server: str | None = None
    profile: str | None = None
    output: OutputFormat = "text"
    quiet: bool = False
    no_color: bool = False
    verbose: bool = False
    conv_id: int | None = None  # set for `conv ID VERB`


ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="Desk server URL (env AGENT_CONSOLE_SERVER; default: the profile's).",
        show_default=False,
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="Config profile to use (env AGENT_CONSOLE_PROFILE; default: default_profile).",
        show_default=False,
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show details (and tracebacks) on errors.")
]
NoColorOption = Annotated[
    bool, typer.Option("--no-color", help="No colour in text output (NO_COLOR is honoured too).")
]
OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        help="text (a table on a terminal, aligned plain text when piped), json or csv.",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print ids only, one a line.")]

_CONNECTION = (
    ("server", ServerOption, None),
    ("profile", ProfileOption, None),
)
_OUTPUT = (
    ("output", OutputOption, "text"),
    ("quiet", QuietOption, False),
)
_ALWAYS = (
    ("no_color", NoColorOption, False),
    ("verbose", VerboseOption, False),
)
_CONTEXT = "cli_context"


def with_common(
    func: Callable[..., Any], *, output: bool = True, connection: bool = True
) -> Callable[..., Any]:
    """Wrap a command taking `settings: Settings` so typer sees the shared options instead."""
    extra = (*(_CONNECTION if connection else ()), *(_OUTPUT if output else ()), *_ALWAYS)
    signature = inspect.signature(func, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "settings"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, kind, default in extra
    ]
    context = inspect.Parameter(_CONTEXT, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
    names = [name for name, _, _ in extra]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx: typer.Context = kwargs.pop(_CONTEXT)
        given = {name: kwargs.pop(name) for name in names}
        root = ctx.find_root().obj
        root = root if isinstance(root, dict) else {}
        settings = Settings(
            server=given.get("server") or root.get("server"),
            profile=given.get("profile") or root.get("profile"),
            output=given.get("output", "text"),
            quiet=given.get("quiet", False),
            no_color=given["no_color"] or bool(root.get("no_color")),
            verbose=given["verbose"] or bool(root.get("verbose")),
            conv_id=ctx.meta.get(CONV_ID_KEY),
        )
        VERBOSE["on"] = settings.verbose
        return func(*args, settings=settings, **kwargs)

    parameters = [*own, *added, context]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__  # typer must see the new signature, not the original
    return wrapper


def command(
    app: typer.Typer,
    name: str,
    *,
    output: bool = True,
    connection: bool = True,
    **kwargs: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `func` on `app` as `name`, with the shared options appended."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        app.command(name, **kwargs)(with_common(func, output=output, connection=connection))
        return func

    return register


def sub_app(name: str, help: str, examples: tuple[str, ...] = (), **kwargs: Any) -> typer.Typer:
    """A sub-command group with the project's conventions (plain help, no rich)."""
    if examples:
        help += "\n\n\b\nExamples:\n" + "\n".join(f"  {line}" for line in examples)
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        rich_markup_mode=None,
        epilog=EPILOG,
        **kwargs,
    )
