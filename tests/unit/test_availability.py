"""What agents are told is bookable (agent_booking.core.check_availability.CheckAvailability).

The clock stands still on Wednesday 2026-11-25 at 10:00 UTC (``builders.NOW``); the settings are
the seeded ones (12:00-17:00, hourly, Sundays off, UTC, 365 days ahead) unless a class says
otherwise. ``free`` must list exactly the starts a create request would be granted now.
"""

from __future__ import annotations

from typing import Any

import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import (
    BookingStatus,
    BusinessSettings,
    CreateAgentBooking,
    DateOrder,
    InvalidDate,
    InvalidField,
    MissingField,
    SettingsMissing,
    SlotTaken,
)
from agent_booking.core.check_availability import (
    MAX_AVAILABILITY_DAYS,
    CheckAvailability,
    DayAvailability,
)
from agent_booking.core.errors import UnknownResource, UnknownService
from agent_booking.core.resources import Catalog, OpenInterval, Resource, Service, WeeklyPlan
from tests.unit.builders import NEXT_SUNDAY, NOW, TODAY, TOMORROW, basic_body
from tests.unit.driving import AvailabilityFromQuery, CreateFromBody, availability_body

OPEN_9_TO_13 = OpenInterval(pendulum.Time(9), pendulum.Time(13))

CHRISTMAS = pendulum.Date(2026, 12, 25)  # a Friday
ALL_SLOTS = ("12:00:00", "13:00:00", "14:00:00", "15:00:00", "16:00:00")


def at(hour: int, minute: int = 0) -> pendulum.Time:
    return pendulum.Time(hour, minute)


@pytest.fixture
def check_availability(store: InMemoryStore, clock: FixedClock) -> CheckAvailability:
    return AvailabilityFromQuery(store.unit_of_work, clock)


async def day_document(check: CheckAvailability, day: pendulum.Date) -> dict[str, Any]:
    """The one day's entry of the availability document for ``day``."""
    availability = await check({"date": day.isoformat()})
    [document] = availability_body(availability)["days"]
    # One resource (the default business): every free start is free on it, and only there.
    assert document.pop("free_resources") == [[1]] * len(document["free"]), document
    return document


async def book(create: CreateAgentBooking, day: pendulum.Date, time: str) -> int:
    result = await create(basic_body(booking_date=day.isoformat(), booking_time=time))
    return result.booking.id


async def save_settings(store: InMemoryStore, settings: BusinessSettings) -> None:
    async with store.unit_of_work() as uow:
        await uow.settings.save(settings, now=NOW)
        await uow.commit()


async def set_status(store: InMemoryStore, booking_id: int, status: BookingStatus) -> None:
    async with store.unit_of_work() as uow:
        await uow.bookings.set_status(booking_id, status)
        await uow.commit()


