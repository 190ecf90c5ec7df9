"""Holds never produce an overlap, and availability agrees with create at every step (issue 15).

A Hypothesis state machine runs one business (the seeded settings: 12:00-17:00 UTC, hourly
slots) on the in-memory adapters with a clock it moves itself, and mixes holds, confirmations,
releases, creates, the clock running past holds' expiry and sweeps. After every step:

1. no two bookings that hold their interval in storage (a hold whose time is up included, until
   it is marked expired) overlap on one resource;
2. for the days it books, every start availability lists as free is one no booking occupies at
   the clock's time (a hold whose time is up occupies nothing), and every occupied start is
   listed as taken;
3. no phone has more live holds than the limit.

And the ``agree`` rule books a start availability says is free (it must succeed, as a hold or a
create) or one it says is taken (it must be refused with ``slot_taken``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pendulum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BusinessSettings, CreateAgentBooking
from agent_booking.core.check_availability import AvailabilityQuery, CheckAvailability
from agent_booking.core.confirm_hold import ConfirmHold
from agent_booking.core.entities import BookingStatus
from agent_booking.core.errors import BookingError, SlotTaken
from agent_booking.core.hold_slot import HoldSlot
from agent_booking.core.holds import HoldTerms
from agent_booking.core.release_hold import ReleaseHold
from agent_booking.core.request import BookingRequest
from agent_booking.core.sweep_expired_holds import SweepExpiredHolds
from tests.unit.builders import NOW, TOMORROW

T = TypeVar("T")

DAYS = (TOMORROW, TOMORROW.add(days=1))
TIMES = ("12:00", "13:00", "14:00", "15:00", "16:00")
PHONES = ("1000001", "1000002", "1000003")
TERMS = HoldTerms(seconds=300, max_per_phone=2)


class HoldMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FixedClock(NOW)
        self.store = InMemoryStore(BusinessSettings())
        notifier = InMemoryNotifier()
        uow = self.store.unit_of_work
        self.create = CreateAgentBooking(uow, self.clock, notifier)
        self.hold = HoldSlot(self.create, TERMS)
        self.confirm = ConfirmHold(uow, self.clock, notifier)
        self.release = ReleaseHold(uow, self.clock, notifier)
        self.sweep = SweepExpiredHolds(uow, self.clock, notifier)
        self.check = CheckAvailability(uow, self.clock)
        self.fresh_phones = iter(range(2_000_000, 3_000_000))

    def teardown(self) -> None:
        self.loop.close()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def request(self, day: pendulum.Date, time: str, phone: str) -> BookingRequest:
        return BookingRequest.from_mapping(
            {
                "phone": phone,
                "service_name": "Consultation",
                "booking_date": day.isoformat(),
                "booking_time": time,
            }
        )

    def attempt(self, work: Coroutine[Any, Any, object]) -> BookingError | None:
        try:
            self.run(work)
        except BookingError as error:
            return error
        return None

    @rule(day=st.sampled_from(DAYS), time=st.sampled_from(TIMES), phone=st.sampled_from(PHONES))
    def hold_a_start(self, day: pendulum.Date, time: str, phone: str) -> None:
        self.attempt(self.hold(self.request(day, time, phone)))

    @rule(day=st.sampled_from(DAYS), time=st.sampled_from(TIMES), phone=st.sampled_from(PHONES))
    def book_a_start(self, day: pendulum.Date, time: str, phone: str) -> None:
        self.attempt(self.create(self.request(day, time, phone)))

    @rule(pick=st.integers(0, 50), phone=st.sampled_from(PHONES), own=st.booleans())
    def confirm_a_hold(self, pick: int, phone: str, own: bool) -> None:
        holds = [b for b in self.store.bookings if b.status is BookingStatus.HELD]
        if holds:
            chosen = holds[pick % len(holds)]
            if own:
                phone = self.store.state.customers[chosen.customer_id].phone
            self.attempt(self.confirm(chosen.id, phone))

    @rule(pick=st.integers(0, 50), phone=st.sampled_from(PHONES), own=st.booleans())
    def release_a_hold(self, pick: int, phone: str, own: bool) -> None:
        holds = [b for b in self.store.bookings if b.status is BookingStatus.HELD]
        if holds:
            chosen = holds[pick % len(holds)]
            if own:
                phone = self.store.state.customers[chosen.customer_id].phone
            self.attempt(self.release(chosen.id, phone))

    @rule(seconds=st.sampled_from([1, 60, 150, 299, 300, 301]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule()
    def the_sweep_runs(self) -> None:
        self.run(self.sweep())

    @rule(day=st.sampled_from(DAYS), time=st.sampled_from(TIMES), as_hold=st.booleans())
    def agree(self, day: pendulum.Date, time: str, as_hold: bool) -> None:
        """Availability's word holds: a free start is granted, a taken one refused."""
        (listed,) = self.run(self.check(AvailabilityQuery(day, day))).days
        start = pendulum.Time.fromisoformat(time)
        request = self.request(day, time, str(next(self.fresh_phones)))
        outcome = self.attempt(self.hold(request) if as_hold else self.create(request))
        if start in listed.free:
            assert outcome is None, f"{day} {time} listed free, refused: {outcome!r}"
        elif start in listed.taken:
            assert isinstance(outcome, SlotTaken), f"{day} {time} listed taken: {outcome!r}"

    @invariant()
    def nothing_overlaps_in_storage(self) -> None:
        active = [b for b in self.store.bookings if b.is_active]
        for index, first in enumerate(active):
            for second in active[index + 1 :]:
                assert not (
                    first.resource_id == second.resource_id
                    and first.occupied_from < second.occupied_until
                    and second.occupied_from < first.occupied_until
                ), (first, second)

    @invariant()
    def availability_shows_what_occupies(self) -> None:
        now = self.clock.now()
        occupied = {b.starts_at for b in self.store.bookings if b.occupies(now)}
        for day in DAYS:
            (listed,) = self.run(self.check(AvailabilityQuery(day, day))).days
            for time in TIMES:
                start = pendulum.Time.fromisoformat(time)
                instant = pendulum.datetime(day.year, day.month, day.day, start.hour, tz="UTC")
                if instant in occupied:
                    assert start in listed.taken, (day, time, listed)
                    assert start not in listed.free, (day, time, listed)
                elif instant > now:
                    assert start in listed.free, (day, time, listed)

    @invariant()
    def no_phone_has_too_many_live_holds(self) -> None:
        now = self.clock.now()
        per_customer: dict[int, int] = {}
        for booking in self.store.bookings:
            if booking.is_live_hold(now):
                per_customer[booking.customer_id] = per_customer.get(booking.customer_id, 0) + 1
        assert all(count <= TERMS.max_per_phone for count in per_customer.values()), per_customer


HoldMachine.TestCase.settings = settings(
    stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestHoldsNeverOverlapAndAvailabilityAgreesWithCreate = HoldMachine.TestCase
