"""The admin API's resources: views of a resource and its plan, and the request bodies.

A resource's ``weekly_plan`` is the plan it works (the business hours while it follows them),
keyed by ISO weekday ``"1"`` (Monday) to ``"7"``; ``exceptions`` replace it on single dates.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import pendulum
from msgspec import Meta

from agent_booking.core.errors import InvalidCatalog
from agent_booking.core.resources import OpenInterval, Resource, WeeklyPlan
from agent_booking.entrypoints.http.presenters import BookingView

__all__ = [
    "ExceptionBody",
    "IntervalBody",
    "NewResourceBody",
    "PlanBody",
    "PlanReplacedView",
    "ResourceChangesBody",
    "ResourceEnvelope",
    "ResourceList",
    "ResourceView",
    "exception_intervals",
    "resource_view",
    "weekly_plan",
]

_Time = Annotated[
    str,
    Meta(pattern="^(?:[01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, local wall-clock time."),
]
_Name = Annotated[str, Meta(min_length=1, max_length=100, description="1-100 characters.")]
_Weekday = Annotated[str, Meta(pattern="^[1-7]$", description="ISO weekday, 1 (Monday) to 7.")]


class IntervalBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[opens, closes)``: open from ``opens`` until ``closes``."""

    opens: _Time
    closes: _Time


class ExceptionView(msgspec.Struct, frozen=True, kw_only=True):
    date: Annotated[str, Meta(description="YYYY-MM-DD.")]
    intervals: Annotated[list[IntervalBody], Meta(description="None: closed that date.")]


class ResourceView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    active: bool
    follows_business_hours: Annotated[
        bool, Meta(description="Works the settings' hours and off days (no plan of its own).")
    ]
    weekly_plan: Annotated[
        dict[_Weekday, list[IntervalBody]],
        Meta(description='Open intervals per ISO weekday ("1" Monday … "7" Sunday), in order.'),
    ]
    exceptions: Annotated[list[ExceptionView], Meta(description="By date.")]


class ResourceList(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: Annotated[list[ResourceView], Meta(description="By id.")]


class ResourceEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: ResourceView


class PlanReplacedView(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: ResourceView
    stranded_bookings: Annotated[
        list[BookingView],
        Meta(
            description="The resource's active future bookings the new plan no longer holds. "
            "They are kept: the operator decides what to do with them."
        ),
    ]


class NewResourceBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: _Name


class ResourceChangesBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: _Name | None = None
    active: bool | None = None


class PlanBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    weekly_plan: Annotated[
        dict[_Weekday, list[IntervalBody]],
        Meta(description="Every weekday's intervals; a weekday left out is not worked."),
    ]


class ExceptionBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    intervals: Annotated[
        list[IntervalBody],
        Meta(description="The open intervals on that date, in any order; none: closed all day."),
    ]


def exception_intervals(body: ExceptionBody) -> list[OpenInterval]:
    """The intervals sent; the core refuses intervals that overlap or close before they open."""
    return [_interval(item) for item in body.intervals]


def _time(text: str) -> pendulum.Time:
    hours, minutes = text.split(":")
    return pendulum.Time(int(hours), int(minutes))


def _interval(body: IntervalBody) -> OpenInterval:
    return OpenInterval(_time(body.opens), _time(body.closes))


def weekly_plan(body: PlanBody) -> WeeklyPlan:
    """The plan sent; the core refuses intervals that overlap or close before they open."""
    try:
        days = {
            int(day): [_interval(item) for item in items] for day, items in body.weekly_plan.items()
        }
    except ValueError:
        raise InvalidCatalog("weekdays must be ISO weekday numbers 1-7") from None
    return WeeklyPlan(days)


def _intervals(intervals: tuple[OpenInterval, ...]) -> list[IntervalBody]:
    return [
        IntervalBody(opens=f"{item.opens:%H:%M}", closes=f"{item.closes:%H:%M}")
        for item in intervals
    ]


def resource_view(resource: Resource) -> ResourceView:
    return ResourceView(
        id=resource.id,
        name=resource.name,
        active=resource.active,
        follows_business_hours=resource.follows_business_hours,
        weekly_plan={
            str(day): _intervals(items) for day, items in sorted(resource.plan.days.items())
        },
        exceptions=[
            ExceptionView(date=day.isoformat(), intervals=_intervals(items))
            for day, items in sorted(resource.exceptions.items())
        ],
    )
