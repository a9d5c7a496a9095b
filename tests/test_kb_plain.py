"""A KB quote goes into a reply to a customer as text: no Markdown marks (a chat or an email
shows `**vor der Reise**` as asterisks). The real console against the real demo KB."""

from __future__ import annotations

from pathlib import Path

from agent_console.core.models import SNIPPET_CLOSE, SNIPPET_OPEN
from agent_console.tui.screens.kb import KbScreen
from tests.conftest import Desk
from tests.test_tui_flows import WIDE, console, focus_conversation, make_app, new_customer, ready
from tests.tui_helpers import region_text, wait_for


def bare(snippet: str) -> str:
    """A snippet without the server's hit markers."""
    return snippet.replace(SNIPPET_OPEN, "").replace(SNIPPET_CLOSE, "")


async def test_kb_snippets_and_quotes_carry_no_markdown_marks(desk: Desk, tmp_path: Path) -> None:
    cid, name = new_customer(desk, language="de")
    app = make_app(desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, cid, name)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, KbScreen), what="the KB modal")
        kb = app.screen
        await pilot.press(*"Reise WLAN")
        await wait_for(
            pilot,
            lambda: any("vor der Reise" in bare(hit.snippet) for hit in kb.hits),
            what="the German article",
        )
        assert any("**" in hit.snippet for hit in kb.hits)  # the server sends the article's Markdown
        await wait_for(pilot, lambda: "vor der Reise" in region_text(app, kb), what="the snippet on screen")
        assert "**" not in region_text(app, kb)
        index = next(i for i, hit in enumerate(kb.hits) if "vor der Reise" in bare(hit.snippet))
        for _ in range(index):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: kb.has_class("-reading"), what="the reader")
        await pilot.press("ctrl+o")
        composer = console(app).pane.composer
        await wait_for(pilot, lambda: "vor der Reise" in composer.text, what="the quote in the reply")
        assert "**" not in composer.text
        assert composer.text.startswith("> ")
