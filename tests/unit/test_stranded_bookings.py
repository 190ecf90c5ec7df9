"""stranded_bookings: the open future bookings new rules would refuse, with their resource.

One function for both changes that can strand bookings: the business settings (hours that
plan-following resources work, closures and the slot grid that hold for every resource) and a
resource's own plan or exceptions (the plan PUT of the admin API passes the changed catalog).
"""

from __future__ import annotations

import attrs
import pendulum
from hypothesis import given
from hypothesis import strategies as st

from agent_booking.core.entities import Booking, BookingStatus, Customer
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.resources import Catalog, OpenInterval, Resource, Service, WeeklyPlan
from agent_booking.core.settings import BusinessSettings
from agent_booking.core.stranded import stranded_bookings

T = pendulum.Time
UTC = pendulum.timezone("UTC")
NOW = pendulum.datetime(2026, 11, 25, 10, 0, tz="UTC")  # a Wednesday
THURSDAY = pendulum.Date(2026, 11, 26)
FRIDAY = pendulum.Date(2026, 11, 27)
CUSTOMER = Customer(7, "+15550100", "Ada", "Lovelace", "", "", "", True, NOW)
SETTINGS = BusinessSettings(slot_minutes=30)  # 12:00-17:00, Sunday off
CHECK_UP = Service(1, "Check-up", 30)
CONSULTATION = Service(2, "Consultation", 90, buffer_before=15, buffer_after=15)


def plan(*spans: tuple[int, int, int, int]) -> WeeklyPlan:
    intervals = tuple(OpenInterval(T(a, b), T(c, d)) for a, b, c, d in spans)
    return WeeklyPlan(dict.fromkeys(range(1, 7), intervals))


FIRST = Resource(1, "Default", WeeklyPlan.from_settings(SETTINGS), follows_business_hours=True)
ROOM = Resource(2, "Room 2", plan((9, 0, 18, 0)))
CATALOG = Catalog((FIRST, ROOM), (CHECK_UP, CONSULTATION))


def booking(
    booking_id: int,
    day: pendulum.Date,
    time: str,
    resource: Resource,
    service: Service | None = CHECK_UP,
    status: BookingStatus = BookingStatus.UPCOMING,
) -> tuple[Booking, Customer]:
    hour, minute = map(int, time.split(":"))
    start = pendulum.datetime(day.year, day.month, day.day, hour, minute, tz="UTC")
    minutes = SETTINGS.slot_minutes if service is None else service.duration_minutes
    return (
        Booking(
            id=booking_id,
            customer_id=CUSTOMER.id,
            service_name="Legal Consultation" if service is None else service.name,
            booking_date=day,
            booking_time=T(hour, minute),
            starts_at=start,
            status=status,
            notes="",
            created_at=NOW,
            resource_id=resource.id,
            service_id=None if service is None else service.id,
            occupied_from=start,
            occupied_until=start.add(minutes=minutes),
        ),
        CUSTOMER,
    )


def stranded(
    rows: list[tuple[Booking, Customer]],
    settings: BusinessSettings = SETTINGS,
    catalog: Catalog = CATALOG,
) -> list[tuple[int, int]]:
    """(booking id, resource id) of each stranded booking."""
    found = stranded_bookings(rows, SlotPolicy(settings), catalog, NOW)
    return [(item.booking.id, item.resource.id) for item in found]


