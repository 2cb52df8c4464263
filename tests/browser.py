"""Headless Chromium (Debian's, driven by Playwright) for tests that look at rendered pages.

A tab may load only from this machine: file:// pages and servers on 127.0.0.1 / localhost.
Chromium resolves no other host name, and every request for one is kept in `Tab.blocked`,
so a test can assert that a page needed no network. (Blocking by name rather than by
Playwright's request interception: interception stalls pages that start web workers, such
as MLflow's UI.) Use through the `chromium` and `tab` fixtures in conftest.py:

    tab.open("http://127.0.0.1:5000", wait_for_text="Experiments").screenshot(tmp_path / "ui.png")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Request, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: `make setup` installs it where apt exists
# Without the background-networking flags Chromium floods a closed network with connections.
FLAGS = [
    "--no-sandbox",  # tests run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
LOCAL_SCHEMES = {"file", "data", "blob"}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
TIMEOUT_S = 15


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Headless Chromium; Playwright starts each launch on a fresh, throwaway --user-data-dir."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page in its own browser context; what it tried to fetch elsewhere, and its JS errors."""

    page: Page
    blocked: list[str] = field(default_factory=list)  # URLs off this machine (they cannot resolve)
    errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page's scripts

    def open(self, target: str | Path, wait_for_text: str | None = None) -> Tab:
        """Go to a URL or a file and wait for its load event (and for a text, if given)."""
        url = Path(target).resolve().as_uri() if isinstance(target, Path) else target
        self.page.goto(url)
        return self.wait_for_text(wait_for_text) if wait_for_text else self

    def wait_for_text(self, text: str, timeout_s: float = TIMEOUT_S) -> Tab:
        """Wait until `text` is visible: what a page drawn by scripts (a SPA, vega) needs."""
        visible = self.page.get_by_text(text).filter(visible=True).first
        visible.wait_for(timeout=timeout_s * 1000)
        return self

    def wait_for(self, selector: str, timeout_s: float = TIMEOUT_S) -> Tab:
        """Wait until an element matching the CSS selector is attached to the page."""
        self.page.locator(selector).first.wait_for(state="attached", timeout=timeout_s * 1000)
        return self

    def text(self) -> str:
        """The text a reader sees (innerText of the body)."""
        return self.page.inner_text("body")

    def screenshot(self, path: Path) -> Path:
        """The whole page, not just the viewport, as a PNG at path."""
        self.page.screenshot(path=path, full_page=True)
        return path


@contextmanager
def open_tab(browser: Browser) -> Iterator[Tab]:
    """A Tab in a new context (no cookies or storage shared with other tabs), closed after."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = Tab(context.new_page())

    def record_remote(request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme not in LOCAL_SCHEMES and url.hostname not in LOCAL_HOSTS:
            tab.blocked.append(request.url)

    context.on("request", record_remote)
    tab.page.on("pageerror", lambda error: tab.errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()
