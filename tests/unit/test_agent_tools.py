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
from agent_booking.core.resources import REJECT_UNKNOWN, Catalog, Service
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import AGENT_TOOLS_STATE, create_app
from agent_booking.entrypoints.http.caller_bookings import CancelBookingRequest
from agent_booking.entrypoints.http.request_bodies import CreateBookingRequest
from agent_booking.entrypoints.http.reschedule import RescheduleBookingRequest
from agent_booking.entrypoints.tools.booking_tools import (
    BookAppointmentArguments,
    CancelBookingArguments,
    RescheduleBookingArguments,
)
from agent_booking.entrypoints.tools.registry import ToolCall, ToolRegistry, input_schema
from tests.unit.builders import NOW, TOMORROW, basic_body

CREATE = "/api/agent/booking/create/"
TRUSTED = ToolCall(trusted=True)
PUBLIC = ToolCall(trusted=False)


class Harness:
    def __init__(self, agent_api_keys: tuple[str, ...] = ()) -> None:
        self.store = InMemoryStore(BusinessSettings())
        self.notifier = InMemoryNotifier()
        self.app: Litestar = create_app(
            AppConfig(
                database_url="sqlite+aiosqlite:///unused.db",
                rate_limit=None,
                agent_api_keys=agent_api_keys,
            ),
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

        assert [d["function"]["name"] for d in definitions] == [
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
        ]
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


AGENT_KEY = "agent-key"
PHONE = "2025550123"


@pytest.fixture
def keyed() -> Harness:
    """With an agent API key configured: its HTTP routes answer a trusted agent as the tools
    answer a trusted call."""
    return Harness(agent_api_keys=(AGENT_KEY,))


@pytest.fixture
async def agent(keyed: Harness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=keyed.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"X-API-Key": AGENT_KEY}
    ) as client:
        yield client


async def _book(harness: Harness, time: str = "14:00", phone: str = PHONE) -> int:
    result = await harness.tools.run(
        "book_appointment", basic_body(booking_time=time, phone=phone), TRUSTED
    )
    assert result.ok, result.body
    booking_id = result.body["booking_id"]
    assert isinstance(booking_id, int)
    return booking_id


class TestListServices:
    async def test_lists_the_catalog_to_any_caller(self, harness: Harness) -> None:
        harness.store.state.catalog = Catalog(
            Catalog.single(BusinessSettings()).resources,
            [Service(7, "Consultation", 90), Service(8, "Old", 30, active=False)],
            REJECT_UNKNOWN,
        )

        result = await harness.tools.run("list_services", {}, PUBLIC)

        assert result.ok
        assert result.body == {
            "success": True,
            "services": [{"id": 7, "name": "Consultation", "duration_minutes": 90}],
            "other_names_accepted": False,
            "slot_minutes": 60,
        }
        schema = harness.tools.schema("list_services")
        assert (schema["type"], schema["properties"], schema["required"]) == ("object", {}, [])

    async def test_without_settings_it_is_the_apis_refusal(self) -> None:
        harness = Harness()
        harness.store.state.settings = None

        result = await harness.tools.run("list_services", None, TRUSTED)

        assert not result.ok
        assert result.body["code"] == "settings_missing"


class TestTrustedOnly:
    @pytest.mark.parametrize(
        ("name", "arguments", "path"),
        [
            ("find_free_slots", {}, "/api/agent/slots/"),
            ("find_bookings", {"phone": PHONE}, f"/api/agent/bookings/?phone={PHONE}"),
        ],
    )
    async def test_an_untrusted_call_gets_the_routes_403_body(
        self,
        harness: Harness,
        http: httpx.AsyncClient,
        name: str,
        arguments: dict[str, Any],
        path: str,
    ) -> None:
        await _book(harness)
        # No keys configured: every caller is untrusted, and the route answers 403.
        over_http = await http.get(path)

        result = await harness.tools.run(name, arguments, PUBLIC)

        assert over_http.status_code == 403
        assert not result.ok
        assert result.body == over_http.json()
        assert result.body["code"] == "forbidden"

    async def test_an_untrusted_cancel_is_refused_and_cancels_nothing(self, keyed: Harness) -> None:
        booking_id = await _book(keyed)

        result = await keyed.tools.run(
            "cancel_booking", {"booking_id": booking_id, "phone": PHONE}, PUBLIC
        )

        assert not result.ok
        assert result.body["code"] == "forbidden"
        assert [b.status.value for b in keyed.store.bookings] == ["upcoming"]
        assert [event.type for event in keyed.notifier.sent] == ["booking_created"]


