"""Cancelling a booking (CancelBooking) and changing the business settings (UpdateSettings).

A cancellation frees the slot at once and is announced (``booking_cancelled``) after its commit.
A settings change is applied whole or not at all, and lists the active future bookings the new
rules would no longer accept (it keeps them: the operator decides).
"""

from __future__ import annotations

import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import (
    BOOKING_CANCELLED,
    BookingStatus,
    BusinessSettings,
    CreateAgentBooking,
    CustomerProfile,
    InvalidSettings,
    NewBooking,
    SettingsMissing,
    SlotTaken,
    StorageUnavailable,
)
from agent_booking.core.cancel_booking import CancelBooking
from agent_booking.core.errors import BookingNotActive, BookingNotFound
from agent_booking.core.update_settings import UpdateSettings
from tests.unit.builders import NOW, ONE_RESOURCE_PLACEMENT, TOMORROW, basic_body, complete_body
from tests.unit.driving import SettingsFromDocument, settings_document
from tests.unit.fakes import CommitCheckingNotifier, FailingCommitUnitOfWork

FRIDAY = pendulum.Date(2026, 11, 27)
CHRISTMAS = pendulum.Date(2026, 12, 25)


@pytest.fixture
def cancel_booking(
    store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
) -> CancelBooking:
    return CancelBooking(store.unit_of_work, clock, notifier)


@pytest.fixture
def update_settings(store: InMemoryStore, clock: FixedClock) -> UpdateSettings:
    return SettingsFromDocument(store.unit_of_work, clock)


async def book(
    create: CreateAgentBooking, day: pendulum.Date = TOMORROW, time: str = "14:00", **fields: str
) -> int:
    result = await create(basic_body(booking_date=day.isoformat(), booking_time=time, **fields))
    return result.booking.id


async def set_status(store: InMemoryStore, booking_id: int, status: BookingStatus) -> None:
    async with store.unit_of_work() as uow:
        await uow.bookings.set_status(booking_id, status)
        await uow.commit()


async def active_settings(store: InMemoryStore) -> BusinessSettings | None:
    async with store.unit_of_work() as uow:
        return await uow.settings.get_active()


def status_of(store: InMemoryStore, booking_id: int) -> BookingStatus:
    return next(b.status for b in store.bookings if b.id == booking_id)


