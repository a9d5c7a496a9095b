"""The web chat widget in a real browser: Debian's Chromium driven by Playwright, against the
real desk server. The customer uses the page; the agent answers through the REST API."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from websockets.sync.client import connect

from tests.widget_helpers import (
    WidgetDesk,
    add_site_key,
    conversation_with,
    frames_until,
    launch_chromium,
    restart,
    start_widget_desk,
)

WAIT = 20_000  # ms: a loaded CI machine is slow, and expect() polls until then


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def wdesk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WidgetDesk]:
    desk = start_widget_desk(
        tmp_path_factory.mktemp("widget-browser") / "desk.db", limits="sessions_per_ip=500/3600"
    )
    yield desk
    desk.server.stop()


def on_shift(desk: WidgetDesk, presence: str = "online") -> None:
    assert desk.agent.patch("/me", json={"presence": presence}).status_code == 200


def open_widget(browser: Any, desk: WidgetDesk, *, locale: str = "en-US") -> Page:
    page = browser.new_context(locale=locale).new_page()
    page.set_default_timeout(WAIT)
    page.goto(desk.widget_url())
    expect(page.locator("#acw-title")).to_have_text("Help desk", timeout=WAIT)
    return page


def live(page: Page) -> None:
    """The widget's feed is open: what happens from now on reaches it live."""
    expect(page.locator(".acw")).to_have_attribute("data-live", "true", timeout=WAIT)


def send(page: Page, text: str) -> None:
    page.locator(".acw-compose").get_by_label("Your message").fill(text)
    page.locator(".acw-compose").get_by_label("Your message").press("Enter")
    expect(page.locator(".acw-log")).to_contain_text(text, timeout=WAIT)


def test_customer_writes_agent_answers_live_with_typing_both_ways(browser: Any, wdesk: WidgetDesk) -> None:
    on_shift(wdesk)
    page = open_widget(browser, wdesk)
    expect(page.locator(".acw-status")).to_have_text("An agent is online.", timeout=WAIT)
    send(page, "Hello from the browser livechatword")
    conv = conversation_with(wdesk, "livechatword")
    assert conv["channel"] == "web_chat"
    live(page)

    # The customer types: the agents' feed says so.
    head = wdesk.agent.get("/conversations", params={"limit": 1}).json()["head_seq"]
    url = wdesk.url.replace("http://", "ws://") + f"/api/v1/events?since={head}&presence=0"
    with connect(url, additional_headers={"Authorization": f"Bearer {wdesk.agent_token}"}) as feed:
        page.locator(".acw-compose").get_by_label("Your message").press_sequentially("still th")
        typing = frames_until(feed, lambda f: f["type"] == "typing", timeout=30)[-1]["data"]
        assert typing["conversation_id"] == conv["id"] and typing["author"]["type"] == "contact"

    # The agent types, writes a private note, then answers: typing shows, the note never does.
    wdesk.agent.post(f"/conversations/{conv['id']}/typing", json={"active": True})
    expect(page.locator(".acw-typing")).to_have_text("Sam Agent is typing…", timeout=WAIT)
    wdesk.agent.post(
        f"/conversations/{conv['id']}/messages", json={"body": "note: secretnote", "private": True}
    )
    reply = '<img src=x onerror="document.title=1">Try restarting the router'
    wdesk.agent.post(f"/conversations/{conv['id']}/messages", json={"body": reply})
    log = page.locator(".acw-log")
    expect(log).to_contain_text(reply, timeout=WAIT)  # as text, markup and all
    expect(page.locator(".acw-log img")).to_have_count(0)
    expect(page.locator(".acw-typing")).to_have_text("")
    assert "secretnote" not in log.inner_text()
    assert page.title() == "Help desk"