class TestFindFreeSlots:
    async def test_answers_what_the_offer_route_answers(
        self, keyed: Harness, agent: httpx.AsyncClient
    ) -> None:
        await _book(keyed)
        params = {"after": TOMORROW.isoformat(), "limit": "3", "part_of_day": "afternoon"}

        result = await keyed.tools.run("find_free_slots", dict(params), TRUSTED)
        over_http = await agent.get("/api/agent/slots/", params=params)

        assert result.ok
        assert over_http.status_code == 200
        assert result.body == over_http.json()
        starts = [(s["booking_date"], s["booking_time"]) for s in result.body["slots"]]
        assert len(starts) == 3
        assert (TOMORROW.isoformat(), "14:00:00") not in starts

    async def test_numbers_are_read_as_their_digits(self, keyed: Harness) -> None:
        as_text = await keyed.tools.run("find_free_slots", {"limit": "2"}, TRUSTED)
        as_number = await keyed.tools.run("find_free_slots", {"limit": 2}, TRUSTED)

        assert as_number.ok
        assert as_number.body == as_text.body
        assert len(as_number.body["slots"]) == 2

    @pytest.mark.parametrize(
        ("arguments", "code"),
        [
            ({"limit": "0"}, "invalid_field"),
            ({"limit": [1]}, "invalid_field"),
            ({"part_of_day": "night"}, "invalid_field"),
            ({"after": "31/02/2027"}, "invalid_date"),
            ({"service_id": "999"}, "unknown_service"),
        ],
    )
    async def test_bad_arguments_get_the_routes_refusal(
        self, keyed: Harness, agent: httpx.AsyncClient, arguments: dict[str, Any], code: str
    ) -> None:
        result = await keyed.tools.run("find_free_slots", dict(arguments), TRUSTED)

        assert not result.ok
        assert result.body["code"] == code
        if not isinstance(arguments.get("limit"), list):
            over_http = await agent.get("/api/agent/slots/", params=arguments)
            assert over_http.json() == result.body


class TestFindBookings:
    async def test_answers_what_the_find_route_answers(
        self, keyed: Harness, agent: httpx.AsyncClient
    ) -> None:
        later = await _book(keyed, "15:00")
        sooner = await _book(keyed, "13:00")
        await _book(keyed, "16:00", phone="5550001111")

        result = await keyed.tools.run("find_bookings", {"phone": PHONE}, TRUSTED)
        over_http = await agent.get("/api/agent/bookings/", params={"phone": PHONE})

        assert result.ok
        assert result.body == over_http.json()
        assert [b["id"] for b in result.body["data"]] == [sooner, later]

    async def test_the_callers_phone_comes_from_the_call(self, keyed: Harness) -> None:
        booking_id = await _book(keyed)

        result = await keyed.tools.run(
            "find_bookings", {}, ToolCall(trusted=True, caller_phone=PHONE)
        )

        assert [b["id"] for b in result.body["data"]] == [booking_id]

    @pytest.mark.parametrize(
        ("arguments", "code"),
        [
            ({}, "missing_field"),
            ({"phone": 5}, "invalid_field"),
            ({"phone": "abc"}, "invalid_field"),
        ],
    )
    async def test_a_bad_phone_is_refused(
        self, keyed: Harness, arguments: dict[str, Any], code: str
    ) -> None:
        result = await keyed.tools.run("find_bookings", arguments, TRUSTED)

        assert not result.ok
        assert result.body["code"] == code


