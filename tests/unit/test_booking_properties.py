"""Properties of the use case under any sequence of requests (Hypothesis state machines).

A machine drives ``CreateAgentBooking`` with request bodies that are a mix of valid and invalid,
for dates around the stopped clock, times on and off the slot grid in every format, a small pool
of phones (so customers repeat), and now and then a cancellation or the clock moving on. After
every step it checks that:

1. no two active bookings share a slot;
2. every accepted booking obeys every rule (working day, not closed, inside working hours, on a
   slot start, not in the past, within the horizon) and the use case accepts exactly what the
   rules allow;
3. a refused request changes nothing: the same customers, bookings and events, nothing published.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Coroutine
from typing import Any, TypeVar

import pendulum
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import (
    AgentBookingResult,
    BookingError,
    BookingInPast,
    BookingRequest,
    BookingStatus,
    BusinessSettings,
    SlotTaken,
)
from tests.unit.builders import NOW, TODAY
from tests.unit.driving import CreateFromBody
from tests.unit.rules import UNDECIDED, Verdict, instants_of, is_bookable, verdict
from tests.unit.strategies import bodies_for_slot, business_settings, request_bodies

T = TypeVar("T")


def _utc(instant: pendulum.DateTime) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(instant.timestamp(), datetime.UTC)


class BookingMachine(RuleBasedStateMachine):
    """One business, its committed state, and a stream of agents' requests."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FixedClock(NOW)
        self.notifier = InMemoryNotifier()
        self.settings = BusinessSettings()
        self.store = InMemoryStore(self.settings)
        self.create = CreateFromBody(self.store.unit_of_work, self.clock, self.notifier)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.loop.close()

    def snapshot(self) -> tuple[object, ...]:
        return (self.store.customers, self.store.bookings, self.store.events, self.notifier.sent)

    def active_starts(self) -> set[datetime.datetime]:
        return {_utc(b.starts_at) for b in self.store.bookings if b.is_active}

    @initialize(settings_=st.one_of(st.just(BusinessSettings()), business_settings(TODAY)))
    def open_business(self, settings_: BusinessSettings) -> None:
        self.settings = settings_
        self.store = InMemoryStore(settings_)
        self.create = CreateFromBody(self.store.unit_of_work, self.clock, self.notifier)

    def attempt(self, body: object) -> AgentBookingResult | BookingError:
        try:
            return self.run(self.create(body))
        except BookingError as refusal:
            return refusal

    @rule(data=st.data())
    def agent_requests_a_booking(self, data: st.DataObject) -> None:
        body = data.draw(request_bodies(self.settings, TODAY), label="body")
        expected = self.expected_outcome(body)
        before, taken = self.snapshot(), self.active_starts()
        outcome = self.attempt(body)
        event(f"refused: {type(outcome).__name__}" if isinstance(outcome, BookingError) else "ok")
        if isinstance(outcome, BookingError):
            assert self.snapshot() == before, "a refused request changed the state"
            assert expected is not None, f"refused a request the rules allow: {outcome!r}"
            if isinstance(expected, type):
                assert isinstance(outcome, expected), f"{outcome!r}, expected {expected}"
        else:
            assert expected in (None, UNDECIDED), f"accepted; the rules say {expected}"
            self.check_accepted(outcome, taken)

    @precondition(lambda self: any(b.is_active for b in self.store.bookings))
    @rule(data=st.data())
    def agent_requests_a_held_slot(self, data: st.DataObject) -> None:
        held = data.draw(st.sampled_from([b for b in self.store.bookings if b.is_active]))
        body = data.draw(bodies_for_slot(held.booking_date, held.booking_time), label="body")
        before = self.snapshot()
        outcome = self.attempt(body)
        # Whoever asks, in whatever format, the slot stays with its holder (unless it has passed).
        assert isinstance(outcome, SlotTaken | BookingInPast), f"{outcome!r} for a held slot"
        assert self.snapshot() == before, "a refused request changed the state"

    def expected_outcome(self, body: object) -> Verdict:
        try:
            request = BookingRequest.from_mapping(body)
        except BookingError as invalid:
            return type(invalid)
        day, time = request.booking_date, request.booking_time
        now = _utc(self.clock.now())
        rule_verdict = verdict(self.settings, day, time, now)
        if rule_verdict is not None:
            return rule_verdict
        taken = instants_of(self.settings, day, time) & self.active_starts()
        if not taken:
            return None
        return SlotTaken if taken == instants_of(self.settings, day, time) else UNDECIDED

    def check_accepted(
        self, result: AgentBookingResult, taken_before: set[datetime.datetime]
    ) -> None:
        booking = result.booking
        starts_at = _utc(booking.starts_at)
        now = _utc(self.clock.now())
        assert is_bookable(
            self.settings, booking.booking_date, booking.booking_time, starts_at, now
        )
        assert starts_at not in taken_before
        assert booking.status in {BookingStatus.UPCOMING, BookingStatus.PENDING}
        assert self.store.bookings[-1] == booking
        assert self.store.events[-1] == result.event
        assert self.notifier.sent[-1] == result.event
        assert result.event.payload["id"] == booking.id

    @precondition(lambda self: any(b.is_active for b in self.store.bookings))
    @rule(data=st.data())
    def customer_cancels(self, data: st.DataObject) -> None:
        active = [b.id for b in self.store.bookings if b.is_active]
        booking_id = data.draw(st.sampled_from(active), label="cancelled booking")

        async def cancel() -> None:
            async with self.store.unit_of_work() as uow:
                await uow.bookings.set_status(booking_id, BookingStatus.CANCELLED)
                await uow.commit()

        self.run(cancel())

    @rule(hours=st.integers(1, 6))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @invariant()
    def no_two_active_bookings_share_a_slot(self) -> None:
        starts = [b.starts_at for b in self.store.bookings if b.is_active]
        assert len(starts) == len(set(starts))

    @invariant()
    def one_customer_per_phone(self) -> None:
        phones = [c.phone for c in self.store.customers]
        assert len(phones) == len(set(phones))

    @invariant()
    def every_booking_was_announced_once_in_order(self) -> None:
        assert [e.payload["id"] for e in self.store.events] == [b.id for b in self.store.bookings]
        assert self.notifier.sent == self.store.events

    @invariant()
    def every_booking_belongs_to_a_stored_customer(self) -> None:
        customers = {c.id for c in self.store.customers}
        assert {b.customer_id for b in self.store.bookings} <= customers


BookingMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestBookingSequences = BookingMachine.TestCase
