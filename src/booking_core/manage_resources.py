"""Managing resources (people, rooms) and their weekly plans: the admin's changes.

A plan change never cancels or moves a booking, as a settings change does not: the plan is
replaced, and the answer lists the resource's active future bookings that no longer fit it, so
the operator can contact those customers. Every change makes each process read the catalog
again (the storage bumps its version in the same transaction).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import pendulum
from attrs import frozen

from agent_booking.core.entities import Booking, Customer
from agent_booking.core.errors import ResourceNotFound, SettingsMissing
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from agent_booking.core.resources import (
    Catalog,
    OpenInterval,
    Resource,
    WeeklyPlan,
    printable_name,
)
from agent_booking.core.settings import BusinessSettings
from agent_booking.core.stranded import find_stranded

__all__ = ["ManageResources", "PlanReplaced"]


@frozen
class PlanReplaced:
    resource: Resource
    stranded: tuple[tuple[Booking, Customer], ...]


class ManageResources:
    """Add a resource, rename or (de)activate it, replace its weekly plan, set or remove its
    exception on a date. Plan and exception changes answer the bookings they strand."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def add(self, name: str) -> Resource:
        """A new active resource with no working hours yet (it is bookable once it has a plan)."""
        checked = Resource(0, printable_name(name), WeeklyPlan({}))  # refused before any write
        async with self._uow() as uow:
            await _settings(uow)
            resource_id = await uow.catalog.add_resource(checked.name, now=self._clock.now())
            await uow.commit()
        return attrs.evolve(checked, id=resource_id)

    async def change(
        self, resource_id: int, *, name: str | None = None, active: bool | None = None
    ) -> Resource:
        async with self._uow() as uow:
            current = await _resource(uow, resource_id)
            changed = attrs.evolve(
                current,
                name=current.name if name is None else printable_name(name),
                active=current.active if active is None else active,
            )
            await uow.catalog.change_resource(resource_id, name=changed.name, active=changed.active)
            await uow.commit()
        return changed

    async def replace_plan(self, resource_id: int, plan: WeeklyPlan) -> PlanReplaced:
        async with self._uow() as uow:
            settings = await _settings(uow)
            current = await _resource(uow, resource_id)
            await uow.catalog.replace_plan(resource_id, plan)
            replaced = attrs.evolve(current, plan=plan, follows_business_hours=False)
            catalog = await uow.catalog.get_active(settings)
            stranded = await self._stranded(uow, SlotPolicy(settings), replaced, catalog)
            await uow.commit()
        return PlanReplaced(replaced, stranded)

    async def set_exception(
        self, resource_id: int, day: pendulum.Date, intervals: Iterable[OpenInterval]
    ) -> PlanReplaced:
        """Replace the resource's exception on ``day``: no intervals closes it that day."""
        checked = _checked(day, intervals)  # refused before any write
        return await self._change_exceptions(resource_id, day, checked)

    async def remove_exception(self, resource_id: int, day: pendulum.Date) -> PlanReplaced:
        """The weekly plan applies on ``day`` again (removing no exception changes nothing)."""
        return await self._change_exceptions(resource_id, day, None)

    async def _change_exceptions(
        self, resource_id: int, day: pendulum.Date, exception: tuple[OpenInterval, ...] | None
    ) -> PlanReplaced:
        async with self._uow() as uow:
            settings = await _settings(uow)
            current = await _resource(uow, resource_id)
            exceptions = {key: value for key, value in current.exceptions.items() if key != day}
            if exception is None:
                await uow.catalog.remove_exception(resource_id, day)
            else:
                await uow.catalog.set_exception(resource_id, day, exception)
                exceptions[day] = exception
            replaced = attrs.evolve(current, exceptions=exceptions)
            catalog = await uow.catalog.get_active(settings)
            stranded = await self._stranded(uow, SlotPolicy(settings), replaced, catalog)
            await uow.commit()
        return PlanReplaced(replaced, stranded)

    async def _stranded(
        self, uow: UnitOfWork, policy: SlotPolicy, resource: Resource, catalog: Catalog
    ) -> tuple[tuple[Booking, Customer], ...]:
        found = await find_stranded(uow, policy, catalog, self._clock.now(), only=resource)
        return tuple((stranded.booking, stranded.customer) for stranded in found)


def _checked(day: pendulum.Date, intervals: Iterable[OpenInterval]) -> tuple[OpenInterval, ...]:
    """The date's intervals, checked (sorted, none overlapping) as a resource checks them."""
    return Resource(0, "checked", WeeklyPlan({}), exceptions={day: intervals}).exceptions[day]


async def _settings(uow: UnitOfWork) -> BusinessSettings:
    settings = await uow.settings.get_active()
    if settings is None:
        raise SettingsMissing
    return settings


async def _resource(uow: UnitOfWork, resource_id: int) -> Resource:
    catalog = await uow.catalog.get_active(await _settings(uow))
    resource = catalog.resource(resource_id)
    if resource is None:
        raise ResourceNotFound
    return resource
