"""The slot policy per service and resource: weekly plans, exceptions, durations, buffers.

Two properties hold it to its promises:

* one resource working the settings' hours and a service as long as a slot grant and refuse
  exactly what the single-calendar policy does (a business with one resource behaves as today);
* over random plans, exceptions, services and booking attempts, ``place`` (create) grants a start
  exactly when ``free_for`` (availability) lists it with a free resource, assigns by the
  documented rule, and no two bookings of a resource ever overlap, checked by plain arithmetic
  on what was booked rather than by the policy's own occupancy.
"""

from __future__ import annotations

import datetime

import pendulum
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from agent_booking.core.errors import (
    BookingError,
    BookingPolicyViolation,
    InvalidCatalog,
    NotASlotStart,
    NoticeTooShort,
    OutsideWorkingHours,
    SlotTaken,
    UnknownResource,
)
from agent_booking.core.occupancy import Occupancy
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.resources import (
    REJECT_UNKNOWN,
    Catalog,
    OpenInterval,
    Resource,
    Service,
    WeeklyPlan,
)
from agent_booking.core.settings import BusinessSettings
from tests.unit.builders import NOW, TODAY
from tests.unit.strategies import DST_CHANGE_DATES, business_settings, times_of_day

T = pendulum.Time
#: A drawn scenario: policy, resources, services and attempts (service index, resource id or
#: None, day offset, minute of day).
Scenario = tuple[SlotPolicy, list[Resource], list[Service], list[tuple[int, int | None, int, int]]]
WEDNESDAY = TODAY.add(days=7)  # 2026-12-02


def hours(*spans: tuple[int, int, int, int]) -> tuple[OpenInterval, ...]:
    return tuple(OpenInterval(T(a, b), T(c, d)) for a, b, c, d in spans)


def resource(resource_id: int, *spans: tuple[int, int, int, int], **kwargs: object) -> Resource:
    plan = WeeklyPlan(dict.fromkeys(range(1, 7), hours(*spans)))
    return Resource(resource_id, f"R{resource_id}", plan, **kwargs)  # type: ignore[arg-type]


def service(minutes: int, **kwargs: object) -> Service:
    return Service(1, f"S{minutes}", minutes, **kwargs)  # type: ignore[arg-type]


def ad_hoc(settings: BusinessSettings) -> Service:
    return Service(None, "Legal Consultation", settings.slot_minutes)


POLICY = SlotPolicy(BusinessSettings(slot_minutes=30))
LUNCH_BREAK = resource(1, (9, 0, 12, 0), (13, 0, 17, 0))


class TestPlans:
    def test_a_lunch_break_is_not_bookable(self) -> None:
        with pytest.raises(OutsideWorkingHours):
            POLICY.check_service(WEDNESDAY, T(12, 30), NOW, service(30), LUNCH_BREAK)

    def test_the_grid_starts_again_after_the_break(self) -> None:
        plan = resource(1, (9, 0, 12, 0), (12, 45, 14, 0))
        starts = POLICY.service_starts(WEDNESDAY, NOW, service(30), plan)
        assert [start.format("HH:mm") for start in starts] == [
            "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:45", "13:15",
        ]  # fmt: skip

    def test_a_service_must_end_inside_one_interval(self) -> None:
        with pytest.raises(NotASlotStart, match="would end after"):
            POLICY.check_service(WEDNESDAY, T(11, 30), NOW, service(60), LUNCH_BREAK)
        start = POLICY.check_service(WEDNESDAY, T(11, 0), NOW, service(60), LUNCH_BREAK)
        assert start == pendulum.datetime(2026, 12, 2, 11, 0, tz="UTC")

    def test_an_exception_closes_a_date_or_changes_its_hours(self) -> None:
        friday = WEDNESDAY.add(days=2)
        saturday = WEDNESDAY.add(days=3)
        worker = resource(1, (9, 0, 17, 0), exceptions={friday: hours((9, 0, 12, 0)), saturday: ()})
        assert POLICY.service_starts(saturday, NOW, service(30), worker) == []
        assert POLICY.service_starts(friday, NOW, service(30), worker)[-1].format("HH:mm") == (
            "11:30"
        )
        with pytest.raises(OutsideWorkingHours):
            POLICY.check_service(friday, T(13, 0), NOW, service(30), worker)

    def test_overlapping_intervals_are_refused(self) -> None:
        with pytest.raises(InvalidCatalog, match="overlap"):
            WeeklyPlan({1: hours((9, 0, 12, 0), (11, 0, 13, 0))})

    def test_the_settings_become_a_plan_without_the_off_days(self) -> None:
        plan = WeeklyPlan.from_settings(BusinessSettings())
        assert plan.days[7] == ()
        assert plan.days[1] == hours((12, 0, 17, 0))


