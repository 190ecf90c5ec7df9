"""The dashboard's Webhooks page (issue 17), end to end in real headless Chromium.

A real ``booking serve`` on SQLite that may send plain http to loopback
(``BOOKING_WEBHOOK_ALLOW_HTTP``, ``_ALLOW_PRIVATE``), with the retry schedule shrunk a
thousandfold, and a real receiver on 127.0.0.1 started by the test. Subscriptions are made on
the page as a person makes them; what was sent is checked at the receiver with the official
``standardwebhooks`` library, using the secret as the page showed it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from standardwebhooks.webhooks import Webhook

from tests.browser.test_admin_dashboard import create_booking, open_dashboard
from tests.integration.working_days import WorkingDays
from tests.support.server import ServerProcess
from tests.support.webhook_receiver import WebhookReceiver

WEBHOOKS = "/api/admin/webhooks/"
#: Long enough for a delivery and its retry at 1/1000 of the schedule, on a loaded machine.
DELIVERED_WITHIN_MS = 15000


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    # /flaky fails its first attempt; /gone answers 410 Gone; anything else succeeds.
    def script(path: str, seen: int) -> int:
        if path == "/gone":
            return 410
        return 500 if path == "/flaky" and seen == 0 else 200

    with WebhookReceiver(script) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """This module's own server: the dashboard's shared one may not reach loopback receivers."""
    database = tmp_path_factory.mktemp("sqlite") / "booking.db"
    env = {
        "BOOKING_EVENT_POLL_MS": "200",
        "BOOKING_WEBHOOK_ALLOW_HTTP": "1",
        "BOOKING_WEBHOOK_ALLOW_PRIVATE": "1",
        "BOOKING_WEBHOOK_RETRY_SCALE": "0.001",
        "BOOKING_WEBHOOK_TIMEOUT_S": "2",
    }
    with ServerProcess(
        f"sqlite+aiosqlite:///{database}", log_dir=tmp_path_factory.mktemp("server"), env=env
    ) as process:
        yield process


@pytest.fixture(scope="module")
def days() -> WorkingDays:
    return WorkingDays()


def open_webhooks(page: Page, server: ServerProcess) -> None:
    open_dashboard(page, server)
    page.get_by_role("link", name="Webhooks").click()
    expect(page.locator("#webhooks-title")).to_be_focused()


def subscription_row(page: Page, webhook_id: int) -> Locator:
    return page.locator(f'#webhooks-body tr[data-webhook-id="{webhook_id}"]')


def subscribe_on_page(
    page: Page, url: str, description: str, events: list[str] | None = None
) -> str:
    """Fill and save the form; returns the secret the page shows."""
    page.get_by_role("button", name="New subscription").click()
    page.get_by_label("URL", exact=True).fill(url)
    if events is not None:
        page.get_by_label("All events, also types added later").uncheck()
        for label in events:
            page.get_by_role("checkbox", name=label).check()
    page.get_by_label("Description", exact=True).fill(description)
    page.get_by_role("button", name="Save subscription").click()
    expect(page.locator("#webhook-secret")).to_be_visible()
    secret = page.get_by_role("textbox", name="Signing secret").input_value()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret), secret
    return secret


def only_subscription(admin: httpx.Client, url: str) -> dict[str, Any]:
    (found,) = [item for item in admin.get(WEBHOOKS).json()["data"] if item["url"] == url]
    return found


def disabled_eventually(admin: httpx.Client, webhook_id: int, timeout: float = 20.0) -> bool:
    """Whether the subscription is disabled within ``timeout``: the server records an outcome
    in its next round, and another process's state has no event to wait on, so this polls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not admin.get(f"{WEBHOOKS}{webhook_id}/").json()["data"]["enabled"]:
            return True
        time.sleep(0.05)
    return False