class TestCancelBooking:
    async def test_sets_the_booking_to_cancelled(
        self,
        cancel_booking: CancelBooking,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking)

        cancelled = await cancel_booking(booking_id)

        assert cancelled.booking.id == booking_id
        assert cancelled.booking.status is BookingStatus.CANCELLED
        assert status_of(store, booking_id) is BookingStatus.CANCELLED
        assert cancelled.customer.phone == "1234567890"

    async def test_frees_the_slot_for_the_next_create(
        self, cancel_booking: CancelBooking, create_booking: CreateAgentBooking
    ) -> None:
        booking_id = await book(create_booking)
        with pytest.raises(SlotTaken):
            await book(create_booking, phone="555 000 2222")

        await cancel_booking(booking_id)
        again = await create_booking(basic_body(phone="555 000 2222"))

        assert again.booking.starts_at == pendulum.datetime(2026, 11, 26, 14, tz="UTC")

    async def test_announces_booking_cancelled_with_the_booking_view(
        self,
        cancel_booking: CancelBooking,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        notifier: InMemoryNotifier,
        clock: FixedClock,
    ) -> None:
        created = await create_booking(complete_body())
        clock.advance(hours=1)

        cancelled = await cancel_booking(created.booking.id)

        assert cancelled.event.type == BOOKING_CANCELLED
        assert cancelled.event.occurred_at == NOW.add(hours=1)
        assert cancelled.event.message() == {
            "type": "booking_cancelled",
            "event_id": 2,
            "data": {
                "id": created.booking.id,
                "service_name": "Legal Consultation",
                "booking_date": "2026-11-26",
                "booking_time": "14:00:00",
                "starts_at": "2026-11-26T14:00:00Z",
                "status": "cancelled",
                "notes": "Agent created booking",
                "created_at": "2026-11-25T10:00:00Z",
                "user_details": {
                    "id": created.customer.id,
                    "username": "1234567890",
                    "first_name": "John",
                    "last_name": "Doe",
                    "email": "john.doe@example.com",
                    "phone": "1234567890",
                },
            }
            | ONE_RESOURCE_PLACEMENT,
        }
        assert store.events[-1] == cancelled.event
        assert notifier.sent == [created.event, cancelled.event]

    async def test_announces_only_after_the_commit(
        self, store: InMemoryStore, clock: FixedClock, create_booking: CreateAgentBooking
    ) -> None:
        booking_id = await book(create_booking)
        notifier = CommitCheckingNotifier(store)

        await CancelBooking(store.unit_of_work, clock, notifier)(booking_id)

        assert [event.type for event in notifier.sent] == [BOOKING_CANCELLED]
        assert notifier.uncommitted == []

    async def test_a_failed_commit_cancels_nothing_and_announces_nothing(
        self,
        store: InMemoryStore,
        clock: FixedClock,
        notifier: InMemoryNotifier,
        create_booking: CreateAgentBooking,
    ) -> None:
        booking_id = await book(create_booking)
        sent_before, events_before = list(notifier.sent), store.events
        failing = CancelBooking(lambda: FailingCommitUnitOfWork(store), clock, notifier)

        with pytest.raises(StorageUnavailable):
            await failing(booking_id)

        assert status_of(store, booking_id) is BookingStatus.UPCOMING
        assert (notifier.sent, store.events) == (sent_before, events_before)

    async def test_a_pending_booking_can_be_cancelled(
        self, cancel_booking: CancelBooking, create_booking: CreateAgentBooking
    ) -> None:
        booking_id = await book(create_booking, status="pending")
        cancelled = await cancel_booking(booking_id)
        assert cancelled.booking.status is BookingStatus.CANCELLED

    async def test_an_unknown_booking_is_not_found(
        self, cancel_booking: CancelBooking, store: InMemoryStore, notifier: InMemoryNotifier
    ) -> None:
        with pytest.raises(BookingNotFound, match="Booking not found"):
            await cancel_booking(42)
        assert (store.events, notifier.sent) == ([], [])

    async def test_cancelling_twice_is_refused(
        self,
        cancel_booking: CancelBooking,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        notifier: InMemoryNotifier,
    ) -> None:
        booking_id = await book(create_booking)
        await cancel_booking(booking_id)
        events_before, sent_before = store.events, list(notifier.sent)

        with pytest.raises(BookingNotActive, match="cancelled"):
            await cancel_booking(booking_id)

        assert (store.events, notifier.sent) == (events_before, sent_before)

    async def test_a_completed_booking_cannot_be_cancelled(
        self,
        cancel_booking: CancelBooking,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking)
        await set_status(store, booking_id, BookingStatus.COMPLETED)

        with pytest.raises(BookingNotActive, match="completed"):
            await cancel_booking(booking_id)

        assert status_of(store, booking_id) is BookingStatus.COMPLETED

    async def test_cancelling_one_booking_leaves_the_others(
        self,
        cancel_booking: CancelBooking,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
    ) -> None:
        kept = await book(create_booking, time="13:00")
        cancelled = await book(create_booking, time="14:00")

        await cancel_booking(cancelled)

        assert status_of(store, kept) is BookingStatus.UPCOMING


