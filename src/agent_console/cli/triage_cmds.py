"""`conv ID language CODE`: correct the language the desk detected for a conversation (kept from
then on; the triage rules re-run in it).

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

from agent_console.cli.groups import require_conv_id
from agent_console.cli.options import EPILOG, Settings, command

_CODE = re.compile(r"^[a-z]{2,3}$")


def language(
    settings: Settings,
    code: Annotated[str, typer.Argument(metavar="CODE", help="ISO 639-1 code, e.g. es, de, ja.")],
) -> None:
    """Set the conversation's language (what the desk detected is then left alone).

    \b
    Examples:
      agent-console conv 42 language es
      agent-console conv 42 language pt -o json
    """
    from agent_console.cli import conv_output, output, runtime

    code = code.strip().lower()
    if not _CODE.match(code):
        raise typer.BadParameter(
            f"{code!r} is not a language code (two or three letters, e.g. es)", param_hint="CODE"
        )
    conv_id = require_conv_id(settings.conv_id)

    async def work(backend):
        return await backend.set_language(conv_id, code)

    conversation = runtime.call(settings, work)
    output.show_one(
        output.Out(settings),
        conversation,
        conv_output.conversation_spec(),
        summary=f"conversation {conversation.id}: language {conversation.language} (set by you)",
    )


def register(app: typer.Typer) -> None:
    command(app, "language", epilog=EPILOG)(language)
