"""Holds (issue 15): hold a start for a phone, confirm it (same id), release it, let it expire.

The use cases run on the in-memory adapters with a stopped clock (Wednesday 2026-11-25 10:00 UTC);
holds last five minutes and a phone may have two.
"""

from __future__ import annotations

import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import CreateAgentBooking
from agent_booking.core.check_availability import AvailabilityQuery, CheckAvailability
from agent_booking.core.confirm_hold import ConfirmHold
from agent_booking.core.entities import BookingStatus
from agent_booking.core.errors import (
    BookingNotFound,
    BookingNotHeld,
    HoldExpired,
    SlotTaken,
    TooManyHolds,
)
from agent_booking.core.find_bookings import FindCallerBookings
from agent_booking.core.hold_slot import HoldSlot
from agent_booking.core.holds import HoldTerms
from agent_booking.core.release_hold import ReleaseHold
from agent_booking.core.request import BookingRequest
from agent_booking.core.sweep_expired_holds import SweepExpiredHolds
from tests.unit.builders import TOMORROW, basic_body

PHONE = "1234567890"
OTHER = "5550001111"
TERMS = HoldTerms(seconds=300, max_per_phone=2)


def request(time: str = "14:00", phone: str = PHONE) -> BookingRequest:
    return BookingRequest.from_mapping(
        basic_body(booking_date=TOMORROW.isoformat(), booking_time=time, phone=phone)
    )


@pytest.fixture
def create(
    store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
) -> CreateAgentBooking:
    return CreateAgentBooking(store.unit_of_work, clock, notifier)


@pytest.fixture
def hold(create: CreateAgentBooking) -> HoldSlot:
    return HoldSlot(create, TERMS)


@pytest.fixture
def confirm(store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier) -> ConfirmHold:
    return ConfirmHold(store.unit_of_work, clock, notifier)


@pytest.fixture
def release(store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier) -> ReleaseHold:
    return ReleaseHold(store.unit_of_work, clock, notifier)


@pytest.fixture
def sweep(store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier) -> SweepExpiredHolds:
    return SweepExpiredHolds(store.unit_of_work, clock, notifier)


def status_of(store: InMemoryStore, booking_id: int) -> BookingStatus:
    return next(b.status for b in store.bookings if b.id == booking_id)


def types(notifier: InMemoryNotifier) -> list[str]:
    return [event.type for event in notifier.sent]