class TestCancelBooking:
    async def test_cancels_and_announces_like_the_cancel_route(
        self, keyed: Harness, agent: httpx.AsyncClient
    ) -> None:
        by_tool = await _book(keyed, "13:00")
        by_http = await _book(keyed, "15:00")

        result = await keyed.tools.run(
            "cancel_booking", {"booking_id": by_tool, "phone": PHONE, "reason": "ill"}, TRUSTED
        )
        over_http = await agent.post(
            f"/api/agent/bookings/{by_http}/cancel/", json={"phone": PHONE, "reason": "ill"}
        )

        assert result.ok
        assert over_http.status_code == 200
        assert result.body["message"] == "Booking cancelled"
        assert result.body["data"]["id"] == by_tool
        assert result.body["data"]["status"] == "cancelled"
        # The same presenter: the bodies differ only in the booking's own fields.
        assert set(result.body["data"]) == set(over_http.json()["data"])
        assert {b.id: b.status.value for b in keyed.store.bookings} == {
            by_tool: "cancelled",
            by_http: "cancelled",
        }
        cancelled = [e for e in keyed.notifier.sent if e.type == "booking_cancelled"]
        assert len(cancelled) == 2
        assert cancelled[0].payload["cancellation_reason"] == "ill"

    async def test_another_phones_booking_is_not_found(self, keyed: Harness) -> None:
        booking_id = await _book(keyed)

        result = await keyed.tools.run(
            "cancel_booking", {"booking_id": booking_id, "phone": "5550001111"}, TRUSTED
        )

        assert not result.ok
        assert result.body["code"] == "booking_not_found"
        assert [b.status.value for b in keyed.store.bookings] == ["upcoming"]

    async def test_twice_is_not_active(self, keyed: Harness) -> None:
        booking_id = await _book(keyed)
        arguments = {"booking_id": booking_id, "phone": PHONE}

        first = await keyed.tools.run("cancel_booking", dict(arguments), TRUSTED)
        again = await keyed.tools.run("cancel_booking", dict(arguments), TRUSTED)

        assert first.ok
        assert not again.ok
        assert again.body["code"] == "booking_not_active"

    async def test_a_vapi_call_id_replays_the_first_outcome(self, keyed: Harness) -> None:
        booking_id = await _book(keyed)
        call = ToolCall(trusted=True, idempotency_key="vapi:call_9", caller_phone=PHONE)

        first = await keyed.tools.run("cancel_booking", {"booking_id": booking_id}, call)
        again = await keyed.tools.run("cancel_booking", {"booking_id": booking_id}, call)

        assert first.ok
        assert again.ok
        assert again.body == first.body
        cancelled = [e for e in keyed.notifier.sent if e.type == "booking_cancelled"]
        assert len(cancelled) == 1

    async def test_a_tool_call_and_an_http_cancel_with_one_key_are_one_request(
        self, keyed: Harness, agent: httpx.AsyncClient
    ) -> None:
        booking_id = await _book(keyed)

        first = await keyed.tools.run(
            "cancel_booking",
            {"booking_id": booking_id, "phone": PHONE, "idempotency_key": "shared"},
            TRUSTED,
        )
        replay = await agent.post(
            f"/api/agent/bookings/{booking_id}/cancel/",
            json={"phone": PHONE},
            headers={"Idempotency-Key": "shared"},
        )

        assert first.ok
        assert replay.status_code == 200
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == first.body

    @pytest.mark.parametrize(
        ("arguments", "code"),
        [
            ({"phone": PHONE}, "missing_field"),
            ({"booking_id": 1}, "missing_field"),
            ({"booking_id": 0, "phone": PHONE}, "booking_not_found"),
            ({"booking_id": True, "phone": PHONE}, "booking_not_found"),
            ({"booking_id": 2**63, "phone": PHONE}, "booking_not_found"),
            ({"booking_id": 1, "phone": PHONE, "reason": 5}, "invalid_field"),
            ({"booking_id": 1, "phone": PHONE, "idempotency_key": 7}, "invalid_idempotency_key"),
            (
                {"booking_id": 1, "phone": PHONE, "idempotency_key": "a b"},
                "invalid_idempotency_key",
            ),
        ],
    )
    async def test_bad_arguments_are_refused_and_cancel_nothing(
        self, keyed: Harness, arguments: dict[str, Any], code: str
    ) -> None:
        await _book(keyed)

        result = await keyed.tools.run("cancel_booking", dict(arguments), TRUSTED)

        assert not result.ok
        assert result.body["code"] == code
        assert [b.status.value for b in keyed.store.bookings] == ["upcoming"]