class TestServices:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("duration_minutes", 4),
            ("duration_minutes", 721),
            ("buffer_before", 241),
            ("buffer_after", -1),
            ("min_notice_minutes", 10081),
        ],
    )
    def test_values_out_of_range_are_refused(self, field: str, value: int) -> None:
        values: dict[str, object] = {"duration_minutes": 30, field: value}
        with pytest.raises(InvalidCatalog):
            Service(1, "Cut", **values)  # type: ignore[arg-type]

    def test_buffers_keep_bookings_apart(self) -> None:
        cut = service(30, buffer_after=15)
        start = POLICY.check_service(WEDNESDAY, T(10, 0), NOW, cut, LUNCH_BREAK)
        occupancy = Occupancy([(1, *cut.occupied(start))])
        free = [s.format("HH:mm") for s, _ in POLICY.free_for(
            WEDNESDAY, NOW, cut, [LUNCH_BREAK], occupancy
        )]  # fmt: skip
        assert "10:00" not in free
        assert "10:30" not in free  # the 15 minutes after 10:30 are the buffer's
        assert "09:30" not in free  # its own buffer would reach 10:00
        assert "09:00" in free
        assert "11:00" in free

    def test_minimum_notice(self) -> None:
        urgent = service(30, min_notice_minutes=24 * 60)
        tomorrow = TODAY.add(days=1)
        with pytest.raises(NoticeTooShort):
            POLICY.check_service(tomorrow, T(9, 0), NOW, urgent, LUNCH_BREAK)
        start = POLICY.check_service(tomorrow, T(10, 0), NOW, urgent, LUNCH_BREAK)
        assert start == pendulum.datetime(2026, 11, 26, 10, 0, tz="UTC")
        assert POLICY.service_starts(tomorrow, NOW, urgent, LUNCH_BREAK)[0].format("HH:mm") == (
            "10:00"
        )

    def test_names_match_case_insensitively_and_reject_lists_them(self) -> None:
        catalog = Catalog(
            [LUNCH_BREAK],
            [Service(1, "Haircut", 30), Service(2, "colour", 90)],
            unknown_services=REJECT_UNKNOWN,
        )
        found = catalog.service_named("  HAIRCUT ")
        assert found is not None
        assert found.id == 1
        assert catalog.service_named("Shave") is None
        assert catalog.offered_names() == ["colour", "Haircut"]
        with pytest.raises(InvalidCatalog, match="unique"):
            Catalog([LUNCH_BREAK], [Service(1, "Cut", 30), Service(2, "CUT", 30)])

    def test_a_service_goes_only_to_its_resources(self) -> None:
        catalog = Catalog([resource(1, (9, 0, 17, 0)), resource(2, (9, 0, 17, 0))])
        assert [r.id for r in catalog.performers(service(30, resource_ids={2}))] == [2]
        assert [r.id for r in catalog.performers(service(30))] == [1, 2]

    def test_inactive_resources_perform_nothing(self) -> None:
        catalog = Catalog([resource(1, (9, 0, 17, 0), active=False), resource(2, (9, 0, 17, 0))])
        assert [r.id for r in catalog.performers(service(30))] == [2]
        assert [r.id for r in catalog.performers(service(30, resource_ids={1, 2}))] == [2]

    def test_a_free_text_service_lasts_the_given_minutes_and_is_made_once(self) -> None:
        catalog = Catalog([LUNCH_BREAK])
        made = catalog.ad_hoc("Legal Consultation", 30)
        assert made == Service(None, "Legal Consultation", 30)
        assert catalog.ad_hoc("Legal Consultation", 30) is made
        assert catalog.ad_hoc("Legal Consultation", 60).duration_minutes == 60
        for number in range(300):  # names come from requests: only so many are kept
            catalog.ad_hoc(f"Name {number}", 30)
        assert catalog.ad_hoc("Legal Consultation", 30) == made
        with pytest.raises(InvalidCatalog):
            catalog.ad_hoc("   ", 30)


