"""The next free starts an agent offers a caller (agent_booking.core.offer_slots.OfferSlots).

The clock stands still on Wednesday 2026-11-25 at 10:00 UTC (``builders.NOW``); the settings are
the seeded ones (12:00-17:00, hourly, Sundays off, UTC, 365 days ahead) unless a test says
otherwise. An offered start must be one a create request would be granted now.
"""

from __future__ import annotations

import asyncio
import contextlib

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import (
    BookingError,
    BusinessSettings,
    CreateAgentBooking,
    InvalidDate,
    InvalidField,
)
from agent_booking.core.errors import UnknownResource, UnknownService
from agent_booking.core.offer_slots import (
    MAX_OFFER_STARTS,
    OfferSlots,
    PartOfDay,
    SlotOffer,
    SlotOfferQuery,
)
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.resources import (
    REJECT_UNKNOWN,
    Catalog,
    OpenInterval,
    Resource,
    Service,
    WeeklyPlan,
)
from tests.unit.builders import NOW, TODAY, TOMORROW, basic_body
from tests.unit.driving import AvailabilityFromQuery, CreateFromBody
from tests.unit.strategies import business_settings

NINE_TO_SEVEN = OpenInterval(pendulum.Time(9), pendulum.Time(19))


@pytest.fixture
def offer(store: InMemoryStore, clock: FixedClock) -> OfferSlots:
    return OfferSlots(store.unit_of_work, clock)


async def ask(offer: OfferSlots, **texts: str) -> SlotOffer:
    return await offer(SlotOfferQuery.parse(**texts))


def starts(answer: SlotOffer) -> list[str]:
    return [item.start.format("YYYY-MM-DD HH:mm") for item in answer.starts]


async def book(create: CreateAgentBooking, day: pendulum.Date, time: str) -> None:
    await create(basic_body(booking_date=day.isoformat(), booking_time=time))


class TestNextStarts:
    async def test_offers_the_next_three_free_starts_from_now(self, offer: OfferSlots) -> None:
        answer = await ask(offer)

        assert starts(answer) == ["2026-11-25 12:00", "2026-11-25 13:00", "2026-11-25 14:00"]
        assert [item.resource_ids for item in answer.starts] == [(1,), (1,), (1,)]
        assert answer.searched_until == TODAY
        assert answer.service.duration_minutes == 60

    async def test_skips_taken_starts_past_starts_and_off_days(
        self, offer: OfferSlots, create_booking: CreateAgentBooking, clock: FixedClock
    ) -> None:
        clock.advance(hours=4)  # 14:00: 14:00 itself has started
        await book(create_booking, TODAY, "15:00")
        for time in ("12:00", "13:00", "14:00", "15:00", "16:00"):
            await book(create_booking, pendulum.Date(2026, 11, 28), time)  # Saturday full

        answer = await ask(offer, after="2026-11-28", limit="4")

        # Sunday 29th is an off day; Monday 30th is free.
        assert starts(answer) == [
            "2026-11-30 12:00",
            "2026-11-30 13:00",
            "2026-11-30 14:00",
            "2026-11-30 15:00",
        ]
        assert starts(await ask(offer, limit="2")) == ["2026-11-25 16:00", "2026-11-26 12:00"]

    async def test_after_a_local_time_an_instant_or_a_past_moment(self, offer: OfferSlots) -> None:
        local = await ask(offer, after="2026-11-26T13:00", limit="1")
        assert starts(local) == ["2026-11-26 13:00"]  # inclusive
        instant = await ask(offer, after="2026-11-26T13:30:00+01:00", limit="1")
        assert starts(instant) == ["2026-11-26 13:00"]  # 12:30 UTC
        past = await ask(offer, after="2020-01-01T00:00:00Z", limit="1")
        assert starts(past) == ["2026-11-25 12:00"]  # never before now
        day_first = await ask(offer, after="27/11/2026", limit="1")
        assert starts(day_first) == ["2026-11-27 12:00"]

    @pytest.mark.parametrize(
        ("part", "expected"),
        [
            ("morning", ["2026-11-25 11:00", "2026-11-26 09:00", "2026-11-26 10:00"]),
            ("afternoon", ["2026-11-25 12:00", "2026-11-25 13:00", "2026-11-25 14:00"]),
            ("Evening", ["2026-11-25 17:00", "2026-11-25 18:00", "2026-11-26 17:00"]),
        ],
    )
    async def test_only_one_part_of_the_day(
        self, store: InMemoryStore, offer: OfferSlots, part: str, expected: list[str]
    ) -> None:
        # 10:00 UTC now: this morning's 09:00 and 10:00 are over.
        room = Resource(1, "Room", WeeklyPlan(dict.fromkeys(range(1, 7), (NINE_TO_SEVEN,))))
        store.state.catalog = Catalog([room])

        answer = await ask(offer, part_of_day=part)

        assert starts(answer) == expected
        wanted = PartOfDay(part.lower())
        assert all(wanted.holds(item.start.time()) for item in answer.starts)

    def test_part_of_day_boundaries(self) -> None:
        assert PartOfDay.MORNING.holds(pendulum.Time(11, 59))
        assert not PartOfDay.MORNING.holds(pendulum.Time(12))
        assert PartOfDay.AFTERNOON.holds(pendulum.Time(12))
        assert PartOfDay.AFTERNOON.holds(pendulum.Time(16, 59))
        assert not PartOfDay.AFTERNOON.holds(pendulum.Time(17))
        assert PartOfDay.EVENING.holds(pendulum.Time(17))

    async def test_in_the_business_time_zone(self, store: InMemoryStore, clock: FixedClock) -> None:
        store.state.settings = BusinessSettings(timezone="America/New_York")
        offer = OfferSlots(store.unit_of_work, clock)  # 05:00 in New York

        answer = await ask(offer, limit="1", part_of_day="afternoon")

        assert starts(answer) == ["2026-11-25 12:00"]
        assert answer.starts[0].start.in_timezone("UTC").hour == 17


