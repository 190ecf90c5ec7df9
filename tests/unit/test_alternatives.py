"""The nearest free slots offered instead of a refused one (SlotPolicy.nearest_free and the
``alternatives`` of SlotTaken, OutsideWorkingHours and NotASlotStart).

Same day first, nearest first (ties in time order); then the following days in order; at most
three; never a taken, past, off or closed slot; none at all when the whole day is refused.
The clock stands still on Wednesday 2026-11-25 10:00 UTC; Saturday is the 28th, Sunday the 29th.
"""

from __future__ import annotations

import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import (
    BeyondHorizon,
    BookingError,
    BookingInPast,
    BusinessSettings,
    ClosedDate,
    CreateAgentBooking,
    InvalidTime,
    NotASlotStart,
    OffDay,
    OutsideWorkingHours,
    SlotPolicy,
    SlotTaken,
)
from agent_booking.core.errors import SlotSuggestion
from agent_booking.core.policy import MAX_ALTERNATIVE_STARTS
from tests.unit.builders import NEXT_SUNDAY, NOW, TODAY, TOMORROW, basic_body
from tests.unit.driving import CreateFromBody

SATURDAY = pendulum.Date(2026, 11, 28)
MONDAY = pendulum.Date(2026, 11, 30)
CHRISTMAS = pendulum.Date(2026, 12, 25)  # a Friday
DEFAULT = SlotPolicy(BusinessSettings())
HOURS = (12, 13, 14, 15, 16)


def utc(day: pendulum.Date, hour: int, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, hour, minute, tz="UTC")


def whole_day(day: pendulum.Date) -> set[pendulum.DateTime]:
    return {utc(day, hour) for hour in HOURS}


def suggestions(*slots: tuple[pendulum.Date, int]) -> tuple[SlotSuggestion, ...]:
    return tuple((day.isoformat(), f"{hour:02d}:00:00") for day, hour in slots)


async def book(create: CreateAgentBooking, day: pendulum.Date, time: str) -> None:
    await create(basic_body(booking_date=day.isoformat(), booking_time=time))


async def refusal(create: CreateAgentBooking, day: pendulum.Date, time: str) -> BookingError:
    with pytest.raises(BookingError) as refused:
        await create(basic_body(booking_date=day.isoformat(), booking_time=time))
    return refused.value


