"""The agent tool registry: the tools run the HTTP API's use cases and answer with its bodies.

The registry comes from the composition root (``create_app``) on in-memory adapters, so the tools
are wired exactly as in production; the HTTP routes of the same app are the yardstick.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BusinessSettings
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import AGENT_TOOLS_STATE, create_app
from agent_booking.entrypoints.http.request_bodies import CreateBookingRequest
from agent_booking.entrypoints.tools.booking_tools import BookAppointmentArguments
from agent_booking.entrypoints.tools.registry import ToolCall, ToolRegistry, input_schema
from tests.unit.builders import NOW, TOMORROW, basic_body

CREATE = "/api/agent/booking/create/"
TRUSTED = ToolCall(trusted=True)
PUBLIC = ToolCall(trusted=False)


class Harness:
    def __init__(self) -> None:
        self.store = InMemoryStore(BusinessSettings())
        self.notifier = InMemoryNotifier()
        self.app: Litestar = create_app(
            AppConfig(database_url="sqlite+aiosqlite:///unused.db", rate_limit=None),
            uow_factory=self.store.unit_of_work,
            clock=FixedClock(NOW),
            notifier=self.notifier,
            ping=_ready,
        )
        self.tools: ToolRegistry = self.app.state[AGENT_TOOLS_STATE]


async def _ready() -> None:
    return None


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
async def http(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=harness.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


class TestBookAppointment:
    async def test_books_and_announces_like_the_create_endpoint(self, harness: Harness) -> None:
        result = await harness.tools.run("book_appointment", basic_body(), TRUSTED)

        assert result.ok
        assert result.body["success"] is True
        assert result.body["message"] == "Booking created successfully"
        assert result.body["data"]["booking"]["booking_date"] == TOMORROW.isoformat()
        assert result.body["data"]["booking"]["booking_time"] == "14:00:00"
        assert len(harness.store.bookings) == 1
        assert [event.type for event in harness.notifier.sent] == ["booking_created"]

    async def test_a_taken_slot_is_refused_with_the_http_body_and_alternatives(
        self, harness: Harness, http: httpx.AsyncClient
    ) -> None:
        assert (await harness.tools.run("book_appointment", basic_body(), TRUSTED)).ok

        refused = await harness.tools.run(
            "book_appointment", basic_body(phone="5550001111"), PUBLIC
        )
        over_http = await http.post(CREATE, json=basic_body(phone="5550001111"))

        assert not refused.ok
        assert refused.body["code"] == "slot_taken"
        assert refused.body["alternatives"]
        assert over_http.status_code == 409
        assert refused.body == over_http.json()

    async def test_a_public_caller_sees_only_what_it_sent(self, harness: Harness) -> None:
        await harness.tools.run(
            "book_appointment", basic_body(first_name="Stored", booking_time="13:00"), TRUSTED
        )

        result = await harness.tools.run(
            "book_appointment", basic_body(first_name="Other", booking_time="15:00"), PUBLIC
        )

        assert result.ok
        assert result.body["user_id"] is None
        assert result.body["data"]["user"]["first_name"] == "Other"

    async def test_an_idempotency_key_replays_the_first_outcome(self, harness: Harness) -> None:
        arguments = basic_body(idempotency_key="call-42")

        first = await harness.tools.run("book_appointment", dict(arguments), TRUSTED)
        again = await harness.tools.run("book_appointment", dict(arguments), TRUSTED)

        assert first.ok
        assert again.ok
        assert again.body == first.body
        assert len(harness.store.bookings) == 1

    async def test_a_tool_call_and_an_http_request_with_one_key_are_one_request(
        self, harness: Harness, http: httpx.AsyncClient
    ) -> None:
        first = await harness.tools.run(
            "book_appointment", basic_body(idempotency_key="shared-key"), TRUSTED
        )
        replay = await http.post(
            CREATE, json=basic_body(), headers={"Idempotency-Key": "shared-key"}
        )

        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json()["booking_id"] == first.body["booking_id"]
        assert len(harness.store.bookings) == 1

    async def test_the_transport_key_is_used_when_the_arguments_have_none(
        self, harness: Harness
    ) -> None:
        call = ToolCall(trusted=True, idempotency_key="vapi:call_1")

        first = await harness.tools.run("book_appointment", basic_body(), call)
        again = await harness.tools.run("book_appointment", basic_body(), call)

        assert again.body == first.body
        assert len(harness.store.bookings) == 1

    async def test_the_callers_phone_comes_from_the_call_when_the_arguments_lack_it(
        self, harness: Harness
    ) -> None:
        call = ToolCall(trusted=True, caller_phone="+1 415 555 0100")
        arguments = basic_body()
        del arguments["phone"]

        result = await harness.tools.run("book_appointment", arguments, call)

        assert result.ok
        assert result.body["data"]["user"]["phone"] == "+14155550100"

    async def test_the_arguments_phone_wins_over_the_calls(self, harness: Harness) -> None:
        call = ToolCall(trusted=True, caller_phone="+14155550100")

        result = await harness.tools.run("book_appointment", basic_body(phone="2025550123"), call)

        assert result.body["data"]["user"]["phone"] == "2025550123"

    @pytest.mark.parametrize(
        ("arguments", "code"),
        [
            (
                {"service_name": "x", "booking_date": "2026-11-26", "booking_time": "14:00"},
                "missing_field",
            ),
            (basic_body(booking_date="31/02/2027"), "invalid_date"),
            (basic_body(booking_time=14), "invalid_field"),
            (basic_body(idempotency_key=7), "invalid_idempotency_key"),
            (basic_body(idempotency_key="has space"), "invalid_idempotency_key"),
            ([1, 2], "invalid_body"),
            ("text", "invalid_body"),
        ],
    )
    async def test_bad_arguments_get_the_core_refusal(
        self, harness: Harness, arguments: Any, code: str
    ) -> None:
        result = await harness.tools.run("book_appointment", arguments, TRUSTED)

        assert not result.ok
        assert result.body["code"] == code
        assert result.body["success"] is False
        assert harness.store.bookings == []


class TestCheckDay:
    async def test_answers_what_the_availability_route_answers(
        self, harness: Harness, http: httpx.AsyncClient
    ) -> None:
        await harness.tools.run("book_appointment", basic_body(), TRUSTED)

        result = await harness.tools.run("check_day", {"date": TOMORROW.isoformat()}, PUBLIC)
        over_http = await http.get(
            "/api/agent/availability/", params={"date": TOMORROW.isoformat()}
        )

        assert result.ok
        assert result.body == over_http.json()
        assert "14:00:00" in result.body["days"][0]["taken"]
        assert "14:00:00" not in result.body["days"][0]["free"]

    @pytest.mark.parametrize(
        ("arguments", "code"),
        [
            ({}, "missing_field"),
            ({"date": " "}, "missing_field"),
            ({"date": 5}, "invalid_field"),
            ({"date": "31/02/2027"}, "invalid_date"),
        ],
    )
    async def test_bad_dates_are_refused(
        self, harness: Harness, arguments: dict[str, Any], code: str
    ) -> None:
        result = await harness.tools.run("check_day", arguments, PUBLIC)

        assert not result.ok
        assert result.body["code"] == code


class TestRegistry:
    async def test_an_unknown_tool_is_a_refusal(self, harness: Harness) -> None:
        result = await harness.tools.run("drop_tables", {}, TRUSTED)

        assert not result.ok
        assert result.body["code"] == "unknown_tool"

    def test_openai_definitions_carry_the_registry_schemas(self, harness: Harness) -> None:
        definitions = harness.tools.openai_definitions()

        assert [d["function"]["name"] for d in definitions] == ["book_appointment", "check_day"]
        for definition in definitions:
            assert definition["type"] == "function"
            name = definition["function"]["name"]
            assert definition["function"]["parameters"] == harness.tools.schema(name)

    def test_book_appointment_takes_the_create_requests_fields_and_a_key(self) -> None:
        create = input_schema(CreateBookingRequest)
        tool = input_schema(BookAppointmentArguments)

        assert set(tool["properties"]) == {*create["properties"], "idempotency_key"}
        for name, schema in create["properties"].items():
            assert tool["properties"][name] == schema
        assert tool["required"] == create["required"]

    def test_the_cores_rules_are_part_of_the_schema(self) -> None:
        schema = input_schema(CreateBookingRequest)

        assert schema["type"] == "object"
        assert "pattern" in schema["properties"]["phone"]
        assert schema["properties"]["service_name"]["maxLength"] == 100
        assert "extra" not in msgspec.json.encode(schema).decode()

    def test_a_name_registered_twice_is_refused(self, harness: Harness) -> None:
        tool = next(iter(harness.tools))

        with pytest.raises(ValueError, match="twice"):
            ToolRegistry([tool, tool])
