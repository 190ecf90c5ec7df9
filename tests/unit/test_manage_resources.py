"""The admin's changes to resources (ManageResources): add, rename, deactivate, replace a plan,
set and remove a date exception.

A plan change keeps every booking and lists the resource's future ones it no longer holds;
bookings of other resources are never listed.
"""

from __future__ import annotations

import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryStore
from agent_booking.core import BusinessSettings, CreateAgentBooking
from agent_booking.core.errors import (
    InvalidCatalog,
    OutsideWorkingHours,
    ResourceNotFound,
    SettingsMissing,
)
from agent_booking.core.manage_resources import ManageResources
from agent_booking.core.resources import OpenInterval, WeeklyPlan
from tests.unit.builders import TOMORROW, basic_body

LUNCH_BREAK = (
    OpenInterval(pendulum.Time(12), pendulum.Time(13)),
    OpenInterval(pendulum.Time(14), pendulum.Time(17)),
)


@pytest.fixture
def manage(store: InMemoryStore, clock: FixedClock) -> ManageResources:
    return ManageResources(store.unit_of_work, clock)


async def catalog_of(
    store: InMemoryStore, settings: BusinessSettings
) -> list[tuple[int, str, bool]]:
    async with store.unit_of_work() as uow:
        catalog = await uow.catalog.get_active(settings)
    return [(item.id, item.name, item.active) for item in catalog.resources]


class TestManageResources:
    async def test_adds_an_active_resource_without_hours(
        self, manage: ManageResources, store: InMemoryStore, settings: BusinessSettings
    ) -> None:
        added = await manage.add("  Room 2 ")

        assert (added.id, added.name, added.active) == (2, "Room 2", True)
        assert all(not intervals for intervals in added.plan.days.values())
        assert await catalog_of(store, settings) == [(1, "Default", True), (2, "Room 2", True)]

    @pytest.mark.parametrize("name", ["", "   ", "x" * 101, "Bell\x07"])
    async def test_refuses_a_bad_name_and_changes_nothing(
        self, manage: ManageResources, store: InMemoryStore, settings: BusinessSettings, name: str
    ) -> None:
        with pytest.raises(InvalidCatalog):
            await manage.add(name)
        with pytest.raises(InvalidCatalog):
            await manage.change(1, name=name)

        assert await catalog_of(store, settings) == [(1, "Default", True)]

    async def test_renames_and_deactivates(
        self, manage: ManageResources, store: InMemoryStore, settings: BusinessSettings
    ) -> None:
        await manage.change(1, name="Dr Smith")
        changed = await manage.change(1, active=False)

        assert (changed.name, changed.active) == ("Dr Smith", False)
        assert await catalog_of(store, settings) == [(1, "Dr Smith", False)]

    async def test_an_unknown_resource_is_not_found(self, manage: ManageResources) -> None:
        with pytest.raises(ResourceNotFound):
            await manage.change(99, active=False)
        with pytest.raises(ResourceNotFound):
            await manage.replace_plan(99, WeeklyPlan({}))

    async def test_without_settings_nothing_is_managed(self, clock: FixedClock) -> None:
        manage = ManageResources(InMemoryStore().unit_of_work, clock)
        with pytest.raises(SettingsMissing):
            await manage.add("Room")

    async def test_a_lunch_break_strands_the_booking_in_it_and_keeps_it(
        self,
        manage: ManageResources,
        store: InMemoryStore,
        create_booking: CreateAgentBooking,
    ) -> None:
        day = TOMORROW.isoformat()
        at_lunch = await create_booking(basic_body(booking_date=day, booking_time="13:00"))
        after_lunch = await create_booking(basic_body(booking_date=day, booking_time="14:00"))

        replaced = await manage.replace_plan(1, WeeklyPlan({TOMORROW.isoweekday(): LUNCH_BREAK}))

        assert [booking.id for booking, _ in replaced.stranded] == [at_lunch.booking.id]
        assert replaced.resource.follows_business_hours is False
        assert replaced.resource.intervals_on(TOMORROW) == LUNCH_BREAK
        assert {b.id for b in store.bookings if b.is_active} == {
            at_lunch.booking.id,
            after_lunch.booking.id,
        }

    async def test_the_new_plan_decides_what_is_bookable(
        self, manage: ManageResources, create_booking: CreateAgentBooking
    ) -> None:
        await manage.replace_plan(1, WeeklyPlan({TOMORROW.isoweekday(): LUNCH_BREAK}))
        day = TOMORROW.isoformat()

        booked = await create_booking(basic_body(booking_date=day, booking_time="12:00"))
        assert booked.booking.resource_id == 1
        with pytest.raises(OutsideWorkingHours):
            await create_booking(basic_body(booking_date=day, booking_time="13:00"))

    async def test_bookings_of_other_resources_are_never_stranded(
        self, manage: ManageResources, create_booking: CreateAgentBooking
    ) -> None:
        await create_booking(basic_body(booking_date=TOMORROW.isoformat(), booking_time="13:00"))
        room = await manage.add("Room 2")

        replaced = await manage.replace_plan(room.id, WeeklyPlan({}))

        assert replaced.stranded == ()


