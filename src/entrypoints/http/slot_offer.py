"""``GET /api/agent/slots/``: the next free starts to offer a caller.

Behind the agent endpoints' checks (networks, rate limit, API key) and, like the caller's
bookings, for trusted agents only: it is a tool of the phone conversation (offer, hold, book,
move), whose other steps read and change a caller's bookings. The public availability endpoint
answers the same question by days.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Final, Literal

import msgspec
from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from msgspec import Meta

from agent_booking.core.errors import (
    InvalidDate,
    InvalidField,
    SettingsMissing,
    StorageUnavailable,
    UnknownResource,
    UnknownService,
)
from agent_booking.core.events import format_instant, format_time
from agent_booking.core.offer_slots import (
    DEFAULT_OFFER_LIMIT,
    MAX_OFFER_LIMIT,
    MAX_OFFER_STARTS,
    OfferSlots,
    SlotOffer,
    SlotOfferQuery,
)
from agent_booking.core.parsing import DateOrder
from agent_booking.entrypoints.http.agent_access import is_trusted_agent
from agent_booking.entrypoints.http.errors import framework_error
from agent_booking.entrypoints.http.openapi import (
    AGENT_SECURITY,
    TrustedAgentOperation,
    framework_case,
    query,
    refusals,
)
from agent_booking.entrypoints.http.presenters import Date, Instant, Time
from agent_booking.entrypoints.http.spoken_text import Speech

__all__ = ["ONLY_TRUSTED", "SLOTS_PATH", "SlotOfferView", "slot_offer_routes", "slot_offer_view"]

SLOTS_PATH: Final = "/api/agent/slots/"
ONLY_TRUSTED: Final = "Offering slots needs an agent API key (BOOKING_AGENT_API_KEYS)"
_ID: Final = {"type": "string", "pattern": r"^([1-9][0-9]{0,17})?$"}


class OfferedSlotView(msgspec.Struct, frozen=True, kw_only=True):
    """One free start, in the fields a create (or hold) request takes."""

    booking_date: Date
    booking_time: Time
    starts_at: Instant
    spoken: Annotated[
        str,
        Meta(
            description="The start as a voice agent says it, in `BOOKING_LOCALE` and the "
            "business time zone (no year unless not this year).",
            examples=["Tuesday, March 2, 2:00\u202fPM"],
        ),
    ]
    free_resources: Annotated[
        list[int],
        Meta(
            description="The ids of the resources free for the whole service at this start, "
            "lowest first; a request without `resource_id` gets the one of these with the "
            "fewest active bookings that day."
        ),
    ]


class OfferedServiceView(msgspec.Struct, frozen=True, kw_only=True):
    id: Annotated[int | None, Meta(description="The catalog id; `null` for a free-text name.")]
    name: str
    duration_minutes: int


class SlotOfferView(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    timezone: Annotated[str, Meta(description="The business time zone (IANA name).")]
    service: OfferedServiceView
    slots: Annotated[
        list[OfferedSlotView],
        Meta(description="The next free starts, soonest first; empty if none was found."),
    ]
    searched_until: Annotated[
        Date,
        Meta(
            description="The last day searched: the search stops once it has the starts asked "
            f"for, at the booking horizon, or after {MAX_OFFER_STARTS:,} slot starts looked at "
            "(with short slots, fewer days); ask again with a later `after` to search on."
        ),
    ]


def slot_offer_view(offer: SlotOffer, speech: Speech) -> SlotOfferView:
    this_year = speech.this_year(offer.settings.timezone)
    return SlotOfferView(
        timezone=offer.settings.timezone,
        service=OfferedServiceView(
            id=offer.service.id,
            name=offer.service.name,
            duration_minutes=offer.service.duration_minutes,
        ),
        slots=[
            OfferedSlotView(
                booking_date=item.start.date().isoformat(),
                booking_time=format_time(item.start.time()),
                starts_at=format_instant(item.start),
                spoken=speech.starts(item.start.date(), item.start.time(), this_year),
                free_resources=list(item.resource_ids),
            )
            for item in offer.starts
        ],
        searched_until=offer.searched_until.isoformat(),
    )


def slot_offer_routes(
    offer: OfferSlots, date_order: DateOrder, speech: Speech
) -> list[HTTPRouteHandler]:
    async def only_trusted(request: Request[Any, Any, Any]) -> Response[Any] | None:
        if is_trusted_agent(request.scope):
            return None
        return framework_error(HTTPStatus.FORBIDDEN, message=ONLY_TRUSTED)

    @get(
        SLOTS_PATH,
        name="agent_offer_slots",
        operation_id="agentOfferSlots",
        tags=["agent"],
        summary="The next free starts after a moment, across days",
        description=(
            "The starts a create request would be granted now (the same policy decides), "
            "soonest first, from `after` on (default: now), optionally only in one part of the "
            "day (business time zone: morning before 12:00, afternoon 12:00 to before 17:00, "
            "evening from 17:00). Searches day by day up to the booking horizon, and at most "
            f"{MAX_OFFER_STARTS:,} slot starts; `searched_until` says how far it looked. Only "
            "for trusted agents (403 otherwise)."
        ),
        security=AGENT_SECURITY,
        operation_class=TrustedAgentOperation,
        before_request=only_trusted,
        responses=refusals(
            InvalidDate,
            InvalidField,
            UnknownService,
            UnknownResource,
            SettingsMissing,
            StorageUnavailable,
            framework_case(HTTPStatus.UNAUTHORIZED, "API key required"),
            framework_case(HTTPStatus.FORBIDDEN, ONLY_TRUSTED),
            framework_case(HTTPStatus.TOO_MANY_REQUESTS),
        ),
    )
    async def offer_slots(
        service_id: Annotated[
            str | None,
            query(
                "service_id",
                "A catalog service: its duration, buffers, notice and resources. Takes "
                "precedence over `service`.",
                _ID,
            ),
        ] = None,
        service: Annotated[
            str | None,
            query(
                "service",
                "A service by name, read as a create request's `service_name` (a catalog "
                "service case-insensitively, else a booking one slot long unless the business "
                "books only its catalog). Default: one slot long on any resource.",
                {"type": "string", "maxLength": 100},
            ),
        ] = None,
        after: Annotated[
            str | None,
            query(
                "after",
                "Offer starts from this moment on, inclusive (default and at the earliest: "
                "now): an ISO 8601 date and time with an offset (`2027-03-02T14:00:00Z`) is "
                "an instant, without one (`2027-03-02T14:00`) the business's wall-clock time; "
                "a date alone (any accepted date format) means from its start.",
                {"type": "string", "maxLength": 40},
            ),
        ] = None,
        limit: Annotated[
            str | None,
            query(
                "limit",
                f"How many starts, 1 to {MAX_OFFER_LIMIT} (default {DEFAULT_OFFER_LIMIT}).",
                {"type": "string", "pattern": r"^[0-9]{0,2}$"},
            ),
        ] = None,
        part_of_day: Annotated[
            str | None,
            query(
                "part_of_day",
                "Only starts in this part of the day (local time).",
                {"type": "string", "enum": ["", "morning", "afternoon", "evening"]},
            ),
        ] = None,
        resource_id: Annotated[
            str | None,
            query("resource_id", "Only this resource (default: every one that performs it).", _ID),
        ] = None,
    ) -> SlotOfferView:
        wanted = SlotOfferQuery.parse(
            service_id=service_id,
            service=service,
            after=after,
            limit=limit,
            part_of_day=part_of_day,
            resource_id=resource_id,
            date_order=date_order,
        )
        return slot_offer_view(await offer(wanted), speech)

    return [offer_slots]
