"""What the HTTP API answers on success: msgspec Structs, and functions from domain results to them.

The core returns domain values (bookings, customers, availability, settings); their JSON shape is
the HTTP contract's, so it lives here. The Structs are what the handlers return (Litestar encodes
them, and documents them in the generated OpenAPI) and what the create endpoint's direct lane
encodes, so both ways in answer byte for byte alike. Declaration order is the wire order; the
Structs are keyword-only so that fields with defaults (``success`` first, as the contract
orders it) may come before the others.

A booking as admins and the dashboards see it is the outbox event's payload
(``agent_booking.core.events.booking_event_payload``, a domain event): :class:`BookingView`
documents it and :func:`booking_view` converts it, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Annotated, Any, Final, Literal

import msgspec
import pendulum
from msgspec import Meta

from agent_booking.core.check_availability import Availability
from agent_booking.core.create_agent_booking import RenderedOutcome
from agent_booking.core.entities import Booking, Customer, CustomerProfile
from agent_booking.core.events import booking_event_payload, format_instant, format_time
from agent_booking.core.placement import Placement
from agent_booking.core.resources import Catalog
from agent_booking.core.settings import BusinessSettings
from agent_booking.entrypoints.http.spoken_text import Speech

__all__ = [
    "AvailabilityView",
    "BookingCreated",
    "BookingEnvelope",
    "BookingList",
    "BookingView",
    "CancelledBookingView",
    "PublicBookingCreated",
    "ReadyStatus",
    "SettingsEnvelope",
    "SettingsUpdated",
    "SettingsView",
    "availability_view",
    "booking_created",
    "booking_view",
    "booking_views",
    "created_outcome",
    "created_user",
    "public_booking_created",
    "public_replay",
    "resource_ref",
    "service_ref",
    "settings_view",
]

_CREATED_MESSAGE: Final = "Booking created successfully"

Date = Annotated[
    str,
    Meta(description="A calendar date, ISO 8601 (`YYYY-MM-DD`).", pattern=r"^\d{4}-\d{2}-\d{2}$"),
]
Time = Annotated[
    str,
    Meta(
        description="A local time of day in the business time zone, `HH:MM:SS`.",
        pattern=r"^[0-9]{2}:[0-9]{2}:[0-9]{2}$",
        examples=["14:00:00"],
    ),
]
Instant = Annotated[
    str,
    Meta(
        description="A UTC instant to the second, ISO 8601 with a `Z` suffix.",
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
        examples=["2026-11-25T12:00:00Z"],
    ),
]
BookingStatusName = Literal[
    "upcoming", "pending", "completed", "cancelled", "held", "released", "expired"
]


# --- the create endpoint --------------------------------------------------------------------------
#
# Two bodies of one shape: who may see what is the HTTP adapter's decision (``agent_access``).
# A trusted agent (the operator configured API keys and the caller sent one) gets the spec's
# body, :class:`BookingCreated`, which describes the *stored* customer. Anyone else gets
# :class:`PublicBookingCreated`: the same keys, the booking the same, but the customer only as
# the request itself described it, and ``null`` for what only the stored customer could tell
# (its id, whether the phone was new, whether it is active). Knowing a phone number must not be
# a way to read a customer's profile, or to learn that the phone is a customer's.

_NOT_DISCLOSED = "`null`: not disclosed to callers without an API key."


class ResourceRef(msgspec.Struct, frozen=True, kw_only=True):
    """The resource (person or room) a booking holds."""

    id: int
    name: str


class ServiceRef(msgspec.Struct, frozen=True, kw_only=True):
    """The service booked: a catalog service, or (``id`` null) the request's free-text name
    booked with the slot length."""

    id: int | None
    name: str
    duration_minutes: int


class CreatedBooking(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    service_name: str
    booking_date: Date
    booking_time: Time
    status: Annotated[
        Literal["pending", "upcoming", "held"],
        Meta(description="`held` only in the answer to a hold (`POST /api/agent/holds/`)."),
    ]
    notes: str
    created_at: Instant
    #: Null only in a replay of an answer recorded before resources existed.
    resource: ResourceRef | None = None
    service: ServiceRef | None = None
    hold_expires_at: Annotated[
        Instant | msgspec.UnsetType,
        Meta(description="Only for a hold: until when the start is kept for the caller."),
    ] = msgspec.UNSET
    spoken: Annotated[
        str | msgspec.UnsetType,
        Meta(
            description="Only in the answers to a hold and to its confirmation: the start as a "
            "voice says it, in `BOOKING_LOCALE` and the business time zone (a create's answer "
            "keeps the spec's keys)."
        ),
    ] = msgspec.UNSET


class CreatedUser(msgspec.Struct, frozen=True, kw_only=True):
    """The stored customer."""

    id: int
    username: Annotated[str, Meta(description="The normalised phone.")]
    first_name: str
    last_name: str
    email: str
    phone: Annotated[str, Meta(description="The normalised phone.")]
    is_active: bool
    created: Annotated[bool, Meta(description="Same as `user_created`.")]


class CreatedData(msgspec.Struct, frozen=True, kw_only=True):
    booking: CreatedBooking
    user: CreatedUser


class BookingCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The spec's success body, for a trusted agent (it sent a configured API key): the
    customer as stored (an existing customer keeps the profile of its first booking)."""

    success: Literal[True] = True
    message: Literal["Booking created successfully"] = _CREATED_MESSAGE
    user_created: Annotated[bool, Meta(description="The phone was new.")]
    user_id: int
    booking_id: int
    data: CreatedData