class TestAssignment:
    TWO = (resource(1, (9, 0, 17, 0)), resource(2, (9, 0, 17, 0)))

    def test_fewest_bookings_that_day_then_lowest_id(self) -> None:
        cut = service(30)
        _, first = POLICY.place(WEDNESDAY, T(9, 0), NOW, cut, self.TWO, Occupancy(), {})
        assert first.id == 1
        _, busier = POLICY.place(WEDNESDAY, T(9, 0), NOW, cut, self.TWO, Occupancy(), {1: 1})
        assert busier.id == 2

    def test_the_one_free_resource_is_taken_then_slot_taken(self) -> None:
        cut = service(30)
        start = POLICY.check_service(WEDNESDAY, T(9, 0), NOW, cut, self.TWO[0])
        occupancy = Occupancy([(1, *cut.occupied(start))])
        _, chosen = POLICY.place(WEDNESDAY, T(9, 0), NOW, cut, self.TWO, occupancy, {2: 5})
        assert chosen.id == 2
        occupancy.add(2, *cut.occupied(start))
        with pytest.raises(SlotTaken):
            POLICY.place(WEDNESDAY, T(9, 0), NOW, cut, self.TWO, occupancy, {})

    def test_no_resource_that_performs_it(self) -> None:
        with pytest.raises(UnknownResource):
            POLICY.place(WEDNESDAY, T(9, 0), NOW, service(30), [], Occupancy(), {})


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=300)
@given(
    settings_=business_settings(TODAY),
    day=st.one_of(
        st.integers(-1, 20).map(lambda offset: TODAY.add(days=offset)),
        st.sampled_from(DST_CHANGE_DATES),
    ),
    time=st.one_of(times_of_day(), times_of_day(seconds=True)),
    use_grid=st.booleans(),
    grid_index=st.integers(0, 2000),
)
def test_one_resource_behaves_as_the_single_calendar(
    settings_: BusinessSettings,
    day: pendulum.Date,
    time: pendulum.Time,
    use_grid: bool,
    grid_index: int,
) -> None:
    """Settings' hours as the only resource's plan, a slot-long service: same answers."""
    if use_grid:
        slots = settings_.slot_times()
        time = slots[grid_index % len(slots)]
    policy = SlotPolicy(settings_)
    only = Catalog.single(settings_).resources[0]
    spec_service = ad_hoc(settings_)
    assert policy.service_starts(day, NOW, spec_service, only) == policy.bookable_starts(day, NOW)
    expected: pendulum.DateTime | BookingError
    actual: pendulum.DateTime | BookingError
    try:
        expected = policy.check(day, time, NOW)
    except BookingError as error:
        expected = error
    try:
        actual = policy.check_service(day, time, NOW, spec_service, only)
    except BookingError as error:
        actual = error
    if isinstance(expected, BookingError):
        assert isinstance(actual, BookingError), actual
        assert (type(actual), actual.message) == (type(expected), expected.message)
    else:
        assert actual == expected


#: Interval ends: mostly whole hours between 07:00 and 19:00 (where attempts land), at times
#: quarter hours, rarely any minute of the day.
_MINUTES = st.one_of(
    st.integers(7, 19).map(lambda hour: hour * 60),
    st.integers(7 * 4, 19 * 4).map(lambda quarter: quarter * 15),
    st.integers(0, 23 * 60 + 59),
)


@st.composite
def intervals(draw: st.DrawFn) -> tuple[OpenInterval, ...]:
    """Zero to three non-overlapping intervals (a day with breaks)."""
    cuts = sorted(draw(st.sets(_MINUTES, min_size=2, max_size=6)))
    pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    return tuple(OpenInterval(T(*divmod(a, 60)), T(*divmod(b, 60))) for a, b in pairs if b > a)


@st.composite
def resources(draw: st.DrawFn) -> list[Resource]:
    count = draw(st.integers(1, 3))
    days = [TODAY.add(days=offset) for offset in range(4)]
    return [
        Resource(
            index + 1,
            f"R{index + 1}",
            WeeklyPlan({weekday: draw(intervals()) for weekday in range(1, 8)}),
            exceptions=draw(
                st.dictionaries(
                    st.sampled_from(days), st.one_of(st.just(()), intervals()), max_size=2
                )
            ),
        )
        for index in range(count)
    ]


