"""What the browser tests share besides fixtures: the browser, viewports, a watch on a page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs

from tests.support.server import HOST

if TYPE_CHECKING:
    from playwright.sync_api import Dialog, Page, Request, ViewportSize, WebSocket

__all__ = ["ARTIFACTS", "CHROMIUM", "CHROMIUM_ARGS", "DESKTOP", "PHONE", "PageWatch"]

#: Debian's Chromium unless BOOKING_CHROMIUM names another.
CHROMIUM = Path(os.environ.get("BOOKING_CHROMIUM") or "/usr/bin/chromium")
#: Flags that keep Chromium off the network (this machine has none) and quiet; Playwright
#: itself adds --headless and a fresh, empty --user-data-dir for every launch.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Screenshots and other evidence, at the repository root (gitignored).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


# Not slotted: Playwright caches a wrapper on the object of a bound method it is given.
@attrs.define(slots=False)
class PageWatch:
    """What a page did that a test may have to rule out: dialogs, requests, script errors."""

    dialogs: list[str] = attrs.field(factory=list)
    urls: list[str] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)

    def attach(self, page: Page) -> None:
        page.on("dialog", self._on_dialog)
        page.on("request", self._on_request)
        page.on("websocket", self._on_websocket)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _on_request(self, request: Request) -> None:
        self.urls.append(request.url)

    def _on_websocket(self, socket: WebSocket) -> None:
        self.urls.append(socket.url)

    def foreign_urls(self) -> list[str]:
        """Every URL the page asked for that is not on the test server's host."""
        return [
            url
            for url in self.urls
            if urlsplit(url).scheme != "data" and urlsplit(url).hostname != HOST
        ]