class UserAsSent(msgspec.Struct, frozen=True, kw_only=True):
    """The customer as this request described it; nothing read from storage."""

    id: Annotated[None, Meta(description=_NOT_DISCLOSED)]
    username: Annotated[str, Meta(description="The normalised phone of this request.")]
    first_name: Annotated[str, Meta(description="As this request sent it (trimmed), or empty.")]
    last_name: Annotated[str, Meta(description="As this request sent it (trimmed), or empty.")]
    email: Annotated[str, Meta(description="As this request sent it (trimmed), or empty.")]
    phone: Annotated[str, Meta(description="The normalised phone of this request.")]
    is_active: Annotated[None, Meta(description=_NOT_DISCLOSED)]
    created: Annotated[None, Meta(description=_NOT_DISCLOSED)]


class PublicCreatedData(msgspec.Struct, frozen=True, kw_only=True):
    booking: CreatedBooking
    user: UserAsSent


class PublicBookingCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The spec's success body for a caller without an API key: the same keys and the same
    booking, but the customer only as the request described it. Whether the phone was known,
    and the stored customer's id and profile, are not disclosed."""

    success: Literal[True] = True
    message: Literal["Booking created successfully"] = _CREATED_MESSAGE
    user_created: Annotated[None, Meta(description=_NOT_DISCLOSED)]
    user_id: Annotated[None, Meta(description=_NOT_DISCLOSED)]
    booking_id: int
    data: PublicCreatedData


def resource_ref(placement: Placement) -> ResourceRef:
    """The ``resource`` object of a booking's answers and messages."""
    return ResourceRef(id=placement.resource_id, name=placement.resource_name)


def service_ref(placement: Placement) -> ServiceRef:
    """The ``service`` object of a booking's answers and messages."""
    return ServiceRef(
        id=placement.service_id,
        name=placement.service_name,
        duration_minutes=placement.duration_minutes,
    )


def booking_created(
    booking: Booking,
    customer: Customer,
    customer_created: bool,
    placement: Placement,
    *,
    spoken: str | msgspec.UnsetType = msgspec.UNSET,
) -> BookingCreated:
    """The spec's success body for a booking (it does not mention the event), with the
    booking's resource and service (and ``spoken``, for holds and confirmations)."""
    return BookingCreated(
        user_created=customer_created,
        user_id=customer.id,
        booking_id=booking.id,
        data=CreatedData(
            booking=_created_booking(booking, placement, spoken),
            user=created_user(customer, created=customer_created),
        ),
    )


def created_user(customer: Customer, *, created: bool) -> CreatedUser:
    """The ``user`` object of a create's (or a move's) success body."""
    return CreatedUser(
        id=customer.id,
        username=customer.username,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone,
        is_active=customer.is_active,
        created=created,
    )


def public_booking_created(
    booking: Booking,
    sent: CustomerProfile,
    placement: Placement,
    *,
    spoken: str | msgspec.UnsetType = msgspec.UNSET,
) -> PublicBookingCreated:
    """The success body for a caller without an API key; ``sent`` is what its request said."""
    return _public(_created_booking(booking, placement, spoken), sent)


def public_replay(recorded: Mapping[str, Any], sent: CustomerProfile) -> PublicBookingCreated:
    """A recorded success (:func:`created_outcome`, the spec's body) as a caller without an API
    key sees it: exactly what :func:`public_booking_created` answered the first time."""
    booking = msgspec.convert(recorded["data"]["booking"], CreatedBooking)
    return _public(booking, sent)