@st.composite
def services(draw: st.DrawFn, resource_ids: list[int]) -> list[Service]:
    return [
        Service(
            index + 1,
            f"S{index + 1}",
            draw(st.sampled_from([5, 15, 30, 45, 60, 90, 120])),
            buffer_before=draw(st.sampled_from([0, 0, 5, 10, 30])),
            buffer_after=draw(st.sampled_from([0, 0, 5, 15, 60])),
            min_notice_minutes=draw(st.sampled_from([0, 0, 0, 60, 24 * 60])),
            resource_ids=draw(st.sets(st.sampled_from(resource_ids))),
        )
        for index in range(draw(st.integers(1, 3)))
    ]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    slot = draw(st.sampled_from([5, 15, 30, 60]))
    policy = SlotPolicy(
        BusinessSettings(
            open_time=T(0, 0),
            close_time=T(23, 59),
            off_days=draw(st.frozensets(st.integers(1, 7), max_size=1)),
            slot_minutes=slot,
            timezone=draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])),
        )
    )
    staff = draw(resources())
    catalog = draw(services([item.id for item in staff]))
    attempt = st.tuples(
        st.integers(0, len(catalog) - 1),
        st.one_of(st.none(), st.sampled_from([item.id for item in staff])),
        st.sampled_from([0, 1, 1, 2, 2, 3]),  # day offset (today: 10:00 UTC already)
        st.one_of(  # minute of day: mostly on the grid between 07:00 and 19:00
            st.integers(7 * 60 // slot, 19 * 60 // slot).map(lambda index: index * slot),
            st.integers(10 * 60 // slot, 12 * 60 // slot).map(lambda index: index * slot),
            st.integers(0, 24 * 60 - 1),
        ),
    )
    return policy, staff, catalog, draw(st.lists(attempt, min_size=5, max_size=60))


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_create_and_availability_agree_and_nothing_overlaps(
    scenario: tuple[
        SlotPolicy, list[Resource], list[Service], list[tuple[int, int | None, int, int]]
    ],
) -> None:
    policy, staff, catalog, attempts = scenario
    occupancy = Occupancy()
    booked: list[tuple[int, datetime.datetime, datetime.datetime]] = []
    per_day: dict[tuple[pendulum.Date, int], int] = {}
    for service_index, resource_id, offset, minute in attempts:
        svc = catalog[service_index]
        day = TODAY.add(days=offset)
        time = T(*divmod(minute, 60))
        performers = [item for item in staff if svc.performed_by(item)]
        candidates = [item for item in performers if resource_id in {None, item.id}]
        counts = {item.id: per_day.get((day, item.id), 0) for item in staff}
        free = dict(policy.free_for(day, NOW, svc, candidates, occupancy))
        listed = {start.in_timezone("UTC"): ids for start, ids in free.items()}
        try:
            start, chosen = policy.place(day, time, NOW, svc, candidates, occupancy, counts)
        except SlotTaken:
            event("slot taken")
            wanted = policy.local_start(day, time).in_timezone("UTC")
            assert wanted not in listed
            assert any(
                policy.local_start(day, time) in policy.service_starts(day, NOW, svc, item)
                for item in candidates
            )
            continue
        except (BookingPolicyViolation, UnknownResource) as error:
            event(f"refused: {error.code}")
            wanted = policy.local_start(day, time).in_timezone("UTC")
            assert wanted not in listed
            continue
        event("granted")
        ids = listed.get(start.in_timezone("UTC"))
        assert ids is not None, f"{start} granted but availability did not list it"
        assert chosen.id in ids
        assert chosen.id == min(ids, key=lambda item: (counts[item], item))
        occupancy.add(chosen.id, *svc.occupied(start))
        per_day[day, chosen.id] = per_day.get((day, chosen.id), 0) + 1
        utc = start.in_timezone("UTC")
        booked.append(
            (
                chosen.id,
                utc - datetime.timedelta(minutes=svc.buffer_before),
                utc + datetime.timedelta(minutes=svc.duration_minutes + svc.buffer_after),
            )
        )
    for index, (rid, begin, end) in enumerate(booked):
        for other_rid, other_begin, other_end in booked[index + 1 :]:
            assert rid != other_rid or end <= other_begin or other_end <= begin
