"""One phone holds at most so many open future bookings (``max_open_bookings``; issue 13).

One client booked every slot of the next year by rotating keys and addresses; the limit ties
those requests together by the one thing they share, the phone booked for. Upcoming and pending
bookings that have not started count; cancelled, completed and past ones do not. The refusal is
``TooManyBookings`` (422 ``too_many_bookings`` over HTTP) and stores nothing.
"""

from __future__ import annotations

import asyncio

import pendulum
import pytest
from hypothesis import HealthCheck, settings
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
    BookingStatus,
    BusinessSettings,
    CreateAgentBooking,
    SlotTaken,
    TooManyBookings,
)
from agent_booking.core.idempotency import ClaimOutcome, IdempotencyKeys
from tests.unit.builders import NOW, TOMORROW, basic_body
from tests.unit.driving import CreateFromBody

LIMIT = 3
PHONE = "5550001111"


WORKING_DAYS = [
    day for day in (TOMORROW.add(days=offset) for offset in range(30)) if day.isoweekday() != 7
]


def slot(n: int, phone: str = PHONE, **fields: object) -> dict[str, object]:
    """The ``n``-th slot from tomorrow on, five a working day (Sundays are off)."""
    day, hour = divmod(n, 5)
    return basic_body(
        phone=phone,
        booking_date=WORKING_DAYS[day].isoformat(),
        booking_time=f"{12 + hour}:00",
        **fields,
    )


@pytest.fixture
def create_booking(
    store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
) -> CreateAgentBooking:
    return CreateFromBody(store.unit_of_work, clock, notifier, max_open_bookings=LIMIT)


async def set_status(store: InMemoryStore, booking_id: int, status: BookingStatus) -> None:
    async with store.unit_of_work() as uow:
        await uow.bookings.set_status(booking_id, status)
        await uow.commit()


async def fill(create: CreateAgentBooking, count: int = LIMIT, phone: str = PHONE) -> list[int]:
    return [(await create(slot(n, phone))).booking.id for n in range(count)]


