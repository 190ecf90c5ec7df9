"""Moving a booking (RescheduleBooking, issue 15): the caller's phone, the notice, the create's
rules for the new start, the booking's own interval, where it goes, and the event.

The clock stands at Wednesday 2026-11-25 10:00 UTC; ``TOMORROW`` 14:00 is 28 hours ahead.
"""

from __future__ import annotations

import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BusinessSettings, CreateAgentBooking
from agent_booking.core.cancel_booking import CancelBooking
from agent_booking.core.errors import (
    BookingNotActive,
    BookingNotFound,
    InvalidDate,
    MissingField,
    NoticeTooShort,
    OffDay,
    OutsideWorkingHours,
    SettingsMissing,
    SlotTaken,
    StorageUnavailable,
    TooLate,
    UnknownResource,
)
from agent_booking.core.reschedule_booking import (
    CallerMove,
    IdempotentReschedule,
    MovedBooking,
    RescheduleBooking,
)
from agent_booking.core.resources import Catalog, OpenInterval, Resource, Service, WeeklyPlan
from tests.unit.builders import NEXT_SUNDAY, TOMORROW, basic_body
from tests.unit.fakes import FailingCommitUnitOfWork

PHONE = "1234567890"
DAY_AFTER = TOMORROW.add(days=1)  # a Friday


@pytest.fixture
def reschedule(
    store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
) -> RescheduleBooking:
    return RescheduleBooking(store.unit_of_work, clock, notifier)


async def book(
    create: CreateAgentBooking, day: pendulum.Date = TOMORROW, time: str = "14:00", **fields: str
) -> int:
    result = await create(basic_body(booking_date=day.isoformat(), booking_time=time, **fields))
    return result.booking.id


def to(day: pendulum.Date, time: str, phone: str = PHONE, **fields: object) -> CallerMove:
    return CallerMove.from_fields(
        phone=phone, booking_date=day.isoformat(), booking_time=time, **fields
    )


def starts(store: InMemoryStore) -> dict[int, tuple[str, str, str, int]]:
    return {
        b.id: (
            b.booking_date.isoformat(),
            b.booking_time.isoformat(),
            b.status.value,
            b.resource_id,
        )
        for b in store.bookings
    }


class TestMove:
    async def test_moves_the_same_booking_and_tells_the_dashboards_where_it_was(
        self,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
        store: InMemoryStore,
        notifier: InMemoryNotifier,
    ) -> None:
        booking_id = await book(create_booking)

        done = await reschedule(booking_id, to(DAY_AFTER, "3:00 PM"))

        assert done.moved.booking.id == booking_id
        assert starts(store) == {booking_id: ("2026-11-27", "15:00:00", "upcoming", 1)}
        assert [event.type for event in notifier.sent] == [
            "booking_created",
            "booking_rescheduled",
        ]
        payload = notifier.sent[-1].payload
        assert (payload["id"], payload["booking_date"], payload["booking_time"]) == (
            booking_id,
            "2026-11-27",
            "15:00:00",
        )
        assert payload["starts_at"] == "2026-11-27T15:00:00Z"
        assert payload["previous"] == {
            "booking_date": "2026-11-26",
            "booking_time": "14:00:00",
            "starts_at": "2026-11-26T14:00:00Z",
            "resource": {"id": 1, "name": "Default"},
        }
        assert payload["resource"] == {"id": 1, "name": "Default"}
        assert store.events[-1].payload == payload  # written to the outbox, as published

    async def test_the_old_start_is_free_after_the_move(
        self, create_booking: CreateAgentBooking, reschedule: RescheduleBooking
    ) -> None:
        booking_id = await book(create_booking)
        await reschedule(booking_id, to(TOMORROW, "15:00"))

        other = await book(create_booking, TOMORROW, "14:00", phone="5550100")

        assert other != booking_id

    async def test_may_move_into_an_interval_overlapping_its_own(
        self,
        store: InMemoryStore,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
    ) -> None:
        default = Catalog.single(BusinessSettings()).resources[0]
        store.state.catalog = Catalog([default], [Service(4, "Long", 120)])
        booking_id = await book(create_booking, TOMORROW, "12:00", service_name="long")

        await reschedule(booking_id, to(TOMORROW, "13:00"))

        (moved,) = store.bookings
        assert (moved.occupied_from.hour, moved.occupied_until.hour) == (13, 15)

    async def test_an_occupied_start_is_slot_taken_with_alternatives_and_nothing_changes(
        self,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
        store: InMemoryStore,
        notifier: InMemoryNotifier,
    ) -> None:
        booking_id = await book(create_booking, TOMORROW, "14:00")
        await book(create_booking, TOMORROW, "15:00", phone="5550100")
        before = starts(store)

        with pytest.raises(SlotTaken) as refused:
            await reschedule(booking_id, to(TOMORROW, "15:00"))

        # Its own 14:00 is free for itself (nearest first), the other's 15:00 is not.
        assert refused.value.alternatives == (
            ("2026-11-26", "14:00:00"),
            ("2026-11-26", "16:00:00"),
            ("2026-11-26", "13:00:00"),
        )
        assert starts(store) == before
        assert [event.type for event in notifier.sent].count("booking_rescheduled") == 0

    async def test_the_new_start_obeys_the_create_rules(
        self, create_booking: CreateAgentBooking, reschedule: RescheduleBooking
    ) -> None:
        booking_id = await book(create_booking)

        with pytest.raises(OffDay):
            await reschedule(booking_id, to(NEXT_SUNDAY, "14:00"))
        with pytest.raises(OutsideWorkingHours) as late:
            await reschedule(booking_id, to(TOMORROW, "18:00"))

        assert late.value.alternatives  # as a create's refusal, it offers starts

    async def test_the_services_minimum_notice_holds_for_the_new_start(
        self,
        store: InMemoryStore,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
    ) -> None:
        default = Catalog.single(BusinessSettings()).resources[0]
        store.state.catalog = Catalog([default], [Service(4, "Exam", 60, min_notice_minutes=240)])
        booking_id = await book(create_booking, DAY_AFTER, "14:00", service_name="exam")

        with pytest.raises(NoticeTooShort):
            await reschedule(booking_id, to(pendulum.Date(2026, 11, 25), "13:00"))


