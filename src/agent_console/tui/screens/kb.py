"""Knowledge-base search: results as you type, a reader, and keys to put a link or a
quoted excerpt into the reply. Article text is untrusted: sanitized, and links in the
Markdown are never opened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Markdown, Static

from agent_console.core.models import SNIPPET_CLOSE, SNIPPET_OPEN, KbArticle, KbHit
from agent_console.core.plain_markdown import to_plain
from agent_console.core.sanitize import sanitize, sanitize_line
from agent_console.tui.safe_text import untrusted_line
from agent_console.tui.screens.pickers import PromptScreen
from agent_console.tui.store import KbArticlesChanged
from agent_console.tui.widgets.choice_list import ChoiceList
from agent_console.tui.widgets.steady import SteadyInput

Search = Callable[[str], Awaitable[list[KbHit]]]
Fetch = Callable[[int], Awaitable[KbArticle]]
LinkFor = Callable[[KbArticle | KbHit], str | None]  # None: the desk has no public URL

NO_PUBLIC_URL = (
    "This desk has no public URL, so there is no link a customer could open. An admin sets it"
    " with `agent-console serve --public-url https://help.example.com` (or AGENT_CONSOLE_PUBLIC_URL)."
)


def snippet_text(snippet: str) -> Text:
    """The server marks hits with private-use characters; turn them into highlight spans."""
    text = Text()
    highlighted = False
    plain = to_plain(sanitize(snippet), links=False)
    for part in plain.replace("\n", " ").replace(SNIPPET_CLOSE, SNIPPET_OPEN).split(SNIPPET_OPEN):
        if part:
            text.append(part, "bold reverse" if highlighted else "")
        highlighted = not highlighted
    return text


def same_language(locale: str, customer: str | None) -> bool:
    """`pt-BR` is Portuguese for a customer whose language is `pt` (and the other way round)."""
    if not customer:
        return False
    return locale.lower().split("-")[0] == customer.lower().split("-")[0]


def plain_snippet(snippet: str) -> str:
    plain = to_plain(sanitize(snippet))
    return plain.replace(SNIPPET_OPEN, "").replace(SNIPPET_CLOSE, "").replace("\n", " ").strip()


def quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.strip().splitlines())


def first_paragraph(body: str, limit: int = 400) -> str:
    for block in body.split("\n\n"):
        block = block.strip()
        if block and not block.startswith("#"):
            return block[:limit] + ("…" if len(block) > limit else "")
    return body[:limit]


class KbScreen(ModalScreen[str | None]):
    """Returns the text to insert into the reply, or None."""

    DEFAULT_CSS = """
    KbScreen { align: center middle; }
    KbScreen > Vertical {
        width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    KbScreen #kb-results { height: 1fr; }
    KbScreen #kb-reader { height: 1fr; display: none; }
    KbScreen.-reading #kb-reader { display: block; }
    KbScreen.-reading #kb-results { display: none; }
    KbScreen #kb-hint { color: $text-muted; height: auto; }
    KbScreen #kb-status { color: $text-muted; height: 1; }
    """
    # The store sends `kb.article.*` events to screens that say they want them.
    wants_article_events = True
    BINDINGS = [
        Binding("escape", "back", "Back / close", id="kb.back"),
        Binding("ctrl+l", "insert_link", "Insert link", id="kb.insert_link"),
        Binding("ctrl+o", "insert_quote", "Insert quote", id="kb.insert_quote"),
        Binding("down", "move(1)", "Down", show=False, id="kb.down"),
        Binding("up", "move(-1)", "Up", show=False, id="kb.up"),
        # Priority: the search box keeps focus while reading, and an Input takes ctrl+e as "end".
        Binding("ctrl+e", "edit_article", "Edit in $EDITOR", id="kb.edit", priority=True),
    ]

    def __init__(
        self,
        search: Search,
        fetch: Fetch,
        link_for: LinkFor,
        *,
        query: str = "",
        locale: str | None = None,
        admin: Any = None,
    ) -> None:
        super().__init__()
        self.search = search
        self.fetch = fetch
        self.link_for = link_for
        self.initial_query = query
        self.locale = locale
        self.hits: list[KbHit] = []
        self.article: KbArticle | None = None
        # The admin calls (client/admin.AdminCalls) when the agent is an admin: edit in $EDITOR.
        self.admin = admin
        self._stale_hits = False  # articles changed while reading: search again on the way back

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Knowledge base", "bold"))
            yield SteadyInput(value=self.initial_query, placeholder="search articles", id="kb-query")
            yield Static(id="kb-status")
            # Two lines a hit (title, snippet) in a Line-API list: a new result list repaints
            # those lines, with no layout of the window per keystroke (as OptionList did).
            yield ChoiceList(id="kb-results", row_height=2)
            yield Markdown(id="kb-reader", open_links=False)
            hint = "enter read · ctrl+l insert link · ctrl+o insert quote · esc back"
            if self.admin is not None:
                hint += " · ctrl+e edit in $EDITOR"
            yield Static(Text(hint), id="kb-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        if self.initial_query:
            self.run_search(self.initial_query)

    @on(Input.Changed, "#kb-query")
    def _changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @work(exclusive=True, group="kb-search")
    async def run_search(self, query: str) -> None:
        if not query.strip():
            self.show_hits([])
            return
        try:
            hits = await self.search(query)
        except Exception as exc:  # noqa: BLE001 - shown to the agent, never raised into the UI
            if not self._gone():
                self.query_one("#kb-status", Static).update(Text(f"search failed: {exc}"))
            return
        if not self._gone():
            self.show_hits(hits)

    def _gone(self) -> bool:
        """The agent closed the search while a request ran: nothing is left to draw into (its
        widgets go one by one as it closes, so all that a result draws into must be there)."""
        return not (self.query("#kb-results") and self.query("#kb-status") and self.query(Markdown))

    def show_hits(self, hits: list[KbHit]) -> None:
        # The customer's language first (stable: the search's own ranking within each part).
        self.hits = sorted(hits, key=lambda hit: not same_language(hit.locale, self.locale))
        prompts = []
        for hit in self.hits:
            ours = same_language(hit.locale, self.locale)
            # Every hit says its language up front: a reply must not quote the wrong one.
            prompt = untrusted_line(f"{hit.locale:<5}", "bold reverse" if ours else "bold")
            prompt.append(" ")
            prompt.append_text(untrusted_line(hit.title, "bold"))
            prompt.append("\n")
            prompt.append_text(snippet_text(hit.snippet))
            prompts.append(prompt)
        # A hit's snippet follows the query: it is part of the row's key. The first is highlighted.
        keys = [(hit.id, hit.snippet, same_language(hit.locale, self.locale)) for hit in self.hits]
        self.query_one(ChoiceList).set_items(keys, prompts)
        status = f"{len(self.hits)} article(s)"
        if self.locale:
            mine = sum(1 for hit in self.hits if same_language(hit.locale, self.locale))
            status += f" · {mine} in the customer's language ({self.locale}), listed first"
        self.query_one("#kb-status", Static).update(untrusted_line(status), layout=False)  # one line

    def action_move(self, step: int) -> None:
        results = self.query_one(ChoiceList)
        if self.hits:
            results.highlighted = max(0, min(len(self.hits) - 1, (results.highlighted or 0) + step))

    @on(Input.Submitted, "#kb-query")
    def _submitted(self) -> None:
        self._read(self.query_one(ChoiceList).highlighted)

    @on(ChoiceList.Selected)
    def _selected(self, event: ChoiceList.Selected) -> None:
        self._read(event.index)

    def _read(self, index: int | None) -> None:
        if index is not None and 0 <= index < len(self.hits):
            self.open_article(self.hits[index].id)

    @work(exclusive=True, group="kb-read")
    async def open_article(self, article_id: int) -> None:
        try:
            article = await self.fetch(article_id)
        except Exception as exc:  # noqa: BLE001
            if not self._gone():
                self.query_one("#kb-status", Static).update(Text(f"could not open the article: {exc}"))
            return
        if self._gone():
            return
        self.article = article
        reader = self.query_one(Markdown)
        title = sanitize(article.title).replace("\n", " ")
        await reader.update(f"# {title}\n\n{sanitize(article.body)}")
        self.add_class("-reading")
        reader.focus()

    @on(Markdown.LinkClicked)
    def _link_clicked(self, event: Markdown.LinkClicked) -> None:
        """Article text is untrusted: show where a link really goes, open it only on yes."""
        event.prevent_default()
        target = sanitize(event.href).replace("\n", " ")

        def decided(answer: str | None) -> None:
            if answer is not None and answer.strip().lower() in ("y", "yes"):
                self.app.open_url(target)

        self.app.push_screen(
            PromptScreen(
                f"Open this link in your browser?\n{target}",
                placeholder="y to open, anything else to cancel",
                hint="the address above is exactly where it goes · enter to confirm · esc to cancel",
            ),
            decided,
        )

    def _current(self) -> KbArticle | KbHit | None:
        if self.article is not None and self.has_class("-reading"):
            return self.article
        index = self.query_one(ChoiceList).highlighted
        if index is not None and 0 <= index < len(self.hits):
            return self.hits[index]
        return None

    def action_insert_link(self) -> None:
        item = self._current()
        if item is None:
            return
        link = self.link_for(item)
        if link is None:
            # Inserting nothing keeps the reply honest: a title alone reads like a link was meant.
            self.notify(NO_PUBLIC_URL, title="No link inserted", severity="warning", timeout=12, markup=False)
            return
        self.dismiss(f"{sanitize(item.title).strip()}: {link}")

    def action_insert_quote(self) -> None:
        item = self._current()
        if item is None:
            return
        if isinstance(item, KbArticle):
            excerpt = to_plain(first_paragraph(sanitize(item.body)))  # a customer reads it as text
        else:
            excerpt = plain_snippet(item.snippet)
        link = self.link_for(item)
        if link is None:
            self.notify(NO_PUBLIC_URL, title="Quote inserted, no link", severity="warning", markup=False)
        self.dismiss(f"{quote(excerpt)}\n({link})" if link else quote(excerpt))

    def action_back(self) -> None:
        if self.has_class("-reading"):
            self.remove_class("-reading")
            self.article = None
            self.query_one(Input).focus()
            if self._stale_hits:
                self._stale_hits = False
                self.run_search(self.query_one(Input).value)
        else:
            self.dismiss(None)

    # --- live updates and editing (admins) ------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit_article":
            return self.admin is not None  # agents never see the key
        return True

    @on(KbArticlesChanged)
    def _articles_changed(self, message: KbArticlesChanged) -> None:
        changed = {a.get("id"): a for a in message.articles}
        if self.article is not None and self.has_class("-reading") and self.article.id in changed:
            view = changed[self.article.id]
            self.query_one("#kb-status", Static).update(
                untrusted_line(
                    f"updated just now: revision {view.get('revision')} of {view.get('title', '')}"
                )
            )
            self.open_article(self.article.id)
        query = self.query_one(Input).value
        if query.strip():
            # A new, changed, published or unpublished article moves the list: search again now,
            # or, while reading, on the way back (the notice above stays until then).
            if self.has_class("-reading"):
                self._stale_hits = True
            else:
                self.run_search(query)

    def action_edit_article(self) -> None:
        if self.admin is None:
            return
        item = self._current()
        if item is not None:
            self.edit_article(item.id)

    @work(exclusive=True, group="kb-edit")
    async def edit_article(self, article_id: int) -> None:
        from agent_console.client.errors import BackendError
        from agent_console.tui.kb_edit import edit

        try:
            article = await self.fetch(article_id)
        except BackendError as exc:
            self.notify(
                sanitize_line(f"could not open the article: {exc.message}"), severity="error", markup=False
            )
            return
        edited = edit(self.app, article)
        self.refresh()
        if not self._gone():
            self.query_one("#kb-status", Static).update(untrusted_line(edited.message))
        if edited.update is None:
            self.notify(
                sanitize_line(edited.message),
                severity="error" if edited.kept else "information",
                markup=False,
            )
            return
        try:
            saved = await self.admin.update_kb_article(article_id, edited.update)
        except BackendError as exc:
            self.notify(
                sanitize_line(f"not saved: {exc.message}"), severity="error", timeout=12, markup=False
            )
            return
        done = f"saved: revision {saved.revision} of {saved.title}"
        self.notify(sanitize_line(done), markup=False)
        if not self._gone():
            self.query_one("#kb-status", Static).update(untrusted_line(done))
        if self.has_class("-reading"):
            self.open_article(article_id)
