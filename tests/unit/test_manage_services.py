"""The admin's changes to the catalog's services (ManageServices): add, change any field,
deactivate; names unique case-insensitively; resources must exist.

A change keeps every booking (and the interval it occupies) and lists the service's future
bookings it strands: one that no longer fits its resource's hours, or on a resource that no
longer performs the service. Other services' bookings are never listed.
"""

from __future__ import annotations

import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryStore
from agent_booking.core import BusinessSettings, CreateAgentBooking
from agent_booking.core.errors import (
    InvalidCatalog,
    ServiceNameTaken,
    ServiceNotFound,
    SettingsMissing,
    UnknownResource,
)
from agent_booking.core.manage_resources import ManageResources
from agent_booking.core.manage_services import ManageServices, ServiceChanges
from agent_booking.core.resources import Service
from tests.unit.builders import TOMORROW, basic_body

CONSULTATION = ServiceChanges(name="Consultation", duration_minutes=90)


@pytest.fixture
def manage(store: InMemoryStore, clock: FixedClock) -> ManageServices:
    return ManageServices(store.unit_of_work, clock)


async def services_of(store: InMemoryStore, settings: BusinessSettings) -> list[Service]:
    async with store.unit_of_work() as uow:
        catalog = await uow.catalog.get_active(settings)
    return list(catalog.services)


def at(time: str, **fields: object) -> dict[str, object]:
    return basic_body(booking_date=TOMORROW.isoformat(), booking_time=time, **fields)


class TestAddService:
    async def test_adds_an_active_service_every_resource_performs(
        self, manage: ManageServices, store: InMemoryStore, settings: BusinessSettings
    ) -> None:
        added = await manage.add(ServiceChanges(name="  Check-up ", duration_minutes=30))

        assert added == Service(1, "Check-up", 30)
        assert await services_of(store, settings) == [added]

    async def test_keeps_every_field_given(
        self, manage: ManageServices, store: InMemoryStore, settings: BusinessSettings
    ) -> None:
        fields = ServiceChanges(
            name="Colour",
            duration_minutes=120,
            buffer_before=10,
            buffer_after=15,
            min_notice_minutes=1440,
            resource_ids=[1],
            active=False,
        )

        added = await manage.add(fields)

        assert added == Service(1, "Colour", 120, 10, 15, 1440, frozenset({1}), active=False)
        assert await services_of(store, settings) == [added]

    async def test_a_new_service_is_booked_for_its_duration(
        self, manage: ManageServices, create_booking: CreateAgentBooking
    ) -> None:
        await manage.add(CONSULTATION)

        booked = await create_booking(at("12:00", service_name="consultation"))

        assert booked.booking.service_id == 1
        span = booked.booking.occupied_until - booked.booking.occupied_from
        assert span.in_minutes() == 90

    @pytest.mark.parametrize("name", ["CONSULTATION", " consultation ", "Consultation"])
    async def test_a_name_taken_in_any_case_is_refused(
        self,
        manage: ManageServices,
        store: InMemoryStore,
        settings: BusinessSettings,
        name: str,
    ) -> None:
        first = await manage.add(CONSULTATION)

        with pytest.raises(ServiceNameTaken):
            await manage.add(ServiceChanges(name=name, duration_minutes=30))

        assert await services_of(store, settings) == [first]

    @pytest.mark.parametrize(
        "fields",
        [
            ServiceChanges(name="", duration_minutes=30),
            ServiceChanges(name="   ", duration_minutes=30),
            ServiceChanges(name="x" * 101, duration_minutes=30),
            ServiceChanges(name="ß" * 51, duration_minutes=30),  # 102 characters case-folded
            ServiceChanges(name="Bell\x07", duration_minutes=30),
            ServiceChanges(name="Short", duration_minutes=4),
            ServiceChanges(name="Long", duration_minutes=721),
            ServiceChanges(name="Gap", duration_minutes=30, buffer_before=241),
            ServiceChanges(name="Gap", duration_minutes=30, buffer_after=-1),
            ServiceChanges(name="Notice", duration_minutes=30, min_notice_minutes=10081),
        ],
    )
    async def test_refuses_values_out_of_range_and_stores_nothing(
        self,
        manage: ManageServices,
        store: InMemoryStore,
        settings: BusinessSettings,
        fields: ServiceChanges,
    ) -> None:
        with pytest.raises(InvalidCatalog):
            await manage.add(fields)

        assert await services_of(store, settings) == []

    async def test_the_limits_themselves_are_accepted(self, manage: ManageServices) -> None:
        low = await manage.add(ServiceChanges(name="x", duration_minutes=5))
        high = await manage.add(
            ServiceChanges(
                name="y" * 100,
                duration_minutes=720,
                buffer_before=240,
                buffer_after=240,
                min_notice_minutes=10080,
            )
        )

        assert (low.duration_minutes, high.duration_minutes, high.min_notice_minutes) == (
            5,
            720,
            10080,
        )

    async def test_an_unknown_resource_is_refused(
        self, manage: ManageServices, store: InMemoryStore, settings: BusinessSettings
    ) -> None:
        with pytest.raises(UnknownResource, match="Unknown resource: 7, 9"):
            await manage.add(
                ServiceChanges(name="Cut", duration_minutes=30, resource_ids=[1, 9, 7])
            )

        assert await services_of(store, settings) == []

    async def test_without_settings_nothing_is_added(self, clock: FixedClock) -> None:
        manage = ManageServices(InMemoryStore().unit_of_work, clock)
        with pytest.raises(SettingsMissing):
            await manage.add(CONSULTATION)


