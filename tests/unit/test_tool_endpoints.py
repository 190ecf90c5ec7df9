"""The tool endpoints for voice platforms, and the MCP server, in-process on in-memory adapters.

``GET /api/agent/tools/`` (OpenAI function definitions), ``POST /api/agent/tools/{name}/``
(Retell, ElevenLabs), ``POST /api/agent/tools/vapi/`` (Vapi's ``tool-calls`` message, tested with
an example in Vapi's documented format, ``fixtures/vapi-tool-calls.json``), and MCP's
``tools/list`` through the SDK's own client: one schema source for all of them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BusinessSettings
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import AGENT_TOOLS_STATE, create_app
from agent_booking.entrypoints.mcp.server import mcp_server
from agent_booking.entrypoints.tools.registry import ToolRegistry
from tests.unit.builders import NOW, TOMORROW, basic_body

TOOLS = "/api/agent/tools/"
VAPI = "/api/agent/tools/vapi/"
BOOK = "/api/agent/tools/book_appointment/"
VAPI_MESSAGE = Path(__file__).parent / "fixtures" / "vapi-tool-calls.json"


class Service:
    def __init__(self, **config: Any) -> None:
        self.store = InMemoryStore(BusinessSettings())
        self.app = create_app(
            AppConfig(database_url="sqlite+aiosqlite:///unused.db", rate_limit=None, **config),
            uow_factory=self.store.unit_of_work,
            clock=FixedClock(NOW),
            notifier=InMemoryNotifier(),
            ping=_ready,
        )
        self.tools: ToolRegistry = self.app.state[AGENT_TOOLS_STATE]


async def _ready() -> None:
    return None


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def vapi_message() -> dict[str, Any]:
    message: dict[str, Any] = json.loads(VAPI_MESSAGE.read_text())
    return message


def vapi_call(name: str, arguments: object, call_id: str = "call_1") -> dict[str, Any]:
    return {
        "message": {
            "type": "tool-calls",
            "toolCallList": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        }
    }


class TestToolList:
    async def test_lists_every_tool_as_an_openai_function(
        self, service: Service, http: httpx.AsyncClient
    ) -> None:
        response = await http.get(TOOLS)

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        definitions = response.json()
        assert [d["function"]["name"] for d in definitions] == service.tools.names()
        for definition in definitions:
            assert set(definition) == {"type", "function"}
            assert definition["type"] == "function"
            assert set(definition["function"]) == {"name", "description", "parameters"}
            assert definition["function"]["parameters"]["type"] == "object"

    async def test_the_mcp_input_schemas_are_the_openai_parameters(
        self, service: Service, http: httpx.AsyncClient
    ) -> None:
        """One source: what MCP's ``tools/list`` serves equals the OpenAI definitions."""
        openai = {d["function"]["name"]: d["function"] for d in (await http.get(TOOLS)).json()}

        async with Client(mcp_server(service.tools, lambda _ctx: False)) as client:
            listed = (await client.list_tools()).tools

        assert {tool.name for tool in listed} == set(openai)
        for tool in listed:
            assert tool.input_schema == openai[tool.name]["parameters"]
            assert tool.description == openai[tool.name]["description"]
            assert tool.annotations is not None
            hints = next(t.hints for t in service.tools if t.name == tool.name)
            assert tool.annotations.read_only_hint is hints.read_only
            assert tool.annotations.destructive_hint is hints.destructive
            assert tool.annotations.idempotent_hint is hints.idempotent

    async def test_only_get_is_allowed(self, http: httpx.AsyncClient) -> None:
        response = await http.post(TOOLS, json={})

        assert response.status_code == 405
        assert response.headers["allow"] == "GET"
        assert response.json()["code"] == "method_not_allowed"


class TestRunOneTool:
    async def test_books_with_the_arguments_as_the_body(
        self, service: Service, http: httpx.AsyncClient
    ) -> None:
        response = await http.post(BOOK, json=basic_body())

        assert response.status_code == 200
        assert response.json()["success"] is True
        assert len(service.store.bookings) == 1

    async def test_a_refusal_is_answered_200_with_code_and_alternatives(
        self, http: httpx.AsyncClient
    ) -> None:
        await http.post(BOOK, json=basic_body())

        response = await http.post(BOOK, json=basic_body(phone="5550001111"))

        assert response.status_code == 200
        body = response.json()
        assert body["success"] is False
        assert body["code"] == "slot_taken"
        assert body["message"] == "This time slot is already reserved"
        assert body["alternatives"]

    async def test_the_slash_is_optional(self, http: httpx.AsyncClient) -> None:
        response = await http.post(
            "/api/agent/tools/check_day", json={"date": TOMORROW.isoformat()}
        )

        assert response.status_code == 200
        assert response.json()["days"][0]["date"] == TOMORROW.isoformat()

    @pytest.mark.parametrize(
        ("method", "path", "body", "headers", "status", "code"),
        [
            ("POST", "/api/agent/tools/drop_tables/", b"{}", {}, 404, "unknown_tool"),
            ("POST", "/api/agent/tools/a/b/", b"{}", {}, 404, "not_found"),
            ("POST", BOOK, b"[1]", {}, 400, "invalid_body"),
            ("POST", BOOK, b"{oops", {}, 400, "invalid_body"),
            ("POST", BOOK, b"{}", {"content-type": "text/plain"}, 415, "unsupported_media_type"),
            ("POST", BOOK, b" " * 70_000, {}, 413, "body_too_large"),
            ("GET", BOOK, b"", {}, 405, "method_not_allowed"),
        ],
    )
    async def test_requests_no_tool_can_run_are_refused(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
        status: int,
        code: str,
    ) -> None:
        response = await http.request(method, path, content=body, headers=headers)

        assert response.status_code == status, response.text
        assert response.json()["code"] == code
        assert response.json()["success"] is False

    @settings(max_examples=60, deadline=None)
    @given(
        path=st.sampled_from([BOOK, "/api/agent/tools/check_day/", VAPI]),
        body=st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        ["phone", "date", "booking_time", "message", "type", "toolCallList", "x"]
                    ),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=12,
        ),
    )
    async def test_no_json_body_gets_a_server_error(self, path: str, body: object) -> None:
        service = Service()
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(path, json=body)

        assert response.status_code in (200, 400), response.text
        assert isinstance(response.json(), dict)