def test_history_on_return_and_a_follow_up_email(browser: Any, wdesk: WidgetDesk) -> None:
    on_shift(wdesk)
    page = open_widget(browser, wdesk)
    send(page, "I will come back historyword")
    page.locator(".acw-email").get_by_label("Your email, for follow-up").fill("returning@customer.example")
    page.get_by_role("button", name="Save email").click()
    expect(page.locator(".acw-email-saved")).to_have_text("We will write to returning@customer.example.")
    conv = conversation_with(wdesk, "historyword")
    wdesk.agent.post(f"/conversations/{conv['id']}/messages", json={"body": "Welcome back answer"})
    expect(page.locator(".acw-log")).to_contain_text("Welcome back answer", timeout=WAIT)

    page.reload()  # the token is in localStorage: the same customer, their history
    expect(page.locator(".acw-log")).to_contain_text("I will come back historyword", timeout=WAIT)
    expect(page.locator(".acw-log")).to_contain_text("Welcome back answer")
    expect(page.locator(".acw-email-saved")).to_have_text("We will write to returning@customer.example.")
    notes = [m["body"] for m in wdesk.agent.get(f"/conversations/{conv['id']}/messages").json()["items"]]
    assert "The customer left an email for follow-up (not verified): returning@customer.example" in notes
    # Unverified: it never becomes the contact's address (mail threads by that).
    assert wdesk.agent.get(f"/conversations/{conv['id']}").json()["contact"]["email"] is None

    stranger = open_widget(browser, wdesk)  # another browser: nobody's history
    expect(stranger.locator(".acw-msg")).to_have_count(0)


def test_reconnect_after_a_server_restart_shows_each_reply_once(browser: Any, tmp_path: Path) -> None:
    desk = start_widget_desk(tmp_path / "desk.db")
    try:
        on_shift(desk)
        page = open_widget(browser, desk)
        send(page, "before the restart restartword")
        conv = conversation_with(desk, "restartword")
        live(page)
        desk.agent.post(f"/conversations/{conv['id']}/messages", json={"body": "reply one"})
        expect(page.locator(".acw-log")).to_contain_text("reply one", timeout=WAIT)
        restart(desk)
        # Written while the widget is still reconnecting: the replay from its seq brings it.
        desk.agent.post(f"/conversations/{conv['id']}/messages", json={"body": "reply two"})
        expect(page.locator(".acw-log")).to_contain_text("reply two", timeout=WAIT)
        desk.agent.post(f"/conversations/{conv['id']}/messages", json={"body": "reply three"})
        expect(page.locator(".acw-log")).to_contain_text("reply three", timeout=WAIT)
        bodies = page.locator(".acw-body").all_inner_texts()
        assert bodies == ["before the restart restartword", "reply one", "reply two", "reply three"]
    finally:
        desk.server.stop()


def test_csat_prompt_after_resolve(browser: Any, wdesk: WidgetDesk) -> None:
    on_shift(wdesk)
    page = open_widget(browser, wdesk)
    send(page, "please resolve csatbrowserword")
    conv = conversation_with(wdesk, "csatbrowserword")
    live(page)
    expect(page.locator(".acw-csat")).to_be_hidden()
    wdesk.agent.patch(f"/conversations/{conv['id']}", json={"status": "resolved"})
    expect(page.locator(".acw-csat")).to_be_visible(timeout=WAIT)
    page.get_by_label("4 of 5").check()
    page.get_by_label("Comment (optional)").fill("Fast and kind")
    page.get_by_role("button", name="Send rating").click()
    expect(page.locator(".acw-csat-done")).to_have_text("Thank you for rating us 4 of 5.", timeout=WAIT)
    expect(page.locator(".acw-csat")).to_be_hidden()
    rating = wdesk.agent.get(f"/conversations/{conv['id']}/csat").json()
    assert (rating["rating"], rating["comment"]) == (4, "Fast and kind")


