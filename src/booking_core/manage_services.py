"""Managing the catalog's services: the admin adds one, or changes any of its fields.

There is no removal: bookings keep the id of the service they booked (the history, the
dashboards and the stranded-booking reports read it), so a service that is no longer offered is
deactivated instead (``active=False``): it takes no new bookings, and requests naming it are
then treated as any unknown service name. A change never moves or cancels a booking, and a
booking keeps the occupied interval it was booked with: the answer lists the service's open
future bookings that the changed service would no longer accept where they are (it no longer
fits their resource's hours that day, or that resource no longer performs it). Every change
makes each process read the catalog again (the storage bumps its version in the transaction).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import attrs
from attrs import frozen

from agent_booking.core.entities import Booking, Customer
from agent_booking.core.errors import (
    InvalidCatalog,
    ServiceNameTaken,
    ServiceNotFound,
    SettingsMissing,
    UnknownResource,
)
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from agent_booking.core.resources import Catalog, Service, printable_name
from agent_booking.core.settings import BusinessSettings
from agent_booking.core.stranded import find_stranded

__all__ = ["ManageServices", "ServiceChanged", "ServiceChanges"]

_T = TypeVar("_T")
#: The longest name the storage keeps (and its case-folded key).
_MAX_NAME = 100


@frozen(kw_only=True)
class ServiceChanges:
    """The fields to change; ``None`` leaves a field as it is. ``resource_ids`` empty: every
    resource performs the service."""

    name: str | None = None
    duration_minutes: int | None = None
    buffer_before: int | None = None
    buffer_after: int | None = None
    min_notice_minutes: int | None = None
    resource_ids: Iterable[int] | None = None
    active: bool | None = None

    def applied_to(self, service: Service) -> Service:
        """``service`` with these changes, checked as every service is (ranges, name)."""
        return Service(
            service.id,
            service.name if self.name is None else printable_name(self.name),
            _given(self.duration_minutes, service.duration_minutes),
            buffer_before=_given(self.buffer_before, service.buffer_before),
            buffer_after=_given(self.buffer_after, service.buffer_after),
            min_notice_minutes=_given(self.min_notice_minutes, service.min_notice_minutes),
            resource_ids=service.resource_ids if self.resource_ids is None else self.resource_ids,
            active=_given(self.active, service.active),
        )


@frozen
class ServiceChanged:
    service: Service
    stranded: tuple[tuple[Booking, Customer], ...]


#: What a new service starts from: the fields a request leaves out.
_NEW = Service(0, "new", 60)


class ManageServices:
    """Add a catalog service, or change it (rename, duration, buffers, notice, performers,
    (de)activate); a change answers the service's bookings it strands."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def add(self, fields: ServiceChanges) -> Service:
        """A new service from ``fields`` (a name and a duration at least; every resource
        performs it and it is active unless they say otherwise)."""
        checked = fields.applied_to(_NEW)  # refused before any write
        async with self._uow() as uow:
            catalog = await _catalog(uow)
            _check_against(catalog, checked)
            service_id = await uow.catalog.add_service(checked)
            await uow.commit()
        return attrs.evolve(checked, id=service_id)

    async def change(self, service_id: int, changes: ServiceChanges) -> ServiceChanged:
        async with self._uow() as uow:
            settings = await _settings(uow)
            catalog = await uow.catalog.get_active(settings)
            current = catalog.service(service_id)
            if current is None:
                raise ServiceNotFound
            changed = changes.applied_to(current)
            _check_against(catalog, changed)
            await uow.catalog.change_service(changed)
            stranded = await self._stranded(uow, settings, catalog, changed)
            await uow.commit()
        return ServiceChanged(changed, stranded)

    async def _stranded(
        self, uow: UnitOfWork, settings: BusinessSettings, catalog: Catalog, changed: Service
    ) -> tuple[tuple[Booking, Customer], ...]:
        """The changed service's open future bookings that it strands (judged on the catalog
        as it will be; other services' bookings are not this change's business)."""
        services = [changed if item.id == changed.id else item for item in catalog.services]
        found = await find_stranded(
            uow, SlotPolicy(settings), attrs.evolve(catalog, services=services), self._clock.now()
        )
        return tuple(
            (item.booking, item.customer) for item in found if item.booking.service_id == changed.id
        )


def _given(value: _T | None, current: _T) -> _T:
    return current if value is None else value


def _check_against(catalog: Catalog, service: Service) -> None:
    """Refusals that depend on the rest of the catalog: a name another service has
    (case-insensitively), a resource that does not exist."""
    if len(service.key) > _MAX_NAME:  # stored, and unique, case-folded: "ß" is "ss"
        raise InvalidCatalog(f"a name must be at most {_MAX_NAME} characters case-folded")
    if any(item.key == service.key and item.id != service.id for item in catalog.services):
        raise ServiceNameTaken
    unknown = sorted(service.resource_ids - {item.id for item in catalog.resources})
    if unknown:
        raise UnknownResource(f"Unknown resource: {', '.join(map(str, unknown))}")


async def _settings(uow: UnitOfWork) -> BusinessSettings:
    settings = await uow.settings.get_active()
    if settings is None:
        raise SettingsMissing
    return settings


async def _catalog(uow: UnitOfWork) -> Catalog:
    return await uow.catalog.get_active(await _settings(uow))