class TestVapi:
    async def test_answers_vapis_example_message_in_order(
        self, service: Service, http: httpx.AsyncClient
    ) -> None:
        message = vapi_message()

        response = await http.post(VAPI, json=message)

        assert response.status_code == 200
        results = response.json()["results"]
        calls = message["message"]["toolCallList"]
        assert [r["toolCallId"] for r in results] == [call["id"] for call in calls]
        assert all(isinstance(r["result"], str) for r in results)
        day = json.loads(results[0]["result"])
        assert day["days"][0]["date"] == "2026-11-26"
        booked = json.loads(results[1]["result"])
        assert booked["success"] is True, booked
        assert booked["data"]["booking"]["booking_time"] == "14:00:00"
        # The arguments had no phone: the caller's number from the call's metadata is used.
        assert [c.phone for c in service.store.customers] == ["+14155550123"]

    async def test_a_redelivered_tool_call_books_once(
        self, service: Service, http: httpx.AsyncClient
    ) -> None:
        first = await http.post(VAPI, json=vapi_message())
        again = await http.post(VAPI, json=vapi_message())

        # The check_day result differs (14:00 is taken by then); the booking is replayed.
        assert again.json()["results"][1] == first.json()["results"][1]
        assert len(service.store.bookings) == 1

    async def test_a_refusal_is_a_result_with_alternatives(self, http: httpx.AsyncClient) -> None:
        await http.post(BOOK, json=basic_body())

        response = await http.post(
            VAPI, json=vapi_call("book_appointment", basic_body(phone="5550001111"))
        )

        assert response.status_code == 200
        (result,) = response.json()["results"]
        assert result["toolCallId"] == "call_1"
        refusal = json.loads(result["result"])
        assert refusal["code"] == "slot_taken"
        assert refusal["alternatives"]

    @pytest.mark.parametrize(
        ("name", "arguments", "code"),
        [
            ("book_appointment", "{not json", "invalid_body"),
            ("book_appointment", "[1, 2]", "invalid_body"),
            ("book_appointment", 7, "invalid_body"),
            ("book_appointment", "", "missing_field"),
            ("no_such_tool", {}, "unknown_tool"),
            (None, {}, "invalid_body"),
        ],
    )
    async def test_a_bad_tool_call_is_a_refused_result(
        self, http: httpx.AsyncClient, name: str | None, arguments: object, code: str
    ) -> None:
        response = await http.post(VAPI, json=vapi_call(name, arguments))  # type: ignore[arg-type]

        assert response.status_code == 200
        (result,) = response.json()["results"]
        assert json.loads(result["result"])["code"] == code

    async def test_other_vapi_messages_are_acknowledged(self, http: httpx.AsyncClient) -> None:
        response = await http.post(VAPI, json={"message": {"type": "status-update"}})

        assert response.status_code == 200
        assert response.json() == {}

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"message": "tool-calls"},
            {"message": {"type": "tool-calls"}},
            {"message": {"type": "tool-calls", "toolCallList": [{"function": {}}]}},
        ],
    )
    async def test_a_body_that_is_no_vapi_message_is_refused(
        self, http: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        response = await http.post(VAPI, json=body)

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_body"


class TestAgentAccess:
    @pytest.mark.parametrize(
        ("method", "path"), [("GET", TOOLS), ("POST", BOOK), ("POST", VAPI), ("POST", "/mcp")]
    )
    async def test_every_agent_surface_needs_a_key_when_keys_are_configured(
        self, method: str, path: str
    ) -> None:
        service = Service(agent_api_keys=("right-key",))
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            missing = await client.request(method, path, json={})
            wrong = await client.request(method, path, json={}, headers={"X-API-Key": "wrong"})

        for response in (missing, wrong):
            assert response.status_code == 401
            assert response.json()["code"] == "unauthorized"


class TestMcpMethods:
    @pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
    async def test_only_post_is_served_as_mcp_is_stateless(
        self, http: httpx.AsyncClient, method: str
    ) -> None:
        """A GET would open an event stream that never ends; there is no session to delete."""
        response = await http.request(
            method, "/mcp", headers={"Accept": "application/json, text/event-stream"}
        )

        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.json()["code"] == "method_not_allowed"
