"""The hold tools (issues 15 and 16): ``hold_slot``, ``confirm_hold`` and ``release_hold`` run the
hold routes' own endpoint, so a refusal is a tool error carrying the HTTP body, and a tool call
and a request with one idempotency key are one request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agent_booking.core.entities import BookingStatus
from agent_booking.entrypoints.tools.registry import ToolCall
from tests.unit.builders import basic_body
from tests.unit.test_agent_tools import Harness

PHONE = "1234567890"
TRUSTED = ToolCall(trusted=True)


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
async def http(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=harness.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def status_of(harness: Harness, booking_id: int) -> BookingStatus:
    return next(b.status for b in harness.store.bookings if b.id == booking_id)


class TestHoldTools:
    async def test_hold_then_confirm_keeps_the_id(self, harness: Harness) -> None:
        held = await harness.tools.run("hold_slot", basic_body(), TRUSTED)
        assert held.ok, held.body
        assert held.body["data"]["booking"]["status"] == "held"
        hold_id = held.body["booking_id"]
        confirmed = await harness.tools.run(
            "confirm_hold", {"hold_id": hold_id, "phone": PHONE}, TRUSTED
        )
        assert confirmed.ok, confirmed.body
        assert confirmed.body["booking_id"] == hold_id
        assert status_of(harness, hold_id) is BookingStatus.UPCOMING

    async def test_a_held_start_is_a_tool_error_with_spoken_alternatives(
        self, harness: Harness
    ) -> None:
        assert (await harness.tools.run("hold_slot", basic_body(), TRUSTED)).ok
        refused = await harness.tools.run("hold_slot", basic_body(phone="5550001111"), TRUSTED)
        assert not refused.ok
        assert refused.body["code"] == "slot_taken"
        assert refused.body["alternatives"][0]["spoken"]

    async def test_release_frees_the_start(self, harness: Harness) -> None:
        hold_id = (await harness.tools.run("hold_slot", basic_body(), TRUSTED)).body["booking_id"]
        released = await harness.tools.run(
            "release_hold", {"hold_id": hold_id, "phone": PHONE}, TRUSTED
        )
        assert released.ok, released.body
        assert released.body["data"]["booking"]["status"] == "released"
        again = await harness.tools.run(
            "release_hold", {"hold_id": hold_id, "phone": PHONE}, TRUSTED
        )
        assert (again.ok, again.body["code"]) == (False, "booking_not_held")
        booked = await harness.tools.run("book_appointment", basic_body(phone="5551234"), TRUSTED)
        assert booked.ok, booked.body

    async def test_another_phone_is_not_found(self, harness: Harness) -> None:
        hold_id = (await harness.tools.run("hold_slot", basic_body(), TRUSTED)).body["booking_id"]
        for name in ("confirm_hold", "release_hold"):
            refused = await harness.tools.run(
                name, {"hold_id": hold_id, "phone": "5550001"}, TRUSTED
            )
            assert (refused.ok, refused.body["code"]) == (False, "booking_not_found")

    async def test_the_callers_number_from_the_call_is_used(self, harness: Harness) -> None:
        call = ToolCall(trusted=True, caller_phone=PHONE)
        hold_id = (await harness.tools.run("hold_slot", basic_body(), TRUSTED)).body["booking_id"]
        confirmed = await harness.tools.run("confirm_hold", {"hold_id": hold_id}, call)
        assert confirmed.ok, confirmed.body

    async def test_a_tool_call_and_an_http_confirm_with_one_key_are_one_request(
        self, harness: Harness, http: httpx.AsyncClient
    ) -> None:
        hold_id = (await harness.tools.run("hold_slot", basic_body(), TRUSTED)).body["booking_id"]
        first = await harness.tools.run(
            "confirm_hold", {"hold_id": hold_id, "phone": PHONE, "idempotency_key": "k1"}, TRUSTED
        )
        replay = await http.post(
            f"/api/agent/holds/{hold_id}/confirm/",
            json={"phone": PHONE},
            headers={"Idempotency-Key": "k1"},
        )
        assert first.ok
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        created = [e for e in harness.notifier.sent if e.type == "booking_created"]
        assert len(created) == 1
