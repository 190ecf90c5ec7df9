"""The MCP server and the tool endpoints through a real ``booking serve`` (and ``booking mcp``).

The SDK's own client drives the tools over Streamable HTTP (``/mcp``, stateless, two worker
processes) and over stdio (a ``booking mcp`` process on the same database): a booking, and a
conflict whose tool error carries the HTTP API's ``code``, ``message`` and ``alternatives``. The
booking is announced on the admin WebSocket like any other, and an idempotency key replays as over
HTTP. The caller's conversation offer → book → find → cancel → find runs through the SDK's
client and is announced on the admin WebSocket and in the outbox. 100 (PostgreSQL; 50 on SQLite)
clients racing for one start through MCP end with exactly one booking, counted by SQL. API keys
are checked on ``/mcp`` (the other access checks, networks and rate limits, are tested for
``/mcp`` with the other agent endpoints in ``test_hardening``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.integration.conftest import engine_of
from tests.integration.dashboards import Dashboard
from tests.integration.direct_sql import count_rows, run_sql
from tests.integration.endpoint import CREATE_PATH, booking_body, unique_phone, unique_service
from tests.integration.working_days import WorkingDays
from tests.support.server import (
    AGENT_API_KEY,
    AGENT_HEADERS,
    ServerProcess,
    booking_executable,
    service_environment,
)

WORKERS = 2
RACERS = {"sqlite": 50, "postgres": 100}
#: What MCP's ``tools/list`` must offer: every tool of the registry.
TOOLS = {
    "list_services",
    "book_appointment",
    "check_day",
    "find_free_slots",
    "find_bookings",
    "cancel_booking",
    "reschedule_booking",
    "hold_slot",
    "confirm_hold",
    "release_hold",
}
JSON_RPC_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Two workers: stateless MCP must not care which one answers."""
    with ServerProcess(
        database_url, workers=WORKERS, log_dir=tmp_path_factory.mktemp("server")
    ) as process:
        yield process


@asynccontextmanager
async def http_client(
    server: ServerProcess, *, http: httpx2.AsyncClient | None = None, mode: str = "auto"
) -> AsyncIterator[Client]:
    """The SDK's client over Streamable HTTP, sending the agent API key."""
    if http is not None:
        async with Client(
            streamable_http_client(f"{server.base_url}/mcp", http_client=http), mode=mode
        ) as client:
            yield client
        return
    async with (
        httpx2.AsyncClient(headers=AGENT_HEADERS, timeout=60.0) as own,
        Client(
            streamable_http_client(f"{server.base_url}/mcp", http_client=own), mode=mode
        ) as client,
    ):
        yield client


@asynccontextmanager
async def stdio_client(database_url: str, cwd: str) -> AsyncIterator[Client]:
    """The SDK's client over stdio: it starts ``booking mcp`` as a local MCP client would."""
    parameters = StdioServerParameters(
        command=str(booking_executable()),
        args=["mcp"],
        env=service_environment(database_url),
        cwd=cwd,
    )
    async with Client(parameters) as client:
        yield client


async def messages_about(dashboard: Dashboard, booking_id: int, count: int) -> list[dict[str, Any]]:
    """The next ``count`` feed messages about ``booking_id``; messages about other bookings are
    passed over (the module's servers are shared, and with two workers an earlier test's last
    event may reach this dashboard after it opened)."""
    found: list[dict[str, Any]] = []
    for _ in range(50):
        if len(found) == count:
            return found
        message = await dashboard.next_message()
        if message.get("data", {}).get("id") == booking_id:
            found.append(message)
    raise AssertionError(f"fewer than {count} messages about booking {booking_id}: {found}")


def structured(result: types.CallToolResult) -> dict[str, Any]:
    """The tool's body; its text content must say the same."""
    assert isinstance(result.structured_content, dict), result
    (content,) = result.content
    assert isinstance(content, types.TextContent), content
    assert json.loads(content.text) == result.structured_content
    return result.structured_content


