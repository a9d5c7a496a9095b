"""REST for the FAQ bot's per-channel setting (agents read it, admins change it).

Sending one conversation back to the bot is a conversation patch (`{"bot": true}`), so it
goes through the console's outbox, confirm and undo like every other action."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, patch
from litestar.params import Parameter

from agent_console.core.models import Agent, BotChannel, BotChannelList, BotChannelUpdate, Channel
from agent_console.server.store import Forbidden, Store

API = "/api/v1"
# The document lists the channels, so a client (or a fuzzer) knows which names exist.
ChannelName = Annotated[Channel, Parameter(description="web_chat, email, whatsapp, sms or social")]


def _store(request: Request) -> Store:
    return request.app.state.store


@get(f"{API}/bot/channels", summary="Channels on which new conversations start with the FAQ bot")
async def list_bot_channels(request: Request, me: Agent) -> BotChannelList:
    return BotChannelList(items=_store(request).bot_channels())


@patch(f"{API}/bot/channels/{{channel:str}}", summary="Turn the FAQ bot on or off for a channel (admin)")
async def patch_bot_channel(
    request: Request, me: Agent, channel: ChannelName, data: BotChannelUpdate
) -> BotChannel:
    if me.role != "admin":
        raise Forbidden(f"turning the bot on or off needs a token with role admin; yours is {me.role}")
    return _store(request).set_bot_channel(channel, data.enabled)


ROUTES = [list_bot_channels, patch_bot_channel]