class TestDateExceptions:
    async def test_closing_a_date_strands_its_booking_keeps_it_and_takes_no_more(
        self,
        manage: ManageResources,
        store: InMemoryStore,
        create_booking: CreateAgentBooking,
    ) -> None:
        day = TOMORROW.isoformat()
        booked = await create_booking(basic_body(booking_date=day, booking_time="12:00"))

        closed = await manage.set_exception(1, TOMORROW, [])

        assert [booking.id for booking, _ in closed.stranded] == [booked.booking.id]
        assert closed.resource.intervals_on(TOMORROW) == ()
        assert dict(closed.resource.exceptions) == {TOMORROW: ()}
        assert [b.id for b in store.bookings if b.is_active] == [booked.booking.id]
        with pytest.raises(OutsideWorkingHours):
            await create_booking(basic_body(booking_date=day, booking_time="14:00"))

    async def test_other_hours_on_a_date_decide_what_is_bookable_that_date_only(
        self,
        manage: ManageResources,
        store: InMemoryStore,
        settings: BusinessSettings,
        create_booking: CreateAgentBooking,
    ) -> None:
        # given in reverse order: kept sorted
        changed = await manage.set_exception(1, TOMORROW, reversed(LUNCH_BREAK))

        assert changed.resource.intervals_on(TOMORROW) == LUNCH_BREAK
        assert changed.resource.follows_business_hours is True  # the plan itself is unchanged
        day = TOMORROW.isoformat()
        assert (await create_booking(basic_body(booking_date=day, booking_time="12:00"))).booking
        with pytest.raises(OutsideWorkingHours):
            await create_booking(basic_body(booking_date=day, booking_time="13:00"))
        next_day = TOMORROW.add(days=1)
        async with store.unit_of_work() as uow:
            resource = (await uow.catalog.get_active(settings)).resources[0]
        assert resource.intervals_on(next_day) == resource.plan.days[next_day.isoweekday()]
        assert resource.intervals_on(TOMORROW) == LUNCH_BREAK

    async def test_setting_a_date_again_replaces_its_exception_and_keeps_the_others(
        self, manage: ManageResources
    ) -> None:
        later = TOMORROW.add(days=2)
        await manage.set_exception(1, later, [])
        await manage.set_exception(1, TOMORROW, [])

        changed = await manage.set_exception(1, TOMORROW, LUNCH_BREAK[:1])

        assert dict(changed.resource.exceptions) == {TOMORROW: LUNCH_BREAK[:1], later: ()}

    async def test_removing_an_exception_gives_the_plan_back_and_lists_what_it_strands(
        self, manage: ManageResources, create_booking: CreateAgentBooking
    ) -> None:
        extra = (OpenInterval(pendulum.Time(18), pendulum.Time(20)),)
        await manage.set_exception(1, TOMORROW, extra)
        evening = await create_booking(
            basic_body(booking_date=TOMORROW.isoformat(), booking_time="18:00")
        )

        removed = await manage.remove_exception(1, TOMORROW)

        assert dict(removed.resource.exceptions) == {}
        assert [booking.id for booking, _ in removed.stranded] == [evening.booking.id]
        again = await manage.remove_exception(1, TOMORROW)  # nothing there: nothing changes
        assert dict(again.resource.exceptions) == {}

    @pytest.mark.parametrize(
        "intervals",
        [
            [OpenInterval(pendulum.Time(9), pendulum.Time(12, 30)), LUNCH_BREAK[0]],  # overlap
            [LUNCH_BREAK[0], LUNCH_BREAK[0]],  # twice
        ],
    )
    async def test_overlapping_intervals_are_refused_and_change_nothing(
        self,
        manage: ManageResources,
        store: InMemoryStore,
        settings: BusinessSettings,
        intervals: list[OpenInterval],
    ) -> None:
        with pytest.raises(InvalidCatalog):
            await manage.set_exception(1, TOMORROW, intervals)

        async with store.unit_of_work() as uow:
            resource = (await uow.catalog.get_active(settings)).resources[0]
        assert dict(resource.exceptions) == {}

    async def test_an_unknown_resource_is_not_found(self, manage: ManageResources) -> None:
        with pytest.raises(ResourceNotFound):
            await manage.set_exception(99, TOMORROW, [])
        with pytest.raises(ResourceNotFound):
            await manage.remove_exception(99, TOMORROW)
