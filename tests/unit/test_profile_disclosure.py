"""What a create answer tells about the customer: everything to a trusted agent, nothing new to
anyone else.

A caller is a trusted agent when the operator configured ``BOOKING_AGENT_API_KEYS`` and the
caller sent one of them. It gets the spec's body: the stored customer's profile, its id and
whether the phone was new. Any other caller (the endpoint is public when no keys are configured)
gets the same shape, but the customer is described only by what the request itself sent; what
only the stored customer could tell (its id, whether the phone was known, its stored names and
e-mail, whether it is active) is ``null`` or left at the request's values. So knowing a phone
number is not a way to read a customer's profile, or to learn that the phone is a customer's.

Both ways in (the direct lane and, for CORS requests, Litestar's route) and idempotent replays
hold to the same rule. The apps here share one in-memory store, so one can book what another then
sees: a keyed app (a trusted agent's view) and a public one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BusinessSettings, DateOrder
from agent_booking.core.errors import InvalidField
from agent_booking.core.request import BookingRequest
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import create_app
from tests.unit.builders import NOW, ONE_RESOURCE_PLACEMENT, TOMORROW, basic_body

CREATE = "/api/agent/booking/create/"
ORIGIN = "https://agent.example"
AGENT_KEY = "unit-test-agent-key"
TRUSTED = {"X-API-Key": AGENT_KEY}
KNOWN_PHONE = "1234567890"
STORED_PROFILE = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
#: Both ways into the create endpoint: the direct lane, and Litestar's route (CORS requests).
WAYS_IN = [pytest.param({}, id="lane"), pytest.param({"Origin": ORIGIN}, id="route")]


def _client(store: InMemoryStore, *, keys: tuple[str, ...]) -> httpx.AsyncClient:
    config = AppConfig(
        database_url="sqlite+aiosqlite:///unused.db",
        agent_api_keys=keys,
        cors_origins=(ORIGIN,),
        rate_limit=None,
    )
    app = create_app(
        config,
        uow_factory=store.unit_of_work,
        clock=FixedClock(NOW),
        notifier=InMemoryNotifier(),
        ping=_ready,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _ready() -> None:
    return None


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(BusinessSettings())


@pytest.fixture
async def public(store: InMemoryStore) -> AsyncIterator[httpx.AsyncClient]:
    """The endpoint with no API keys configured: anyone may call it."""
    async with _client(store, keys=()) as client:
        yield client


@pytest.fixture
async def keyed(store: InMemoryStore) -> AsyncIterator[httpx.AsyncClient]:
    """The same store behind an app with an API key: its callers are trusted agents."""
    async with _client(store, keys=(AGENT_KEY,)) as client:
        yield client


@pytest.fixture
async def known_customer(keyed: httpx.AsyncClient) -> dict[str, Any]:
    """A customer with a stored profile, made by a first booking at 12:00."""
    body = basic_body(phone=KNOWN_PHONE, booking_time="12:00", **STORED_PROFILE)
    response = await keyed.post(CREATE, json=body, headers=TRUSTED)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()["data"]["user"]
    return user


def _user_as_sent(phone: str, **fields: str) -> dict[str, Any]:
    """The customer part of a public answer: the request's own fields, nothing stored."""
    return {
        "id": None,
        "username": phone,
        "first_name": fields.get("first_name", ""),
        "last_name": fields.get("last_name", ""),
        "email": fields.get("email", ""),
        "phone": phone,
        "is_active": None,
        "created": None,
    }


def _without_booking(body: dict[str, Any]) -> dict[str, Any]:
    """A 201 body less what differs between any two bookings (ids, slot, instants)."""
    data = body["data"]
    return {
        **{key: value for key, value in body.items() if key not in {"booking_id", "data"}},
        "user": {
            key: value for key, value in data["user"].items() if key not in {"phone", "username"}
        },
        "booking": {
            key: value
            for key, value in data["booking"].items()
            if key not in {"id", "booking_time", "created_at"}
        },
    }