async def book_then_conflict(client: Client, day: dt.date) -> tuple[dict[str, Any], dict[str, Any]]:
    service = unique_service("MCP")
    booked = await client.call_tool(
        "book_appointment", booking_body(day, "14:00", service_name=service, first_name="Ann")
    )
    refused = await client.call_tool("book_appointment", booking_body(day, "14:00"))
    assert not booked.is_error, booked
    assert refused.is_error, refused
    return structured(booked), structured(refused)


def assert_conflict_with_alternatives(body: dict[str, Any], day: dt.date) -> None:
    assert body["success"] is False
    assert body["code"] == "slot_taken"
    assert body["message"] == "This time slot is already reserved"
    assert body["alternatives"], body
    for alternative in body["alternatives"]:
        # What a voice says comes with each start, so a model can offer it at once.
        assert set(alternative) == {"booking_date", "booking_time", "spoken"}
        assert isinstance(alternative["spoken"], str)
        assert alternative["spoken"]
    starts = [(item["booking_date"], item["booking_time"]) for item in body["alternatives"]]
    assert (day.isoformat(), "13:00:00") in starts


class TestOverStreamableHttp:
    @pytest.mark.parametrize("mode", ["auto", "legacy"])
    async def test_books_and_a_conflict_carries_alternatives(
        self, server: ServerProcess, days: WorkingDays, mode: str
    ) -> None:
        day = days.take()
        async with http_client(server, mode=mode) as client:
            tools = (await client.list_tools()).tools
            booked, refused = await book_then_conflict(client, day)

        assert {tool.name for tool in tools} == TOOLS
        assert booked["success"] is True
        assert booked["data"]["booking"]["booking_date"] == day.isoformat()
        # Sent with the API key: a trusted agent, shown the stored customer as over HTTP.
        assert booked["user_id"] == booked["data"]["user"]["id"]
        assert isinstance(booked["user_id"], int)
        assert_conflict_with_alternatives(refused, day)

    async def test_the_input_schemas_are_the_tool_endpoints_openai_parameters(
        self, server: ServerProcess
    ) -> None:
        async with http_client(server) as client:
            tools = (await client.list_tools()).tools
        async with httpx.AsyncClient(base_url=server.base_url, headers=AGENT_HEADERS) as http:
            definitions = (await http.get("/api/agent/tools/")).json()

        parameters = {d["function"]["name"]: d["function"]["parameters"] for d in definitions}
        assert {tool.name: tool.input_schema for tool in tools} == parameters

    async def test_a_booking_is_announced_on_the_admin_socket(
        self, server: ServerProcess, days: WorkingDays
    ) -> None:
        day = days.take()
        async with Dashboard.open(server) as dashboard, http_client(server) as client:
            result = await client.call_tool("book_appointment", booking_body(day, "15:00"))
            booking_id = structured(result)["booking_id"]
            events, closed = await dashboard.events_through(booking_id)

        assert closed is None
        assert events[-1]["type"] == "booking_created"
        assert events[-1]["data"]["booking_date"] == day.isoformat()
        assert events[-1]["data"]["booking_time"] == "15:00:00"

    async def test_an_idempotency_key_replays_as_over_http(
        self, server: ServerProcess, days: WorkingDays, database_url: str
    ) -> None:
        day = days.take()
        service = unique_service("MCP idempotent")
        body = booking_body(day, "12:00", service_name=service)
        key = f"mcp-{unique_phone()}"
        async with http_client(server) as client:
            first = await client.call_tool("book_appointment", {**body, "idempotency_key": key})
            again = await client.call_tool("book_appointment", {**body, "idempotency_key": key})
        async with httpx.AsyncClient(base_url=server.base_url, headers=AGENT_HEADERS) as http:
            over_http = await http.post(CREATE_PATH, json=body, headers={"Idempotency-Key": key})

        assert structured(again) == structured(first)
        assert over_http.status_code == 201
        assert over_http.headers["idempotent-replayed"] == "true"
        assert over_http.json() == structured(first)
        assert (
            await count_rows(
                database_url, "SELECT count(*) FROM bookings WHERE service_name = $1", service
            )
            == 1
        )

    async def test_offer_book_find_cancel_find(
        self, server: ServerProcess, days: WorkingDays, database_url: str
    ) -> None:
        day = days.take()
        phone = unique_phone()
        service = unique_service("MCP conversation")
        before = await count_rows(database_url, "SELECT coalesce(max(event_id), 0) FROM events")
        async with Dashboard.open(server) as dashboard, http_client(server) as client:
            listed = await client.call_tool("list_services", {})
            offer = await client.call_tool(
                "find_free_slots",
                {"service": service, "after": day.isoformat(), "limit": 3},
            )
            first = structured(offer)["slots"][0]
            booked = structured(
                await client.call_tool(
                    "book_appointment",
                    booking_body(
                        day,
                        first["booking_time"][:5],
                        booking_date=first["booking_date"],
                        phone=phone,
                        service_name=service,
                    ),
                )
            )
            booking_id = booked["booking_id"]
            found = await client.call_tool("find_bookings", {"phone": phone})
            arguments = {
                "booking_id": booking_id,
                "phone": phone,
                "reason": "Feeling better",
                "idempotency_key": f"mcp-cancel-{phone}",
            }
            cancelled = await client.call_tool("cancel_booking", arguments)
            replayed = await client.call_tool("cancel_booking", arguments)
            again = await client.call_tool("cancel_booking", {**arguments, "idempotency_key": None})
            found_after = await client.call_tool("find_bookings", {"phone": phone})
            messages = await messages_about(dashboard, booking_id, 2)
        events = await run_sql(
            database_url, "SELECT type, payload FROM events WHERE event_id > $1", before
        )

        assert not listed.is_error, listed
        # The servers' database has today's business: no catalog, any service name booked.
        assert structured(listed)["other_names_accepted"] is True
        assert not offer.is_error, offer
        assert len(structured(offer)["slots"]) == 3
        assert first["booking_date"] == day.isoformat()
        assert first["spoken"]
        assert booked["success"] is True
        assert not found.is_error, found
        assert [item["id"] for item in structured(found)["data"]] == [booking_id]
        assert structured(found)["data"][0]["spoken"] == first["spoken"]
        assert not cancelled.is_error, cancelled
        assert structured(cancelled)["data"]["status"] == "cancelled"
        assert structured(replayed) == structured(cancelled)
        assert again.is_error
        assert structured(again)["code"] == "booking_not_active"
        assert structured(found_after) == {"success": True, "data": []}
        assert [(m["type"], m["data"]["id"]) for m in messages] == [
            ("booking_created", booking_id),
            ("booking_cancelled", booking_id),
        ]
        assert messages[1]["data"]["cancellation_reason"] == "Feeling better"
        ours = [kind for kind, payload in events if json.loads(payload)["service_name"] == service]
        assert ours == ["booking_created", "booking_cancelled"]

    async def test_a_move_into_a_taken_start_offers_alternatives_then_moves(
        self, server: ServerProcess, days: WorkingDays, database_url: str
    ) -> None:
        day, phone = days.take(), unique_phone()
        service = unique_service("MCP move")
        async with Dashboard.open(server) as dashboard, http_client(server) as client:
            mine = structured(
                await client.call_tool(
                    "book_appointment",
                    booking_body(day, "13:00", phone=phone, service_name=service),
                )
            )
            await client.call_tool(
                "book_appointment", booking_body(day, "15:00", service_name=service)
            )
            move = {"booking_id": mine["booking_id"], "phone": phone}
            refused = await client.call_tool(
                "reschedule_booking",
                {**move, "booking_date": day.isoformat(), "booking_time": "3:00 PM"},
            )
            offered = structured(refused)["alternatives"][0]
            moved = await client.call_tool(
                "reschedule_booking",
                {
                    **move,
                    "booking_date": offered["booking_date"],
                    "booking_time": offered["booking_time"],
                },
            )
            messages = [await dashboard.next_message() for _ in range(3)]

        assert refused.is_error
        assert structured(refused)["code"] == "slot_taken"
        assert all(item["spoken"] for item in structured(refused)["alternatives"])
        assert not moved.is_error, moved
        answer = structured(moved)
        assert answer["message"] == "Booking rescheduled"
        assert answer["data"]["booking"]["booking_time"] == offered["booking_time"]
        assert answer["data"]["previous"]["booking_time"] == "13:00:00"
        assert [m["type"] for m in messages] == [
            "booking_created",
            "booking_created",
            "booking_rescheduled",
        ]
        assert messages[2]["data"]["previous"]["booking_time"] == "13:00:00"
        [(time,)] = await run_sql(
            database_url, "SELECT booking_time FROM bookings WHERE id = $1", mine["booking_id"]
        )
        assert str(time)[:8] == offered["booking_time"]

    @pytest.mark.parametrize(
        "headers",
        [pytest.param({}, id="missing"), pytest.param({"X-API-Key": "not-the-key"}, id="wrong")],
    )
    async def test_without_a_valid_api_key_mcp_is_refused(
        self, server: ServerProcess, headers: dict[str, str]
    ) -> None:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            refused = await http.post(
                "/mcp", json=INITIALIZE, headers={**JSON_RPC_HEADERS, **headers}
            )
            accepted = await http.post(
                "/mcp", json=INITIALIZE, headers={**JSON_RPC_HEADERS, "X-API-Key": AGENT_API_KEY}
            )

        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthorized"
        assert refused.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["result"]["serverInfo"]["name"] == "agent-booking"