class TestServicesAndResources:
    @pytest.fixture
    def rooms(self, store: InMemoryStore) -> None:
        plan = WeeklyPlan(
            dict.fromkeys(range(1, 7), (OpenInterval(pendulum.Time(9), pendulum.Time(13)),))
        )
        rooms = [Resource(n, f"Room {n}", plan) for n in (2, 3)]
        long = Service(7, "Consultation", 90, buffer_after=30, resource_ids={2, 3})
        store.state.catalog = Catalog(
            [*Catalog.single(BusinessSettings()).resources, *rooms], [long]
        )

    @pytest.mark.usefixtures("rooms")
    async def test_by_service_id_or_name_with_the_free_resources(
        self, store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier, offer: OfferSlots
    ) -> None:
        create = CreateFromBody(store.unit_of_work, clock, notifier)
        await create(basic_body(booking_time="09:00", service_name="Consultation", resource_id=2))

        by_id = await ask(offer, service_id="7", after="2026-11-26", limit="3")
        by_name = await ask(offer, service="consultation", after="2026-11-26", limit="3")

        # Room 2 is occupied 09:00-11:00 tomorrow; a 90-minute service ends by 13:00.
        expected = [
            ("2026-11-26 09:00", (3,)),
            ("2026-11-26 10:00", (3,)),
            ("2026-11-26 11:00", (2, 3)),
        ]
        for answer in (by_id, by_name):
            assert [
                (s, item.resource_ids)
                for s, item in zip(starts(answer), answer.starts, strict=True)
            ] == expected
            assert answer.service.id == 7
        only_two = await ask(offer, service_id="7", resource_id="2", after="2026-11-26", limit="1")
        assert starts(only_two) == ["2026-11-26 11:00"]

    @pytest.mark.usefixtures("rooms")
    async def test_a_free_text_service_is_one_slot_on_any_resource_unless_rejected(
        self, store: InMemoryStore, offer: OfferSlots
    ) -> None:
        answer = await ask(offer, service="Haircut", limit="2")
        assert answer.service.id is None
        assert answer.service.duration_minutes == 60
        # The rooms work 09:00-13:00, the default resource 12:00-17:00.
        assert [
            (s, item.resource_ids) for s, item in zip(starts(answer), answer.starts, strict=True)
        ] == [
            ("2026-11-25 11:00", (2, 3)),
            ("2026-11-25 12:00", (1, 2, 3)),
        ]

        catalog = store.state.catalog
        store.state.catalog = Catalog(catalog.resources, catalog.services, REJECT_UNKNOWN)
        with pytest.raises(UnknownService):
            await ask(offer, service="Haircut")

    async def test_unknown_service_or_resource(self, offer: OfferSlots) -> None:
        with pytest.raises(UnknownService):
            await ask(offer, service_id="99")
        with pytest.raises(UnknownResource):
            await ask(offer, resource_id="99")


class TestAgreesWithCreateAndAvailability:
    async def test_offers_exactly_availabilitys_free_starts_in_order(
        self,
        offer: OfferSlots,
        create_booking: CreateAgentBooking,
        clock: FixedClock,
        store: InMemoryStore,
    ) -> None:
        for day, time in [(TODAY, "13:00"), (TOMORROW, "12:00"), (TOMORROW, "16:00")]:
            await book(create_booking, day, time)
        availability = await AvailabilityFromQuery(store.unit_of_work, clock)(
            {"from": TODAY.isoformat(), "to": "2026-11-28"}
        )
        free = [
            f"{day.day.isoformat()} {time.isoformat()[:5]}"
            for day in availability.days
            for time in day.free
        ]

        answer = await ask(offer, limit="20")

        assert starts(answer)[: len(free)] == free
        for item in answer.starts:  # each one is granted to a create request
            result = await create_booking(
                basic_body(
                    booking_date=item.start.date().isoformat(),
                    booking_time=item.start.format("HH:mm"),
                )
            )
            assert result.booking.starts_at == item.start


