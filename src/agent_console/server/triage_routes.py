"""REST for triage: an agent corrects a conversation's language (server/triage_store.py)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.params import Parameter

from agent_console.core.models import Agent, Conversation, LanguageUpdate, SuggestionList

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


@get(
    "/api/v1/conversations/{conversation_id:int}/suggestions",
    summary="Canned responses and KB articles for the customer's last messages, its language first",
)
async def get_suggestions(request: Request, me: Agent, conversation_id: PositiveId) -> SuggestionList:
    return request.app.state.store.suggestions(conversation_id)


ROUTES = [post_language, get_suggestions]