def test_offline_form_when_nobody_is_on_shift(browser: Any, wdesk: WidgetDesk) -> None:
    on_shift(wdesk, "offline")
    page = open_widget(browser, wdesk)
    expect(page.locator(".acw-status")).to_contain_text("Nobody is on shift right now", timeout=WAIT)
    expect(page.locator(".acw-compose")).to_be_hidden()
    form = page.locator(".acw-offline")
    form.get_by_label("Your email, for follow-up").fill("night@customer.example")
    form.get_by_label("Your message").fill("My bill is wrong offlineword")
    form.get_by_role("button", name="Send").click()
    expect(page.locator(".acw-status")).to_have_text("Thank you. We will answer by email.", timeout=WAIT)
    expect(page.locator(".acw-log")).to_contain_text("offlineword")
    conv = conversation_with(wdesk, "offlineword")
    notes = [m["body"] for m in wdesk.agent.get(f"/conversations/{conv['id']}/messages").json()["items"]]
    assert notes == [
        "My bill is wrong offlineword",
        "The customer left an email for follow-up (not verified): night@customer.example",
    ]
    live(page)
    # Someone comes on shift: the widget says so without a reload.
    on_shift(wdesk)
    expect(page.locator(".acw-status")).to_have_text("An agent is online.", timeout=WAIT)


def test_strings_follow_the_browser_language(browser: Any, wdesk: WidgetDesk) -> None:
    on_shift(wdesk)
    page = open_widget(browser, wdesk, locale="de-DE")
    expect(page.locator(".acw-compose").get_by_label("Ihre Nachricht")).to_be_visible()
    expect(page.locator(".acw-status")).to_have_text("Ein Mitarbeiter ist online.", timeout=WAIT)
    assert page.locator("html").get_attribute("lang") == "de"


class _Site(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def shop_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A customer's own web site on another origin (another port), served from tmp_path."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Site, directory=str(tmp_path))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    server.shutdown()
    server.server_close()


def test_embedded_on_an_allowed_site_and_refused_elsewhere(
    browser: Any, wdesk: WidgetDesk, shop_site: tuple[str, Path]
) -> None:
    on_shift(wdesk)
    origin, root = shop_site
    allowed = add_site_key(wdesk.db, origin)
    other = add_site_key(wdesk.db, "https://somewhere-else.example")
    for name, key in (("shop.html", allowed), ("borrowed.html", other)):
        tag = f'<script src="{wdesk.url}/widget.js" data-site-key="{key}" async></script>'
        (root / name).write_text(f"<!doctype html><title>Shop</title><h1>Our shop</h1>{tag}")

    page = browser.new_context().new_page()
    page.set_default_timeout(WAIT)
    page.goto(f"{origin}/shop.html")
    page.get_by_role("button", name="Chat with us").click()
    send(page, "asking from the shop embedword")
    conv = conversation_with(wdesk, "embedword")
    wdesk.agent.post(f"/conversations/{conv['id']}/messages", json={"body": "Hello shop visitor"})
    expect(page.locator(".acw-log")).to_contain_text("Hello shop visitor", timeout=WAIT)
    assert page.evaluate("Object.keys(localStorage).length") == 1  # the token, on the shop's origin

    borrowed = browser.new_context().new_page()
    borrowed.set_default_timeout(WAIT)
    borrowed.goto(f"{origin}/borrowed.html")
    borrowed.get_by_role("button", name="Chat with us").click()
    borrowed.locator(".acw-compose").get_by_label("Your message").fill("should not arrive borrowedword")
    borrowed.locator(".acw-compose").get_by_label("Your message").press("Enter")
    expect(borrowed.locator(".acw-error")).to_have_text("Not sent. Check your connection and try again.")
    items = wdesk.agent.get("/conversations", params={"status": "all", "q": "borrowedword"}).json()["items"]
    assert items == []
    assert borrowed.evaluate("Object.keys(localStorage)") == []


def test_the_embedded_widget_works_from_the_keyboard(
    browser: Any, wdesk: WidgetDesk, shop_site: tuple[str, Path]
) -> None:
    on_shift(wdesk)
    origin, root = shop_site
    key = add_site_key(wdesk.db, origin)
    tag = f'<script src="{wdesk.url}/widget.js" data-site-key="{key}" async></script>'
    (root / "index.html").write_text(f"<!doctype html><title>Shop</title><h1>Our shop</h1>{tag}")
    page = browser.new_context().new_page()
    page.set_default_timeout(WAIT)
    page.goto(f"{origin}/index.html")
    launcher = page.get_by_role("button", name="Chat with us")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".acw")).to_be_hidden()  # closed until asked
    page.keyboard.press("Tab")  # the launcher is the page's only control
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    message = page.locator(".acw-compose").get_by_label("Your message")
    expect(message).to_be_focused()  # opening the chat puts the cursor where you write
    page.keyboard.type("typed without a mouse keyboardword")
    page.keyboard.press("Enter")
    expect(page.locator(".acw-log")).to_contain_text("keyboardword", timeout=WAIT)
    assert conversation_with(wdesk, "keyboardword")["channel"] == "web_chat"
    page.keyboard.press("Escape")
    close = page.get_by_role("button", name="Chat with us")
    expect(close).to_be_focused()
    expect(close).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("region", name="Help desk")).to_be_hidden()