class TestWhoAndWhen:
    async def test_another_phone_is_told_the_booking_does_not_exist(
        self,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking)
        before = starts(store)

        with pytest.raises(BookingNotFound) as other_phone:
            await reschedule(booking_id, to(TOMORROW, "15:00", phone="5550100"))
        with pytest.raises(BookingNotFound) as missing:
            await reschedule(booking_id + 1000, to(TOMORROW, "15:00"))

        assert (other_phone.value.code, other_phone.value.message) == (
            missing.value.code,
            missing.value.message,
        )
        assert starts(store) == before

    async def test_a_cancelled_booking_is_not_active(
        self,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
        store: InMemoryStore,
        clock: FixedClock,
        notifier: InMemoryNotifier,
    ) -> None:
        booking_id = await book(create_booking)
        await CancelBooking(store.unit_of_work, clock, notifier)(booking_id)

        with pytest.raises(BookingNotActive, match="cancelled"):
            await reschedule(booking_id, to(TOMORROW, "15:00"))

    async def test_a_started_booking_is_too_late(
        self, create_booking: CreateAgentBooking, reschedule: RescheduleBooking, clock: FixedClock
    ) -> None:
        booking_id = await book(create_booking)
        clock.advance(hours=28)

        with pytest.raises(TooLate, match="already started"):
            await reschedule(booking_id, to(DAY_AFTER, "15:00"))

    async def test_without_settings_nothing_moves(
        self,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking)
        store.state.settings = None

        with pytest.raises(SettingsMissing):
            await reschedule(booking_id, to(TOMORROW, "15:00"))


class TestRescheduleNotice:
    @pytest.fixture
    def settings(self) -> BusinessSettings:
        return BusinessSettings(reschedule_notice_minutes=120)

    async def test_up_to_the_notice_before_the_current_start_is_allowed(
        self, create_booking: CreateAgentBooking, reschedule: RescheduleBooking, clock: FixedClock
    ) -> None:
        booking_id = await book(create_booking)
        clock.advance(hours=26)  # 12:00, exactly two hours before

        done = await reschedule(booking_id, to(DAY_AFTER, "14:00"))

        assert done.moved.booking.booking_date == DAY_AFTER

    async def test_later_is_too_late_and_changes_nothing(
        self,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
        clock: FixedClock,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking)
        before = starts(store)
        clock.advance(hours=26, minutes=1)

        with pytest.raises(TooLate, match="120 minutes"):
            await reschedule(booking_id, to(DAY_AFTER, "14:00"))

        assert starts(store) == before