class TestNearestFree:
    def test_offers_the_same_day_nearest_first(self) -> None:
        found = DEFAULT.nearest_free(utc(TOMORROW, 14), NOW, {utc(TOMORROW, 14)})
        assert found == [utc(TOMORROW, 13), utc(TOMORROW, 15), utc(TOMORROW, 12)]

    def test_an_earlier_wanted_time_gets_the_first_slots(self) -> None:
        found = DEFAULT.nearest_free(utc(TOMORROW, 11), NOW, set())
        assert found == [utc(TOMORROW, 12), utc(TOMORROW, 13), utc(TOMORROW, 14)]

    def test_a_time_between_slots_gets_both_neighbours_first(self) -> None:
        found = DEFAULT.nearest_free(utc(TOMORROW, 14, 30), NOW, set())
        assert found == [utc(TOMORROW, 14), utc(TOMORROW, 15), utc(TOMORROW, 13)]

    def test_a_later_wanted_time_gets_the_last_slots(self) -> None:
        found = DEFAULT.nearest_free(utc(TOMORROW, 19), NOW, set())
        assert found == [utc(TOMORROW, 16), utc(TOMORROW, 15), utc(TOMORROW, 14)]

    def test_skips_taken_slots(self) -> None:
        taken = {utc(TOMORROW, 13), utc(TOMORROW, 14), utc(TOMORROW, 15)}
        found = DEFAULT.nearest_free(utc(TOMORROW, 14), NOW, taken)
        assert found == [utc(TOMORROW, 12), utc(TOMORROW, 16), utc(TOMORROW.add(days=1), 12)]

    def test_continues_on_the_following_days_in_time_order(self) -> None:
        taken = whole_day(TOMORROW) - {utc(TOMORROW, 16)}
        found = DEFAULT.nearest_free(utc(TOMORROW, 12), NOW, taken)
        friday = TOMORROW.add(days=1)
        assert found == [utc(TOMORROW, 16), utc(friday, 12), utc(friday, 13)]

    def test_crosses_an_off_day(self) -> None:
        found = DEFAULT.nearest_free(utc(SATURDAY, 14), NOW, whole_day(SATURDAY))
        assert found == [utc(MONDAY, 12), utc(MONDAY, 13), utc(MONDAY, 14)]

    def test_crosses_a_closed_date(self) -> None:
        policy = SlotPolicy(BusinessSettings(closed_dates={CHRISTMAS}))
        thursday = CHRISTMAS.subtract(days=1)
        found = policy.nearest_free(utc(thursday, 16), NOW, whole_day(thursday))
        saturday = CHRISTMAS.add(days=1)
        assert found == [utc(saturday, 12), utc(saturday, 13), utc(saturday, 14)]

    def test_offers_at_most_three_by_default(self) -> None:
        assert len(DEFAULT.nearest_free(utc(TOMORROW, 14), NOW, set())) == 3

    def test_offers_as_many_as_asked(self) -> None:
        found = DEFAULT.nearest_free(utc(TOMORROW, 14), NOW, set(), limit=7)
        friday = TOMORROW.add(days=1)
        assert found == [
            utc(TOMORROW, 14),
            utc(TOMORROW, 13),
            utc(TOMORROW, 15),
            utc(TOMORROW, 12),
            utc(TOMORROW, 16),
            utc(friday, 12),
            utc(friday, 13),
        ]

    def test_never_offers_a_slot_that_has_started(self) -> None:
        now = utc(TODAY, 13, 30)
        found = DEFAULT.nearest_free(utc(TODAY, 13), now, {utc(TODAY, 14)})
        assert found == [utc(TODAY, 15), utc(TODAY, 16), utc(TOMORROW, 12)]

    def test_never_offers_a_slot_beyond_the_horizon(self) -> None:
        policy = SlotPolicy(BusinessSettings(horizon_days=1))
        found = policy.nearest_free(
            utc(TOMORROW, 14), NOW, whole_day(TOMORROW) - {utc(TOMORROW, 16)}
        )
        assert found == [utc(TOMORROW, 16)]

    def test_searches_a_bounded_number_of_days(self) -> None:
        taken = whole_day(TOMORROW) | whole_day(TOMORROW.add(days=1))
        assert DEFAULT.nearest_free(utc(TOMORROW, 14), NOW, taken, search_days=1) == []

    @pytest.mark.parametrize(
        ("slot_minutes", "open_hour", "close_hour", "days"),
        [(60, 12, 17, 14), (5, 9, 17, 14), (1, 9, 17, 5), (1, 0, 23, 1), (2, 0, 23, 3)],
    )
    def test_short_slots_search_fewer_days(
        self, slot_minutes: int, open_hour: int, close_hour: int, days: int
    ) -> None:
        settings = BusinessSettings(
            open_time=pendulum.time(open_hour),
            close_time=pendulum.time(close_hour),
            slot_minutes=slot_minutes,
        )
        policy = SlotPolicy(settings)
        assert policy.alternative_search_days == days
        # The days searched hold at most MAX_ALTERNATIVE_STARTS slot starts.
        assert (days + 1) * len(settings.slot_times()) <= MAX_ALTERNATIVE_STARTS or days == 0

    def test_one_minute_slots_all_day_offer_only_the_next_day(self) -> None:
        settings = BusinessSettings(
            open_time=pendulum.time(0), close_time=pendulum.time(23, 59), slot_minutes=1
        )
        policy = SlotPolicy(settings)
        wanted = utc(TOMORROW, 14)
        day_after = TOMORROW.add(days=1)
        taken = {
            pendulum.datetime(day.year, day.month, day.day, tz="UTC").add(minutes=minute)
            for day in (TOMORROW, day_after)
            for minute in range(24 * 60)
        }
        assert policy.nearest_free(wanted, NOW, taken) == []
        free_next = taken - {utc(day_after, 9)}
        assert policy.nearest_free(wanted, NOW, free_next) == [utc(day_after, 9)]

    def test_offers_nothing_when_everything_near_is_taken(self) -> None:
        taken = set().union(*(whole_day(TOMORROW.add(days=offset)) for offset in range(15)))
        assert DEFAULT.nearest_free(utc(TOMORROW, 14), NOW, taken) == []

    def test_works_in_the_business_time_zone(self) -> None:
        policy = SlotPolicy(BusinessSettings(timezone="America/New_York"))
        wanted = pendulum.datetime(2026, 11, 26, 14, 30, tz="America/New_York")
        found = policy.nearest_free(wanted, NOW, set())
        assert [(start.hour, start.minute) for start in found] == [(14, 0), (15, 0), (13, 0)]
        assert found[0].in_timezone("UTC") == utc(TOMORROW, 19)  # EST is UTC-5

    def test_never_offers_a_taken_slot_of_the_repeated_hour(self) -> None:
        """London's fall-back day (a Sunday) repeats 01:00; a booking there holds that slot."""
        policy = SlotPolicy(
            BusinessSettings(
                open_time=pendulum.Time(0),
                close_time=pendulum.Time(3),
                off_days=(),
                timezone="Europe/London",
            )
        )
        fall_back = pendulum.Date(2027, 10, 31)
        held = policy.check(fall_back, pendulum.Time(1), NOW).in_timezone("UTC")
        wanted = pendulum.datetime(2027, 10, 31, 1, tz="Europe/London")

        found = policy.nearest_free(wanted, NOW, {held})

        assert held not in {start.in_timezone("UTC") for start in found}, found