def test_the_customer_is_told_when_they_write_too_fast(browser: Any, tmp_path: Path) -> None:
    desk = start_widget_desk(tmp_path / "desk.db", limits="messages_per_contact=2/600")
    try:
        on_shift(desk)
        page = open_widget(browser, desk)
        send(page, "first toofastword")
        send(page, "second")
        page.locator(".acw-compose").get_by_label("Your message").fill("third, too soon")
        page.locator(".acw-compose").get_by_label("Your message").press("Enter")
        expect(page.locator(".acw-error")).to_contain_text("Too many messages. Try again in", timeout=WAIT)
        # What was not sent stays in the box, and the log shows only what arrived.
        expect(page.locator(".acw-compose").get_by_label("Your message")).to_have_value("third, too soon")
        assert page.locator(".acw-body").all_inner_texts() == ["first toofastword", "second"]
        conv = conversation_with(desk, "toofastword")
        assert desk.agent.get(f"/conversations/{conv['id']}").json()["message_count"] == 2
    finally:
        desk.server.stop()


def test_the_faq_bot_answers_and_the_yes_button_resolves(browser: Any, tmp_path: Path) -> None:
    """The FAQ bot in the browser: its answer links the article and offers a yes button, which
    resolves the conversation as the bot's (then the rating prompt shows)."""
    desk = start_widget_desk(tmp_path / "bot.db", demo=True)
    try:
        assert desk.admin.patch("/bot/channels/web_chat", json={"enabled": True}).status_code == 200
        on_shift(desk)
        page = browser.new_context(locale="es-ES").new_page()
        page.set_default_timeout(WAIT)
        page.goto(desk.widget_url())
        expect(page.locator("#acw-title")).to_have_text("Lumo Mobile Support", timeout=WAIT)
        message = page.locator(".acw-compose").get_by_label("Tu mensaje")
        # A word no article has (so it changes no score) finds the conversation afterwards.
        message.fill("¿Cómo puedo recargar más datos en mi plan activo? zqbotmark")
        message.press("Enter")
        expect(page.locator(".acw-log")).to_contain_text("¿Cómo puedo recargar", timeout=WAIT)
        log = page.locator(".acw-log")
        expect(log).to_contain_text("Recargar datos en un plan activo", timeout=WAIT)
        button = page.get_by_role("button", name="Sí, se ha resuelto")
        expect(button).to_be_visible(timeout=WAIT)
        button.click()
        expect(page.get_by_role("button", name="Sí, se ha resuelto")).to_have_count(0, timeout=WAIT)
        expect(log).to_contain_text("me alegro", timeout=WAIT)
        expect(page.locator(".acw-csat")).to_be_visible(timeout=WAIT)
        conv = conversation_with(desk, "zqbotmark")
        assert (conv["status"], conv["bot_status"]) == ("resolved", "resolved")
    finally:
        desk.server.stop()