def _public(booking: CreatedBooking, sent: CustomerProfile) -> PublicBookingCreated:
    return PublicBookingCreated(
        user_created=None,
        user_id=None,
        booking_id=booking.id,
        data=PublicCreatedData(
            booking=booking,
            user=UserAsSent(
                id=None,
                username=sent.phone,
                first_name=sent.first_name,
                last_name=sent.last_name,
                email=sent.email,
                phone=sent.phone,
                is_active=None,
                created=None,
            ),
        ),
    )


def _created_booking(
    booking: Booking, placement: Placement, spoken: str | msgspec.UnsetType = msgspec.UNSET
) -> CreatedBooking:
    return CreatedBooking(
        spoken=spoken,
        resource=resource_ref(placement),
        service=service_ref(placement),
        id=booking.id,
        service_name=booking.service_name,
        booking_date=booking.booking_date.isoformat(),
        booking_time=format_time(booking.booking_time),
        status=booking.status.value,  # type: ignore[arg-type]
        notes=booking.notes,
        created_at=format_instant(booking.created_at),
        hold_expires_at=(
            msgspec.UNSET
            if booking.hold_expires_at is None
            else format_instant(booking.hold_expires_at)
        ),
    )


def created_outcome(
    booking: Booking,
    customer: Customer,
    customer_created: bool,
    placement: Placement,
    *,
    spoken: str | msgspec.UnsetType = msgspec.UNSET,
) -> RenderedOutcome:
    """The answer recorded under an Idempotency-Key: always the spec's body, so that a trusted
    agent's replay is the same answer; a replay to anyone else goes through
    :func:`public_replay`."""
    body = msgspec.to_builtins(
        booking_created(booking, customer, customer_created, placement, spoken=spoken)
    )
    return HTTPStatus.CREATED, body


# --- availability ---------------------------------------------------------------------------------


class DayAvailabilityView(msgspec.Struct, frozen=True, kw_only=True):
    date: Date
    closed: Annotated[
        Literal["off_day", "closed_date"] | None,
        Meta(description="Why the day has no slots, or `null` for a working day."),
    ]
    free: Annotated[
        list[Time],
        Meta(
            description="Exactly the starts a create request would be granted now. Past starts "
            "and starts beyond the horizon are in neither list."
        ),
    ]
    taken: Annotated[list[Time], Meta(description="Starts already booked.")]
    spoken: Annotated[
        dict[str, str],
        Meta(
            description="Each start of `free` and `taken` (the key, `HH:MM:SS`) as a voice "
            "agent says it in `BOOKING_LOCALE`, e.g. `Wednesday, October 20, 2:00\u202fPM` "
            "(no year unless not this year).",
        ),
    ]
    free_resources: Annotated[
        list[list[int]],
        Meta(
            description="For each start of `free`, in the same order, the ids of the "
            "resources free for the whole service there, lowest first: a request without "
            "`resource_id` gets the one of these with the fewest active bookings that day."
        ),
    ]