class TestRescheduleBooking:
    async def test_moves_and_announces_like_the_reschedule_route(
        self, keyed: Harness, agent: httpx.AsyncClient
    ) -> None:
        by_tool = await _book(keyed, "13:00")
        by_http = await _book(keyed, "15:00")
        day = TOMORROW.add(days=1).isoformat()

        result = await keyed.tools.run(
            "reschedule_booking",
            {"booking_id": by_tool, "phone": PHONE, "booking_date": day, "booking_time": "13:00"},
            TRUSTED,
        )
        over_http = await agent.post(
            f"/api/agent/bookings/{by_http}/reschedule/",
            json={"phone": PHONE, "booking_date": day, "booking_time": "3:00 PM"},
        )

        assert result.ok
        assert over_http.status_code == 200
        assert result.body["message"] == "Booking rescheduled"
        assert result.body["booking_id"] == by_tool
        assert result.body["data"]["booking"]["booking_date"] == day
        assert result.body["data"]["previous"]["booking_time"] == "13:00:00"
        assert result.body["data"]["previous"]["spoken"]
        assert over_http.json()["data"]["previous"]["booking_time"] == "15:00:00"
        assert set(result.body["data"]) == set(over_http.json()["data"])
        assert {b.id: str(b.booking_date) for b in keyed.store.bookings} == {
            by_tool: day,
            by_http: day,
        }
        moved = [e for e in keyed.notifier.sent if e.type == "booking_rescheduled"]
        assert [e.payload["id"] for e in moved] == [by_tool, by_http]

    async def test_a_taken_start_is_a_tool_error_with_spoken_alternatives(
        self, keyed: Harness, agent: httpx.AsyncClient
    ) -> None:
        mine = await _book(keyed, "13:00")
        await _book(keyed, "15:00", phone="5550001111")
        arguments = {
            "booking_id": mine,
            "phone": PHONE,
            "booking_date": TOMORROW.isoformat(),
            "booking_time": "15:00",
        }

        result = await keyed.tools.run("reschedule_booking", dict(arguments), TRUSTED)
        over_http = await agent.post(
            f"/api/agent/bookings/{mine}/reschedule/",
            json={k: v for k, v in arguments.items() if k != "booking_id"},
        )

        assert not result.ok
        assert result.body["code"] == "slot_taken"
        assert all(item["spoken"] for item in result.body["alternatives"])
        assert over_http.status_code == 409
        assert over_http.json() == result.body
        assert {b.id: b.booking_time.hour for b in keyed.store.bookings}[mine] == 13

    async def test_a_tool_call_and_an_http_move_with_one_key_are_one_request(
        self, keyed: Harness, agent: httpx.AsyncClient
    ) -> None:
        booking_id = await _book(keyed)
        body = {"phone": PHONE, "booking_date": TOMORROW.isoformat(), "booking_time": "16:00"}

        first = await keyed.tools.run(
            "reschedule_booking",
            {"booking_id": booking_id, **body, "idempotency_key": "move-1"},
            TRUSTED,
        )
        replay = await agent.post(
            f"/api/agent/bookings/{booking_id}/reschedule/",
            json=body,
            headers={"Idempotency-Key": "move-1"},
        )

        assert first.ok
        assert replay.status_code == 200
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == first.body
        moved = [e for e in keyed.notifier.sent if e.type == "booking_rescheduled"]
        assert len(moved) == 1

    async def test_an_untrusted_caller_gets_the_routes_403(self, keyed: Harness) -> None:
        booking_id = await _book(keyed)

        result = await keyed.tools.run(
            "reschedule_booking",
            {"booking_id": booking_id, "phone": PHONE, "booking_date": "2026-11-27"},
            PUBLIC,
        )

        assert not result.ok
        assert result.body["code"] == "forbidden"

    @pytest.mark.parametrize(
        ("arguments", "code"),
        [
            (
                {"phone": PHONE, "booking_date": "2026-11-27", "booking_time": "14:00"},
                "missing_field",
            ),
            ({"booking_id": 1, "phone": PHONE, "booking_date": "2026-11-27"}, "missing_field"),
            ({"booking_id": 0, "phone": PHONE}, "booking_not_found"),
            (
                {
                    "booking_id": 1,
                    "phone": PHONE,
                    "booking_date": "27/13/2026",
                    "booking_time": "1",
                },
                "invalid_date",
            ),
            (
                {
                    "booking_id": 1,
                    "phone": PHONE,
                    "booking_date": "2026-11-27",
                    "booking_time": "25:00",
                },
                "invalid_time",
            ),
            (
                {
                    "booking_id": 1,
                    "phone": PHONE,
                    "booking_date": "2026-11-27",
                    "booking_time": "14:00",
                    "resource_id": "two",
                },
                "invalid_field",
            ),
            (
                {
                    "booking_id": 1,
                    "phone": "5550001111",
                    "booking_date": "2026-11-27",
                    "booking_time": "14:00",
                },
                "booking_not_found",
            ),
            (
                {
                    "booking_id": 1,
                    "phone": PHONE,
                    "booking_date": "2026-11-29",
                    "booking_time": "14:00",
                },
                "off_day",
            ),
        ],
    )
    async def test_bad_arguments_are_refused_and_move_nothing(
        self, keyed: Harness, arguments: dict[str, Any], code: str
    ) -> None:
        await _book(keyed)

        result = await keyed.tools.run("reschedule_booking", dict(arguments), TRUSTED)

        assert not result.ok
        assert result.body["code"] == code
        assert [(b.booking_date, b.booking_time.hour) for b in keyed.store.bookings] == [
            (TOMORROW, 14)
        ]


