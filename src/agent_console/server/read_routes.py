"""REST for read marks: `POST /api/v1/conversations/{id}/read` (see server/reads.py)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, post
from litestar.params import Parameter

from agent_console.core.models import Agent, ReadState, ReadUpdate

PositiveId = Annotated[int, Parameter(ge=1, le=2**53)]


@post(
    "/api/v1/conversations/{conversation_id:int}/read",
    status_code=200,
    summary="Mark read up to a message, or mark the newest message unread (your own mark only)",
)
async def post_read(request: Request, me: Agent, conversation_id: PositiveId, data: ReadUpdate) -> ReadState:
    return request.app.state.store.set_read(me.id, conversation_id, data)


ROUTES = [post_read]