class TestOneDay:
    async def test_lists_every_slot_of_a_free_working_day(
        self, check_availability: CheckAvailability
    ) -> None:
        availability = await check_availability({"date": "2026-11-26"})

        assert availability.days == (
            DayAvailability(
                day=TOMORROW,
                closed=None,
                free=tuple(at(hour) for hour in (12, 13, 14, 15, 16)),
                taken=(),
            ),
        )

    async def test_lists_a_booked_slot_as_taken_and_the_rest_as_free(
        self, check_availability: CheckAvailability, create_booking: CreateAgentBooking
    ) -> None:
        await book(create_booking, TOMORROW, "14:00")

        assert await day_document(check_availability, TOMORROW) == {
            "date": "2026-11-26",
            "closed": None,
            "free": ["12:00:00", "13:00:00", "15:00:00", "16:00:00"],
            "taken": ["14:00:00"],
        }

    @pytest.mark.parametrize("status", [BookingStatus.PENDING, BookingStatus.COMPLETED])
    async def test_a_slot_held_by_a_pending_or_completed_booking_is_taken(
        self,
        check_availability: CheckAvailability,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        status: BookingStatus,
    ) -> None:
        await set_status(store, await book(create_booking, TOMORROW, "13:00"), status)

        assert (await day_document(check_availability, TOMORROW))["taken"] == ["13:00:00"]

    async def test_a_cancelled_booking_leaves_its_slot_free(
        self,
        check_availability: CheckAvailability,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
    ) -> None:
        await set_status(
            store, await book(create_booking, TOMORROW, "13:00"), BookingStatus.CANCELLED
        )

        document = await day_document(check_availability, TOMORROW)
        assert (document["free"], document["taken"]) == (list(ALL_SLOTS), [])

    @pytest.mark.parametrize(
        "text", ["2026-11-26", "26/11/2026", "26-11-2026", "11/26/2026", "2026-11-26 "]
    )
    async def test_accepts_every_date_format(
        self, check_availability: CheckAvailability, text: str
    ) -> None:
        availability = await check_availability({"date": text})
        assert [day.day for day in availability.days] == [TOMORROW]

    async def test_reads_an_ambiguous_date_in_the_configured_order(
        self, store: InMemoryStore, clock: FixedClock
    ) -> None:
        day_first = AvailabilityFromQuery(store.unit_of_work, clock)
        month_first = AvailabilityFromQuery(store.unit_of_work, clock, date_order=DateOrder.MDY)

        assert [d.day for d in (await day_first({"date": "05/12/2026"})).days] == [
            pendulum.Date(2026, 12, 5)
        ]
        assert [d.day for d in (await month_first({"date": "05/12/2026"})).days] == [
            pendulum.Date(2026, 5, 12)
        ]

    async def test_the_response_carries_the_zone_and_slot_length(
        self, check_availability: CheckAvailability
    ) -> None:
        response = availability_body(await check_availability({"date": "2026-11-26"}))

        assert response == {
            "success": True,
            "timezone": "UTC",
            "slot_minutes": 60,
            "days": [
                {
                    "date": "2026-11-26",
                    "closed": None,
                    "free": list(ALL_SLOTS),
                    "taken": [],
                    "free_resources": [[1]] * len(ALL_SLOTS),
                }
            ],
        }