class TestAlternativesOfARefusal:
    async def test_a_taken_slot_offers_the_nearest_free_ones(
        self, create_booking: CreateAgentBooking
    ) -> None:
        await book(create_booking, TOMORROW, "14:00")

        refused = await refusal(create_booking, TOMORROW, "14:00")

        assert isinstance(refused, SlotTaken)
        assert refused.alternatives == suggestions((TOMORROW, 13), (TOMORROW, 15), (TOMORROW, 12))

    async def test_a_time_before_opening_offers_the_first_slots(
        self, create_booking: CreateAgentBooking
    ) -> None:
        refused = await refusal(create_booking, TOMORROW, "11:00")

        assert isinstance(refused, OutsideWorkingHours)
        assert refused.alternatives == suggestions((TOMORROW, 12), (TOMORROW, 13), (TOMORROW, 14))

    async def test_a_time_between_slots_offers_its_neighbours(
        self, create_booking: CreateAgentBooking
    ) -> None:
        refused = await refusal(create_booking, TOMORROW, "14:30")

        assert isinstance(refused, NotASlotStart)
        assert refused.alternatives == suggestions((TOMORROW, 14), (TOMORROW, 15), (TOMORROW, 13))

    async def test_skips_taken_slots(self, create_booking: CreateAgentBooking) -> None:
        for time in ("13:00", "14:00", "15:00"):
            await book(create_booking, TOMORROW, time)

        refused = await refusal(create_booking, TOMORROW, "14:00")

        friday = TOMORROW.add(days=1)
        assert refused.alternatives == suggestions((TOMORROW, 12), (TOMORROW, 16), (friday, 12))

    async def test_crosses_an_off_day(self, create_booking: CreateAgentBooking) -> None:
        for hour in HOURS:
            await book(create_booking, SATURDAY, f"{hour}:00")

        refused = await refusal(create_booking, SATURDAY, "16:00")

        assert refused.alternatives == suggestions((MONDAY, 12), (MONDAY, 13), (MONDAY, 14))

    async def test_offers_at_most_three(self, create_booking: CreateAgentBooking) -> None:
        refused = await refusal(create_booking, TOMORROW, "18:00")
        assert len(refused.alternatives) == 3

    async def test_every_alternative_can_be_booked(
        self, create_booking: CreateAgentBooking
    ) -> None:
        await book(create_booking, TOMORROW, "14:00")
        refused = await refusal(create_booking, TOMORROW, "14:00")

        for day, time in refused.alternatives:
            await create_booking(basic_body(booking_date=day, booking_time=time))

    async def test_the_refusal_changes_nothing(
        self, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        await book(create_booking, TOMORROW, "14:00")
        before = (store.customers, store.bookings, store.events)

        await refusal(create_booking, TOMORROW, "14:00")

        assert (store.customers, store.bookings, store.events) == before

    @pytest.mark.parametrize(
        ("day", "time", "error"),
        [
            (NEXT_SUNDAY, "14:00", OffDay),
            (NEXT_SUNDAY, "11:00", OffDay),
            (CHRISTMAS, "14:00", ClosedDate),
            (CHRISTMAS, "14:30", ClosedDate),
            (TODAY, "09:00", BookingInPast),
            (TODAY.add(days=366), "14:00", BeyondHorizon),
        ],
        ids=["off-day", "off-day-early", "closed-date", "closed-date-between", "past", "horizon"],
    )
    async def test_a_day_that_cannot_be_booked_offers_none(
        self,
        store: InMemoryStore,
        clock: FixedClock,
        day: pendulum.Date,
        time: str,
        error: type[BookingError],
    ) -> None:
        async with store.unit_of_work() as uow:
            await uow.settings.save(BusinessSettings(closed_dates={CHRISTMAS}), now=clock.now())
            await uow.commit()
        create = CreateFromBody(store.unit_of_work, clock, InMemoryNotifier())

        refused = await refusal(create, day, time)

        assert isinstance(refused, error)
        assert refused.alternatives == ()

    async def test_an_invalid_request_offers_none(self, create_booking: CreateAgentBooking) -> None:
        refused = await refusal(create_booking, TOMORROW, "25:00")
        assert isinstance(refused, InvalidTime)
        assert refused.alternatives == ()

    async def test_offers_none_when_nothing_near_is_free(
        self, store: InMemoryStore, clock: FixedClock, create_booking: CreateAgentBooking
    ) -> None:
        for hour in HOURS:
            await book(create_booking, TOMORROW, f"{hour}:00")
        async with store.unit_of_work() as uow:
            await uow.settings.save(BusinessSettings(horizon_days=0), now=clock.now())
            await uow.commit()
        clock.advance(hours=14)  # 00:00 on the 26th, now the only day that can be booked

        refused = await refusal(create_booking, TOMORROW, "14:00")

        assert isinstance(refused, SlotTaken)
        assert refused.alternatives == ()