class AvailabilityView(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    timezone: Annotated[str, Meta(description="The business time zone (IANA name).")]
    slot_minutes: Annotated[int, Meta(ge=1, description="Slot length in minutes.")]
    days: Annotated[list[DayAvailabilityView], Meta(description="One entry per day, in order.")]


def availability_view(availability: Availability, speech: Speech) -> AvailabilityView:
    starts = speech.starts
    this_year = speech.this_year(availability.settings.timezone)
    times: dict[pendulum.Time, str] = {}  # each time of day formatted once, not once a day

    def spoken(day: pendulum.Date, *lists: Iterable[pendulum.Time]) -> dict[str, str]:
        said = starts.day(day, this_year)
        answer = {}
        for time in sorted({time for values in lists for time in values}):
            if time not in times:
                times[time] = starts.time(time)
            answer[format_time(time)] = starts.join(said, times[time])
        return answer

    return AvailabilityView(
        timezone=availability.settings.timezone,
        slot_minutes=availability.settings.slot_minutes,
        days=[
            DayAvailabilityView(
                date=day.day.isoformat(),
                closed=day.closed,  # type: ignore[arg-type]
                free=[format_time(time) for time in day.free],
                taken=[format_time(time) for time in day.taken],
                spoken=spoken(day.day, day.free, day.taken),
                free_resources=[list(ids) for ids in day.free_resources],
            )
            for day in availability.days
        ],
    )


# --- the admin API --------------------------------------------------------------------------------


class UserDetails(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    phone: str


class BookingView(msgspec.Struct, frozen=True, kw_only=True):
    """A booking as admins and the WebSocket see it."""

    id: int
    service_name: str
    booking_date: Date
    booking_time: Time
    starts_at: Instant
    status: BookingStatusName
    notes: str
    created_at: Instant
    user_details: UserDetails
    resource: Annotated[
        ResourceRef | None, Meta(description="The resource held (in messages about it).")
    ] = None
    service: Annotated[
        ServiceRef | None, Meta(description="The service booked (in messages about it).")
    ] = None
    hold_expires_at: Annotated[
        Instant | msgspec.UnsetType,
        Meta(description="Only for a hold (status `held`): until when it keeps its start."),
    ] = msgspec.UNSET
    reason: Annotated[
        Literal["released", "expired"] | msgspec.UnsetType,
        Meta(description="Only in `hold_released` messages: given up, or its time ran out."),
    ] = msgspec.UNSET


def booking_view(
    booking: Booking, customer: Customer, catalog: Catalog | None = None
) -> BookingView:
    """The view of a booking; with the ``catalog``, its resource and service too."""
    placement = None if catalog is None else Placement.of_booking(booking, catalog)
    return msgspec.convert(booking_event_payload(booking, customer, placement), BookingView)


def booking_views(
    rows: Iterable[tuple[Booking, Customer]], catalog: Catalog | None = None
) -> list[BookingView]:
    return [booking_view(booking, customer, catalog) for booking, customer in rows]


class BookingList(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: Annotated[list[BookingView], Meta(description="Ordered by start time, then id.")]
    page: Annotated[int, Meta(ge=1, description="This page's number.")]
    page_size: Annotated[int, Meta(ge=1, description="Page size asked for.")]
    total: Annotated[int, Meta(ge=0, description="Bookings matching the filters, on all pages.")]


class BookingEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: BookingView


class CancelledBookingView(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    message: Literal["Booking cancelled"] = "Booking cancelled"
    data: BookingView


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HoursAndMinutes = Annotated[
    str, Meta(pattern=r"^[0-9]{2}:[0-9]{2}$", description="`HH:MM`, local time.")
]


class SettingsView(msgspec.Struct, frozen=True, kw_only=True):
    """The business settings."""

    open_time: _HoursAndMinutes
    close_time: _HoursAndMinutes
    off_days: Annotated[list[Weekday], Meta(description="Weekdays without slots.")]
    slot_minutes: Annotated[int, Meta(ge=1, le=24 * 60, description="Slot length.")]
    timezone: Annotated[str, Meta(description="IANA time zone name.")]
    horizon_days: Annotated[int, Meta(ge=0, description="How many days ahead bookings are taken.")]
    closed_dates: Annotated[list[Date], Meta(description="Dates without slots, in order.")]
    cancel_notice_minutes: Annotated[
        int, Meta(ge=0, description="A caller may cancel only this many minutes before a start.")
    ]
    reschedule_notice_minutes: Annotated[
        int, Meta(ge=0, description="A caller may move only this many minutes before a start.")
    ]
    unknown_services: Annotated[
        Literal["accept", "reject"],
        Meta(
            description="A booking's `service_name` the catalog does not know: `accept` books "
            "it as free text, one slot long (the spec's behaviour); `reject` refuses it with "
            "422 `unknown_service`, listing the catalog's services."
        ),
    ]


def settings_view(settings: BusinessSettings) -> SettingsView:
    return SettingsView(
        open_time=settings.open_time.strftime("%H:%M"),
        close_time=settings.close_time.strftime("%H:%M"),
        off_days=settings.off_day_names(),  # type: ignore[arg-type]
        slot_minutes=settings.slot_minutes,
        timezone=settings.timezone,
        horizon_days=settings.horizon_days,
        closed_dates=[day.isoformat() for day in sorted(settings.closed_dates)],
        cancel_notice_minutes=settings.cancel_notice_minutes,
        reschedule_notice_minutes=settings.reschedule_notice_minutes,
        unknown_services=settings.unknown_services,  # type: ignore[arg-type]
    )


class SettingsEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: SettingsView


class SettingsUpdated(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: SettingsView
    stranded_bookings: Annotated[
        list[BookingView],
        Meta(
            description="Active future bookings the new settings would no longer accept. They "
            "are kept: the operator decides what to do with them."
        ),
    ]


# --- probes ---------------------------------------------------------------------------------------


class LiveStatus(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok"] = "ok"


class ReadyStatus(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ready"] = "ready"