class TestChangeService:
    async def test_changes_only_the_fields_given(self, manage: ManageServices) -> None:
        added = await manage.add(CONSULTATION)

        changed = await manage.change(added.id or 0, ServiceChanges(buffer_after=15))

        assert changed.service == Service(added.id, "Consultation", 90, buffer_after=15)
        assert changed.stranded == ()

    async def test_a_rename_to_its_own_name_in_another_case_is_fine(
        self, manage: ManageServices
    ) -> None:
        added = await manage.add(CONSULTATION)

        changed = await manage.change(added.id or 0, ServiceChanges(name="CONSULTATION"))

        assert changed.service.name == "CONSULTATION"

    async def test_a_rename_to_another_services_name_is_refused(
        self, manage: ManageServices, store: InMemoryStore, settings: BusinessSettings
    ) -> None:
        await manage.add(CONSULTATION)
        other = await manage.add(ServiceChanges(name="Check-up", duration_minutes=30))

        with pytest.raises(ServiceNameTaken):
            await manage.change(other.id or 0, ServiceChanges(name="consultation"))

        assert [item.name for item in await services_of(store, settings)] == [
            "Consultation",
            "Check-up",
        ]

    async def test_an_unknown_service_is_not_found(self, manage: ManageServices) -> None:
        with pytest.raises(ServiceNotFound):
            await manage.change(99, ServiceChanges(active=False))

    async def test_refuses_out_of_range_values_and_changes_nothing(
        self, manage: ManageServices, store: InMemoryStore, settings: BusinessSettings
    ) -> None:
        added = await manage.add(CONSULTATION)

        with pytest.raises(InvalidCatalog):
            await manage.change(added.id or 0, ServiceChanges(duration_minutes=800))
        with pytest.raises(UnknownResource):
            await manage.change(added.id or 0, ServiceChanges(resource_ids=[5]))

        assert await services_of(store, settings) == [added]

    async def test_a_deactivated_service_is_no_longer_booked_by_name(
        self,
        manage: ManageServices,
        store: InMemoryStore,
        create_booking: CreateAgentBooking,
    ) -> None:
        added = await manage.add(CONSULTATION)
        booked = await create_booking(at("12:00", service_name="Consultation"))

        changed = await manage.change(added.id or 0, ServiceChanges(active=False))

        assert changed.service.active is False
        assert changed.stranded == ()  # kept, and not stranded: it still fits where it is
        assert {b.id for b in store.bookings if b.is_active} == {booked.booking.id}
        # Now an unknown name: booked as free text (accept, the default), one slot long.
        later = await create_booking(at("15:00", service_name="Consultation"))
        assert later.booking.service_id is None
        assert (later.booking.occupied_until - later.booking.occupied_from).in_minutes() == 60

    async def test_a_longer_duration_strands_the_booking_it_no_longer_fits_and_keeps_it(
        self,
        manage: ManageServices,
        store: InMemoryStore,
        create_booking: CreateAgentBooking,
    ) -> None:
        added = await manage.add(CONSULTATION)
        fits_later = await create_booking(at("12:00", service_name="Consultation"))
        ends_at_closing = await create_booking(at("15:00", service_name="Consultation"))
        other = await create_booking(at("14:00", service_name="Free text"))

        changed = await manage.change(added.id or 0, ServiceChanges(duration_minutes=150))

        assert [booking.id for booking, _ in changed.stranded] == [ends_at_closing.booking.id]
        assert other.booking.id not in {booking.id for booking, _ in changed.stranded}
        kept = {b.id: b for b in store.bookings}
        assert kept[ends_at_closing.booking.id].is_active
        # Its occupied interval is the one it was booked with (90 minutes).
        booked = kept[fits_later.booking.id]
        assert (booked.occupied_until - booked.occupied_from).in_minutes() == 90

    async def test_a_resource_that_no_longer_performs_it_strands_its_bookings(
        self,
        manage: ManageServices,
        store: InMemoryStore,
        clock: FixedClock,
        create_booking: CreateAgentBooking,
    ) -> None:
        room = await ManageResources(store.unit_of_work, clock).add("Room 2")
        added = await manage.add(CONSULTATION)
        booked = await create_booking(at("12:00", service_name="Consultation", resource_id=1))

        changed = await manage.change(added.id or 0, ServiceChanges(resource_ids=[room.id]))

        assert [booking.id for booking, _ in changed.stranded] == [booked.booking.id]
        assert changed.service.resource_ids == frozenset({room.id})