class TestSettingsChanges:
    def test_shorter_business_hours_strand_only_plan_following_resources(self) -> None:
        rows = [booking(1, THURSDAY, "16:00", FIRST), booking(2, THURSDAY, "16:00", ROOM)]
        shorter = attrs.evolve(SETTINGS, close_time=T(16, 0))
        # The catalog as it was: the first resource's plan is still 12-17 there.
        assert stranded(rows, shorter) == [(1, 1)]

    def test_the_reported_resource_works_the_new_hours(self) -> None:
        shorter = attrs.evolve(SETTINGS, close_time=T(16, 0))
        [item] = stranded_bookings(
            [booking(1, THURSDAY, "16:00", FIRST)], SlotPolicy(shorter), CATALOG, NOW
        )
        assert item.resource.intervals_on(THURSDAY) == (OpenInterval(T(12, 0), T(16, 0)),)
        assert (item.booking.id, item.customer) == (1, CUSTOMER)

    def test_a_service_must_still_end_by_closing(self) -> None:
        rows = [
            booking(1, THURSDAY, "15:00", FIRST, CONSULTATION),  # would end 16:30
            booking(2, THURSDAY, "14:30", FIRST, CONSULTATION),  # ends 16:00
        ]
        assert stranded(rows, attrs.evolve(SETTINGS, close_time=T(16, 0))) == [(1, 1)]

    def test_closures_strand_every_resource(self) -> None:
        rows = [
            booking(1, THURSDAY, "12:00", FIRST),
            booking(2, THURSDAY, "10:00", ROOM),
            booking(3, FRIDAY, "10:00", ROOM),
        ]
        assert stranded(rows, attrs.evolve(SETTINGS, closed_dates={THURSDAY})) == [
            (1, 1),
            (2, 2),
        ]
        assert stranded(rows, attrs.evolve(SETTINGS, off_days={5, 7})) == [(3, 2)]

    def test_a_new_slot_grid_strands_starts_off_it_on_every_resource(self) -> None:
        rows = [booking(1, THURSDAY, "09:30", ROOM), booking(2, THURSDAY, "10:00", ROOM)]
        assert stranded(rows, attrs.evolve(SETTINGS, slot_minutes=60)) == [(1, 2)]

    def test_free_text_bookings_last_one_new_slot(self) -> None:
        rows = [booking(1, THURSDAY, "16:00", FIRST, None)]
        assert stranded(rows) == []
        assert stranded(rows, attrs.evolve(SETTINGS, slot_minutes=120)) == [(1, 1)]

    def test_past_closed_and_unknown_resource_bookings_are_not_judged(self) -> None:
        gone = Resource(9, "Gone", plan((9, 0, 10, 0)))
        rows = [
            booking(1, NOW.date(), "09:00", ROOM),  # before now
            booking(2, THURSDAY, "16:00", FIRST, status=BookingStatus.CANCELLED),
            booking(3, THURSDAY, "16:00", FIRST, status=BookingStatus.COMPLETED),
            booking(4, THURSDAY, "16:00", gone),
            booking(5, THURSDAY, "16:00", FIRST, status=BookingStatus.PENDING),
        ]
        assert stranded(rows, attrs.evolve(SETTINGS, close_time=T(16, 0))) == [(5, 1)]


class TestPlanChanges:
    """What the admin API's plan PUT passes: the catalog with the resource's new plan."""

    def test_a_lunch_break_strands_what_it_overlaps(self) -> None:
        lunch = attrs.evolve(ROOM, plan=plan((9, 0, 12, 0), (13, 0, 18, 0)))
        rows = [
            booking(1, THURSDAY, "12:00", ROOM),
            booking(2, THURSDAY, "11:00", ROOM, CONSULTATION),  # would end 12:30
            booking(3, THURSDAY, "11:30", ROOM),
            booking(4, THURSDAY, "13:00", ROOM),
        ]
        assert stranded(rows, catalog=Catalog((FIRST, lunch), CATALOG.services)) == [
            (1, 2),
            (2, 2),
        ]

    def test_an_exception_closing_a_date_strands_that_date_only(self) -> None:
        closed = attrs.evolve(ROOM, exceptions={FRIDAY: ()})
        rows = [booking(1, THURSDAY, "10:00", ROOM), booking(2, FRIDAY, "10:00", ROOM)]
        assert stranded(rows, catalog=Catalog((FIRST, closed), CATALOG.services)) == [(2, 2)]

    def test_a_plan_following_resource_given_its_own_plan_is_judged_on_it(self) -> None:
        own = attrs.evolve(FIRST, plan=plan((14, 0, 17, 0)), follows_business_hours=False)
        rows = [booking(1, THURSDAY, "12:00", FIRST), booking(2, THURSDAY, "14:00", FIRST)]
        assert stranded(rows, catalog=Catalog((own, ROOM), CATALOG.services)) == [(1, 1)]


_STARTS = [f"{hour:02d}:{minute:02d}" for hour in range(8, 19) for minute in (0, 30)]


@given(
    spans=st.lists(st.tuples(st.integers(8, 17), st.integers(1, 4)), min_size=0, max_size=3),
    picks=st.lists(
        st.tuples(st.sampled_from(_STARTS), st.sampled_from([CHECK_UP, CONSULTATION])),
        min_size=1,
        max_size=8,
    ),
    slot_minutes=st.sampled_from([15, 30, 60]),
)
def test_a_booking_is_stranded_exactly_when_availability_would_not_offer_its_start(
    spans: list[tuple[int, int]],
    picks: list[tuple[str, Service]],
    slot_minutes: int,
) -> None:
    """The one policy: the report agrees with the starts the same rules offer (booked
    intervals aside), for any plan of the room."""
    intervals = sorted({(start, min(start + length, 20)) for start, length in spans})
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    room = attrs.evolve(ROOM, plan=plan(*((a, 0, b, 0) for a, b in merged)))
    settings = attrs.evolve(SETTINGS, slot_minutes=slot_minutes)
    policy = SlotPolicy(settings)
    rows = [booking(index, THURSDAY, time, room, svc) for index, (time, svc) in enumerate(picks)]
    found = {
        item.booking.id
        for item in stranded_bookings(rows, policy, Catalog((FIRST, room), CATALOG.services), NOW)
    }
    for row, _ in rows:
        service = CHECK_UP if row.service_id == CHECK_UP.id else CONSULTATION
        offered = policy.service_starts(THURSDAY, NOW, service, room)
        assert (row.id in found) == (row.starts_at not in offered), (row, offered)