class TestResourcesAndServices:
    """Availability per service and resource, and which resources are free (issue 14)."""

    async def test_says_which_resources_are_free_for_a_service(
        self, store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        rooms = [
            Resource(n, f"Room {n}", WeeklyPlan(dict.fromkeys(range(1, 7), (OPEN_9_TO_13,))))
            for n in (2, 3)
        ]
        long = Service(7, "Consultation", 90, buffer_after=30, resource_ids={2, 3})
        store.state.catalog = Catalog(
            [*Catalog.single(BusinessSettings()).resources, *rooms], [long]
        )
        create = CreateFromBody(store.unit_of_work, clock, notifier)
        check = AvailabilityFromQuery(store.unit_of_work, clock)
        body = basic_body(booking_time="09:00", service_name="consultation", resource_id=2)
        booked = await create(body)
        assert (booked.booking.resource_id, booked.booking.service_id) == (2, 7)

        day = (await check({"date": "2026-11-26", "service_id": "7"})).days[0]

        # Room 2 is held 09:00-11:00 (90 minutes and a 30-minute buffer); a 90-minute
        # service must end by 13:00, so 11:00 is the last start.
        assert [
            (t.isoformat(), ids) for t, ids in zip(day.free, day.free_resources, strict=True)
        ] == [
            ("09:00:00", (3,)),
            ("10:00:00", (3,)),
            ("11:00:00", (2, 3)),
        ]
        assert day.taken == ()
        only_two = await check({"date": "2026-11-26", "service_id": "7", "resource_id": "2"})
        assert only_two.days[0].free == (at(11),)
        assert only_two.days[0].taken == (at(9), at(10))

    async def test_an_unknown_service_or_resource_is_refused(
        self, check_availability: CheckAvailability
    ) -> None:
        with pytest.raises(UnknownService):
            await check_availability({"date": "2026-11-26", "service_id": "99"})
        with pytest.raises(UnknownResource):
            await check_availability({"date": "2026-11-26", "resource_id": "99"})
        with pytest.raises(InvalidField):
            await check_availability({"date": "2026-11-26", "resource_id": "two"})


class TestRange:
    async def test_lists_each_day_from_first_to_last_inclusive(
        self, check_availability: CheckAvailability, create_booking: CreateAgentBooking
    ) -> None:
        await book(create_booking, TOMORROW, "14:00")

        response = availability_body(
            await check_availability({"from": "2026-11-26", "to": "30/11/2026"})
        )

        for day in response["days"]:  # one resource: every free start is free on it
            assert day.pop("free_resources") == [[1]] * len(day["free"]), day
        assert response["days"] == [
            {
                "date": "2026-11-26",
                "closed": None,
                "free": ["12:00:00", "13:00:00", "15:00:00", "16:00:00"],
                "taken": ["14:00:00"],
            },
            {"date": "2026-11-27", "closed": None, "free": list(ALL_SLOTS), "taken": []},
            {"date": "2026-11-28", "closed": None, "free": list(ALL_SLOTS), "taken": []},
            {"date": "2026-11-29", "closed": "off_day", "free": [], "taken": []},
            {"date": "2026-11-30", "closed": None, "free": list(ALL_SLOTS), "taken": []},
        ]

    async def test_from_without_to_is_one_day(self, check_availability: CheckAvailability) -> None:
        availability = await check_availability({"from": "2026-11-26"})
        assert [day.day for day in availability.days] == [TOMORROW]

    async def test_a_range_of_one_day_is_that_day(
        self, check_availability: CheckAvailability
    ) -> None:
        availability = await check_availability({"from": "2026-11-26", "to": "2026-11-26"})
        assert [day.day for day in availability.days] == [TOMORROW]

    async def test_covers_at_most_31_days(self, check_availability: CheckAvailability) -> None:
        last = TOMORROW.add(days=MAX_AVAILABILITY_DAYS - 1)

        availability = await check_availability(
            {"from": TOMORROW.isoformat(), "to": last.isoformat()}
        )

        assert MAX_AVAILABILITY_DAYS == 31
        assert len(availability.days) == 31
        assert (availability.days[0].day, availability.days[-1].day) == (TOMORROW, last)

    async def test_refuses_a_range_of_32_days(self, check_availability: CheckAvailability) -> None:
        last = TOMORROW.add(days=MAX_AVAILABILITY_DAYS)
        with pytest.raises(InvalidField, match="at most 31 days") as refused:
            await check_availability({"from": TOMORROW.isoformat(), "to": last.isoformat()})
        assert refused.value.field == "to"

    async def test_refuses_a_range_that_ends_before_it_starts(
        self, check_availability: CheckAvailability
    ) -> None:
        with pytest.raises(InvalidField, match="must not be before from"):
            await check_availability({"from": "2026-11-27", "to": "2026-11-26"})

    async def test_a_single_date_wins_over_a_range(
        self, check_availability: CheckAvailability
    ) -> None:
        availability = await check_availability(
            {"date": "2026-11-26", "from": "2026-12-01", "to": "2026-12-05"}
        )
        assert [day.day for day in availability.days] == [TOMORROW]


class TestBadQueries:
    @pytest.mark.parametrize(
        "query",
        [
            {"date": "2026/11/26"},
            {"date": "31/02/2027"},
            {"date": "tomorrow"},
            {"date": "2026-13-01"},
            {"from": "next week"},
            {"from": "2026-11-26", "to": "30.11.2026"},
        ],
        ids=["slashes-iso", "impossible", "word", "month-13", "bad-from", "bad-to"],
    )
    async def test_refuses_a_date_in_no_accepted_format(
        self, check_availability: CheckAvailability, query: dict[str, str]
    ) -> None:
        with pytest.raises(InvalidDate, match="Invalid date format"):
            await check_availability(query)

    @pytest.mark.parametrize(
        "query",
        [{}, {"date": ""}, {"to": "2026-11-26"}, {"from": ""}, {"day": "2026-11-26"}],
        ids=["nothing", "blank-date", "only-to", "blank-from", "unknown-name"],
    )
    async def test_asks_for_a_date_when_there_is_none(
        self, check_availability: CheckAvailability, query: dict[str, str]
    ) -> None:
        with pytest.raises(MissingField, match="Missing required field: date"):
            await check_availability(query)

    async def test_reports_missing_settings(self, clock: FixedClock) -> None:
        check = AvailabilityFromQuery(InMemoryStore(settings=None).unit_of_work, clock)
        with pytest.raises(SettingsMissing):
            await check({"date": "2026-11-26"})

    async def test_validates_the_query_before_looking_for_settings(self, clock: FixedClock) -> None:
        check = AvailabilityFromQuery(InMemoryStore(settings=None).unit_of_work, clock)
        with pytest.raises(InvalidDate):
            await check({"date": "soon"})


class TestDaysThatCannotBeBooked:
    @pytest.fixture
    def settings(self) -> BusinessSettings:
        return BusinessSettings(closed_dates={CHRISTMAS})

    async def test_marks_an_off_day(self, check_availability: CheckAvailability) -> None:
        assert await day_document(check_availability, NEXT_SUNDAY) == {
            "date": "2026-11-29",
            "closed": "off_day",
            "free": [],
            "taken": [],
        }

    async def test_marks_a_closed_date(self, check_availability: CheckAvailability) -> None:
        assert await day_document(check_availability, CHRISTMAS) == {
            "date": "2026-12-25",
            "closed": "closed_date",
            "free": [],
            "taken": [],
        }

    async def test_an_off_day_that_is_also_closed_is_reported_as_an_off_day(
        self, store: InMemoryStore, clock: FixedClock
    ) -> None:
        await save_settings(store, BusinessSettings(closed_dates={NEXT_SUNDAY}))
        document = await day_document(AvailabilityFromQuery(store.unit_of_work, clock), NEXT_SUNDAY)
        assert document["closed"] == "off_day"

    async def test_a_booking_kept_on_a_day_closed_later_is_in_neither_list(
        self,
        check_availability: CheckAvailability,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
    ) -> None:
        await book(create_booking, TOMORROW, "14:00")
        await save_settings(store, BusinessSettings(closed_dates={TOMORROW}))

        assert await day_document(check_availability, TOMORROW) == {
            "date": "2026-11-26",
            "closed": "closed_date",
            "free": [],
            "taken": [],
        }


class TestTime:
    async def test_slots_that_have_started_are_in_neither_list(
        self,
        check_availability: CheckAvailability,
        create_booking: CreateAgentBooking,
        clock: FixedClock,
    ) -> None:
        await book(create_booking, TODAY, "13:00")
        await book(create_booking, TODAY, "15:00")
        clock.instant = pendulum.datetime(2026, 11, 25, 13, 30, tz="UTC")

        assert await day_document(check_availability, TODAY) == {
            "date": "2026-11-25",
            "closed": None,
            "free": ["14:00:00", "16:00:00"],
            "taken": ["15:00:00"],
        }

    async def test_a_slot_starting_right_now_is_over(
        self, check_availability: CheckAvailability, clock: FixedClock
    ) -> None:
        clock.instant = pendulum.datetime(2026, 11, 25, 14, tz="UTC")
        document = await day_document(check_availability, TODAY)
        assert document["free"] == ["15:00:00", "16:00:00"]

    async def test_yesterday_lists_nothing(self, check_availability: CheckAvailability) -> None:
        assert await day_document(check_availability, TODAY.subtract(days=1)) == {
            "date": "2026-11-24",
            "closed": None,
            "free": [],
            "taken": [],
        }

    async def test_days_beyond_the_horizon_list_nothing(
        self, store: InMemoryStore, clock: FixedClock
    ) -> None:
        await save_settings(store, BusinessSettings(horizon_days=2))
        check = AvailabilityFromQuery(store.unit_of_work, clock)

        availability = await check({"from": "2026-11-27", "to": "2026-11-28"})

        assert [(d.day, d.closed, d.free, d.taken) for d in availability.days] == [
            (pendulum.Date(2026, 11, 27), None, tuple(at(h) for h in (12, 13, 14, 15, 16)), ()),
            (pendulum.Date(2026, 11, 28), None, (), ()),
        ]

    async def test_the_last_day_of_the_default_horizon_is_still_free(
        self, check_availability: CheckAvailability
    ) -> None:
        last = TODAY.add(days=365)  # Thursday 2027-11-25
        document = await day_document(check_availability, last)
        assert document["free"] == list(ALL_SLOTS)
        assert (await day_document(check_availability, last.add(days=1)))["free"] == []


class TestOtherSettings:
    async def test_lists_the_slots_of_the_current_settings(
        self, store: InMemoryStore, clock: FixedClock
    ) -> None:
        await save_settings(
            store,
            BusinessSettings(
                open_time=at(9), close_time=at(11, 15), slot_minutes=45, timezone="Asia/Kolkata"
            ),
        )
        check = AvailabilityFromQuery(store.unit_of_work, clock)

        response = availability_body(await check({"date": "2026-11-26"}))

        assert response == {
            "success": True,
            "timezone": "Asia/Kolkata",
            "slot_minutes": 45,
            "days": [
                {
                    "date": "2026-11-26",
                    "closed": None,
                    "free": ["09:00:00", "09:45:00", "10:30:00"],
                    "taken": [],
                    "free_resources": [[1], [1], [1]],
                }
            ],
        }

    async def test_today_is_the_business_zone_s_today(
        self, store: InMemoryStore, clock: FixedClock
    ) -> None:
        # 10:00 UTC is 15:30 in Kolkata: the 12:00-15:00 slots of the local today are over.
        await save_settings(store, BusinessSettings(timezone="Asia/Kolkata"))
        document = await day_document(AvailabilityFromQuery(store.unit_of_work, clock), TODAY)
        assert document["free"] == ["16:00:00"]


class TestClockChanges:
    """Europe/London, open through the night: the fall-back day repeats 01:00-02:00."""

    NIGHT = BusinessSettings(
        open_time=at(0), close_time=at(4), off_days=(), timezone="Europe/London"
    )
    SPRING_FORWARD = pendulum.Date(2027, 3, 28)  # 01:00 GMT becomes 02:00 BST
    FALL_BACK = pendulum.Date(2027, 10, 31)  # 02:00 BST becomes 01:00 GMT

    @pytest.fixture
    def settings(self) -> BusinessSettings:
        return self.NIGHT

    async def test_a_time_the_clocks_skip_is_in_neither_list(
        self, check_availability: CheckAvailability
    ) -> None:
        document = await day_document(check_availability, self.SPRING_FORWARD)
        assert document["free"] == ["00:00:00", "02:00:00", "03:00:00"]
        assert document["taken"] == []

    @pytest.mark.parametrize("time", ["00:00", "01:00", "02:00", "03:00"])
    async def test_a_booked_slot_of_the_fall_back_day_is_taken_not_free(
        self,
        check_availability: CheckAvailability,
        create_booking: CreateAgentBooking,
        time: str,
    ) -> None:
        await book(create_booking, self.FALL_BACK, time)
        with pytest.raises(SlotTaken):
            await book(create_booking, self.FALL_BACK, time)

        document = await day_document(check_availability, self.FALL_BACK)

        assert f"{time}:00" in document["taken"], document
        assert f"{time}:00" not in document["free"], document
