"""What Litestar's OpenAPI router and the typed routes answer beside the document itself: the
contract's JSON errors under ``/schema/…``, the docs page's strict headers, and an ``Allow``
that names every method of a path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BusinessSettings
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import create_app
from tests.unit.builders import NOW

TOKEN = "unit-admin-token"


async def _ready() -> None:
    return None


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        AppConfig(database_url="sqlite+aiosqlite:///unused.db", admin_token=TOKEN),
        uow_factory=InMemoryStore(BusinessSettings()).unit_of_work,
        clock=FixedClock(NOW),
        notifier=InMemoryNotifier(),
        ping=_ready,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


class TestSchemaRoutes:
    @pytest.mark.parametrize(
        "path", ["/schema/nope", "/schema/openapi.yaml", "/schema/x.json", "/schema/assets/x.css"]
    )
    async def test_unknown_schema_paths_get_the_contracts_404(
        self, http: httpx.AsyncClient, path: str
    ) -> None:
        response = await http.get(path)

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"success": False, "message": "Not found", "code": "not_found"}

    async def test_the_docs_page_is_html_under_the_strict_policy(
        self, http: httpx.AsyncClient
    ) -> None:
        response = await http.get("/schema")

        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "<script" not in response.text.lower()

    async def test_every_optional_query_parameter_may_be_empty(
        self, http: httpx.AsyncClient
    ) -> None:
        document = (await http.get("/schema/openapi.json")).json()

        queries = [
            parameter
            for item in document["paths"].values()
            for operation in item.values()
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "query"
        ]
        assert queries
        assert all(
            parameter["allowEmptyValue"] is not parameter.get("required", False)
            for parameter in queries
        ), queries
        assert any(parameter.get("required") for parameter in queries)  # the dashboard's date


class TestAllow:
    async def test_options_on_the_settings_names_both_of_its_methods(
        self, http: httpx.AsyncClient
    ) -> None:
        response = await http.options(
            "/api/admin/settings/", headers={"Authorization": f"Bearer {TOKEN}"}
        )

        assert response.status_code == 204
        assert set(response.headers["allow"].split(", ")) == {"GET", "OPTIONS", "PATCH"}
