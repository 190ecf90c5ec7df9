"""The agent booking use case with in-memory adapters (booking_core.CreateAgentBooking)."""

from __future__ import annotations

import asyncio

import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import (
    BOOKING_CREATED,
    BookingError,
    BookingStatus,
    BusinessSettings,
    ClosedDate,
    CreateAgentBooking,
    DateOrder,
    InvalidField,
    InvalidRequestBody,
    MissingField,
    NotASlotStart,
    OffDay,
    SettingsMissing,
    SlotTaken,
    StorageUnavailable,
)
from tests.unit.builders import (
    NOW,
    ONE_RESOURCE_PLACEMENT,
    TOMORROW,
    basic_body,
    complete_body,
    without,
)
from tests.unit.driving import CreateFromBody, success_body
from tests.unit.fakes import CommitCheckingNotifier, FailingCommitUnitOfWork

#: The spec's success body for its complete request, with our first ids (1, 1).
SPEC_SUCCESS_BODY = {
    "success": True,
    "message": "Booking created successfully",
    "user_created": True,
    "user_id": 1,
    "booking_id": 1,
    "data": {
        "booking": {
            "id": 1,
            "service_name": "Legal Consultation",
            "booking_date": "2025-10-20",
            "booking_time": "14:00:00",
            "status": "upcoming",
            "notes": "Agent created booking",
            "created_at": "2025-10-14T12:00:00Z",
        }
        | ONE_RESOURCE_PLACEMENT,
        "user": {
            "id": 1,
            "username": "1234567890",
            "first_name": "John",
            "last_name": "Doe",
            "email": "john.doe@example.com",
            "phone": "1234567890",
            "is_active": True,
            "created": True,
        },
    },
}


def state_of(store: InMemoryStore) -> tuple[object, ...]:
    return (store.customers, store.bookings, store.events)


async def cancel(store: InMemoryStore, booking_id: int) -> None:
    async with store.unit_of_work() as uow:
        await uow.bookings.set_status(booking_id, BookingStatus.CANCELLED)
        await uow.commit()


async def change_settings(store: InMemoryStore, settings: BusinessSettings) -> None:
    async with store.unit_of_work() as uow:
        await uow.settings.save(settings, now=NOW)
        await uow.commit()


class TestSpecExamples:
    """The spec's own requests, on the day its example response was made."""

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(pendulum.datetime(2025, 10, 14, 12, tz="UTC"))

    async def test_complete_request_gets_the_spec_success_body(
        self, create_booking: CreateAgentBooking
    ) -> None:
        result = await create_booking(complete_body(booking_date="2025-10-20"))
        assert success_body(result) == SPEC_SUCCESS_BODY

    async def test_basic_request_succeeds_with_empty_profile_fields(
        self, create_booking: CreateAgentBooking
    ) -> None:
        response = success_body(await create_booking(basic_body(booking_date="2025-10-20")))

        assert response["success"] is True
        assert response["message"] == "Booking created successfully"
        assert response["user_created"] is True
        booking, user = response["data"]["booking"], response["data"]["user"]
        assert booking["booking_time"] == "14:00:00"
        assert (booking["status"], booking["notes"]) == ("upcoming", "")
        assert user["username"] == user["phone"] == "1234567890"
        assert (user["first_name"], user["last_name"], user["email"]) == ("", "", "")


