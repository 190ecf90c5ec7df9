"""Subscribing a URL whose host resolves inside the network is refused, through the admin API.

The app runs in process with a stubbed resolver (no DNS query leaves the machine, no request is
sent: these tests create no events), on a migrated SQLite file, with private addresses not
allowed, as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agent_booking.adapters.sql.migrate import migrate
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import create_app

TOKEN = "refusal-test-token"
WEBHOOKS = "/api/admin/webhooks/"
DNS = {
    "metadata.example.com": ["169.254.169.254"],
    "intranet.example.com": ["10.20.30.40"],
    "mixed.example.com": ["93.184.215.14", "192.168.0.10"],
    "public.example.com": ["93.184.215.14"],
}


async def _resolve(host: str, port: int) -> list[str]:
    del port
    if host not in DNS:
        raise OSError("no such host")
    return DNS[host]


@pytest.fixture(scope="module")
def database_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'booking.db'}"
    migrate(url)
    return url


@pytest.fixture
async def admin(database_file: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        AppConfig(database_url=database_file, admin_token=TOKEN), webhook_resolver=_resolve
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://metadata.example.com/hook", "169.254.169.254"),
        ("https://intranet.example.com/hook", "10.20.30.40"),
        ("https://mixed.example.com/hook", "192.168.0.10"),
        ("https://127.0.0.1/hook", "127.0.0.1"),
        ("https://[::1]:8443/hook", "::1"),
        ("https://nowhere.example.com/hook", "does not resolve"),
        ("http://public.example.com/hook", "only https"),
    ],
)
async def test_a_url_inside_the_network_is_refused(
    admin: httpx.AsyncClient, url: str, reason: str
) -> None:
    answer = await admin.post(WEBHOOKS, json={"url": url})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "webhook_url_refused"
    assert reason in answer.json()["message"]


async def test_a_public_url_is_accepted_and_its_secret_shown_once(
    admin: httpx.AsyncClient,
) -> None:
    created = await admin.post(WEBHOOKS, json={"url": "https://public.example.com/hook"})
    assert created.status_code == 201, created.text
    webhook_id = created.json()["data"]["id"]
    shown = await admin.get(f"{WEBHOOKS}{webhook_id}/")
    assert "secret" not in shown.json()
    assert "whsec_" not in shown.text
    moved = await admin.patch(
        f"{WEBHOOKS}{webhook_id}/", json={"url": "https://intranet.example.com/x"}
    )
    assert (moved.status_code, moved.json()["code"]) == (422, "webhook_url_refused")
    await admin.delete(f"{WEBHOOKS}{webhook_id}/")
