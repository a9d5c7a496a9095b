"""`conv ID read` and `conv ID unread`: move your read mark (it lives on the server, so the
console and every other device show the same unread count).

Import hygiene as in queue_cmds: the client and Rich are imported inside the commands.
"""

from __future__ import annotations

from agent_console.cli.groups import require_conv_id
from agent_console.cli.options import EPILOG, Settings, command


def _mark(settings: Settings, *, unread: bool) -> None:
    from agent_console.cli import conv_output, output, runtime
    from agent_console.cli.queue_cmds import _visible

    conv_id = require_conv_id(settings.conv_id)

    async def work(backend):
        if unread:
            await backend.mark_read(conv_id, unread=True)
        else:
            newest = await backend.messages(conv_id)
            if newest:
                await backend.mark_read(conv_id, message_id=newest[-1].id)
        return await _visible(backend, settings, await backend.conversation(conv_id))

    conversation, looked_up = runtime.call(settings, work)
    word = "unread" if unread else "read"
    output.show_one(
        output.Out(settings),
        conversation,
        conv_output.conversation_spec(looked_up),
        summary=f"conversation {conversation.id}: marked {word}, {conversation.unread_count} unread for you",
    )


def read(settings: Settings) -> None:
    """Mark the conversation read, up to its newest message.

    \b
    Example:
      agent-console conv 42 read
    """
    _mark(settings, unread=False)


def unread(settings: Settings) -> None:
    """Mark the newest message from the customer or a colleague unread again.

    \b
    Example:
      agent-console conv 42 unread
    """
    _mark(settings, unread=True)


def register() -> None:
    from agent_console.cli.queue_cmds import conv_app

    for name, func in (("read", read), ("unread", unread)):
        command(conv_app, name, epilog=EPILOG)(func)
