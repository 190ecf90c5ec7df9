"""Which active future bookings new rules would no longer accept, each with its resource.

A change of the business settings (hours, off days, closed dates, slot length, time zone) or of
a resource's weekly plan or exceptions never moves or cancels a booking: it is applied, and the
bookings the new rules would refuse are reported so the operator can call those customers. One
function judges both kinds of change, given the rules as they will be: the policy's settings
(business-wide closures, the slot grid, the business hours that plan-following resources work)
and the catalog's resources (their own plans and exceptions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs
import pendulum
from attrs import frozen

from agent_booking.core.entities import OPEN_STATUSES, Booking, Customer
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import UnitOfWork
from agent_booking.core.queries import BookingQuery
from agent_booking.core.resources import Catalog, Resource, Service, WeeklyPlan

__all__ = ["StrandedBooking", "find_stranded", "stranded_bookings"]

#: Bookings read per query while looking for stranded ones.
_PAGE = 1000


@frozen
class StrandedBooking:
    booking: Booking
    customer: Customer
    #: The resource as the new rules have it (a plan-following one on the new business hours).
    resource: Resource


def stranded_bookings(
    rows: Iterable[tuple[Booking, Customer]],
    policy: SlotPolicy,
    catalog: Catalog,
    now: pendulum.DateTime,
) -> list[StrandedBooking]:
    """The open (upcoming, pending) bookings of ``rows`` starting after ``now`` that
    ``policy`` and ``catalog`` (the new rules) would not accept: on a business closure, not
    fitting their resource's open intervals that day on the slot grid, or on a resource that
    no longer performs their service. Resources that
    follow the business hours are judged on ``policy``'s settings, whatever plan ``catalog``
    still gives them, so a settings change can pass the catalog it had. A booking whose
    resource is not in ``catalog`` is not judged (no rule of this change concerns it). The
    order of ``rows`` is kept."""
    business_hours = WeeklyPlan.from_settings(policy.settings)
    resources = {
        resource.id: (
            attrs.evolve(resource, plan=business_hours)
            if resource.follows_business_hours
            else resource
        )
        for resource in catalog.resources
    }
    stranded: list[StrandedBooking] = []
    for booking, customer in rows:
        resource = resources.get(booking.resource_id)
        if not booking.is_open or booking.starts_at <= now or resource is None:
            continue
        local = booking.starts_at.in_timezone(policy.settings.tz)
        service = _service_of(booking, catalog, policy)
        if not service.performed_by(resource) or not policy.fits_service(
            local.date(), local.time(), service, resource
        ):
            stranded.append(StrandedBooking(booking, customer, resource))
    return stranded


async def find_stranded(
    uow: UnitOfWork,
    policy: SlotPolicy,
    catalog: Catalog,
    now: pendulum.DateTime,
    *,
    only: Resource | None = None,
) -> tuple[StrandedBooking, ...]:
    """Every open booking from yesterday on (paged, in the unit of work's read), judged by
    :func:`stranded_bookings`. With ``only``, just that resource's bookings are judged, on
    ``only`` as given (its new plan or exceptions), whatever ``catalog`` still says of it."""
    if only is not None:
        catalog = attrs.evolve(catalog, resources=(only,))
    query = BookingQuery(date_from=now.date().subtract(days=1), statuses=OPEN_STATUSES, limit=_PAGE)
    stranded: list[StrandedBooking] = []
    while True:
        page = await uow.queries.search(query)
        stranded.extend(stranded_bookings(page.rows, policy, catalog, now))
        if query.offset + len(page.rows) >= page.total or not page.rows:
            return tuple(stranded)
        query = attrs.evolve(query, offset=query.offset + _PAGE)


def _service_of(booking: Booking, catalog: Catalog, policy: SlotPolicy) -> Service:
    """What the booking occupies under the new rules: its catalog service; a free-text one is
    one (new) slot long, as it would be booked now; a service gone from the catalog keeps the
    length it was booked with (its stored occupied interval)."""
    if booking.service_id is None:
        return Service(None, booking.service_name, policy.settings.slot_minutes)
    service = catalog.service(booking.service_id)
    if service is not None:
        return service
    booked: dt.timedelta = booking.occupied_until - booking.occupied_from
    return Service(None, booking.service_name, max(1, int(booked.total_seconds()) // 60))
