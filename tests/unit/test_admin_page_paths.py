"""``/admin/`` serves the page's own files and answers 404, never 500, for any other path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from agent_booking.adapters.memory import InMemoryStore
from agent_booking.core import BusinessSettings
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import create_app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    store = InMemoryStore(BusinessSettings())
    app = create_app(AppConfig.from_env({}), uow_factory=store.unit_of_work)
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("path", ["/admin/", "/admin/app.js", "/admin/style.css"])
def test_serves_the_page_and_its_files(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_the_bare_path_redirects_to_the_page(client: TestClient) -> None:
    response = client.get("/admin", follow_redirects=False)

    assert response.status_code in {301, 302, 307, 308}
    assert response.headers["location"].endswith("/admin/")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/%00",
        "/admin/app.js%00",
        "/admin/" + "a" * 300,
        "/admin/" + "a/" * 200,
        "/admin/..%2f..%2fetc/passwd",
        "/admin/missing.js",
    ],
)
def test_anything_else_is_not_found(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {"success": False, "message": "Not found", "code": "not_found"}
