"""Availability and create agree, under any sequence of bookings, cancellations and checks.

A Hypothesis state machine runs one business (default or random settings, including time zones
whose clocks change on the days it asks about) with the in-memory adapters and a stopped clock,
and checks what ``DESIGN.md`` and the admin API contract promise:

1. every start availability lists as ``free`` is booked successfully when tried, and is then
   ``taken``, no longer ``free``;
2. every start it does not list as free is refused by create: ``SlotTaken`` if it is listed as
   ``taken``, a policy error otherwise (past, beyond the horizon, off day, closed date, outside
   working hours, not a slot start);
3. a cancelled booking's start is free again if it can still be booked;
4. for every day asked about so far, availability matches the rules as ``tests/unit/rules.py``
   states them independently of the core, and the bookings actually held.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Coroutine
from typing import Any, TypeVar

import attrs
import pendulum
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import (
    BOOKING_CANCELLED,
    AgentBookingResult,
    Booking,
    BookingError,
    BookingPolicyViolation,
    BookingStatus,
    BusinessSettings,
    SlotTaken,
)
from agent_booking.core.cancel_booking import CancelBooking
from agent_booking.core.check_availability import DayAvailability
from agent_booking.core.errors import BookingNotActive
from tests.unit.builders import NOW, TODAY
from tests.unit.driving import AvailabilityFromQuery, CreateFromBody
from tests.unit.rules import UNDECIDED, instants_of, verdict
from tests.unit.strategies import (
    DST_CHANGE_DATES,
    PHONES,
    bodies_for_slot,
    business_settings,
    times_of_day,
)

T = TypeVar("T")

CANCELLABLE = frozenset({BookingStatus.UPCOMING, BookingStatus.PENDING})
#: How many of the days asked about last the invariant checks after every step.
RECHECKED_DAYS = 4
#: Every free start of a checked day is booked; this keeps a day's slots few enough for that.
MAX_SLOTS_PER_DAY = 24
#: Zones whose clocks change on one of ``DST_CHANGE_DATES``.
CHANGING_ZONES = (
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Pacific/Chatham",
    "America/St_Johns",
)


def _utc(instant: pendulum.DateTime) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(instant.timestamp(), datetime.UTC)


def _few_slots(settings_: BusinessSettings) -> BusinessSettings:
    """The same settings with slots long enough for at most ``MAX_SLOTS_PER_DAY`` a day."""
    if len(settings_.slot_times()) <= MAX_SLOTS_PER_DAY:
        return settings_
    longer = -(-settings_.working_minutes // MAX_SLOTS_PER_DAY)
    return attrs.evolve(settings_, slot_minutes=longer)


#: Open every night from midnight to 04:00, hourly, where the clocks change: the slots meet
#: the skipped and the repeated hour of every zone here.
_NIGHTS = st.builds(
    BusinessSettings,
    open_time=st.just(pendulum.Time(0)),
    close_time=st.just(pendulum.Time(4)),
    off_days=st.just(frozenset()),
    timezone=st.sampled_from(CHANGING_ZONES),
)
SETTINGS = st.one_of(
    st.just(BusinessSettings()),
    business_settings(TODAY).map(_few_slots),
    _NIGHTS,
)


class AvailabilityMachine(RuleBasedStateMachine):
    """One business: agents check days, book starts and cancel bookings."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FixedClock(NOW)
        self.notifier = InMemoryNotifier()
        #: The days asked about, most recent last; the invariant re-checks the latest few.
        self.checked_days: list[pendulum.Date] = []
        self.open_with(BusinessSettings())

    def open_with(self, settings_: BusinessSettings) -> None:
        self.settings = settings_
        self.store = InMemoryStore(settings_)
        self.create = CreateFromBody(self.store.unit_of_work, self.clock, self.notifier)
        self.cancel = CancelBooking(self.store.unit_of_work, self.clock, self.notifier)
        self.check = AvailabilityFromQuery(self.store.unit_of_work, self.clock)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.loop.close()

    @initialize(settings_=SETTINGS)
    def open_business(self, settings_: BusinessSettings) -> None:
        self.open_with(settings_)

    # --- helpers --------------------------------------------------------------------------------

    def days(self) -> st.SearchStrategy[pendulum.Date]:
        """Days around now (where bookings collide), the business's clock changes, closed
        dates and the horizon's edge."""
        near = st.integers(-1, 10).map(lambda offset: TODAY.add(days=offset))
        edge = TODAY.add(days=self.settings.horizon_days)
        special = [*self.settings.closed_dates, edge, edge.add(days=1)]
        changes = [day for day in DST_CHANGE_DATES if self.clocks_change_on(day)]
        if changes:
            return st.one_of(near, st.sampled_from(changes), st.sampled_from(special))
        return st.one_of(near, st.sampled_from([*DST_CHANGE_DATES, *special]))

    def clocks_change_on(self, day: pendulum.Date) -> bool:
        def offset(date: pendulum.Date) -> object:
            return pendulum.datetime(date.year, date.month, date.day, tz=self.settings.tz).offset

        return offset(day) != offset(day.add(days=1))

    def available(self, day: pendulum.Date) -> DayAvailability:
        [found] = self.run(self.check({"date": day.isoformat()})).days
        assert found.day == day
        return found

    def attempt(self, body: dict[str, object]) -> AgentBookingResult | BookingError:
        try:
            return self.run(self.create(body))
        except BookingError as refusal:
            return refusal

    def slot_body(self, day: pendulum.Date, time: pendulum.Time, phone: str) -> dict[str, object]:
        return {
            "phone": phone,
            "service_name": "Probe",
            "booking_date": day.isoformat(),
            "booking_time": time.strftime("%H:%M:%S"),
        }

    def active_starts(self) -> set[datetime.datetime]:
        return {_utc(b.starts_at) for b in self.store.bookings if b.is_active}

    def overlaps_held(self, instants: set[datetime.datetime], held: set[datetime.datetime]) -> bool:
        """Whether a slot-long booking at one of ``instants`` would overlap an active one (all
        are one slot long, in real time): on a day the clocks go forward, the slot before the
        gap lasts into the slot after it (found by Hypothesis: Sydney 2027-10-03, 26-minute
        slots, 01:44 booked takes 03:02)."""
        length = datetime.timedelta(minutes=self.settings.slot_minutes)
        return any(abs(instant - start) < length for instant in instants for start in held)

    def expected_closure(self, day: pendulum.Date) -> str | None:
        if day.isoweekday() in self.settings.off_days:
            return "off_day"
        if day in self.settings.closed_dates:
            return "closed_date"
        return None

    def assert_refused_as_listed(
        self,
        outcome: AgentBookingResult | BookingError,
        time: pendulum.Time,
        listed: DayAvailability,
    ) -> None:
        """A start availability did not list as free must be refused, for the listed reason."""
        assert isinstance(outcome, BookingError), (
            f"{time} booked, but availability listed free={listed.free} taken={listed.taken}"
        )
        if time in listed.taken:
            assert isinstance(outcome, SlotTaken), f"{time} is listed as taken: {outcome!r}"
        else:
            assert isinstance(outcome, BookingPolicyViolation), (
                f"{time} is in neither list, refused with {outcome!r}"
            )

    # --- rules ----------------------------------------------------------------------------------

    @rule(data=st.data())
    def agent_books_a_start(self, data: st.DataObject) -> None:
        """Any start, on or off the slot grid, in any accepted format."""
        day = data.draw(self.days(), label="day")
        time = data.draw(
            st.one_of(
                st.sampled_from(self.settings.slot_times()),
                times_of_day(),
                times_of_day(seconds=True),
            ),
            label="time",
        )
        listed = self.available(day)
        outcome = self.attempt(data.draw(bodies_for_slot(day, time), label="body"))
        event(f"book: {type(outcome).__name__}")
        if time in listed.free:
            assert isinstance(outcome, AgentBookingResult), f"{time} was listed free: {outcome!r}"
            after = self.available(day)
            assert time not in after.free, f"{time} still free after it was booked"
            assert time in after.taken, f"{time} not taken after it was booked"
        else:
            self.assert_refused_as_listed(outcome, time, listed)

    @rule(data=st.data())
    def agent_checks_a_day_and_tries_every_start(self, data: st.DataObject) -> None:
        day = data.draw(self.days(), label="day")
        self.checked_days = [*(d for d in self.checked_days if d != day), day][-RECHECKED_DAYS:]
        listed = self.available(day)
        assert listed.closed == self.expected_closure(day)
        if listed.closed is not None:
            assert (listed.free, listed.taken) == ((), ())
        event(f"check: {len(listed.free)} free, {len(listed.taken)} taken")

        for time in self.settings.slot_times():
            if time in listed.free:
                continue
            outcome = self.attempt(self.slot_body(day, time, PHONES[0]))
            self.assert_refused_as_listed(outcome, time, listed)

        current = listed
        for index, time in enumerate(listed.free):
            if time not in current.free:
                # Booked away by an earlier start of this loop: on a day the clocks go forward,
                # a slot before the gap lasts into the slot after it (occupied intervals are
                # real time), so that start is taken now; create must agree.
                assert time in current.taken, f"{time} neither free nor taken: {current}"
                outcome = self.attempt(self.slot_body(day, time, PHONES[0]))
                assert isinstance(outcome, SlotTaken), f"{time} is listed taken: {outcome!r}"
                event("check: a free start taken by the one before it (clocks changed)")
                continue
            outcome = self.attempt(self.slot_body(day, time, PHONES[index % len(PHONES)]))
            assert isinstance(outcome, AgentBookingResult), f"{time} was listed free: {outcome!r}"
            after = current = self.available(day)
            assert time not in after.free, f"{time} still free after it was booked"
            assert time in after.taken, f"{time} not taken after it was booked"
        assert self.available(day).free == ()

    @precondition(lambda self: self.store.bookings)
    @rule(data=st.data())
    def admin_cancels_a_booking(self, data: st.DataObject) -> None:
        booking = data.draw(st.sampled_from(self.store.bookings), label="booking")
        if booking.status not in CANCELLABLE:
            self.cancel_is_refused(booking)
            return
        sent_before = len(self.notifier.sent)

        cancelled = self.run(self.cancel(booking.id))

        assert cancelled.booking.status is BookingStatus.CANCELLED
        assert cancelled.event.type == BOOKING_CANCELLED
        assert cancelled.event.payload["id"] == booking.id
        assert cancelled.event.payload["status"] == "cancelled"
        assert self.notifier.sent[sent_before:] == [cancelled.event]
        day, time = booking.booking_date, booking.booking_time
        listed = self.available(day)
        rules = verdict(self.settings, day, time, _utc(self.clock.now()))
        if rules is None:
            assert time in listed.free, f"cancelled {day} {time} is not free again"
            event("cancel: free again")
        elif rules != UNDECIDED:
            assert time not in listed.free, f"{day} {time} cannot be booked ({rules})"
            event("cancel: no longer bookable")

    def cancel_is_refused(self, booking: Booking) -> None:
        before = (self.store.bookings, self.store.events, list(self.notifier.sent))
        try:
            self.run(self.cancel(booking.id))
        except BookingNotActive:
            event("cancel: refused, not active")
        else:
            raise AssertionError(f"a {booking.status} booking was cancelled")
        assert (self.store.bookings, self.store.events, self.notifier.sent) == before

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def availability_of_every_checked_day_follows_the_rules(self) -> None:
        now = _utc(self.clock.now())
        held = self.active_starts()
        grid = self.settings.slot_times()
        for day in self.checked_days:
            listed = self.available(day)
            assert listed.closed == self.expected_closure(day)
            assert set(listed.free) <= set(grid)
            assert set(listed.taken) <= set(grid)
            assert not set(listed.free) & set(listed.taken)
            for time in grid:
                rules = verdict(self.settings, day, time, now)
                if rules == UNDECIDED:
                    continue
                if rules is not None:
                    assert time not in listed.free, f"{day} {time}: the rules say {rules}"
                    assert time not in listed.taken, f"{day} {time}: the rules say {rules}"
                elif self.overlaps_held(instants_of(self.settings, day, time), held):
                    assert time in listed.taken, f"{day} {time} is held, listed {listed}"
                    assert time not in listed.free, f"{day} {time} is held, listed {listed}"
                else:
                    assert time in listed.free, f"{day} {time} is bookable, listed {listed}"

    @invariant()
    def no_two_active_bookings_share_a_slot(self) -> None:
        starts = [b.starts_at for b in self.store.bookings if b.is_active]
        assert len(starts) == len(set(starts))


AvailabilityMachine.TestCase.settings = settings(
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # Every step asks the slow (pendulum) policy hundreds of times; explaining a failure
    # would take minutes, and a shrunk failing sequence already says what went wrong.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
TestAvailabilityAgreesWithCreate = AvailabilityMachine.TestCase
