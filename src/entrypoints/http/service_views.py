"""The admin API's services: the view of a catalog service, and the request bodies.

The ranges (duration, buffers, notice) are documented here and judged by the core
(:class:`~agent_booking.core.resources.Service`), so a value out of range gets its words
(``400 invalid_catalog``); the bodies are decoded strictly (a string for a number, ``0`` for
``false``, an unknown field: ``400 invalid_request``), as the resources' bodies are.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from agent_booking.core.manage_services import ServiceChanges
from agent_booking.core.resources import Service
from agent_booking.entrypoints.http.presenters import BookingView
from agent_booking.entrypoints.http.request_bodies import documented

__all__ = [
    "NewServiceBody",
    "ServiceChangedView",
    "ServiceChangesBody",
    "ServiceEnvelope",
    "ServiceList",
    "ServiceView",
    "service_changes",
    "service_view",
]

_Name = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=100,
        description="1-100 characters (trimmed), no control characters; unique among the "
        "services case-insensitively.",
    ),
]
_Duration = Annotated[int, documented("Minutes, 5 to 720.", minimum=5, maximum=720)]
_Buffer = Annotated[int, documented("Minutes, 0 to 240.", minimum=0, maximum=240)]
_Notice = Annotated[
    int,
    documented(
        "How long before its start the service may be booked at the latest: minutes, "
        "0 to 10080 (a week).",
        minimum=0,
        maximum=10080,
    ),
]
_ResourceIds = Annotated[
    list[int],
    documented(
        "The ids of the resources that perform it; empty: every resource. An id that is no "
        "resource: 422 `unknown_resource`.",
    ),
]


class ServiceView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    duration_minutes: Annotated[int, Meta(description="How long a booking of it takes.")]
    buffer_before: Annotated[int, Meta(description="Minutes kept free before a booking.")]
    buffer_after: Annotated[int, Meta(description="Minutes kept free after a booking.")]
    min_notice_minutes: Annotated[int, Meta(description="Least notice a booking needs.")]
    resource_ids: Annotated[
        list[int], Meta(description="The resources that perform it, by id; empty: every one.")
    ]
    active: Annotated[bool, Meta(description="Bookable; an inactive service keeps its bookings.")]


class ServiceList(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: Annotated[list[ServiceView], Meta(description="Every service, inactive too, by id.")]


class ServiceEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: ServiceView


class ServiceChangedView(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: ServiceView
    stranded_bookings: Annotated[
        list[BookingView],
        Meta(
            description="The service's active future bookings the changed service no longer "
            "fits where they are (their resource's hours that day, or a resource that no "
            "longer performs it). They are kept, with the time they were booked for: the "
            "operator decides what to do with them."
        ),
    ]


class NewServiceBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: _Name
    duration_minutes: _Duration
    buffer_before: _Buffer = 0
    buffer_after: _Buffer = 0
    min_notice_minutes: _Notice = 0
    resource_ids: _ResourceIds = msgspec.field(default_factory=list)
    active: bool = True


class ServiceChangesBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Any of the fields; one left out (or `null`) stays as it is."""

    name: _Name | None = None
    duration_minutes: _Duration | None = None
    buffer_before: _Buffer | None = None
    buffer_after: _Buffer | None = None
    min_notice_minutes: _Notice | None = None
    resource_ids: _ResourceIds | None = None
    active: Annotated[bool, Meta(description="`false`: deactivate (no delete).")] | None = None


def service_changes(body: NewServiceBody | ServiceChangesBody) -> ServiceChanges:
    return ServiceChanges(
        name=body.name,
        duration_minutes=body.duration_minutes,
        buffer_before=body.buffer_before,
        buffer_after=body.buffer_after,
        min_notice_minutes=body.min_notice_minutes,
        resource_ids=body.resource_ids,
        active=body.active,
    )


def service_view(service: Service) -> ServiceView:
    return ServiceView(
        id=service.id or 0,
        name=service.name,
        duration_minutes=service.duration_minutes,
        buffer_before=service.buffer_before,
        buffer_after=service.buffer_after,
        min_notice_minutes=service.min_notice_minutes,
        resource_ids=sorted(service.resource_ids),
        active=service.active,
    )