class TestHoldSlot:
    async def test_holds_the_start_until_five_minutes_from_now(
        self, hold: HoldSlot, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        result = await hold(request())
        assert result.booking.status is BookingStatus.HELD
        assert result.booking.hold_expires_at == clock.now().add(seconds=300)
        (event,) = notifier.sent
        assert event.type == "booking_held"
        assert event.payload["id"] == result.booking.id
        assert event.payload["status"] == "held"
        assert event.payload["hold_expires_at"] == "2026-11-25T10:05:00Z"

    async def test_a_held_start_is_taken_for_another_phone_and_for_create(
        self, hold: HoldSlot, create: CreateAgentBooking
    ) -> None:
        await hold(request())
        with pytest.raises(SlotTaken) as refused:
            await hold(request(phone=OTHER))
        assert refused.value.alternatives, "a refused hold offers alternatives as create does"
        with pytest.raises(SlotTaken):
            await create(request(phone=OTHER))

    async def test_a_phone_may_have_two_live_holds_and_not_three(
        self, hold: HoldSlot, release: ReleaseHold
    ) -> None:
        first = await hold(request("12:00"))
        await hold(request("13:00"))
        with pytest.raises(TooManyHolds) as refused:
            await hold(request("14:00"))
        assert refused.value.code == "too_many_holds"
        await release(first.booking.id, PHONE)
        assert (await hold(request("14:00"))).booking.status is BookingStatus.HELD

    async def test_expired_holds_do_not_count_against_the_phone(
        self, hold: HoldSlot, clock: FixedClock
    ) -> None:
        await hold(request("12:00"))
        await hold(request("13:00"))
        clock.advance(seconds=300)
        assert (await hold(request("14:00"))).booking.status is BookingStatus.HELD

    async def test_the_same_rules_as_create_apply(self, hold: HoldSlot) -> None:
        sunday = BookingRequest.from_mapping(
            basic_body(booking_date="2026-11-29", booking_time="14:00")
        )
        with pytest.raises(Exception, match="off days"):
            await hold(sunday)


class TestExpiry:
    async def test_a_create_takes_the_start_of_an_expired_hold_and_releases_it_first(
        self,
        hold: HoldSlot,
        create: CreateAgentBooking,
        clock: FixedClock,
        notifier: InMemoryNotifier,
        store: InMemoryStore,
    ) -> None:
        held = await hold(request())
        clock.advance(seconds=300)
        booked = await create(request(phone=OTHER))
        assert status_of(store, held.booking.id) is BookingStatus.EXPIRED
        released = [event for event in notifier.sent if event.type == "hold_released"]
        assert [(e.payload["id"], e.payload["reason"]) for e in released] == [
            (held.booking.id, "expired")
        ]
        assert booked.released == tuple(released)
        assert types(notifier) == ["booking_held", "hold_released", "booking_created"]

    async def test_a_hold_one_second_from_expiry_still_keeps_its_start(
        self, hold: HoldSlot, create: CreateAgentBooking, clock: FixedClock
    ) -> None:
        await hold(request())
        clock.advance(seconds=299)
        with pytest.raises(SlotTaken):
            await create(request(phone=OTHER))

    async def test_availability_shows_an_expired_hold_free_before_any_sweep(
        self, hold: HoldSlot, store: InMemoryStore, clock: FixedClock
    ) -> None:
        availability = CheckAvailability(store.unit_of_work, clock)
        await hold(request())

        async def free_at_two() -> bool:
            (day,) = (await availability(AvailabilityQuery(TOMORROW, TOMORROW))).days
            return pendulum.Time(14) in day.free

        assert not await free_at_two()
        clock.advance(seconds=300)
        assert await free_at_two()

    async def test_the_sweep_expires_each_hold_once_with_one_event(
        self,
        hold: HoldSlot,
        sweep: SweepExpiredHolds,
        clock: FixedClock,
        notifier: InMemoryNotifier,
        store: InMemoryStore,
    ) -> None:
        first = await hold(request("12:00"))
        await hold(request("13:00", phone=OTHER))
        assert await sweep() == 0
        clock.advance(seconds=300)
        assert await sweep() == 2
        assert await sweep() == 0
        assert status_of(store, first.booking.id) is BookingStatus.EXPIRED
        assert types(notifier).count("hold_released") == 2
        assert {e.payload["reason"] for e in notifier.sent if e.type == "hold_released"} == {
            "expired"
        }


class TestConfirmHold:
    async def test_confirming_keeps_the_id_and_announces_a_created_booking(
        self,
        hold: HoldSlot,
        confirm: ConfirmHold,
        notifier: InMemoryNotifier,
        store: InMemoryStore,
    ) -> None:
        held = await hold(request())
        confirmed = await confirm(held.booking.id, PHONE)
        assert confirmed.booking.id == held.booking.id
        assert confirmed.booking.status is BookingStatus.UPCOMING
        assert confirmed.booking.hold_expires_at is None
        assert status_of(store, held.booking.id) is BookingStatus.UPCOMING
        assert notifier.sent[-1].type == "booking_created"
        assert "hold_expires_at" not in notifier.sent[-1].payload

    async def test_another_phone_or_no_such_hold_is_not_found(
        self, hold: HoldSlot, confirm: ConfirmHold
    ) -> None:
        held = await hold(request())
        with pytest.raises(BookingNotFound):
            await confirm(held.booking.id, OTHER)
        with pytest.raises(BookingNotFound):
            await confirm(held.booking.id + 100, PHONE)

    async def test_a_confirmed_booking_is_not_held_any_more(
        self, hold: HoldSlot, confirm: ConfirmHold, create: CreateAgentBooking
    ) -> None:
        held = await hold(request())
        await confirm(held.booking.id, PHONE)
        with pytest.raises(BookingNotHeld):
            await confirm(held.booking.id, PHONE)
        booked = await create(request("15:00"))
        with pytest.raises(BookingNotHeld):
            await confirm(booked.booking.id, PHONE)

    async def test_an_expired_hold_is_refused_and_released(
        self,
        hold: HoldSlot,
        confirm: ConfirmHold,
        clock: FixedClock,
        notifier: InMemoryNotifier,
        store: InMemoryStore,
    ) -> None:
        held = await hold(request())
        clock.advance(seconds=301)
        with pytest.raises(HoldExpired):
            await confirm(held.booking.id, PHONE)
        assert status_of(store, held.booking.id) is BookingStatus.EXPIRED
        assert notifier.sent[-1].type == "hold_released"
        assert notifier.sent[-1].payload["reason"] == "expired"
        with pytest.raises(BookingNotHeld):
            await confirm(held.booking.id, PHONE)


class TestReleaseHold:
    async def test_release_frees_the_start_at_once(
        self,
        hold: HoldSlot,
        release: ReleaseHold,
        create: CreateAgentBooking,
        notifier: InMemoryNotifier,
    ) -> None:
        held = await hold(request())
        released = await release(held.booking.id, PHONE)
        assert released.booking.status is BookingStatus.RELEASED
        assert notifier.sent[-1].type == "hold_released"
        assert notifier.sent[-1].payload["reason"] == "released"
        assert (await create(request(phone=OTHER))).booking.status is BookingStatus.UPCOMING

    async def test_only_a_live_hold_of_the_phone_can_be_released(
        self, hold: HoldSlot, release: ReleaseHold, clock: FixedClock
    ) -> None:
        held = await hold(request())
        with pytest.raises(BookingNotFound):
            await release(held.booking.id, OTHER)
        await release(held.booking.id, PHONE)
        with pytest.raises(BookingNotHeld):
            await release(held.booking.id, PHONE)
        late = await hold(request("15:00"))
        clock.advance(seconds=300)
        with pytest.raises(BookingNotHeld, match="expired"):
            await release(late.booking.id, PHONE)


class TestFindShowsLiveHolds:
    async def test_lists_live_holds_with_their_status_and_not_expired_ones(
        self, hold: HoldSlot, store: InMemoryStore, clock: FixedClock
    ) -> None:
        find = FindCallerBookings(store.unit_of_work, clock)
        held = await hold(request())
        found = await find(PHONE)
        assert [(b.id, b.status) for b, _ in found.bookings] == [
            (held.booking.id, BookingStatus.HELD)
        ]
        clock.advance(seconds=300)
        assert (await find(PHONE)).bookings == ()
