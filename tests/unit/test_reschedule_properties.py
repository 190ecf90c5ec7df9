"""Moves never make an overlap, and a move either happens whole or not at all (issue 15).

A Hypothesis state machine runs a business of two resources (one with a lunch break) and three
services of different lengths and buffers on the in-memory adapters, and lets agents create,
move and cancel at random. After every step, by plain arithmetic on what is stored (not by the
core's own policy):

1. no two active bookings of one resource overlap in their occupied intervals;
2. every active booking occupies exactly its service's interval around its start.

And for every move: if it succeeds, exactly that booking changed (the same id, its start,
resource and interval) and one ``booking_rescheduled`` event carries where it was; if it is
refused, nothing changed and nothing was announced; a ``slot_taken`` refusal is true (some
*other* active booking occupies the interval on every resource that could take it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

import pendulum
from hypothesis import HealthCheck, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BookingError, BusinessSettings, SlotTaken
from agent_booking.core.cancel_booking import CancelBooking
from agent_booking.core.entities import Booking
from agent_booking.core.reschedule_booking import CallerMove, RescheduleBooking
from agent_booking.core.resources import Catalog, OpenInterval, Resource, Service, WeeklyPlan
from tests.unit.builders import NOW, TOMORROW
from tests.unit.driving import CreateFromBody

T = TypeVar("T")

_WEEKDAYS = range(1, 7)  # Sundays off, as the default settings
_ANN = Resource(
    1,
    "Ann",
    WeeklyPlan({day: (OpenInterval(pendulum.Time(12), pendulum.Time(17)),) for day in _WEEKDAYS}),
)
_BOB = Resource(
    2,
    "Bob",
    WeeklyPlan(
        {
            day: (
                OpenInterval(pendulum.Time(12), pendulum.Time(14)),
                OpenInterval(pendulum.Time(15), pendulum.Time(17)),
            )
            for day in _WEEKDAYS
        }
    ),
)
SERVICES = (
    Service(1, "Short", 30),
    Service(2, "Long", 90, buffer_after=15),
    Service(3, "Ann only", 60, buffer_before=30, resource_ids=(1,)),
)
DAYS = (TOMORROW, TOMORROW.add(days=1))
TIMES = tuple(pendulum.Time(hour, minute) for hour in range(11, 18) for minute in (0, 30))
PHONES = ("5550001", "5550002", "5550003")


def _snapshot(store: InMemoryStore) -> dict[int, Booking]:
    return {booking.id: booking for booking in store.bookings}


def _minutes(time: pendulum.Time) -> int:
    return time.hour * 60 + time.minute


def _overlaps(a: Booking, b: Booking) -> bool:
    return a.occupied_from < b.occupied_until and b.occupied_from < a.occupied_until


class MovesMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        clock, notifier = FixedClock(NOW), InMemoryNotifier()
        self.notifier = notifier
        self.store = InMemoryStore(
            BusinessSettings(slot_minutes=30), Catalog([_ANN, _BOB], list(SERVICES))
        )
        self.create = CreateFromBody(self.store.unit_of_work, clock, notifier)
        self.move = RescheduleBooking(self.store.unit_of_work, clock, notifier)
        self.cancel = CancelBooking(self.store.unit_of_work, clock, notifier)
        self.phone_of: dict[int, str] = {}

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.loop.close()

    @rule(
        day=st.sampled_from(DAYS),
        time=st.sampled_from(TIMES),
        service=st.sampled_from(SERVICES),
        resource=st.sampled_from((None, 1, 2)),
        phone=st.sampled_from(PHONES),
    )
    def book(
        self,
        day: pendulum.Date,
        time: pendulum.Time,
        service: Service,
        resource: int | None,
        phone: str,
    ) -> None:
        body: dict[str, object] = {
            "phone": phone,
            "service_name": service.name,
            "booking_date": day.isoformat(),
            "booking_time": time.isoformat(),
        }
        if resource is not None:
            body["resource_id"] = resource
        try:
            created = self.run(self.create(body))
        except BookingError:
            return
        self.phone_of[created.booking.id] = phone

    @precondition(lambda self: self.phone_of)
    @rule(
        data=st.data(),
        day=st.sampled_from(DAYS),
        time=st.sampled_from(TIMES),
        resource=st.sampled_from((None, 1, 2)),
        own_phone=st.sampled_from((True, True, True, False)),
    )
    def reschedule(
        self,
        data: st.DataObject,
        day: pendulum.Date,
        time: pendulum.Time,
        resource: int | None,
        own_phone: bool,
    ) -> None:
        booking_id = data.draw(st.sampled_from(sorted(self.phone_of)))
        phone = self.phone_of[booking_id] if own_phone else "5559999"
        before, announced = _snapshot(self.store), len(self.notifier.sent)
        move = CallerMove(phone, day, time, resource)
        try:
            done = self.run(self.move(booking_id, move))
        except BookingError as error:
            note_event(f"move refused: {error.code}")
            assert _snapshot(self.store) == before, "a refused move changed something"
            assert len(self.notifier.sent) == announced
            if isinstance(error, SlotTaken):
                self._assert_truly_taken(before[booking_id], move)
            return
        note_event("move committed")
        after = _snapshot(self.store)
        changed = {key for key in after if after[key] != before[key]}
        assert changed <= {booking_id}
        moved = after[booking_id]
        assert (moved.booking_date, moved.booking_time) == (day, time)
        assert resource is None or moved.resource_id == resource
        assert moved.customer_id == before[booking_id].customer_id
        assert moved.status == before[booking_id].status
        [event] = self.notifier.sent[announced:]
        assert event.type == "booking_rescheduled"
        assert event.payload["id"] == booking_id
        assert (
            event.payload["previous"]["booking_date"] == before[booking_id].booking_date.isoformat()
        )
        assert event.payload["previous"]["resource"]["id"] == before[booking_id].resource_id
        assert done.moved.booking == moved

    def _assert_truly_taken(self, booking: Booking, move: CallerMove) -> None:
        service = next(item for item in SERVICES if item.id == booking.service_id)
        start = pendulum.datetime(
            move.booking_date.year,
            move.booking_date.month,
            move.booking_date.day,
            move.booking_time.hour,
            move.booking_time.minute,
            tz="UTC",
        )
        begin, end = service.occupied(start)
        # The resources that could hold the service at that start (by their plans, plainly);
        # one that cannot is a policy refusal's business, not slot_taken's.
        minute = _minutes(move.booking_time)
        resources = [
            item.id
            for item in (_ANN, _BOB)
            if service.performed_by(item)
            and move.resource_id in (None, item.id)
            and any(
                _minutes(opening.opens) <= minute
                and minute + service.duration_minutes <= _minutes(opening.closes)
                for opening in item.plan.days.get(move.booking_date.isoweekday(), ())
            )
        ]
        for resource_id in resources:
            assert any(
                other.id != booking.id
                and other.is_active
                and other.resource_id == resource_id
                and other.occupied_from < end
                and begin < other.occupied_until
                for other in self.store.bookings
            ), f"slot_taken, yet resource {resource_id} is free at {start} but for the booking"

    @precondition(lambda self: self.phone_of)
    @rule(data=st.data())
    def cancel_one(self, data: st.DataObject) -> None:
        booking_id = data.draw(st.sampled_from(sorted(self.phone_of)))
        with contextlib.suppress(BookingError):
            self.run(self.cancel(booking_id))

    @invariant()
    def no_two_active_bookings_of_a_resource_overlap(self) -> None:
        active = [booking for booking in self.store.bookings if booking.is_active]
        for index, one in enumerate(active):
            for other in active[index + 1 :]:
                assert not (one.resource_id == other.resource_id and _overlaps(one, other)), (
                    one,
                    other,
                )

    @invariant()
    def every_booking_occupies_its_services_interval(self) -> None:
        for booking in self.store.bookings:
            service = next(item for item in SERVICES if item.id == booking.service_id)
            assert (booking.occupied_from, booking.occupied_until) == service.occupied(
                booking.starts_at
            )
            assert booking.starts_at == pendulum.datetime(
                booking.booking_date.year,
                booking.booking_date.month,
                booking.booking_date.day,
                booking.booking_time.hour,
                booking.booking_time.minute,
                tz="UTC",
            )


MovesMachine.TestCase.settings = settings(
    MovesMachine.TestCase.settings,
    stateful_step_count=30,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMovesNeverOverlap = MovesMachine.TestCase
