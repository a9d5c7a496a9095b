"""REST for triage: an agent corrects a conversation's language (server/triage_store.py)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, post
from litestar.params import Parameter

from agent_console.core.models import Agent, Conversation, LanguageUpdate

PositiveId = Annotated[int, Parameter(ge=1, le=2**53)]


@post(
    "/api/v1/conversations/{conversation_id:int}/language",
    status_code=200,
    summary="Correct the conversation's language (kept from then on; triage re-runs in it)",
)
async def post_language(
    request: Request, me: Agent, conversation_id: PositiveId, data: LanguageUpdate
) -> Conversation:
    store = request.app.state.store
    return store.personal(me.id, store.set_language(conversation_id, data, me))


ROUTES = [post_language]