class TestUpdateSettings:
    async def test_changes_only_the_given_fields(
        self, update_settings: UpdateSettings, store: InMemoryStore
    ) -> None:
        update = await update_settings({"close_time": "18:00"})

        assert update.settings == BusinessSettings(close_time=pendulum.Time(18, 0))
        assert await active_settings(store) == update.settings
        assert update.stranded == ()

    async def test_reads_every_field_in_the_admin_api_shape(
        self, update_settings: UpdateSettings, store: InMemoryStore
    ) -> None:
        update = await update_settings(
            {
                "open_time": "09:30",
                "close_time": "5:30 PM",
                "off_days": ["sat", "Sunday"],
                "slot_minutes": 30,
                "timezone": "Europe/Berlin",
                "horizon_days": 90,
                "closed_dates": ["2026-12-25", "2027-01-01"],
                "cancel_notice_minutes": 120,
                "reschedule_notice_minutes": 60,
                "unknown_services": "reject",
            }
        )

        assert settings_document(update.settings) == {
            "open_time": "09:30",
            "close_time": "17:30",
            "off_days": ["sat", "sun"],
            "slot_minutes": 30,
            "timezone": "Europe/Berlin",
            "horizon_days": 90,
            "closed_dates": ["2026-12-25", "2027-01-01"],
            "cancel_notice_minutes": 120,
            "reschedule_notice_minutes": 60,
            "unknown_services": "reject",
        }
        assert await active_settings(store) == update.settings

    async def test_empty_lists_clear_off_days_and_closed_dates(
        self, store: InMemoryStore, clock: FixedClock
    ) -> None:
        async with store.unit_of_work() as uow:
            await uow.settings.save(BusinessSettings(closed_dates={CHRISTMAS}), now=clock.now())
            await uow.commit()

        update = await SettingsFromDocument(store.unit_of_work, clock)(
            {"off_days": [], "closed_dates": []}
        )

        assert (update.settings.off_days, update.settings.closed_dates) == (
            frozenset(),
            frozenset(),
        )

    async def test_an_empty_change_changes_nothing(self, update_settings: UpdateSettings) -> None:
        update = await update_settings({})
        assert update.settings == BusinessSettings()

    @pytest.mark.parametrize(
        "changes",
        [
            {"close_time": "11:00"},
            {"open_time": "17:00"},
            {"open_time": "25:00"},
            {"open_time": 12},
            {"close_time": "12:00:30"},
            {"slot_minutes": 0},
            {"slot_minutes": 301},
            {"slot_minutes": "60"},
            {"slot_minutes": True},
            {"slot_minutes": 60.0},
            {"horizon_days": -1},
            {"horizon_days": 3661},
            {"timezone": "Mars/Olympus_Mons"},
            {"timezone": 1},
            {"off_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
            {"off_days": ["funday"]},
            {"off_days": [7]},
            {"closed_dates": ["2026-02-30"]},
            {"closed_dates": ["25/12/2026"]},
            {"opening": "09:00"},
            {"close_time": "18:00", "colour": "blue"},
            {"unknown_services": "ignore"},
            {"unknown_services": "REJECT"},
            {"unknown_services": True},
        ],
        ids=lambda changes: "-".join(f"{name}={value!r}" for name, value in changes.items()),
    )
    async def test_refuses_invalid_values_and_changes_nothing(
        self, update_settings: UpdateSettings, store: InMemoryStore, changes: dict[str, object]
    ) -> None:
        before = await active_settings(store)

        with pytest.raises(InvalidSettings, match="Invalid settings"):
            await update_settings(changes)

        assert await active_settings(store) == before == BusinessSettings()

    async def test_a_valid_field_is_not_applied_alongside_an_invalid_one(
        self, update_settings: UpdateSettings, store: InMemoryStore
    ) -> None:
        with pytest.raises(InvalidSettings):
            await update_settings({"close_time": "18:00", "slot_minutes": -5})
        assert await active_settings(store) == BusinessSettings()

    async def test_reports_missing_settings(self, clock: FixedClock) -> None:
        with pytest.raises(SettingsMissing):
            await SettingsFromDocument(InMemoryStore(settings=None).unit_of_work, clock)(
                {"close_time": "18:00"}
            )

    async def test_the_new_settings_apply_to_the_next_create(
        self, update_settings: UpdateSettings, create_booking: CreateAgentBooking
    ) -> None:
        await update_settings({"close_time": "18:00"})
        result = await create_booking(basic_body(booking_time="17:00"))
        assert result.booking.booking_time == pendulum.Time(17)


class TestStrandedBookings:
    async def test_a_new_off_day_strands_the_bookings_on_it(
        self, update_settings: UpdateSettings, create_booking: CreateAgentBooking
    ) -> None:
        thursday = await book(create_booking, TOMORROW, "14:00")
        await book(create_booking, FRIDAY, "14:00")

        update = await update_settings({"off_days": ["thu", "sun"]})

        assert [item.booking.id for item in update.stranded] == [thursday]

    async def test_shorter_hours_strand_the_bookings_outside_them(
        self, update_settings: UpdateSettings, create_booking: CreateAgentBooking
    ) -> None:
        first = await book(create_booking, TOMORROW, "12:00")
        await book(create_booking, TOMORROW, "14:00")
        last = await book(create_booking, FRIDAY, "16:00")

        update = await update_settings({"open_time": "13:00", "close_time": "16:00"})

        assert [item.booking.id for item in update.stranded] == [first, last]

    async def test_a_new_closed_date_strands_the_bookings_on_it(
        self, update_settings: UpdateSettings, create_booking: CreateAgentBooking
    ) -> None:
        await book(create_booking, TOMORROW, "12:00")
        on_friday = await book(create_booking, FRIDAY, "15:00")

        update = await update_settings({"closed_dates": [FRIDAY.isoformat()]})

        assert [item.booking.id for item in update.stranded] == [on_friday]

    async def test_a_new_slot_length_strands_bookings_off_the_new_grid(
        self, update_settings: UpdateSettings, create_booking: CreateAgentBooking
    ) -> None:
        on_grid = [await book(create_booking, TOMORROW, f"{hour}:00") for hour in (12, 13, 14)]

        update = await update_settings({"slot_minutes": 90})  # 12:00, 13:30, 15:00

        assert [item.booking.id for item in update.stranded] == on_grid[1:]

    async def test_a_new_time_zone_strands_bookings_whose_instant_falls_outside_hours(
        self, update_settings: UpdateSettings, create_booking: CreateAgentBooking
    ) -> None:
        # 16:00 UTC is 17:00 in Berlin (CET): after closing time there.
        early = await book(create_booking, TOMORROW, "12:00")
        late = await book(create_booking, TOMORROW, "16:00")

        update = await update_settings({"timezone": "Europe/Berlin"})

        assert [item.booking.id for item in update.stranded] == [late]
        assert early != late

    async def test_lists_each_stranded_booking_with_its_customer(
        self, update_settings: UpdateSettings, create_booking: CreateAgentBooking
    ) -> None:
        created = await create_booking(complete_body())

        update = await update_settings({"off_days": ["thu"]})

        [item] = update.stranded
        assert (item.booking, item.customer) == (created.booking, created.customer)
        assert (item.resource.id, item.resource.follows_business_hours) == (1, True)

    async def test_keeps_the_stranded_bookings(
        self,
        update_settings: UpdateSettings,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking)

        await update_settings({"off_days": ["thu"]})

        assert status_of(store, booking_id) is BookingStatus.UPCOMING
        assert len(store.bookings) == 1

    async def test_pending_bookings_are_listed(
        self, update_settings: UpdateSettings, create_booking: CreateAgentBooking
    ) -> None:
        pending = await book(create_booking, status="pending")
        update = await update_settings({"off_days": ["thu"]})
        assert [item.booking.id for item in update.stranded] == [pending]

    @pytest.mark.parametrize("status", [BookingStatus.CANCELLED, BookingStatus.COMPLETED])
    async def test_cancelled_and_completed_bookings_are_not_listed(
        self,
        update_settings: UpdateSettings,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        status: BookingStatus,
    ) -> None:
        await set_status(store, await book(create_booking), status)
        update = await update_settings({"off_days": ["thu"]})
        assert update.stranded == ()

    async def test_past_bookings_are_not_listed(
        self,
        update_settings: UpdateSettings,
        create_booking: CreateAgentBooking,
        clock: FixedClock,
    ) -> None:
        await book(create_booking, TOMORROW, "12:00")
        later = await book(create_booking, TOMORROW, "16:00")
        clock.instant = pendulum.datetime(2026, 11, 26, 12, tz="UTC")  # the first has begun

        update = await update_settings({"off_days": ["thu"]})

        assert [item.booking.id for item in update.stranded] == [later]

    async def test_bookings_that_still_fit_are_not_listed(
        self, update_settings: UpdateSettings, create_booking: CreateAgentBooking
    ) -> None:
        for hour in (12, 13, 14, 15, 16):
            await book(create_booking, TOMORROW, f"{hour}:00")

        update = await update_settings(
            {"close_time": "18:00", "off_days": ["sat", "sun"], "horizon_days": 1}
        )

        assert update.stranded == ()

    async def test_an_invalid_change_strands_nothing_and_changes_nothing(
        self,
        update_settings: UpdateSettings,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
    ) -> None:
        await book(create_booking)
        with pytest.raises(InvalidSettings):
            await update_settings({"off_days": ["thu"], "slot_minutes": 0})
        assert await active_settings(store) == BusinessSettings()

    async def test_lists_every_stranded_booking_however_many(
        self, update_settings: UpdateSettings, store: InMemoryStore
    ) -> None:
        """More than one page of the repository's search (1000 rows)."""
        created = await add_noon_bookings(store, days=1005)

        update = await update_settings({"open_time": "13:00"})

        assert [item.booking.id for item in update.stranded] == created


async def add_noon_bookings(store: InMemoryStore, *, days: int) -> list[int]:
    """A 12:00 booking on each of the next ``days`` days, stored directly (one transaction)."""
    ids = []
    async with store.unit_of_work() as uow:
        customer, _ = await uow.customers.get_or_create(CustomerProfile("1234567890"), "!", NOW)
        for offset in range(1, days + 1):
            day = TOMORROW.add(days=offset - 1)
            booking = await uow.bookings.add(
                NewBooking(
                    customer_id=customer.id,
                    service_name="Legal Consultation",
                    booking_date=day,
                    booking_time=pendulum.Time(12),
                    starts_at=(noon := pendulum.datetime(day.year, day.month, day.day, 12)),
                    status=BookingStatus.UPCOMING,
                    notes="",
                    created_at=NOW,
                    resource_id=1,
                    service_id=None,
                    occupied_from=noon,
                    occupied_until=noon.add(hours=1),
                )
            )
            ids.append(booking.id)
        await uow.commit()
    return ids
