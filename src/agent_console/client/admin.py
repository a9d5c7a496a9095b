"""Admin calls of the native desk server (agents, teams, canned responses, labels, KB), as a
mixin of `NativeBackend`. They are not part of the `Backend` protocol: running the desk is
this server's business; an adapter for another help desk leaves them out, and the CLI says so
(`require_admin_calls`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent_console.core.models import (
    Agent,
    AgentList,
    AgentToken,
    AgentUpdate,
    CannedResponse,
    CannedUpdate,
    KbArticle,
    KbArticleInput,
    KbArticleList,
    KbArticleUpdate,
    KbGapReport,
    KbImportResult,
    KbRevision,
    KbRevisionList,
    LabelCount,
    LabelUpdate,
    NewAgent,
    NewCanned,
    NewLabel,
    NewTeam,
    TeamDetail,
    TeamUpdate,
)

if TYPE_CHECKING:
    from agent_console.client.native import NativeBackend

    _Base = NativeBackend
else:
    _Base = object


def _path(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


class AdminCalls(_Base):
    # --- agents ---------------------------------------------------------------------------

    async def all_agents(self) -> list[Agent]:
        params = {"include_inactive": "true"}
        return (await self._call("GET", "/agents", AgentList, params=params)).items

    async def create_agent(self, new: NewAgent) -> AgentToken:
        return await self._call("POST", "/agents", AgentToken, body=new)

    async def update_agent(self, agent_id: int, update: AgentUpdate) -> Agent:
        return await self._call("PATCH", f"/agents/{agent_id}", Agent, body=update)

    async def rotate_token(self, agent_id: int) -> AgentToken:
        return await self._call("POST", f"/agents/{agent_id}/token", AgentToken)

    # --- teams ----------------------------------------------------------------------------

    async def team(self, team_id: int) -> TeamDetail:
        return await self._call("GET", f"/teams/{team_id}", TeamDetail)

    async def create_team(self, new: NewTeam) -> TeamDetail:
        return await self._call("POST", "/teams", TeamDetail, body=new)

    async def update_team(self, team_id: int, update: TeamUpdate) -> TeamDetail:
        return await self._call("PATCH", f"/teams/{team_id}", TeamDetail, body=update)

    # --- canned responses -------------------------------------------------------------------

    async def create_canned(self, new: NewCanned) -> CannedResponse:
        return await self._call("POST", "/canned-responses", CannedResponse, body=new)

    async def update_canned(self, canned_id: int, update: CannedUpdate) -> CannedResponse:
        return await self._call("PATCH", f"/canned-responses/{canned_id}", CannedResponse, body=update)

    async def delete_canned(self, canned_id: int) -> None:
        await self._call("DELETE", f"/canned-responses/{canned_id}", None)

    # --- labels -------------------------------------------------------------------------------

    async def create_label(self, new: NewLabel) -> LabelCount:
        return await self._call("POST", "/labels", LabelCount, body=new)

    async def update_label(self, name: str, update: LabelUpdate) -> LabelCount:
        return await self._call("PATCH", f"/labels/{_path(name)}", LabelCount, body=update)

    # --- knowledge base -----------------------------------------------------------------------

    async def kb_articles(self, *, locale: str | None = None, status: str | None = None) -> list[KbArticle]:
        params = {"locale": locale, "status": status}
        return (await self._call("GET", "/kb/articles", KbArticleList, params=params)).items

    async def create_kb_article(self, new: KbArticleInput) -> KbArticle:
        return await self._call("POST", "/kb/articles", KbArticle, body=new)

    async def import_kb_article(self, doc: KbArticleInput) -> KbImportResult:
        return await self._call("POST", "/kb/import", KbImportResult, body=doc)

    async def update_kb_article(self, article_id: int, update: KbArticleUpdate) -> KbArticle:
        return await self._call("PATCH", f"/kb/articles/{article_id}", KbArticle, body=update)

    async def kb_revisions(self, article_id: int) -> list[KbRevision]:
        return (await self._call("GET", f"/kb/articles/{article_id}/revisions", KbRevisionList)).items

    async def kb_gaps(self, since: datetime | None = None) -> KbGapReport:
        from agent_console.core.clock import to_iso

        params: dict[str, Any] = {"since": None if since is None else to_iso(since)}
        return await self._call("GET", "/kb/gaps", KbGapReport, params=params)


def require_admin_calls(backend: Any) -> AdminCalls:
    """The backend's admin calls, or a clear error for a help desk that has none here."""
    from agent_console.client.errors import BackendError

    if not isinstance(backend, AdminCalls):
        name = getattr(backend, "name", type(backend).__name__)
        raise BackendError(f"the {name} adapter cannot run the desk: admin commands need the desk server")
    return backend
