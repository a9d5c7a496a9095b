"""Click group classes: the root (one-line errors, exit codes) and `conv ID VERB`.

Import hygiene: typer and the standard library only; error classes are imported when an
error actually happens.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from agent_console.cli.options import CONV_ID_KEY, VERBOSE


def _click():  # -> the click API typer runs on
    """typer >= 0.2x vendors click as `typer._click`; older typer uses click itself."""
    try:
        from typer import _click as api
    except ImportError:  # pragma: no cover - older typer
        import click as api
    return api


def _usage_exception() -> type[Exception]:
    return _click().exceptions.UsageError


def error_line(message: str) -> None:
    """One line on stderr: `error: ...` (newlines folded so it stays one line)."""
    text = " ".join(str(message).split())
    print(f"error: {text}", file=sys.stderr, flush=True)


class RootGroup(TyperGroup):
    """The `agent-console` group: every failure becomes one `error: ...` line and an exit code.

    0 ok, 1 error, 2 usage, 3 not authenticated, 4 not found, 5 conflict, 6 unreachable.
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        code = self._run(args, prog_name, complete_var, windows_expand_args, extra)
        if not standalone_mode:
            return code
        sys.exit(code)

    def _run(
        self,
        args: Sequence[str] | None,
        prog_name: str | None,
        complete_var: str | None,
        windows_expand_args: bool,
        extra: dict[str, Any],
    ) -> int:
        from agent_console.cli import coercion

        click = _click()

        VERBOSE["on"] = False  # until an option says otherwise (matters for in-process reuse)
        coercion.install(self)
        try:
            result = super().main(
                args,
                prog_name or "agent-console",
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except getattr(click.exceptions, "NoArgsIsHelpError", ()) as exc:
            exc.show()  # a group called bare: its help, on stderr, exit 2
            return exc.exit_code
        except click.exceptions.UsageError as exc:
            hint = ""
            if exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            error_line(exc.format_message() + hint)
            return 2
        except click.exceptions.ClickException as exc:
            error_line(exc.format_message())
            return exc.exit_code
        except typer.Abort:
            error_line("aborted")
            return 1
        except KeyboardInterrupt:
            print(file=sys.stderr)
            return 130
        except BrokenPipeError:
            _silence_stdout()
            return 0
        except Exception as exc:  # the one place that turns errors into codes
            return report(exc)
        if isinstance(result, int) and not isinstance(result, bool):
            return result
        return 0


def report(exc: BaseException) -> int:
    """Print `exc` as one line (details with --verbose) and return its exit code."""
    from agent_console.client.errors import BackendError

    if isinstance(exc, BackendError):
        message = exc.message
        if VERBOSE["on"] and (exc.status or exc.code != "error"):
            message += f" [{exc.code}{f', HTTP {exc.status}' if exc.status else ''}]"
        error_line(message)
        return exc.exit_code
    from agent_console.server.db import DatabaseSettingInvalid, DatabaseUnreachable

    if isinstance(exc, DatabaseUnreachable | DatabaseSettingInvalid):
        error_line(str(exc))
        return 1
    if VERBOSE["on"]:
        import traceback

        traceback.print_exception(exc)
    error_line(
        f"unexpected {type(exc).__name__}: {exc}"
        + ("" if VERBOSE["on"] else " (run again with --verbose for details)")
    )
    return 1


def _silence_stdout() -> None:
    """After the reader of our stdout went away (`| head`), exit without more noise."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class ConvGroup(TyperGroup):
    """`conv ID [VERB] [ARGS]`: the conversation id comes before the verb; no verb = `view`."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        args = list(args)
        conv_id: int | None = None
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            first = args.pop(0)
            if first.isdigit() and 0 < int(first) <= 2**53:
                conv_id = int(first)
            elif not ctx.resilient_parsing:
                raise _usage_exception()(f"conversation ID must be a positive number, not {first!r}", ctx=ctx)
        ctx.meta[CONV_ID_KEY] = conv_id
        ctx.info_name = f"{ctx.info_name} {conv_id if conv_id is not None else 'ID'}"
        if conv_id is not None and not ctx.resilient_parsing:
            if args and not args[0].startswith("-") and args[0] not in self.commands:
                raise _usage_exception()(self._unknown_verb(args[0]), ctx=ctx)
            wants_group_help = args and args[0] in ctx.help_option_names
            if not wants_group_help and (not args or args[0] not in self.commands):
                args.insert(0, "view")  # `conv 42` and `conv 42 -o json` show it
        return super().parse_args(ctx, args)

    def _unknown_verb(self, verb: str) -> str:
        import difflib

        verbs = list(self.commands)
        close = difflib.get_close_matches(verb, verbs, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{verb!r} is not a conv verb (verbs: {', '.join(verbs)}){hint}"

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return ["[VERB] [ARGS]..."]


def require_conv_id(conv_id: int | None) -> int:
    if conv_id is None:
        raise _usage_exception()("missing conversation ID: use `agent-console conv ID VERB ...`")
    return conv_id