class TestTheLimit:
    async def test_one_booking_more_than_the_limit_is_refused(
        self, create_booking: CreateAgentBooking
    ) -> None:
        await fill(create_booking)

        with pytest.raises(TooManyBookings) as refused:
            await create_booking(slot(LIMIT))

        assert refused.value.code == "too_many_bookings"
        assert refused.value.message == (
            "This phone already has 3 upcoming bookings, the most one phone may hold"
        )
        assert refused.value.alternatives == ()

    async def test_a_refusal_stores_and_announces_nothing(
        self,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        notifier: InMemoryNotifier,
    ) -> None:
        await fill(create_booking)
        before = (store.customers, store.bookings, store.events, list(notifier.sent))

        with pytest.raises(TooManyBookings):
            await create_booking(slot(LIMIT, notes="one more"))

        assert (store.customers, store.bookings, store.events, notifier.sent) == before

    async def test_the_message_names_a_limit_of_one_in_the_singular(
        self, store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        create = CreateFromBody(store.unit_of_work, clock, notifier, max_open_bookings=1)
        await create(slot(0))

        with pytest.raises(TooManyBookings, match=r"^This phone already has 1 upcoming booking,"):
            await create(slot(1))

    async def test_counts_pending_bookings_too(self, create_booking: CreateAgentBooking) -> None:
        for n in range(LIMIT):
            await create_booking(slot(n, status="pending"))

        with pytest.raises(TooManyBookings):
            await create_booking(slot(LIMIT))

    async def test_other_phones_are_not_held_back(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        await fill(create_booking)

        result = await create_booking(slot(LIMIT, phone="5550002222"))

        assert result.customer_created is True
        assert len(store.bookings) == LIMIT + 1

    async def test_the_phone_is_recognised_however_it_is_written(
        self, create_booking: CreateAgentBooking
    ) -> None:
        await fill(create_booking, phone="+1 (555) 000-1111")

        with pytest.raises(TooManyBookings):
            await create_booking(slot(LIMIT, phone="+1.555.000.1111"))

    async def test_the_slot_is_judged_before_the_phone(
        self, create_booking: CreateAgentBooking
    ) -> None:
        await fill(create_booking)

        with pytest.raises(SlotTaken):
            await create_booking(slot(0))


class TestWhatDoesNotCount:
    async def test_a_cancelled_booking_gives_its_place_back(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        first, *_ = await fill(create_booking)
        await set_status(store, first, BookingStatus.CANCELLED)

        result = await create_booking(slot(LIMIT))

        assert result.booking.status is BookingStatus.UPCOMING

    async def test_a_completed_booking_does_not_count(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        first, *_ = await fill(create_booking)
        await set_status(store, first, BookingStatus.COMPLETED)

        await create_booking(slot(LIMIT))

        assert len(store.bookings) == LIMIT + 1

    async def test_a_booking_that_has_started_does_not_count(
        self, create_booking: CreateAgentBooking, store: InMemoryStore, clock: FixedClock
    ) -> None:
        await fill(create_booking)  # tomorrow 12:00, 13:00, 14:00
        clock.instant = pendulum.datetime(2026, 11, 26, 12, tz="UTC")  # the first one starts

        await create_booking(slot(LIMIT))

        assert len(store.bookings) == LIMIT + 1

    async def test_a_booking_still_to_start_counts_until_it_starts(
        self, create_booking: CreateAgentBooking, clock: FixedClock
    ) -> None:
        await fill(create_booking)
        clock.instant = pendulum.datetime(2026, 11, 26, 11, 59, tz="UTC")

        with pytest.raises(TooManyBookings):
            await create_booking(slot(LIMIT))


class TestSetting:
    async def test_zero_means_no_limit(
        self, store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        create = CreateFromBody(store.unit_of_work, clock, notifier, max_open_bookings=0)

        await fill(create, 12)

        assert len(store.bookings) == 12

    async def test_a_library_user_gets_no_limit_unless_asking(
        self, store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        create = CreateFromBody(store.unit_of_work, clock, notifier)

        await fill(create, 12)

        assert len(store.bookings) == 12

    def test_a_negative_limit_is_a_mistake(
        self, store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        with pytest.raises(ValueError, match="max_open_bookings"):
            CreateAgentBooking(store.unit_of_work, clock, notifier, max_open_bookings=-1)


class TestRaces:
    async def test_simultaneous_requests_for_one_phone_get_exactly_the_places_left(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        await fill(create_booking, LIMIT - 1)

        outcomes = await asyncio.gather(
            *(create_booking(slot(n)) for n in range(LIMIT - 1, LIMIT + 19)),
            return_exceptions=True,
        )

        refusals = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(outcomes) - len(refusals) == 1
        assert all(isinstance(refusal, TooManyBookings) for refusal in refusals), refusals
        assert len(store.bookings) == LIMIT

    async def test_simultaneous_first_bookings_of_a_new_phone_stop_at_the_limit(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        outcomes = await asyncio.gather(
            *(create_booking(slot(n)) for n in range(20)), return_exceptions=True
        )

        booked = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(booked) == LIMIT
        assert [result.customer_created for result in booked].count(True) == 1
        assert len(store.customers) == 1
        assert len(store.bookings) == LIMIT


class TestIdempotentRetries:
    async def test_a_retry_of_a_booking_that_reached_the_limit_is_its_replay(
        self, create_booking: CreateAgentBooking, store: InMemoryStore, clock: FixedClock
    ) -> None:
        """The last booking a phone may make, retried under its key, is answered with its
        recorded success, not refused as one booking too many."""
        keys = IdempotencyKeys(store.unit_of_work, clock)
        await fill(create_booking, LIMIT - 1)
        last = slot(LIMIT - 1)
        claim = await keys.begin("last-place", last)
        assert claim.outcome is ClaimOutcome.NEW
        booked = await create_booking(last, idempotency_key="last-place")

        retry = await keys.begin("last-place", last)

        assert retry.outcome is ClaimOutcome.REPLAY
        assert retry.status_code == 201
        assert retry.body is not None
        assert retry.body["booking_id"] == booked.booking.id
        assert len(store.bookings) == LIMIT


PHONES = ("5550001111", "5550002222", "5550003333")


class PhoneLimitMachine(RuleBasedStateMachine):
    """Agents book, customers cancel or are served, time passes: after every step no phone
    holds more than the limit, and the use case refuses a booking for being one too many
    exactly when the phone already holds the limit."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FixedClock(NOW)
        self.store = InMemoryStore(BusinessSettings())
        self.notifier = InMemoryNotifier()
        self.limit = LIMIT
        self.create = self.use_case()

    def use_case(self) -> CreateAgentBooking:
        return CreateFromBody(
            self.store.unit_of_work, self.clock, self.notifier, max_open_bookings=self.limit
        )

    def teardown(self) -> None:
        self.loop.close()

    def held_by(self, phone: str) -> int:
        """Open bookings of ``phone`` that have not started, by the committed state."""
        ids = {c.id for c in self.store.customers if c.phone == phone}
        now = self.clock.now()
        return sum(
            1
            for b in self.store.bookings
            if b.customer_id in ids and b.is_open and b.starts_at > now
        )

    @initialize(limit=st.integers(1, 4))
    def operator_sets_the_limit(self, limit: int) -> None:
        self.limit = limit
        self.create = self.use_case()

    @rule(
        phone=st.sampled_from(PHONES),
        n=st.integers(0, 24),
        status=st.sampled_from(["upcoming", "pending"]),
    )
    def agent_books(self, phone: str, n: int, status: str) -> None:
        body = slot(n, phone, status=status)
        day, hour = divmod(n, 5)
        start = pendulum.datetime(*WORKING_DAYS[day].timetuple()[:3], 12 + hour, tz="UTC")
        held = self.held_by(phone)
        taken = any(b.is_active and b.starts_at == start for b in self.store.bookings)
        before = (self.store.bookings, self.store.customers, self.store.events)
        expected = self.expected_refusal(start, taken=taken, held=held)
        outcome = self.attempt(body)
        if expected is None:
            assert not isinstance(outcome, BookingError), outcome
        else:
            assert isinstance(outcome, expected), f"{outcome!r}, expected {expected}"
            assert (self.store.bookings, self.store.customers, self.store.events) == before

    def expected_refusal(
        self, start: pendulum.DateTime, *, taken: bool, held: int
    ) -> type[BookingError] | None:
        if start <= self.clock.now():
            return BookingInPast
        if taken:
            return SlotTaken
        return TooManyBookings if held >= self.limit else None

    def attempt(self, body: dict[str, object]) -> AgentBookingResult | BookingError:
        try:
            return self.loop.run_until_complete(self.create(body))
        except BookingError as refusal:
            return refusal

    @precondition(lambda self: any(b.is_open for b in self.store.bookings))
    @rule(
        data=st.data(), status=st.sampled_from([BookingStatus.CANCELLED, BookingStatus.COMPLETED])
    )
    def a_booking_ends(self, data: st.DataObject, status: BookingStatus) -> None:
        booking = data.draw(st.sampled_from([b for b in self.store.bookings if b.is_open]))
        self.loop.run_until_complete(set_status(self.store, booking.id, status))

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @invariant()
    def no_phone_holds_more_than_the_limit(self) -> None:
        for phone in PHONES:
            assert self.held_by(phone) <= self.limit


PhoneLimitMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPhoneLimitSequences = PhoneLimitMachine.TestCase
