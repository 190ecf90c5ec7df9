"""Where a booking went: its resource and its service, as answers and events show them.

A booking row keeps only the ids (and the free-text name of an ad-hoc service); names and the
service's duration come from the catalog. Answers and messages *gain* these two objects and
change nothing else, so clients of the one-calendar contract keep working.
"""

from __future__ import annotations

from attrs import frozen

from agent_booking.core.entities import Booking
from agent_booking.core.events import JsonObject
from agent_booking.core.ports import UnitOfWork
from agent_booking.core.resources import Catalog, Resource, Service

__all__ = ["Placement", "current_catalog"]

_SECONDS_PER_MINUTE = 60


@frozen
class Placement:
    resource_id: int
    resource_name: str
    service_id: int | None
    service_name: str
    duration_minutes: int

    @classmethod
    def of(cls, resource: Resource, service: Service) -> Placement:
        return cls(resource.id, resource.name, service.id, service.name, service.duration_minutes)

    @classmethod
    def of_booking(cls, booking: Booking, catalog: Catalog) -> Placement:
        """A stored booking's placement; an ad-hoc service lasts its whole occupied interval
        (it has no buffers), a resource or service gone from the catalog keeps its id."""
        resource = catalog.resource(booking.resource_id)
        service = None if booking.service_id is None else catalog.service(booking.service_id)
        occupied = (booking.occupied_until - booking.occupied_from).in_seconds()
        return cls(
            booking.resource_id,
            "" if resource is None else resource.name,
            booking.service_id,
            booking.service_name,
            service.duration_minutes if service else occupied // _SECONDS_PER_MINUTE,
        )

    def as_json(self) -> JsonObject:
        """The ``resource`` and ``service`` objects of an answer or a message."""
        return {
            "resource": {"id": self.resource_id, "name": self.resource_name},
            "service": {
                "id": self.service_id,
                "name": self.service_name,
                "duration_minutes": self.duration_minutes,
            },
        }


async def current_catalog(uow: UnitOfWork) -> Catalog | None:
    """The catalog as of ``uow`` (None without settings): to show bookings' placements."""
    settings = await uow.settings.get_active()
    return None if settings is None else await uow.catalog.get_active(settings)
