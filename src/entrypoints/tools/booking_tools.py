"""The tools whose use cases exist today: ``book_appointment`` and ``check_day``.

``book_appointment`` runs the create endpoint's own :class:`BookingEndpoint` (the same use case,
idempotency keys, customer-disclosure rule, metrics and outbox event as
``POST /api/agent/booking/create/``), so a tool call and an HTTP request with the same body and
key are one and the same request: either may replay the other. ``check_day`` runs the
availability query of ``GET /api/agent/availability/?date=``.

Still to come, each a few lines here once its use case exists (the conversation issue):
``list_services``, ``find_free_slots``, ``hold_slot``, ``confirm_hold``, ``find_bookings``,
``reschedule_booking``, ``cancel_booking``. They are not registered until then.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

import msgspec

from agent_booking.core.check_availability import AvailabilityQuery, CheckAvailability
from agent_booking.core.errors import InvalidIdempotencyKey
from agent_booking.core.parsing import DateOrder
from agent_booking.entrypoints.http.booking_endpoint import BookingEndpoint
from agent_booking.entrypoints.http.presenters import availability_view
from agent_booking.entrypoints.http.request_bodies import (
    AcceptedDate,
    CreateBookingRequest,
    documented,
)
from agent_booking.entrypoints.http.spoken_text import Speech
from agent_booking.entrypoints.tools.registry import (
    AgentTool,
    ToolCall,
    ToolHints,
    ToolResult,
    required_text,
)

__all__ = ["BookAppointmentArguments", "CheckDayArguments", "booking_tools"]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class BookAppointmentArguments(CreateBookingRequest, frozen=True):
    """The create request's fields, and an optional idempotency key."""

    idempotency_key: (
        Annotated[
            str,
            documented(
                "Makes a retried call safe: a call with a key already used (and the same other "
                "arguments) gets the first call's outcome again instead of a second booking. "
                "Use a fresh key per intended booking, e.g. the conversation's id.",
                pattern=r"^[\x21-\x7e]{1,255}$",
            ),
        ]
        | None
    ) = None


class CheckDayArguments(msgspec.Struct, frozen=True):
    """One day to look at."""

    date: AcceptedDate


BOOK_APPOINTMENT_DESCRIPTION = (
    "Book one appointment for a caller. Call it once the caller has agreed to a specific "
    "service, date and time. Before calling, ask for (or confirm) the caller's phone number, "
    "the service, the date and the start time; first and last name and e-mail are used only "
    "for a new customer, so ask for them when the caller is new. If unsure whether the time "
    "is free, call check_day first. Dates are in any of the accepted formats (ISO "
    "`YYYY-MM-DD` is safest), times local to the business (`14:00` or `2:00 PM`). A refusal "
    "is an error result with `code` and `message`; when the time is taken or not bookable it "
    "carries `alternatives` (nearest free date and time): offer those to the caller and book "
    "again with the one they choose. Pass an `idempotency_key` to make a retry safe."
)
CHECK_DAY_DESCRIPTION = (
    "See which appointment start times are free and which are taken on one date. Call it "
    "when a caller asks what is available on a day, or before suggesting a time. Ask the "
    "caller which date they want first. Answers the business time zone, the slot length in "
    "minutes, and for the day whether it is closed and its free and taken start times "
    "(`HH:MM:SS`, local time)."
)


def booking_tools(
    endpoint: BookingEndpoint,
    check_availability: CheckAvailability,
    date_order: DateOrder,
    speech: Speech,
) -> list[AgentTool]:
    async def book_appointment(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        key = arguments.pop("idempotency_key", None)
        if key is None:
            key = call.idempotency_key
        elif not isinstance(key, str):
            raise InvalidIdempotencyKey
        answer = await endpoint.answer(
            content_type=None,
            idempotency_key=key,
            raw_body=_encode(arguments),
            trusted=call.trusted,
        )
        return ToolResult(ok=answer.status == HTTPStatus.CREATED, body=_decode(answer.body))

    async def check_day(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        del call  # the same answer for every caller
        query = AvailabilityQuery.parse(
            date=required_text(arguments, "date"), date_order=date_order
        )
        view = availability_view(await check_availability(query), speech)
        return ToolResult(ok=True, body=msgspec.to_builtins(view))

    return [
        AgentTool(
            name="book_appointment",
            description=BOOK_APPOINTMENT_DESCRIPTION,
            hints=ToolHints(read_only=False, destructive=False, idempotent=False),
            arguments=BookAppointmentArguments,
            handler=book_appointment,
        ),
        AgentTool(
            name="check_day",
            description=CHECK_DAY_DESCRIPTION,
            hints=ToolHints(read_only=True, destructive=False, idempotent=True),
            arguments=CheckDayArguments,
            handler=check_day,
        ),
    ]
