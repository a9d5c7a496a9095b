"""REST for the FAQ bot's per-channel setting (agents read it, admins change it).

Sending one conversation back to the bot is a conversation patch (`{"bot": true}`), so it
goes through the console's outbox, confirm and undo like every other action."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, put
from litestar.params import Parameter

from agent_console.core.models import Agent, BotChannel, BotChannelList, BotChannelUpdate
from agent_console.server.bot_store import CHANNELS
from agent_console.server.store import Forbidden, Invalid, Store

API = "/api/v1"
ChannelName = Annotated[str, Parameter(max_length=40)]


def _store(request: Request) -> Store:
    return request.app.state.store


@get(f"{API}/bot/channels", summary="Channels on which new conversations start with the FAQ bot")
async def list_bot_channels(request: Request, me: Agent) -> BotChannelList:
    return BotChannelList(items=_store(request).bot_channels())


@put(f"{API}/bot/channels/{{channel:str}}", summary="Turn the FAQ bot on or off for a channel (admin)")
async def put_bot_channel(
    request: Request, me: Agent, channel: ChannelName, data: BotChannelUpdate
) -> BotChannel:
    if me.role != "admin":
        raise Forbidden(f"turning the bot on or off needs a token with role admin; yours is {me.role}")
    if channel not in CHANNELS:
        raise Invalid(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}", field="channel")
    return _store(request).set_bot_channel(channel, data.enabled)


ROUTES = [list_bot_channels, put_bot_channel]
