"""The admin's changes to resources (ManageResources): add, rename, deactivate, replace a plan.

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
