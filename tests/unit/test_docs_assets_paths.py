"""``/schema/assets/`` serves the docs page's stylesheet and answers 404, never 500, for any other
path. The requests are raw ASGI calls: HTTP clients would normalise ``docs.css/..`` away, and
real servers pass it on as sent."""

from __future__ import annotations

from typing import Any

import pytest

from agent_booking.adapters.memory import InMemoryStore
from agent_booking.core import BusinessSettings
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import create_app


async def status_of(path: str) -> int:
    app = create_app(
        AppConfig.from_env({}), uow_factory=InMemoryStore(BusinessSettings()).unit_of_work
    )
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    status: int = sent[0]["status"]
    return status


async def test_serves_the_stylesheet() -> None:
    assert await status_of("/schema/assets/docs.css") == 200


@pytest.mark.parametrize(
    "path",
    [
        "/schema/assets/docs.css/..",
        "/schema/assets/docs.css/x",
        "/schema/assets/missing.css",
        "/schema/assets/" + "a" * 300,
        "/schema/assets/docs.css\x00",
    ],
)
async def test_anything_else_is_not_found(path: str) -> None:
    assert await status_of(path) == 404