class TestWebhooksPage:
    def test_subscribe_see_the_secret_once_and_the_delivery_log(
        self,
        page: Page,
        server: ServerProcess,
        receiver: WebhookReceiver,
        http: httpx.Client,
        admin: httpx.Client,
        days: WorkingDays,
        artifacts: Path,
    ) -> None:
        url = receiver.url("/flaky")
        open_webhooks(page, server)
        expect(page.locator("#webhooks-empty")).to_be_visible()

        secret = subscribe_on_page(page, url, "CRM", events=["Booking created"])

        made = only_subscription(admin, url)
        assert made["event_types"] == ["booking_created"]
        assert made["description"] == "CRM"
        assert made["enabled"] is True
        row = subscription_row(page, made["id"])
        expect(row).to_contain_text(url)
        expect(row).to_contain_text("booking_created")
        expect(row).to_contain_text("Enabled")
        page.get_by_role("button", name="I have copied it").click()
        expect(page.locator("#webhook-secret")).to_be_hidden()
        # Shown once: gone from the page, and no answer about the subscription holds it.
        assert secret not in page.content()
        assert secret not in admin.get(WEBHOOKS).text
        assert secret not in admin.get(f"{WEBHOOKS}{made['id']}/").text

        page.get_by_role("button", name="Delivery log of CRM").click()
        expect(page.locator("#webhook-log-title")).to_have_text("Delivery log of CRM")
        expect(page.locator("#webhook-log-empty")).to_be_visible()
        booking = create_booking(http, days.take(), "13:00", first_name="Hooked")

        # The receiver failed the first attempt: the event arrived twice, signed, one id.
        got = receiver.wait_for(lambda items: len(items) >= 2, "/flaky")
        assert len({item.webhook_id for item in got}) == 1
        for item in got:
            assert Webhook(secret).verify(item.body, item.headers)["data"]["id"] == booking["id"]
        # The page's log follows by itself (the live feed and the pending delivery refresh it).
        delivery = page.locator("#webhook-log-body tr.delivery").first
        expect(delivery).to_have_attribute("data-status", "delivered", timeout=DELIVERED_WITHIN_MS)
        expect(delivery).to_have_attribute("data-event-id", got[0].webhook_id)
        expect(delivery.locator(".delivery__attempts")).to_have_text("2")
        expect(delivery.locator(".delivery__answer")).to_have_text("HTTP 200")
        expect(delivery.locator(".delivery__next")).to_have_text("")
        attempts = page.locator("#webhook-log-body li.attempt")
        expect(attempts).to_have_count(2)
        expect(attempts.nth(0)).to_have_attribute("data-status-code", "500")
        expect(attempts.nth(0)).to_contain_text("retry at")
        expect(attempts.nth(1)).to_have_attribute("data-status-code", "200")
        expect(attempts.nth(1)).to_contain_text(re.compile(r"Attempt 2 · .+ · HTTP 200 · \d+ ms"))
        page.emulate_media(reduced_motion="reduce")
        page.screenshot(path=artifacts / "admin-webhooks.png", full_page=True)

        # Replay that event from the page: it arrives again with the same webhook-id.
        page.get_by_role("button", name=f"Replay event {got[0].webhook_id}").click()
        again = receiver.wait_for(lambda items: len(items) >= 3, "/flaky")
        assert again[-1].webhook_id == got[0].webhook_id
        expect(delivery.locator(".delivery__attempts")).to_have_text(
            "1", timeout=DELIVERED_WITHIN_MS
        )
        assert (artifacts / "admin-webhooks.png").stat().st_size > 0

    def test_edit_rotate_disabled_by_the_service_and_delete(
        self,
        page: Page,
        server: ServerProcess,
        receiver: WebhookReceiver,
        http: httpx.Client,
        admin: httpx.Client,
        days: WorkingDays,
    ) -> None:
        url = receiver.url("/gone")
        open_webhooks(page, server)
        first_secret = subscribe_on_page(page, url, "Billing")
        made = only_subscription(admin, url)
        assert made["event_types"] == ["*"]
        page.get_by_role("button", name="I have copied it").click()

        # Edit: other event types and a description; the API has what the page sent.
        page.get_by_role("button", name="Edit Billing").click()
        page.get_by_label("All events, also types added later").uncheck()
        page.get_by_role("checkbox", name="Booking cancelled").check()
        page.get_by_role("checkbox", name="Booking created").check()
        page.get_by_label("Description", exact=True).fill("Billing system")
        page.get_by_role("button", name="Save subscription").click()
        expect(page.locator("#webhook-status")).to_have_text("Saved.")
        edited = only_subscription(admin, url)
        assert sorted(edited["event_types"]) == ["booking_cancelled", "booking_created"]
        assert edited["description"] == "Billing system"

        # Rotate: a new secret, shown once; the old one still signs for a day.
        page.get_by_role("button", name="Rotate the secret of Billing system").click()
        expect(page.locator("#webhook-secret-for")).to_contain_text("rotated")
        new_secret = page.get_by_role("textbox", name="Signing secret").input_value()
        assert new_secret.startswith("whsec_")
        assert new_secret != first_secret
        expect(subscription_row(page, made["id"])).to_contain_text("Old secret signs too until")

        # A 410 Gone disables it: the page says the service did, and why.
        create_booking(http, days.take(), "14:00")
        (sent,) = receiver.wait_for(lambda items: len(items) >= 1, "/gone")
        Webhook(new_secret).verify(sent.body, sent.headers)
        Webhook(first_secret).verify(sent.body, sent.headers)
        assert disabled_eventually(admin, made["id"]), "the 410 did not disable it"
        page.get_by_role("button", name="Refresh", exact=True).click()
        row = subscription_row(page, made["id"])
        expect(row).to_have_attribute("data-enabled", "false")
        expect(row).to_contain_text("Disabled by the service")
        expect(row.locator(".webhook__reason")).to_contain_text("410 Gone")

        # Delete, through the page's own dialog; "Keep it" first keeps it.
        page.get_by_role("button", name="Delete Billing system").click()
        page.get_by_role("button", name="Keep it").click()
        expect(row).to_be_visible()
        page.get_by_role("button", name="Delete Billing system").click()
        page.get_by_role("button", name="Delete subscription").click()
        expect(row).to_have_count(0)
        gone = admin.get(f"{WEBHOOKS}{made['id']}/")
        assert (gone.status_code, gone.json()["code"]) == (404, "webhook_not_found")
