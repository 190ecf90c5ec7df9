"""The hold routes (issue 15) through the app, on the in-memory adapters: the answers' shapes,
the refusals' codes, idempotent retries and the phone rule. The clock stands at Wednesday
2026-11-25 10:00 UTC; holds last five minutes by default."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BusinessSettings
from agent_booking.core.entities import BookingStatus
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import create_app
from tests.unit.builders import NOW, TOMORROW, basic_body

PHONE = "1234567890"
HOLDS = "/api/agent/holds/"


async def _ready() -> None:
    return None


class Service:
    def __init__(self, *, keys: tuple[str, ...] = ("k",)) -> None:
        self.store = InMemoryStore(BusinessSettings())
        self.clock = FixedClock(NOW)
        self.notifier = InMemoryNotifier()
        self.app = create_app(
            AppConfig(rate_limit=None, agent_api_keys=keys, max_holds_per_phone=2),
            uow_factory=self.store.unit_of_work,
            clock=self.clock,
            notifier=self.notifier,
            ping=_ready,
        )

    def client(self, *, key: str | None = "k") -> httpx.AsyncClient:
        headers = {"X-API-Key": key} if key else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://t", headers=headers
        )

    def status_of(self, booking_id: int) -> BookingStatus:
        return next(b.status for b in self.store.bookings if b.id == booking_id)


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
async def agent(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with service.client() as client:
        yield client


def body(time: str = "14:00", **fields: object) -> dict[str, object]:
    return basic_body(booking_date=TOMORROW.isoformat(), booking_time=time, **fields)


class TestHoldRoute:
    async def test_answers_the_creates_body_with_a_held_booking(
        self, agent: httpx.AsyncClient, service: Service
    ) -> None:
        answer = await agent.post(HOLDS, json=body())
        assert answer.status_code == 201, answer.text
        held = answer.json()
        assert held["success"] is True
        assert held["message"] == "Booking created successfully"
        assert held["user_created"] is True
        assert held["booking_id"] == held["data"]["booking"]["id"]
        assert held["data"]["booking"]["status"] == "held"
        assert held["data"]["booking"]["hold_expires_at"] == "2026-11-25T10:05:00Z"
        assert held["data"]["user"]["phone"] == PHONE
        assert held["data"]["booking"]["resource"] == {"id": 1, "name": "Default"}
        assert [e.type for e in service.notifier.sent] == ["booking_held"]

    async def test_a_held_start_is_refused_to_others_with_alternatives(
        self, agent: httpx.AsyncClient
    ) -> None:
        await agent.post(HOLDS, json=body())
        for path in (HOLDS, "/api/agent/booking/create/"):
            refused = await agent.post(path, json=body(phone="5550001111"))
            assert refused.status_code == 409
            assert refused.json()["code"] == "slot_taken"
            assert refused.json()["alternatives"][0]["spoken"]

    async def test_a_third_live_hold_of_one_phone_is_too_many(
        self, agent: httpx.AsyncClient
    ) -> None:
        for time in ("12:00", "13:00"):
            assert (await agent.post(HOLDS, json=body(time))).status_code == 201
        refused = await agent.post(HOLDS, json=body("14:00"))
        assert refused.status_code == 409
        assert refused.json()["code"] == "too_many_holds"

    async def test_refuses_what_create_refuses(self, agent: httpx.AsyncClient) -> None:
        answer = await agent.post(HOLDS, json=body("09:00"))
        assert (answer.status_code, answer.json()["code"]) == (422, "outside_working_hours")
        answer = await agent.post(HOLDS, content=b"[]")
        assert (answer.status_code, answer.json()["code"]) == (400, "invalid_body")

    async def test_a_retry_with_the_same_key_gets_the_same_hold(
        self, agent: httpx.AsyncClient, service: Service
    ) -> None:
        key = {"Idempotency-Key": "hold-1"}
        first = await agent.post(HOLDS, json=body(), headers=key)
        again = await agent.post(HOLDS, json=body(), headers=key)
        assert first.json() == again.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert len(service.store.bookings) == 1

    async def test_a_creates_key_is_not_a_hold_replay(
        self, agent: httpx.AsyncClient, service: Service
    ) -> None:
        key = {"Idempotency-Key": "shared-1"}
        created = await agent.post("/api/agent/booking/create/", json=body(), headers=key)
        held = await agent.post(HOLDS, json=body(), headers=key)
        assert created.status_code == 201
        assert (held.status_code, held.json()["code"]) == (422, "idempotency_key_reused")
        assert [b.status for b in service.store.bookings] == [BookingStatus.UPCOMING]


class TestConfirmRoute:
    async def test_confirming_keeps_the_id_and_answers_the_creates_body(
        self, agent: httpx.AsyncClient, service: Service
    ) -> None:
        hold_id = (await agent.post(HOLDS, json=body())).json()["booking_id"]
        confirmed = await agent.post(f"{HOLDS}{hold_id}/confirm/", json={"phone": "123-456-7890"})
        assert confirmed.status_code == 201, confirmed.text
        answer = confirmed.json()
        assert answer["message"] == "Booking created successfully"
        assert answer["booking_id"] == hold_id
        assert answer["data"]["booking"]["status"] == "upcoming"
        assert "hold_expires_at" not in answer["data"]["booking"]
        assert service.status_of(hold_id) is BookingStatus.UPCOMING
        assert [e.type for e in service.notifier.sent] == ["booking_held", "booking_created"]

    async def test_refusals(self, agent: httpx.AsyncClient, service: Service) -> None:
        hold_id = (await agent.post(HOLDS, json=body())).json()["booking_id"]
        url = f"{HOLDS}{hold_id}/confirm/"
        cases = [
            (await agent.post(url, json={"phone": "5550001111"}), 404, "booking_not_found"),
            (
                await agent.post(f"{HOLDS}999/confirm/", json={"phone": PHONE}),
                404,
                "booking_not_found",
            ),
            (await agent.post(url, json={}), 400, "missing_field"),
            (await agent.post(url, content=b"[]"), 400, "invalid_body"),
        ]
        for answer, status, code in cases:
            assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
        service.clock.advance(seconds=300)
        expired = await agent.post(url, json={"phone": PHONE})
        assert (expired.status_code, expired.json()["code"]) == (409, "hold_expired")
        assert service.status_of(hold_id) is BookingStatus.EXPIRED
        again = await agent.post(url, json={"phone": PHONE})
        assert (again.status_code, again.json()["code"]) == (409, "booking_not_held")

    async def test_a_keyed_confirmation_is_replayed(
        self, agent: httpx.AsyncClient, service: Service
    ) -> None:
        hold_id = (await agent.post(HOLDS, json=body())).json()["booking_id"]
        key = {"Idempotency-Key": "confirm-1"}
        url = f"{HOLDS}{hold_id}/confirm/"
        first = await agent.post(url, json={"phone": PHONE}, headers=key)
        again = await agent.post(url, json={"phone": PHONE}, headers=key)
        assert (first.status_code, again.status_code) == (201, 201)
        assert first.json() == again.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert [e.type for e in service.notifier.sent].count("booking_created") == 1


class TestReleaseRoute:
    async def test_releases_with_the_phone_in_the_query_or_the_body(
        self, agent: httpx.AsyncClient, service: Service
    ) -> None:
        first = (await agent.post(HOLDS, json=body("12:00"))).json()["booking_id"]
        second = (await agent.post(HOLDS, json=body("13:00"))).json()["booking_id"]
        by_query = await agent.delete(f"{HOLDS}{first}/", params={"phone": PHONE})
        by_body = await agent.request("DELETE", f"{HOLDS}{second}/", json={"phone": PHONE})
        for answer, hold_id in ((by_query, first), (by_body, second)):
            assert answer.status_code == 200, answer.text
            released = answer.json()
            assert released["success"] is True
            assert released["message"] == "Hold released"
            assert released["data"]["booking"]["id"] == hold_id
            assert released["data"]["booking"]["status"] == "released"
        released_events = [e for e in service.notifier.sent if e.type == "hold_released"]
        assert [e.payload["reason"] for e in released_events] == ["released", "released"]
        # The start is free at once.
        booked = await agent.post("/api/agent/booking/create/", json=body("12:00", phone="5551234"))
        assert booked.status_code == 201

    async def test_refusals(self, agent: httpx.AsyncClient) -> None:
        hold_id = (await agent.post(HOLDS, json=body())).json()["booking_id"]
        url = f"{HOLDS}{hold_id}/"
        mismatch = await agent.delete(url, params={"phone": "5550001111"})
        assert (mismatch.status_code, mismatch.json()["code"]) == (404, "booking_not_found")
        missing = await agent.delete(url)
        assert (missing.status_code, missing.json()["code"]) == (400, "missing_field")
        assert (await agent.delete(url, params={"phone": PHONE})).status_code == 200
        twice = await agent.delete(url, params={"phone": PHONE})
        assert (twice.status_code, twice.json()["code"]) == (409, "booking_not_held")


class TestOpenToTheAgentsCreateIsOpenTo:
    async def test_without_keys_anyone_may_hold_confirm_and_release_but_sees_no_profile(
        self,
    ) -> None:
        service = Service(keys=())
        async with service.client(key=None) as public:
            held = await public.post(HOLDS, json=body())
            hold_id = held.json()["booking_id"]
            confirmed = await public.post(f"{HOLDS}{hold_id}/confirm/", json={"phone": PHONE})
            other = (await public.post(HOLDS, json=body("15:00"))).json()["booking_id"]
            released = await public.delete(f"{HOLDS}{other}/", params={"phone": PHONE})
        assert (held.status_code, confirmed.status_code, released.status_code) == (201, 201, 200)
        assert held.json()["user_id"] is None
        assert confirmed.json()["user_id"] is None
        assert confirmed.json()["data"]["user"]["phone"] == PHONE
