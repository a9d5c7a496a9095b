"""REST for email attachments: list a conversation's files, describe one, download one.

The download never uses the sender's file name: it is untrusted text (a path, a control
character, a lie about the type). The bytes go out as an opaque download under a name we make.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from agent_console.core.models import Agent, Attachment, AttachmentList, ErrorResponse
from agent_console.server.email_store import DeskStore
from agent_console.server.store import Conflict

API = "/api/v1"
PositiveId = Annotated[int, Parameter(ge=1, le=2**53)]


def _store(request: Request[Any, Any, Any]) -> DeskStore:
    return request.app.state.store


@get(
    f"{API}/conversations/{{conversation_id:int}}/attachments",
    summary="Files that came with the conversation's messages (email), oldest first",
)
async def list_attachments(request: Request, me: Agent, conversation_id: PositiveId) -> AttachmentList:
    return AttachmentList(items=_store(request).list_attachments(conversation_id))


@get(f"{API}/attachments/{{attachment_id:int}}", summary="One attachment's description")
async def get_attachment(request: Request, me: Agent, attachment_id: PositiveId) -> Attachment:
    return _store(request).get_attachment(attachment_id)[0]


@get(
    f"{API}/attachments/{{attachment_id:int}}/content",
    summary="An attachment's bytes, as an opaque download (409 when only its description was kept)",
    media_type="application/octet-stream",
    responses={
        409: ResponseSpec(
            data_container=ErrorResponse,
            description="The file was over the size limit: only its description was kept",
        )
    },
)
async def get_attachment_content(request: Request, me: Agent, attachment_id: PositiveId) -> Response[bytes]:
    store = _store(request)
    attachment, _ = store.get_attachment(attachment_id)
    content = store.attachment_content(attachment_id)
    if content is None:
        raise Conflict(
            f"attachment {attachment_id} was over the size limit ({attachment.size:,} bytes):"
            " only its description was kept"
        )
    return Response(
        content=content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="attachment-{attachment_id}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


ROUTES = [list_attachments, get_attachment, get_attachment_content]