class TestHints:
    def test_reads_are_read_only_and_cancel_is_destructive(self, harness: Harness) -> None:
        hints = {tool.name: tool.hints for tool in harness.tools}

        for name in ("list_services", "check_day", "find_free_slots", "find_bookings"):
            assert hints[name].read_only
            assert not hints[name].destructive
        assert not hints["cancel_booking"].read_only
        assert hints["cancel_booking"].destructive
        assert hints["cancel_booking"].idempotent
        assert not hints["book_appointment"].destructive
        assert not hints["book_appointment"].idempotent

    def test_reschedule_is_neither_read_only_nor_destructive(self, harness: Harness) -> None:
        hints = {tool.name: tool.hints for tool in harness.tools}["reschedule_booking"]

        assert (hints.read_only, hints.destructive, hints.idempotent) == (False, False, True)

    def test_reschedule_takes_the_routes_fields_an_id_and_a_key(self) -> None:
        request = input_schema(RescheduleBookingRequest)
        tool = input_schema(RescheduleBookingArguments)

        assert set(tool["properties"]) == {*request["properties"], "booking_id", "idempotency_key"}
        for name, schema in request["properties"].items():
            assert tool["properties"][name] == schema
        assert set(tool["required"]) == {"phone", "booking_date", "booking_time", "booking_id"}

    def test_cancel_takes_the_cancel_requests_fields_an_id_and_a_key(self) -> None:
        request = input_schema(CancelBookingRequest)
        tool = input_schema(CancelBookingArguments)

        assert set(tool["properties"]) == {*request["properties"], "booking_id", "idempotency_key"}
        for name, schema in request["properties"].items():
            assert tool["properties"][name] == schema
        assert set(tool["required"]) == {"phone", "booking_id"}