class TestBoundedWork:
    async def test_stops_at_the_horizon(
        self, store: InMemoryStore, clock: FixedClock, create_booking: CreateAgentBooking
    ) -> None:
        store.state.settings = BusinessSettings(horizon_days=1)
        offer = OfferSlots(store.unit_of_work, clock)
        answer = await ask(offer, limit="20")

        assert len(answer.starts) == 10  # today's and tomorrow's five
        assert answer.searched_until == TOMORROW

    @pytest.mark.parametrize("after", ["2027-11-26", "9998-12-31T23:59"])
    async def test_after_the_horizon_nothing_is_searched(
        self, offer: OfferSlots, after: str
    ) -> None:
        answer = await ask(offer, after=after)

        assert answer.starts == ()
        assert answer.searched_until == TODAY.add(days=365)

    async def test_searches_at_most_a_bounded_number_of_starts(
        self, store: InMemoryStore, clock: FixedClock
    ) -> None:
        store.state.settings = BusinessSettings(slot_minutes=1)  # 300 starts a day
        offer = OfferSlots(store.unit_of_work, clock)

        answer = await ask(offer, part_of_day="morning")  # there is none: 12:00-17:00

        assert answer.starts == ()
        assert answer.searched_until == TODAY.add(days=MAX_OFFER_STARTS // 300 - 1)


class TestRefusals:
    @pytest.mark.parametrize(
        ("texts", "field"),
        [
            ({"limit": "0"}, "limit"),
            ({"limit": "21"}, "limit"),
            ({"limit": "three"}, "limit"),
            ({"part_of_day": "night"}, "part_of_day"),
            ({"after": "tomorrow at noon"}, "after"),
            ({"after": "2026-11-26T25:00"}, "after"),
            ({"service_id": "0"}, "service_id"),
            ({"resource_id": "x"}, "resource_id"),
            ({"service": "x" * 101}, "service"),
        ],
    )
    def test_bad_texts_are_invalid_fields(self, texts: dict[str, str], field: str) -> None:
        with pytest.raises(InvalidField) as refused:
            SlotOfferQuery.parse(**texts)
        assert refused.value.field == field

    @pytest.mark.parametrize("after", ["2026-02-31", "0001-01-01T10:00"])
    def test_impossible_or_unsupported_dates(self, after: str) -> None:
        with pytest.raises(InvalidDate):
            SlotOfferQuery.parse(after=after)

    def test_empty_texts_are_absent(self) -> None:
        query = SlotOfferQuery.parse(service="", after="", limit="", part_of_day="", resource_id="")
        assert query == SlotOfferQuery()


class TestAgreesUnderAnySettings:
    """Under any settings and bookings, an offer is availability's free starts from the moment
    on, in the part of the day asked for, in order, up to the limit; and create grants them."""

    @given(
        settings=business_settings(TODAY).map(
            lambda item: attrs.evolve(item, horizon_days=min(item.horizon_days, 30))
        ),
        booked=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 1439)), max_size=12),
        after_days=st.integers(0, 5),
        after_minute=st.integers(0, 1439),
        part=st.sampled_from(["", "morning", "afternoon", "evening"]),
        limit=st.integers(1, 20),
    )
    def test_offer_is_availability_from_the_moment_on(
        self,
        settings: BusinessSettings,
        booked: list[tuple[int, int]],
        after_days: int,
        after_minute: int,
        part: str,
        limit: int,
    ) -> None:
        asyncio.run(self._check(settings, booked, after_days, after_minute, part, limit))

    async def _check(
        self,
        settings: BusinessSettings,
        booked: list[tuple[int, int]],
        after_days: int,
        after_minute: int,
        part: str,
        limit: int,
    ) -> None:
        store, clock = InMemoryStore(settings), FixedClock(NOW)
        create = CreateFromBody(store.unit_of_work, clock, InMemoryNotifier())
        for offset, minute in booked:
            time = f"{minute // 60:02d}:{minute % 60:02d}"
            with contextlib.suppress(BookingError):
                await create(
                    basic_body(booking_date=TODAY.add(days=offset).isoformat(), booking_time=time)
                )
        after_day = TODAY.add(days=after_days)
        after = f"{after_day.isoformat()}T{after_minute // 60:02d}:{after_minute % 60:02d}"
        offer = await OfferSlots(store.unit_of_work, clock)(
            SlotOfferQuery.parse(after=after, part_of_day=part, limit=str(limit))
        )

        policy = SlotPolicy(settings)
        since = max(policy.local_start(after_day, pendulum.Time(*divmod(after_minute, 60))), NOW)
        check = AvailabilityFromQuery(store.unit_of_work, clock)
        expected: list[tuple[pendulum.Date, pendulum.Time]] = []
        day = since.in_timezone(settings.timezone).date()
        while day <= offer.searched_until:
            [found] = (await check({"date": day.isoformat()})).days
            expected.extend(
                (day, time)
                for time in found.free
                if policy.local_start(day, time) >= since
                and (not part or PartOfDay(part).holds(time))
            )
            day = day.add(days=1)
        offered = [(item.start.date(), item.start.time()) for item in offer.starts]
        assert offered == expected[:limit]
        for start_day, start_time in offered[:1]:
            result = await create(
                basic_body(booking_date=start_day.isoformat(), booking_time=start_time.isoformat())
            )
            assert result.booking.starts_at == offer.starts[0].start