class TestCreateAgentBooking:
    async def test_stores_the_booking_at_its_utc_start(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        result = await create_booking(basic_body(booking_time="2:00 PM"))

        [booking] = store.bookings
        assert booking == result.booking
        assert booking.booking_date == TOMORROW
        assert booking.booking_time == pendulum.Time(14, 0)
        assert booking.starts_at == pendulum.datetime(2026, 11, 26, 14, tz="UTC")
        assert booking.status is BookingStatus.UPCOMING
        assert booking.created_at == NOW
        assert booking.customer_id == result.customer.id

    async def test_accepts_dates_and_times_in_any_format(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        for date, time in [
            ("26/11/2026", "12:00"),
            ("11-26-2026", "1:00pm"),
            ("2026-11-26", "15:00:00"),
        ]:
            await create_booking(basic_body(booking_date=date, booking_time=time))
        assert sorted(b.starts_at.hour for b in store.bookings) == [12, 13, 15]

    async def test_reads_ambiguous_dates_month_first_when_configured(
        self, store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        create = CreateFromBody(store.unit_of_work, clock, notifier, date_order=DateOrder.MDY)
        result = await create(basic_body(booking_date="12/01/2026"))
        assert result.booking.booking_date == pendulum.Date(2026, 12, 1)

    async def test_keeps_a_pending_status(self, create_booking: CreateAgentBooking) -> None:
        result = await create_booking(basic_body(status="pending"))
        assert result.booking.status is BookingStatus.PENDING
        assert success_body(result)["data"]["booking"]["status"] == "pending"

    async def test_rejects_sundays(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        with pytest.raises(OffDay, match="Booking not allowed on off days"):
            await create_booking(basic_body(booking_date="2026-11-29"))
        assert state_of(store) == ([], [], [])


class TestCustomers:
    async def test_creates_the_customer_on_the_first_booking_only(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        first = await create_booking(basic_body(booking_time="12:00"))
        second = await create_booking(basic_body(booking_time="13:00"))

        assert (first.customer_created, second.customer_created) == (True, False)
        assert success_body(first)["user_created"] is True
        assert success_body(second)["user_created"] is False
        assert success_body(second)["data"]["user"]["created"] is False
        assert first.customer == second.customer
        assert len(store.customers) == 1
        assert {b.customer_id for b in store.bookings} == {first.customer.id}

    async def test_recognises_a_customer_by_the_normalised_phone(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        await create_booking(basic_body(phone="+1 (234) 567-890", booking_time="12:00"))
        result = await create_booking(basic_body(phone="+1.234.567.890", booking_time="13:00"))

        assert result.customer_created is False
        assert result.customer.username == "+1234567890"
        assert len(store.customers) == 1

    async def test_never_modifies_an_existing_customer(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        original = (await create_booking(complete_body(booking_time="12:00"))).customer

        result = await create_booking(
            complete_body(
                booking_time="13:00",
                first_name="Mallory",
                last_name="Intruder",
                email="mallory@evil.example",
                gender="other",
                country="Nowhere",
            )
        )

        assert store.customers == [original]
        assert result.customer == original
        user = success_body(result)["data"]["user"]
        assert (user["first_name"], user["email"]) == ("John", "john.doe@example.com")

    async def test_does_not_create_a_customer_for_a_refused_booking(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        with pytest.raises(OffDay):
            await create_booking(basic_body(booking_date="2026-11-29"))
        assert store.customers == []


class TestCheckOrder:
    async def test_reports_missing_settings(
        self, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        store = InMemoryStore(settings=None)
        create = CreateFromBody(store.unit_of_work, clock, notifier)
        with pytest.raises(SettingsMissing, match="No booking settings found"):
            await create(basic_body())
        assert state_of(store) == ([], [], [])
        assert notifier.sent == []

    async def test_validates_the_request_before_looking_for_settings(
        self, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        create = CreateFromBody(InMemoryStore(settings=None).unit_of_work, clock, notifier)
        with pytest.raises(MissingField):
            await create(without(basic_body(), "phone"))
        with pytest.raises(InvalidRequestBody):
            await create(["not", "an", "object"])

    async def test_looks_for_settings_before_applying_the_policy(
        self, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        create = CreateFromBody(InMemoryStore(settings=None).unit_of_work, clock, notifier)
        with pytest.raises(SettingsMissing):
            await create(basic_body(booking_date="2020-01-05", booking_time="03:00"))

    async def test_applies_the_policy_before_looking_at_the_slot(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        await create_booking(basic_body())
        await change_settings(store, BusinessSettings(closed_dates={TOMORROW}))
        with pytest.raises(ClosedDate):
            await create_booking(basic_body(phone="5550100199"))

    async def test_uses_the_current_settings(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        await change_settings(store, BusinessSettings(slot_minutes=30))
        result = await create_booking(basic_body(booking_time="16:30"))
        assert result.booking.starts_at == pendulum.datetime(2026, 11, 26, 16, 30, tz="UTC")
        await change_settings(store, BusinessSettings())
        with pytest.raises(NotASlotStart):
            await create_booking(basic_body(booking_time="15:30"))


class TestSlots:
    async def test_refuses_a_taken_slot_and_changes_nothing(
        self,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        notifier: InMemoryNotifier,
    ) -> None:
        await create_booking(basic_body())
        before, sent = state_of(store), list(notifier.sent)

        with pytest.raises(SlotTaken, match="This time slot is already reserved"):
            await create_booking(basic_body(phone="5550100199", booking_time="2:00 PM"))

        assert state_of(store) == before
        assert notifier.sent == sent

    async def test_a_pending_booking_holds_its_slot(
        self, create_booking: CreateAgentBooking
    ) -> None:
        await create_booking(basic_body(status="pending"))
        with pytest.raises(SlotTaken):
            await create_booking(basic_body(phone="5550100199"))

    async def test_a_completed_booking_keeps_its_slot(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        booking = (await create_booking(basic_body())).booking
        async with store.unit_of_work() as uow:
            await uow.bookings.set_status(booking.id, BookingStatus.COMPLETED)
            await uow.commit()
        with pytest.raises(SlotTaken):
            await create_booking(basic_body(phone="5550100199"))

    async def test_a_cancelled_booking_frees_its_slot(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        first = (await create_booking(basic_body())).booking
        await cancel(store, first.id)

        second = (await create_booking(basic_body(phone="5550100199"))).booking

        assert second.starts_at == first.starts_at
        assert [b.status for b in store.bookings] == [
            BookingStatus.CANCELLED,
            BookingStatus.UPCOMING,
        ]

    async def test_other_slots_stay_free(self, create_booking: CreateAgentBooking) -> None:
        await create_booking(basic_body())
        result = await create_booking(basic_body(booking_time="15:00"))
        assert result.booking.booking_time == pendulum.Time(15, 0)


class TestNotifications:
    async def test_records_one_booking_created_event_per_booking(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        first = await create_booking(complete_body(booking_time="12:00"))
        second = await create_booking(basic_body(booking_time="13:00"))

        assert store.events == [first.event, second.event]
        assert [e.type for e in store.events] == [BOOKING_CREATED, BOOKING_CREATED]
        assert [e.payload["id"] for e in store.events] == [first.booking.id, second.booking.id]
        assert [e.event_id for e in store.events] == [1, 2]

    async def test_publishes_the_spec_message_after_commit(
        self, store: InMemoryStore, clock: FixedClock
    ) -> None:
        notifier = CommitCheckingNotifier(store)
        create = CreateFromBody(store.unit_of_work, clock, notifier)

        result = await create(complete_body())

        assert notifier.sent == [result.event]
        assert notifier.uncommitted == []
        message = notifier.sent[0].message()
        assert message["type"] == "booking_created"
        assert message["event_id"] == 1
        data = message["data"]
        assert data["id"] == result.booking.id
        assert data["service_name"] == "Legal Consultation"
        assert data["booking_date"] == "2026-11-26"
        assert data["booking_time"] == "14:00:00"
        assert {
            key: data["user_details"][key]
            for key in ("id", "username", "first_name", "last_name", "email")
        } == {
            "id": result.customer.id,
            "username": "1234567890",
            "first_name": "John",
            "last_name": "Doe",
            "email": "john.doe@example.com",
        }

    @pytest.mark.parametrize(
        "body",
        [
            basic_body(booking_date="2026-11-29"),
            basic_body(phone="12"),
            without(basic_body(), "booking_time"),
        ],
    )
    async def test_publishes_nothing_for_a_refused_request(
        self,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        notifier: InMemoryNotifier,
        body: dict[str, object],
    ) -> None:
        with pytest.raises(BookingError):
            await create_booking(body)
        assert notifier.sent == []
        assert store.events == []

    async def test_publishes_nothing_when_the_commit_fails(
        self, store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        create = CreateFromBody(lambda: FailingCommitUnitOfWork(store), clock, notifier)

        with pytest.raises(StorageUnavailable):
            await create(basic_body())

        assert notifier.sent == []
        assert state_of(store) == ([], [], [])


class TestConcurrency:
    async def test_exactly_one_of_many_simultaneous_requests_gets_a_slot(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        phones = [f"55501{n:05d}" for n in range(50)]
        outcomes = await asyncio.gather(
            *(create_booking(basic_body(phone=phone)) for phone in phones),
            return_exceptions=True,
        )

        refusals = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(outcomes) - len(refusals) == 1
        assert len(refusals) == 49
        assert all(isinstance(refusal, SlotTaken) for refusal in refusals)
        assert len(store.bookings) == 1
        assert len(store.customers) == 1
        assert len(store.events) == 1

    async def test_simultaneous_first_bookings_for_one_phone_create_one_customer(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        days = [TOMORROW.add(days=offset) for offset in range(5)]  # Thu .. Mon, one Sunday
        requests = [
            basic_body(booking_date=day.isoformat(), booking_time=f"{hour}:00")
            for day in days
            if day.isoweekday() != 7
            for hour in (12, 13, 14, 15, 16)
        ]
        assert len(requests) == 20

        results = await asyncio.gather(*(create_booking(body) for body in requests))

        assert len(store.customers) == 1
        assert [r.customer_created for r in results].count(True) == 1
        assert {r.customer.id for r in results} == {store.customers[0].id}
        assert len(store.bookings) == 20


class TestRequestErrors:
    @pytest.mark.parametrize(
        ("body", "error"),
        [
            (None, InvalidRequestBody),
            (basic_body(phone="  "), MissingField),
            (basic_body(email="nope"), InvalidField),
            (basic_body(status="cancelled"), InvalidField),
        ],
    )
    async def test_refuses_an_invalid_request_and_changes_nothing(
        self,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        body: object,
        error: type[BookingError],
    ) -> None:
        with pytest.raises(error):
            await create_booking(body)
        assert state_of(store) == ([], [], [])
