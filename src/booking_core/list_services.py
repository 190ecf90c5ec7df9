"""The catalog's services, for an agent asking what can be booked.

A read of the active catalog, nothing more: the services that can be booked now (``active``),
by name, with their durations; and whether a name outside the catalog is booked too (as a
service one slot long) or refused. Used by the ``list_services`` agent tool.
"""

from __future__ import annotations

from attrs import frozen

from agent_booking.core.errors import SettingsMissing
from agent_booking.core.ports import UnitOfWorkFactory
from agent_booking.core.resources import ACCEPT_UNKNOWN, Service

__all__ = ["ListServices", "ServiceList"]


@frozen
class ServiceList:
    #: The active catalog services, by name (case-insensitively), then id.
    services: tuple[Service, ...]
    #: Whether a service name outside the catalog is booked (one slot long) or refused.
    other_names_accepted: bool
    slot_minutes: int


class ListServices:
    def __init__(self, reads: UnitOfWorkFactory) -> None:
        self._reads = reads

    async def __call__(self) -> ServiceList:
        async with self._reads() as uow:
            settings = await uow.settings.get_active()
            if settings is None:
                raise SettingsMissing
            catalog = await uow.catalog.get_active(settings)
        services = sorted(
            (service for service in catalog.services if service.active),
            key=lambda service: (service.name.casefold(), service.id or 0),
        )
        return ServiceList(
            services=tuple(services),
            other_names_accepted=catalog.unknown_services == ACCEPT_UNKNOWN,
            slot_minutes=settings.slot_minutes,
        )
