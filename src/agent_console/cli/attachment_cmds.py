"""`conv ID attachments` (list a conversation's files) and `conv ID attachment AID --save PATH`.

The sender's file name is untrusted text: it is shown sanitized and never used as a path.
The file goes where the agent said, and only over an existing file with --force.

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from agent_console.cli.groups import require_conv_id
from agent_console.cli.options import EPILOG, Settings, command


def _spec():
    from agent_console.cli.output import Column, Spec

    columns = [
        Column("ID", lambda a: a.id),
        Column("MESSAGE", lambda a: a.message_id, drop=1),
        Column("NAME", lambda a: a.filename, max_width=48),
        Column("TYPE", lambda a: a.content_type, max_width=32, drop=2),
        Column("SIZE", lambda a: a.size),
        Column("KEPT", lambda a: "yes" if a.stored else "no (over the size limit)", drop=3),
    ]
    csv = [
        Column("id", lambda a: a.id),
        Column("message_id", lambda a: a.message_id),
        Column("filename", lambda a: a.filename),
        Column("content_type", lambda a: a.content_type),
        Column("size", lambda a: a.size),
        Column("stored", lambda a: a.stored),
    ]
    return Spec(text_columns=columns, csv_columns=csv)


def attachments(settings: Settings) -> None:
    """List the files that came with the conversation's messages (email), oldest first.

    \b
    Examples:
      agent-console conv 42 attachments
      agent-console conv 42 attachments -o json
    """
    from agent_console.cli import output, runtime

    conv_id = require_conv_id(settings.conv_id)

    async def work(backend):
        return await backend.attachments(conv_id)

    output.show_list(output.Out(settings), runtime.call(settings, work), _spec())


def attachment(
    settings: Settings,
    attachment_id: Annotated[int, typer.Argument(metavar="AID", min=1, help="The attachment's id.")],
    save: Annotated[
        Path,
        typer.Option("--save", metavar="PATH", help="Write the file here (the sender's name is not used)."),
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite PATH if it exists.")] = False,
) -> None:
    """Download one of the conversation's attachments to PATH.

    \b
    Examples:
      agent-console conv 42 attachment 7 --save invoice.pdf
      agent-console conv 42 attachment 7 --save invoice.pdf --force
    """
    from agent_console.cli import output, runtime
    from agent_console.client.errors import BackendError, NotFound

    conv_id = require_conv_id(settings.conv_id)
    if save.is_dir():
        raise typer.BadParameter(f"{save} is a folder; give the file's own path", param_hint="--save")
    if save.exists() and not force:
        raise BackendError(f"{save} exists; add --force to overwrite it")

    async def work(backend):
        listed = {a.id: a for a in await backend.attachments(conv_id)}
        if attachment_id not in listed:
            raise NotFound(f"conversation {conv_id} has no attachment {attachment_id}")
        return listed[attachment_id], await backend.attachment_content(attachment_id)

    described, content = runtime.call(settings, work)
    _write(save, content, force=force)
    output.show_one(
        output.Out(settings),
        described,
        _spec(),
        summary=f"saved attachment #{described.id} ({len(content):,} bytes) to {save}",
    )


def _write(path: Path, content: bytes, *, force: bool) -> None:
    """Owner-only; never over an existing file unless `force` (O_EXCL: no race with another writer)."""
    from agent_console.client.errors import BackendError

    if not force:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise BackendError(f"{path} exists; add --force to overwrite it") from None
        except OSError as exc:
            raise BackendError(f"cannot write {path}: {exc.strerror or exc}") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        return
    temporary = path.with_name(f".{path.name}.part-{os.getpid()}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)  # a reader sees the old file or the whole new one
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise BackendError(f"cannot write {path}: {exc.strerror or exc}") from None


def register(conv_app: typer.Typer) -> None:
    command(conv_app, "attachments", epilog=EPILOG)(attachments)
    command(conv_app, "attachment", epilog=EPILOG)(attachment)
