"""The catalog read behind the ``list_services`` tool."""

from __future__ import annotations

import pytest

from agent_booking.adapters.memory import InMemoryStore
from agent_booking.core import BusinessSettings
from agent_booking.core.errors import SettingsMissing
from agent_booking.core.list_services import ListServices
from agent_booking.core.resources import REJECT_UNKNOWN, Catalog, Service


def _catalog(*services: Service, unknown: str = "accept") -> Catalog:
    return Catalog(Catalog.single(BusinessSettings()).resources, services, unknown)


class TestListServices:
    async def test_active_services_by_name_with_their_durations(self) -> None:
        store = InMemoryStore(
            BusinessSettings(slot_minutes=30),
            _catalog(
                Service(3, "massage", 90),
                Service(1, "Consultation", 45),
                Service(2, "Retired", 30, active=False),
            ),
        )

        listed = await ListServices(store.unit_of_work)()

        assert [(s.id, s.name, s.duration_minutes) for s in listed.services] == [
            (1, "Consultation", 45),
            (3, "massage", 90),
        ]
        assert listed.other_names_accepted
        assert listed.slot_minutes == 30

    async def test_a_catalog_only_business_says_other_names_are_refused(self) -> None:
        store = InMemoryStore(
            BusinessSettings(), _catalog(Service(1, "Consultation", 45), unknown=REJECT_UNKNOWN)
        )

        listed = await ListServices(store.unit_of_work)()

        assert not listed.other_names_accepted

    async def test_todays_business_has_no_catalog_services(self) -> None:
        listed = await ListServices(InMemoryStore(BusinessSettings()).unit_of_work)()

        assert listed.services == ()
        assert listed.other_names_accepted
        assert listed.slot_minutes == 60

    async def test_without_settings_it_cannot_say(self) -> None:
        with pytest.raises(SettingsMissing):
            await ListServices(InMemoryStore().unit_of_work)()
