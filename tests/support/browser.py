"""A real headless Chromium (Debian's, driven by Playwright) for the tests of /ui.

Screenshots go to $PROBE_DEMO_SCREENSHOTS when it is set (`make screenshots` sets it to
docs/images, where the guides use them), else to the test's own temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("PROBE_DEMO_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = os.environ.get("PROBE_DEMO_SCREENSHOTS")
WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 375, "height": 812}


@contextmanager
def chromium() -> Iterator:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                    "(`make apt-deps` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One Chromium per test session (per xdist worker), shared by its tests' pages."""
    with chromium() as launched:
        yield launched


class UiPage:
    """One tab on /ui that remembers every request it made."""

    def __init__(self, browser, base_url: str, viewport: dict[str, int] = WIDE):
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(base_url.rstrip("/") + "/ui")
        # The first snapshot is drawn once the contact says "live".
        self.page.locator("#contact.live").wait_for(timeout=10_000)

    def other_origins(self) -> list[str]:
        return [url for url in self.requests
                if not url.startswith(self.origin + "/") and not url.startswith("data:")]

    def screenshot(self, name: str, folder: Path) -> Path:
        path = Path(SCREENSHOTS or folder) / f"ui-{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()