@pytest.mark.usefixtures("known_customer")
class TestAPublicCaller:
    @pytest.mark.parametrize("way_in", WAYS_IN)
    async def test_gets_back_only_what_it_sent_for_a_known_phone(
        self, public: httpx.AsyncClient, way_in: dict[str, str]
    ) -> None:
        sent = {"first_name": "Eve"}
        response = await public.post(
            CREATE, json=basic_body(phone=KNOWN_PHONE, booking_time="13:00", **sent), headers=way_in
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["data"]["user"] == _user_as_sent(KNOWN_PHONE, **sent)
        assert (body["user_created"], body["user_id"]) == (None, None)
        assert "Ada" not in response.text
        assert "ada@example.com" not in response.text

    @pytest.mark.parametrize("way_in", WAYS_IN)
    async def test_cannot_tell_a_known_phone_from_a_new_one(
        self, public: httpx.AsyncClient, way_in: dict[str, str]
    ) -> None:
        sent = {"first_name": "Eve", "last_name": "Prober", "email": "eve@example.com"}
        known = await public.post(
            CREATE, json=basic_body(phone=KNOWN_PHONE, booking_time="13:00", **sent), headers=way_in
        )
        new = await public.post(
            CREATE,
            json=basic_body(phone="5550001111", booking_time="15:00", **sent),
            headers=way_in,
        )

        assert known.status_code == new.status_code == 201, (known.text, new.text)
        assert _without_booking(known.json()) == _without_booking(new.json())

    async def test_still_gets_the_booking_as_the_spec_shows_it(
        self, public: httpx.AsyncClient
    ) -> None:
        response = await public.post(
            CREATE, json=basic_body(phone=KNOWN_PHONE, booking_time="13:00", notes="Call first")
        )

        body = response.json()
        booking = body["data"]["booking"]
        assert booking["id"] == body["booking_id"]
        assert isinstance(body["booking_id"], int)
        assert (
            booking
            == {
                "id": body["booking_id"],
                "service_name": "Legal Consultation",
                "booking_date": TOMORROW.isoformat(),
                "booking_time": "13:00:00",
                "status": "upcoming",
                "notes": "Call first",
                "created_at": "2026-11-25T10:00:00Z",
            }
            | ONE_RESOURCE_PLACEMENT
        )
        assert (body["success"], body["message"]) == (True, "Booking created successfully")

    async def test_gets_the_normalised_phone_it_sent(self, public: httpx.AsyncClient) -> None:
        response = await public.post(
            CREATE, json=basic_body(phone="(123) 456-7890", booking_time="13:00")
        )

        assert response.json()["data"]["user"] == _user_as_sent(KNOWN_PHONE)

    async def test_is_refused_a_taken_slot_as_for_a_new_phone(
        self, public: httpx.AsyncClient
    ) -> None:
        known = await public.post(CREATE, json=basic_body(phone=KNOWN_PHONE, booking_time="12:00"))
        new = await public.post(CREATE, json=basic_body(phone="5550002222", booking_time="12:00"))

        assert known.status_code == new.status_code == 409
        assert known.json() == new.json()


@pytest.mark.usefixtures("known_customer")
class TestATrustedAgent:
    @pytest.mark.parametrize("way_in", WAYS_IN)
    async def test_gets_the_stored_profile_of_a_known_phone(
        self, keyed: httpx.AsyncClient, known_customer: dict[str, Any], way_in: dict[str, str]
    ) -> None:
        response = await keyed.post(
            CREATE,
            json=basic_body(phone=KNOWN_PHONE, booking_time="13:00", first_name="Eve"),
            headers={**TRUSTED, **way_in},
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["data"]["user"] == {**known_customer, "created": False}
        assert body["data"]["user"]["first_name"] == "Ada"
        assert (body["user_created"], body["user_id"]) == (False, known_customer["id"])

    async def test_learns_that_a_phone_is_new(self, keyed: httpx.AsyncClient) -> None:
        response = await keyed.post(
            CREATE, json=basic_body(phone="5550003333", booking_time="13:00"), headers=TRUSTED
        )

        body = response.json()
        assert body["user_created"] is True
        assert body["data"]["user"]["created"] is True
        assert isinstance(body["user_id"], int)


@pytest.mark.usefixtures("known_customer")
class TestAnIdempotentReplay:
    async def test_gives_a_public_caller_no_more_than_it_sent(
        self, keyed: httpx.AsyncClient, public: httpx.AsyncClient
    ) -> None:
        """A success recorded for a trusted agent, replayed to a public caller (the operator
        removed the keys, or the record is older than this rule)."""
        body = basic_body(phone=KNOWN_PHONE, booking_time="13:00", last_name="Sent")
        key = {"Idempotency-Key": "disclosure-replay-1"}
        first = await keyed.post(CREATE, json=body, headers={**TRUSTED, **key})
        replay = await public.post(CREATE, json=body, headers=key)

        assert first.json()["data"]["user"]["first_name"] == "Ada"
        assert replay.status_code == 201, replay.text
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json()["data"]["user"] == _user_as_sent(KNOWN_PHONE, last_name="Sent")
        assert (replay.json()["user_created"], replay.json()["user_id"]) == (None, None)
        assert replay.json()["data"]["booking"] == first.json()["data"]["booking"]

    @pytest.mark.parametrize("way_in", WAYS_IN)
    async def test_repeats_a_public_answer_exactly(
        self, public: httpx.AsyncClient, way_in: dict[str, str]
    ) -> None:
        body = basic_body(phone=KNOWN_PHONE, booking_time="13:00", first_name=" Eve ")
        key = {"Idempotency-Key": "disclosure-replay-2"}
        first = await public.post(CREATE, json=body, headers=key)
        replay = await public.post(CREATE, json=body, headers={**key, **way_in})

        assert first.status_code == replay.status_code == 201, (first.text, replay.text)
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == first.json()
        assert first.json()["data"]["user"] == _user_as_sent(KNOWN_PHONE, first_name="Eve")

    async def test_gives_a_trusted_agent_the_recorded_answer(
        self, keyed: httpx.AsyncClient, public: httpx.AsyncClient
    ) -> None:
        body = basic_body(phone=KNOWN_PHONE, booking_time="13:00")
        key = {"Idempotency-Key": "disclosure-replay-3"}
        first = await public.post(CREATE, json=body, headers=key)
        replay = await keyed.post(CREATE, json=body, headers={**TRUSTED, **key})

        assert first.json()["user_created"] is None
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json()["user_created"] is False
        assert replay.json()["data"]["user"]["first_name"] == "Ada"
        assert replay.json()["data"]["booking"] == first.json()["data"]["booking"]

    async def test_to_a_public_caller_survives_a_body_that_is_no_longer_valid(
        self,
        keyed: httpx.AsyncClient,
        public: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Recorded, then the rules changed (a newer version validates more strictly): the
        replay still answers the recorded booking, with the phone and nothing stored."""
        body = basic_body(phone=KNOWN_PHONE, booking_time="13:00", first_name="Eve")
        key = {"Idempotency-Key": "disclosure-replay-4"}
        first = await keyed.post(CREATE, json=body, headers={**TRUSTED, **key})

        def stricter(
            body: object, date_order: DateOrder = DateOrder.DMY, **options: object
        ) -> BookingRequest:
            raise InvalidField("first_name", "no longer accepted")

        monkeypatch.setattr(BookingRequest, "from_mapping", stricter)
        replay = await public.post(CREATE, json=body, headers=key)

        assert first.status_code == replay.status_code == 201, (first.text, replay.text)
        assert replay.json()["data"]["user"] == _user_as_sent(KNOWN_PHONE)
        assert replay.json()["data"]["booking"] == first.json()["data"]["booking"]