def _two_rooms() -> Catalog:
    plan = WeeklyPlan(
        {day: (OpenInterval(pendulum.Time(12), pendulum.Time(17)),) for day in range(1, 7)}
    )
    return Catalog([Resource(1, "Ann", plan), Resource(2, "Bob", plan)], [])


class TestWhichResource:
    @pytest.fixture
    def store(self, settings: BusinessSettings) -> InMemoryStore:
        return InMemoryStore(settings, _two_rooms())

    async def test_stays_on_its_resource_when_it_can(
        self,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking, resource_id=2)  # type: ignore[arg-type]

        await reschedule(booking_id, to(TOMORROW, "16:00"))

        assert starts(store)[booking_id][3] == 2

    async def test_goes_where_a_create_would_when_its_resource_is_taken(
        self,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking, resource_id=2)  # type: ignore[arg-type]
        await book(create_booking, TOMORROW, "16:00", phone="5550100", resource_id=2)  # type: ignore[arg-type]

        done = await reschedule(booking_id, to(TOMORROW, "16:00"))

        assert starts(store)[booking_id][3] == 1
        assert done.moved.previous_placement.resource_name == "Bob"
        assert done.moved.placement.resource_name == "Ann"

    async def test_the_resource_asked_for(
        self,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking)

        await reschedule(booking_id, to(TOMORROW, "14:00", resource_id=2))

        assert starts(store)[booking_id] == ("2026-11-26", "14:00:00", "upcoming", 2)

    async def test_an_unknown_resource_is_refused(
        self, create_booking: CreateAgentBooking, reschedule: RescheduleBooking
    ) -> None:
        booking_id = await book(create_booking)

        with pytest.raises(UnknownResource):
            await reschedule(booking_id, to(TOMORROW, "14:00", resource_id=9))


class TestRequestFields:
    def test_required_fields_come_first(self) -> None:
        with pytest.raises(MissingField, match="booking_time"):
            CallerMove.from_fields(phone="x", booking_date="nonsense", booking_time=" ")

    def test_formats_as_create(self) -> None:
        with pytest.raises(InvalidDate):
            CallerMove.from_fields(phone=PHONE, booking_date="31/02/2027", booking_time="14:00")
        move = CallerMove.from_fields(
            phone="123-456-7890", booking_date="27/11/2026", booking_time="2:00PM"
        )
        assert (move.phone, move.booking_date, move.booking_time) == (
            PHONE,
            DAY_AFTER,
            pendulum.Time(14),
        )


class TestIdempotentAndAtomic:
    async def test_the_answer_is_recorded_in_the_moves_transaction(
        self,
        create_booking: CreateAgentBooking,
        reschedule: RescheduleBooking,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking)

        def render(moved: MovedBooking) -> tuple[int, dict[str, object]]:
            return 200, {"moved_to": moved.booking.booking_time.isoformat()}

        async with store.unit_of_work() as uow:
            await uow.idempotency.claim(
                "k1",
                "f",
                now=pendulum.now("UTC"),
                lease_until=pendulum.now("UTC").add(minutes=1),
                expired_before=pendulum.now("UTC").subtract(days=2),
            )
            await uow.commit()
        await reschedule(
            booking_id, to(TOMORROW, "15:00"), idempotency=IdempotentReschedule("k1", render)
        )

        record = store.state.keys["k1"]
        assert (record.status_code, record.body) == (200, {"moved_to": "15:00:00"})

    async def test_a_failed_commit_moves_nothing_and_announces_nothing(
        self,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        clock: FixedClock,
        notifier: InMemoryNotifier,
    ) -> None:
        booking_id = await book(create_booking)
        before = starts(store)
        failing = RescheduleBooking(lambda: FailingCommitUnitOfWork(store), clock, notifier)

        with pytest.raises(StorageUnavailable):
            await failing(booking_id, to(TOMORROW, "15:00"))

        assert starts(store) == before
        assert [event.type for event in notifier.sent] == ["booking_created"]
