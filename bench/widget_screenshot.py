"""Make docs/widget.png: the web chat widget in Debian's Chromium, mid-conversation.

    python -m bench.widget_screenshot [PATH]

It starts a seeded demo desk with a site key (the test suite's helpers), opens /widget, has a
customer write, an agent type and answer through the REST API, and screenshots the page.
Also prints the widget's size in bytes (raw and gzip), as served.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright
from tests.widget_helpers import launch_chromium, start_widget_desk

WAIT = 30_000


def widget_bytes(url: str, key: str) -> dict[str, tuple[int, int]]:
    """Each asset the widget page loads: (bytes, gzip -9 bytes)."""
    sizes = {}
    for name, path in (
        ("page", f"/widget?key={key}"),
        ("widget.js", "/widget.js"),
        ("widget.css", "/widget.css"),
    ):
        body = httpx.get(url + path).content
        sizes[name] = (len(body), len(gzip.compress(body, 9)))
    return sizes


def main(argv: list[str]) -> int:
    target = Path(argv[0] if argv else "docs/widget.png")
    with tempfile.TemporaryDirectory() as folder:
        desk = start_widget_desk(Path(folder) / "desk.db", demo=True)
        try:
            desk.agent.patch("/me", json={"presence": "online"})
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_context(locale="en-US", viewport={"width": 520, "height": 760}).new_page()
                page.set_default_timeout(WAIT)
                page.goto(desk.widget_url())
                compose = page.locator(".acw-compose").get_by_label("Your message")
                compose.fill("Hi! My eSIM shows 'No service' since this morning. Can you help?")
                compose.press("Enter")
                expect(page.locator(".acw-log")).to_contain_text("No service", timeout=WAIT)
                expect(page.locator(".acw")).to_have_attribute("data-live", "true", timeout=WAIT)
                # The customer's own conversation, as their browser's token reads it.
                token = page.evaluate("localStorage.getItem(Object.keys(localStorage)[0])")
                me = httpx.get(f"{desk.api}/widget/me", headers={"Authorization": f"Bearer {token}"}).json()
                conv = me["conversations"][0]
                desk.agent.post(
                    f"/conversations/{conv['id']}/messages",
                    json={"body": "Hello! Sorry about that. Could you restart the phone once?"},
                )
                expect(page.locator(".acw-log")).to_contain_text("restart the phone", timeout=WAIT)
                compose.fill("Restarted, still nothing.")
                compose.press("Enter")
                expect(page.locator(".acw-log")).to_contain_text("still nothing", timeout=WAIT)
                desk.agent.post(f"/conversations/{conv['id']}/typing", json={"active": True})
                expect(page.locator(".acw-typing")).to_contain_text("is typing", timeout=WAIT)
                target.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(target), full_page=True)
                browser.close()
            for name, (raw, packed) in widget_bytes(desk.url, desk.site_key).items():
                print(f"{name}: {raw:,} bytes ({packed:,} gzipped)")
        finally:
            desk.server.stop()
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
