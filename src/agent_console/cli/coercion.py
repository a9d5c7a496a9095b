"""Fast value coercion for the CLI's simple parameters.

typer (0.29) coerces every parameter value through a pydantic TypeAdapter, built the first
time the parameter is processed. Importing pydantic and building adapters costs ~70 ms of
start-up on every command, a third of the `convs --output json` budget. Our parameters are
plain (str, int, float, Literal choices, lists of str), so this module gives them a tiny
coercer with the same contract and leaves anything else to typer.

It relies on two typer internals (`param.type_descriptor`, `param._runtime_param`); if
typer changes them, `install` does nothing and typer's own (slower) coercion applies.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin


def _bad(message: str, ctx: Any, param: Any) -> Exception:
    from typer import BadParameter

    return BadParameter(message, ctx=ctx, param=param)


class _Fast:
    __slots__ = ("convert",)

    def __init__(self, convert: Any) -> None:
        self.convert = convert

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None
        if multi:
            if isinstance(value, str):
                raise _bad("Value must be an iterable.", ctx, param)
            return [self.convert(v, param, ctx) for v in value]
        return self.convert(value, param, ctx)


def _text(value: Any, param: Any, ctx: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}


def _flag(value: Any, param: Any, ctx: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _bad(f"{value!r} is not a valid boolean.", ctx, param)


def _number(kind: type, low: Any, high: Any) -> Any:
    name = "integer" if kind is int else "number"

    def convert(value: Any, param: Any, ctx: Any) -> Any:
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise _bad(f"{value!r} is not a valid {name}.", ctx, param) from None
        if low is not None and number < low:
            raise _bad(f"{number} is below the minimum of {low}.", ctx, param)
        if high is not None and number > high:
            raise _bad(f"{number} is above the maximum of {high}.", ctx, param)
        return number

    return convert


def _choice(choices: tuple[Any, ...], case_sensitive: bool) -> Any:
    def convert(value: Any, param: Any, ctx: Any) -> Any:
        text = str(value)
        for choice in choices:
            if text == choice or (not case_sensitive and text.casefold() == str(choice).casefold()):
                return choice
        shown = ", ".join(repr(c) for c in choices)
        raise _bad(f"{text!r} is not one of {shown}.", ctx, param)

    return convert


def _converter(annotation: Any, info: Any) -> Any:
    if getattr(info, "parser", None) is not None or getattr(info, "clamp", False):
        return None
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (None,)
        return _text if item is str else None
    if annotation is str:
        return _text
    if annotation is bool:
        return _flag
    if annotation in (int, float):
        return _number(annotation, info.min, info.max)
    if get_origin(annotation) is Literal:
        choices = get_args(annotation)
        if all(isinstance(c, str) for c in choices):
            return _choice(choices, bool(getattr(info, "case_sensitive", True)))
    return None


def install(command: Any) -> None:
    """Give every simple parameter in the command tree the fast coercer (idempotent)."""
    try:
        # Every command's contexts inherit the root's help names (`-h`, `--help`).
        names = command.context_settings.get("help_option_names")
        stack = [command]
        while stack:
            current = stack.pop()
            # --help is made on first use (and kept); make it now, with the names the real
            # contexts will have, so it gets the fast coercer too.
            probe = current.context_class(current, help_option_names=names)
            help_option = current.get_help_option(probe)
            for param in [*current.params, *([help_option] if help_option else [])]:
                descriptor = getattr(param, "type_descriptor", None)
                if descriptor is None or getattr(param, "_runtime_param", False) is not None:
                    continue
                if descriptor.file_annotation is not None:
                    continue
                convert = _converter(descriptor.annotation, descriptor.parameter_info)
                if convert is not None:
                    param._runtime_param = _Fast(convert)
            stack.extend(getattr(current, "commands", {}).values())
    except (AttributeError, TypeError, ValueError):  # typer changed: its own coercion applies
        return
