"""Browser fixtures: the test ``app`` served by uvicorn, and Chromium driven by Playwright.

``live_server`` runs uvicorn in a background thread on a free port of 127.0.0.1, one server
per test (each test has its own database). ``browser`` is one Chromium for the session;
``page`` is a fresh context and page for each test, with ``console`` collecting console
errors, uncaught exceptions and Content-Security-Policy violations.

Chromium comes from Debian (``/usr/bin/chromium``); Playwright's own browser download is
not used. Without it the tests are skipped, unless ``POTOK_REQUIRE_BROWSER=1`` (CI) makes
that a failure.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from starlette.applications import Starlette

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
STARTUP_SECONDS = 15.0

# The page reports CSP violations on the console, so the console watcher sees them too.
# Added through the DevTools protocol, so the page's own CSP does not apply to it.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || "?"}:${event.lineNumber}`);
});
"""
_HTTP_STATUS_MESSAGE = re.compile(r"the server responded with a status of (\d{3})")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory drives the browser and carries the ``browser`` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


# The server -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveServer:
    url: str

    def __call__(self, path: str = "/") -> str:
        return self.url + path


def _wait_until_healthy(url: str, thread: threading.Thread) -> None:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no HTTP_PROXY here
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped while starting")
        try:
            with direct.open(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the test server did not answer {url}/healthz in {STARTUP_SECONDS} s")


@pytest.fixture
def live_server(app: Starlette) -> Iterator[LiveServer]:
    """The test ``app`` served over HTTP on a free port of 127.0.0.1."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="live-server", daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, thread)
        yield LiveServer(url)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)
        listener.close()
    assert not thread.is_alive(), "the test server did not shut down"


# The browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("POTOK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"POTOK_REQUIRE_BROWSER=1, but {reason}", pytrace=False)
        pytest.skip(reason)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@dataclass
class Console:
    """What the page said on its console: errors, uncaught exceptions, CSP violations."""

    errors: list[str] = field(default_factory=list)

    def unexpected(self, *statuses: int) -> list[str]:
        """The errors, leaving out "failed to load" lines for the given HTTP statuses
        (the browser logs one for every 4xx page, e.g. a form shown again with errors)."""
        allowed = {str(status) for status in statuses}
        return [
            text
            for text in self.errors
            if not ((found := _HTTP_STATUS_MESSAGE.search(text)) and found.group(1) in allowed)
        ]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    """A new browser context (own cookies) at desktop size, with its console watched."""
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    context.add_init_script(_REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(10_000)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console.errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))
    yield page
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
