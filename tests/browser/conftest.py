"""Fixtures for the browser tests: the system Chromium driven by Playwright, and a real server.

Chromium is Debian's ``/usr/bin/chromium`` (``BOOKING_CHROMIUM`` points elsewhere); Playwright
only drives it and never downloads a browser. Without Chromium the tests skip, saying why, unless
``BOOKING_REQUIRE_BROWSER=1`` (CI sets it), when they fail instead.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.browser.browsing import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DESKTOP, PageWatch
from tests.support.server import ADMIN_TOKEN, AGENT_HEADERS, ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

#: Set to 1 (CI does) to make a missing Chromium a failure instead of a skip.
REQUIRE_BROWSER_ENV = "BOOKING_REQUIRE_BROWSER"


def _browser_required() -> bool:
    return os.environ.get(REQUIRE_BROWSER_ENV) == "1"


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set BOOKING_CHROMIUM)"
    return None


def pytest_report_header() -> str:
    required = " (required)" if _browser_required() else ""
    reason = browser_unavailable()
    if reason:
        return f"browser{required}: tests/browser will be SKIPPED: {reason}"
    version = subprocess.run(
        [str(CHROMIUM), "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout.strip()
    return f"browser{required}: {version or CHROMIUM}"


# Module scope: Playwright's sync API runs its own event loop, which is closed again before
# any asyncio test of another module runs.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = browser_unavailable()
    if reason:
        if _browser_required():
            pytest.fail(f"{REQUIRE_BROWSER_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``booking serve`` on a fresh SQLite database, with the known test admin token and agent
    API keys configured: the dashboard must work with its admin token alone (it asks
    ``/api/admin/availability/``, never the agent endpoints).
    """
    database = tmp_path_factory.mktemp("sqlite") / "booking.db"
    log_dir = tmp_path_factory.mktemp("server")
    # A short poll keeps the feed quick even if a wake-up were missed; commits wake it at once.
    env = {"BOOKING_EVENT_POLL_MS": "200"}
    with ServerProcess(f"sqlite+aiosqlite:///{database}", log_dir=log_dir, env=env) as process:
        yield process


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    """An agent's client (with an agent API key), for making bookings the page should show."""
    with httpx.Client(base_url=server.base_url, timeout=30.0, headers=AGENT_HEADERS) as client:
        yield client


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client with the admin token, for checking what the page did."""
    with httpx.Client(
        base_url=server.base_url,
        timeout=30.0,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ) as client:
        yield client


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser: Browser, watch: PageWatch) -> Iterator[Page]:
    """A fresh browser context (its own session storage) at desktop size, watched."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch.attach(page)
    try:
        yield page
    finally:
        context.close()
    assert watch.foreign_urls() == [], "the page made requests beyond the test server"
    assert watch.dialogs == [], "the page opened a native dialog"
    assert watch.errors == [], "the page's scripts raised"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