class TestOverStdio:
    async def test_booking_mcp_books_and_a_conflict_carries_alternatives(
        self,
        server: ServerProcess,
        days: WorkingDays,
        database_url: str,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> None:
        day = days.take()
        cwd = str(tmp_path_factory.mktemp("booking-mcp"))
        async with (
            Dashboard.open(server) as dashboard,
            stdio_client(database_url, cwd) as client,
        ):
            tools = (await client.list_tools()).tools
            booked, refused = await book_then_conflict(client, day)
            # Written by another process: the server's dashboards hear of it from the outbox.
            events, closed = await dashboard.events_through(booked["booking_id"])

        assert {tool.name for tool in tools} == TOOLS
        assert booked["success"] is True
        assert booked["data"]["user"]["first_name"] == "Ann"
        assert_conflict_with_alternatives(refused, day)
        assert closed is None
        assert events[-1]["data"]["id"] == booked["booking_id"]


@pytest.mark.slow
class TestRaceThroughMcp:
    async def test_racing_clients_for_one_start_get_exactly_one_booking(
        self, server: ServerProcess, days: WorkingDays, database_url: str
    ) -> None:
        racers = RACERS[engine_of(database_url)]
        day = days.take()
        service = unique_service("MCP race")
        limits = httpx2.Limits(max_connections=None, max_keepalive_connections=None)

        async with httpx2.AsyncClient(headers=AGENT_HEADERS, timeout=120.0, limits=limits) as http:

            async def one_agent() -> types.CallToolResult:
                async with http_client(server, http=http, mode="legacy") as client:
                    return await client.call_tool(
                        "book_appointment", booking_body(day, "14:00", service_name=service)
                    )

            results = await asyncio.gather(*(one_agent() for _ in range(racers)))

        bodies = [structured(result) for result in results]
        codes = sorted(body.get("code", "booked") for body in bodies)
        assert codes == ["booked"] + ["slot_taken"] * (racers - 1), codes[:3]
        assert [result.is_error for result in results].count(False) == 1
        assert "database is locked" not in server.log_text()
        assert (
            await count_rows(
                database_url, "SELECT count(*) FROM bookings WHERE service_name = $1", service
            )
            == 1
        )


# --- the whole conversation of issue 15 through the tools (issue 16) ----------------------------


async def tool_conversation(client: Client, day: dt.date, later: dt.date) -> dict[str, Any]:
    """offer → hold → a second caller refused → confirm → find → move → cancel → find, through
    the tools; every step's answer checked; the booking's id and the rival's refusal returned."""
    phone, rival = unique_phone(), unique_phone()
    service = unique_service("MCP call")
    offer = structured(
        await client.call_tool(
            "find_free_slots",
            {"service": service, "after": day.isoformat(), "part_of_day": "afternoon", "limit": 3},
        )
    )
    first = offer["slots"][0]
    start = {
        "service_name": service,
        "booking_date": first["booking_date"],
        "booking_time": first["booking_time"],
    }
    held = await client.call_tool("hold_slot", {**start, "phone": phone})
    assert not held.is_error, held
    booking_id = structured(held)["booking_id"]
    assert structured(held)["data"]["booking"]["status"] == "held"
    refused = await client.call_tool("hold_slot", {**start, "phone": rival})
    assert refused.is_error
    assert structured(refused)["code"] == "slot_taken"
    assert all(item["spoken"] for item in structured(refused)["alternatives"])
    confirmed = await client.call_tool("confirm_hold", {"hold_id": booking_id, "phone": phone})
    assert not confirmed.is_error, confirmed
    assert structured(confirmed)["booking_id"] == booking_id
    assert structured(confirmed)["data"]["booking"]["status"] == "upcoming"
    found = structured(await client.call_tool("find_bookings", {"phone": phone}))
    assert [item["id"] for item in found["data"]] == [booking_id]
    moved = await client.call_tool(
        "reschedule_booking",
        {
            "booking_id": booking_id,
            "phone": phone,
            "booking_date": later.isoformat(),
            "booking_time": "16:00",
        },
    )
    assert not moved.is_error, moved
    assert structured(moved)["data"]["previous"]["booking_date"] == day.isoformat()
    cancelled = await client.call_tool(
        "cancel_booking", {"booking_id": booking_id, "phone": phone, "reason": "Changed plans"}
    )
    assert not cancelled.is_error, cancelled
    assert structured(cancelled)["data"]["status"] == "cancelled"
    assert structured(await client.call_tool("find_bookings", {"phone": phone}))["data"] == []
    return {"booking_id": booking_id, "first": first}


CONVERSATION_EVENTS = [
    "booking_held",
    "booking_created",
    "booking_rescheduled",
    "booking_cancelled",
]


async def stored_events_about(database_url: str, after: int, booking_id: int) -> list[str]:
    rows = await run_sql(
        database_url,
        "SELECT type, payload FROM events WHERE event_id > $1 ORDER BY event_id",
        after,
    )
    return [kind for kind, payload in rows if json.loads(payload)["id"] == booking_id]


class TestWholeConversation:
    async def test_over_streamable_http_with_events_in_order(
        self, server: ServerProcess, days: WorkingDays, database_url: str
    ) -> None:
        day, later = days.take(), days.take()
        before = await count_rows(database_url, "SELECT coalesce(max(event_id), 0) FROM events")
        async with Dashboard.open(server) as dashboard, http_client(server) as client:
            talk = await tool_conversation(client, day, later)
            messages = await messages_about(dashboard, talk["booking_id"], 4)

        assert [m["type"] for m in messages] == CONVERSATION_EVENTS
        assert messages[2]["data"]["previous"]["booking_time"] == talk["first"]["booking_time"]
        assert messages[3]["data"]["cancellation_reason"] == "Changed plans"
        assert await stored_events_about(database_url, before, talk["booking_id"]) == (
            CONVERSATION_EVENTS
        )

    async def test_over_stdio(
        self,
        server: ServerProcess,
        days: WorkingDays,
        database_url: str,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> None:
        day, later = days.take(), days.take()
        cwd = str(tmp_path_factory.mktemp("booking-mcp-call"))
        before = await count_rows(database_url, "SELECT coalesce(max(event_id), 0) FROM events")
        async with (
            Dashboard.open(server) as dashboard,
            stdio_client(database_url, cwd) as client,
        ):
            talk = await tool_conversation(client, day, later)
            # Written by another process: the server's dashboards hear of it from the outbox.
            messages = await messages_about(dashboard, talk["booking_id"], 4)

        assert [m["type"] for m in messages] == CONVERSATION_EVENTS
        assert await stored_events_about(database_url, before, talk["booking_id"]) == (
            CONVERSATION_EVENTS
        )
