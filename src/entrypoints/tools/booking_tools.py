"""The tools whose use cases exist today: ``book_appointment``, ``check_day``,
``find_free_slots``, ``find_bookings``, ``cancel_booking`` and ``reschedule_booking``.

``book_appointment`` runs the create endpoint's own :class:`BookingEndpoint` (the same use case,
idempotency keys, customer-disclosure rule, metrics and outbox event as
``POST /api/agent/booking/create/``), so a tool call and an HTTP request with the same body and
key are one and the same request: either may replay the other. ``check_day`` runs the
availability query of ``GET /api/agent/availability/?date=``. ``find_free_slots`` runs the
offer and presenter of ``GET /api/agent/slots/``; ``find_bookings`` and ``cancel_booking`` run
the :class:`CallerBookingsEndpoint` of ``GET /api/agent/bookings/?phone=`` and
``POST /api/agent/bookings/{id}/cancel/`` (cancel keys are shared with that route: a tool call
and a request with the same key, id and body replay each other). These three need a trusted
agent, as their routes do: anyone else gets the route's 403 body as a tool error.

``list_services`` has no HTTP route: it runs a small read of the catalog
(:class:`ListServices`), open to every caller as the availability is (service names and
durations are what a booking form shows).

``reschedule_booking`` runs the :class:`RescheduleEndpoint` of
``POST /api/agent/bookings/{id}/reschedule/`` (keys shared with that route), for trusted agents
only, as its route.

``hold_slot``, ``confirm_hold`` and ``release_hold`` run the :class:`HoldsEndpoint` of
``POST /api/agent/holds/``, ``POST /api/agent/holds/{id}/confirm/`` and
``DELETE /api/agent/holds/{id}/`` (keys shared with those routes), open to the callers create
is open to.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from attrs import frozen

from agent_booking.core.check_availability import AvailabilityQuery, CheckAvailability
from agent_booking.core.entities import MAX_ID
from agent_booking.core.errors import (
    BookingError,
    InvalidField,
    InvalidIdempotencyKey,
    MissingField,
)
from agent_booking.core.list_services import ListServices, ServiceList
from agent_booking.core.offer_slots import (
    DEFAULT_OFFER_LIMIT,
    MAX_OFFER_LIMIT,
    OfferSlots,
    SlotOfferQuery,
)
from agent_booking.core.parsing import DateOrder
from agent_booking.entrypoints.http.booking_endpoint import BookingEndpoint
from agent_booking.entrypoints.http.caller_bookings import (
    ONLY_TRUSTED,
    CallerBookingsEndpoint,
    CancelBookingRequest,
)
from agent_booking.entrypoints.http.errors import error_body, framework_error_body
from agent_booking.entrypoints.http.holds import HoldsEndpoint
from agent_booking.entrypoints.http.presenters import availability_view
from agent_booking.entrypoints.http.request_bodies import (
    IDEMPOTENCY_KEY_PATTERN,
    PHONE,
    AcceptedDate,
    CreateBookingRequest,
    documented,
)
from agent_booking.entrypoints.http.reschedule import RescheduleBookingRequest, RescheduleEndpoint
from agent_booking.entrypoints.http.slot_offer import ONLY_TRUSTED as ONLY_TRUSTED_OFFER
from agent_booking.entrypoints.http.slot_offer import slot_offer_view
from agent_booking.entrypoints.http.spoken_text import Speech
from agent_booking.entrypoints.tools.registry import (
    AgentTool,
    ToolCall,
    ToolHints,
    ToolResult,
    required_text,
)

__all__ = [
    "BookAppointmentArguments",
    "CancelBookingArguments",
    "CheckDayArguments",
    "FindBookingsArguments",
    "FindFreeSlotsArguments",
    "HoldArguments",
    "HoldSlotArguments",
    "ListServicesArguments",
    "RescheduleBookingArguments",
    "ServiceListView",
    "ToolEndpoints",
    "booking_tools",
    "service_list_view",
]

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
                pattern=IDEMPOTENCY_KEY_PATTERN,
            ),
        ]
        | None
    ) = None


class HoldSlotArguments(BookAppointmentArguments, frozen=True):
    """Exactly book_appointment's arguments: the start to hold and who for."""


class HoldArguments(msgspec.Struct, frozen=True, kw_only=True):
    """A hold (its id from hold_slot) and the phone it was made with."""

    hold_id: Annotated[
        int,
        msgspec.Meta(ge=1, le=MAX_ID, description="The hold's id (`booking_id` from hold_slot)."),
    ]
    phone: Annotated[
        str, documented("The phone the hold was made with (any accepted form).", pattern=PHONE)
    ]
    idempotency_key: (
        Annotated[
            str,
            documented(
                "Makes a retried call safe: a call with a key already used (and the same other "
                "arguments) gets the first call's outcome again.",
                pattern=IDEMPOTENCY_KEY_PATTERN,
            ),
        ]
        | None
    ) = None


class CheckDayArguments(msgspec.Struct, frozen=True):
    """One day to look at."""

    date: AcceptedDate


_TOOL_ID = r"^[1-9][0-9]{0,17}$"


class FindFreeSlotsArguments(msgspec.Struct, frozen=True):
    """The offer's query parameters (``GET /api/agent/slots/``), all optional."""

    service: (
        Annotated[
            str,
            documented(
                "The service by name, as the caller says it (a catalog service, matched "
                "case-insensitively). Default: one slot long on any resource.",
                maxLength=100,
            ),
        ]
        | None
    ) = None
    service_id: (
        Annotated[
            str,
            documented(
                "A catalog service's id; takes precedence over `service`.", pattern=_TOOL_ID
            ),
        ]
        | None
    ) = None
    after: (
        Annotated[
            str,
            documented(
                "Offer starts from this moment on (default: now): `2027-03-02T14:00` is the "
                "business's local time, a date alone (`2027-03-02`) means from its start.",
                maxLength=40,
            ),
        ]
        | None
    ) = None
    limit: (
        Annotated[
            str,
            documented(
                f"How many starts, 1 to {MAX_OFFER_LIMIT} (default {DEFAULT_OFFER_LIMIT}), "
                "as digits.",
                pattern=r"^[0-9]{1,2}$",
            ),
        ]
        | None
    ) = None
    part_of_day: (
        Annotated[
            str,
            documented(
                "Only starts in this part of the day (local time): morning before 12:00, "
                "afternoon 12:00 to 17:00, evening from 17:00.",
                enum=["morning", "afternoon", "evening"],
            ),
        ]
        | None
    ) = None
    resource_id: (
        Annotated[str, documented("Only this resource (a person or room) by id.", pattern=_TOOL_ID)]
        | None
    ) = None


class ListServicesArguments(msgspec.Struct, frozen=True):
    """No arguments."""


class ServiceView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    duration_minutes: int


class ServiceListView(msgspec.Struct, frozen=True, kw_only=True):
    success: bool = True
    services: list[ServiceView]
    other_names_accepted: bool
    slot_minutes: int


def service_list_view(listed: ServiceList) -> ServiceListView:
    return ServiceListView(
        services=[
            ServiceView(id=s.id, name=s.name, duration_minutes=s.duration_minutes)
            for s in listed.services
            if s.id is not None
        ],
        other_names_accepted=listed.other_names_accepted,
        slot_minutes=listed.slot_minutes,
    )


class FindBookingsArguments(msgspec.Struct, frozen=True):
    """Whose bookings: the caller's phone."""

    phone: Annotated[
        str, documented("The caller's phone number (any accepted form).", pattern=PHONE)
    ]


class CancelBookingArguments(CancelBookingRequest, frozen=True, kw_only=True):
    """The cancel request's body, the booking's id and an optional idempotency key."""

    booking_id: Annotated[
        int, msgspec.Meta(ge=1, le=MAX_ID, description="The booking's id (from find_bookings).")
    ]
    idempotency_key: (
        Annotated[
            str,
            documented(
                "Makes a retried cancel safe: a call with a key already used (and the same "
                "other arguments) gets the first call's outcome again.",
                pattern=IDEMPOTENCY_KEY_PATTERN,
            ),
        ]
        | None
    ) = None


class RescheduleBookingArguments(RescheduleBookingRequest, frozen=True, kw_only=True):
    """The reschedule request's body, the booking's id and an optional idempotency key."""

    booking_id: Annotated[
        int, msgspec.Meta(ge=1, le=MAX_ID, description="The booking's id (from find_bookings).")
    ]
    idempotency_key: (
        Annotated[
            str,
            documented(
                "Makes a retried move safe: a call with a key already used (and the same "
                "other arguments) gets the first call's outcome again instead of moving twice.",
                pattern=IDEMPOTENCY_KEY_PATTERN,
            ),
        ]
        | None
    ) = None


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


LIST_SERVICES_DESCRIPTION = (
    "List the services that can be booked, each with its `id`, `name` and length in minutes. "
    "Call it when the caller asks what can be booked or how long something takes, or when "
    "the service they name is unclear; nothing to ask the caller first. Pass the chosen "
    "service's `name` as `service_name` to book_appointment (or as `service` to "
    "find_free_slots). When `other_names_accepted` is true, a name outside the list is "
    "booked too, `slot_minutes` long; when false, only these services can be booked. An "
    "empty list with `other_names_accepted` means the business books plain time slots."
)
FIND_FREE_SLOTS_DESCRIPTION = (
    "Find the next free appointment starts to offer a caller, across days, soonest first. "
    "Call it when the caller wants an appointment but has no exact time in mind (\"what's "
    'your next opening?", "something Tuesday afternoon"). Ask which service they want '
    "first (pass it as `service`), and narrow with `after` (a date or local date and time) "
    "and `part_of_day` when they say so. Each start has `booking_date` and `booking_time` "
    "to pass to book_appointment, and `spoken` to read out; offer two or three, not all. "
    "An empty `slots` list means nothing free up to `searched_until`: ask again with a later "
    "`after` to search on."
)
FIND_BOOKINGS_DESCRIPTION = (
    "List the caller's own appointments still to come, soonest first, by their phone "
    "number. Call it when the caller asks when their appointment is, or before cancelling "
    "one (to get its `id`). Ask for (or confirm) the caller's phone number first; if the "
    "call came with the caller's number it is used when `phone` is left out. An empty list "
    "means no upcoming appointment for that number (a new or mistyped number alike): check "
    "the number with the caller. Each booking has `spoken`, the start as you would say it."
)
CANCEL_BOOKING_DESCRIPTION = (
    "Cancel one of the caller's appointments. This cannot be undone: call it only after the "
    "caller has clearly confirmed which appointment (read its `spoken` time back) and that "
    "they want it cancelled. Get the booking's `id` from find_bookings first, with the "
    "phone number it was made with (`phone`; the call's own number is used when left out); "
    "ask for a short `reason` if the caller offers one. A refusal is an error result with "
    "`code`: `booking_not_found` (not this phone's booking), `booking_not_active` (already "
    "cancelled), `too_late` (too close to the start: tell the caller to contact the "
    "business). Pass an `idempotency_key` to make a retry safe."
)

RESCHEDULE_BOOKING_DESCRIPTION = (
    "Move one of the caller's appointments to another date and time (same appointment, "
    "same service). Call it when the caller wants to change when an existing appointment "
    "is. First get the booking's `id` from find_bookings with the caller's phone number "
    "(`phone`; the call's own number is used when left out), read its `spoken` time back "
    "so the caller confirms which one, and ask for the new day and time (call "
    "find_free_slots or check_day first when they are unsure). Dates in any accepted format "
    "(ISO `YYYY-MM-DD` is safest), times local to the business (`14:00` or `2:00 PM`). The "
    "answer's `data.booking.spoken` is the new time and `data.previous.spoken` the old one. "
    "A refusal is an error result with `code`: `slot_taken` or another time rule carries "
    "`alternatives` (each with `spoken`): offer two or three of them and call again with "
    "the one the caller picks; the appointment stays where it was until a move succeeds. "
    "`booking_not_found` (not this phone's booking), `booking_not_active` (cancelled or "
    "not yet confirmed), `too_late` (too close to its current start: tell the caller to "
    "contact the business). Pass an `idempotency_key` to make a retry safe."
)


HOLD_SLOT_DESCRIPTION = (
    'Hold one start for the caller for a few minutes while they decide ("hold the 2 PM '
    'while I check with my wife"): nobody else can book it until it is confirmed with '
    "confirm_hold, released with release_hold, or the hold expires (`hold_expires_at` in the "
    "answer; tell the caller how long they have). Takes exactly book_appointment's "
    "arguments and is refused the same way: when the time is taken the error carries "
    "`alternatives` to offer. Ask for the caller's phone, the service, the date and the time "
    "first. A phone may hold only a couple of starts at once (`too_many_holds`: confirm or "
    "release one first). Keep the answer's `booking_id`: it is the `hold_id` to confirm or "
    "release. If the caller is already sure, call book_appointment instead."
)
CONFIRM_HOLD_DESCRIPTION = (
    "Turn the caller's hold into a booked appointment (same id) once they say yes. Needs the "
    "`hold_id` (the hold's `booking_id` from hold_slot) and the phone it was held with. The "
    "answer is book_appointment's. Refusals: `hold_expired` (too late: the time is no longer "
    "held; check it again with check_day and book it if it is still free), "
    "`booking_not_held` (already confirmed or released), `booking_not_found` (not this "
    "phone's hold)."
)
RELEASE_HOLD_DESCRIPTION = (
    "Give up the caller's hold when they decide against it, so the time is free for others "
    "at once. Needs the `hold_id` (the hold's `booking_id` from hold_slot) and the phone it "
    "was held with. Refusals: `booking_not_held` (already confirmed, released or expired), "
    "`booking_not_found` (not this phone's hold)."
)


@frozen
class ToolEndpoints:
    """The objects behind the routes that the tools run (so a tool and its route answer
    alike and share idempotency keys)."""

    booking: BookingEndpoint
    check_availability: CheckAvailability
    caller_bookings: CallerBookingsEndpoint
    offer_slots: OfferSlots
    list_services: ListServices
    reschedule: RescheduleEndpoint
    holds: HoldsEndpoint | None = None


def booking_tools(  # noqa: PLR0915 - one handler and one registration per tool
    endpoints: ToolEndpoints, date_order: DateOrder, speech: Speech
) -> list[AgentTool]:
    endpoint, check_availability = endpoints.booking, endpoints.check_availability
    caller_bookings, offer_slots = endpoints.caller_bookings, endpoints.offer_slots
    list_services, reschedule, holds = (
        endpoints.list_services,
        endpoints.reschedule,
        endpoints.holds,
    )

    async def list_catalog(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        del arguments, call  # the same answer for every caller
        view = service_list_view(await list_services())
        return ToolResult(ok=True, body=msgspec.to_builtins(view))

    async def book_appointment(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        key = _key(arguments, call)
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

    async def find_free_slots(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        if not call.trusted:
            return ToolResult(ok=False, body=framework_error_body(403, ONLY_TRUSTED_OFFER))
        wanted = SlotOfferQuery.parse(
            **{name: optional_text(arguments, name) for name in _OFFER_FIELDS},
            date_order=date_order,
        )
        view = slot_offer_view(await offer_slots(wanted), speech)
        return ToolResult(ok=True, body=msgspec.to_builtins(view))

    async def find_bookings(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        if not call.trusted:
            return ToolResult(ok=False, body=framework_error_body(403, ONLY_TRUSTED))
        found = await caller_bookings.find(required_text(arguments, "phone"))
        return ToolResult(ok=True, body=msgspec.to_builtins(found))

    async def cancel_booking(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        if not call.trusted:
            return ToolResult(ok=False, body=framework_error_body(403, ONLY_TRUSTED))
        key = _key(arguments, call)
        booking_id = _booking_id(arguments)
        early = await caller_bookings.begin_cancel(booking_id, arguments, key)
        if early is not None:
            return ToolResult(ok=early.status == HTTPStatus.OK, body=early.body)
        cancelled = await caller_bookings.cancel(
            booking_id, arguments.get("phone"), arguments.get("reason"), key
        )
        return ToolResult(ok=True, body=msgspec.to_builtins(cancelled))

    async def reschedule_booking(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        if not call.trusted:
            return ToolResult(ok=False, body=framework_error_body(403, ONLY_TRUSTED))
        key = _key(arguments, call)
        booking_id = _booking_id(arguments)
        early = await reschedule.begin(booking_id, arguments, key)
        if early is not None:
            return ToolResult(ok=early.status == HTTPStatus.OK, body=early.body)
        try:
            moved = await reschedule.move(booking_id, arguments, key)
        except BookingError as error:  # alternatives with ``spoken``, as the route answers
            return ToolResult(ok=False, body=error_body(error, speech))
        return ToolResult(ok=True, body=msgspec.to_builtins(moved))

    async def hold_slot(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        assert holds is not None  # noqa: S101 - registered only with the endpoint
        key = _key(arguments, call)
        answer = await holds.hold.answer(
            content_type=None,
            idempotency_key=key,
            raw_body=_encode(arguments),
            trusted=call.trusted,
        )
        return ToolResult(ok=answer.status == HTTPStatus.CREATED, body=_decode(answer.body))

    async def confirm_hold(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        assert holds is not None  # noqa: S101 - registered only with the endpoint
        key = _key(arguments, call)
        hold_id = _hold_id(arguments)
        answer = await holds.confirm(hold_id, _encode(arguments), key, trusted=call.trusted)
        return ToolResult(ok=answer.status == HTTPStatus.CREATED, body=_decode(answer.body))

    async def release_hold(arguments: dict[str, Any], call: ToolCall) -> ToolResult:
        assert holds is not None  # noqa: S101 - registered only with the endpoint
        key = _key(arguments, call)
        hold_id = _hold_id(arguments)
        answer = await holds.release(hold_id, _encode(arguments), None, key)
        return ToolResult(ok=answer.status == HTTPStatus.OK, body=_decode(answer.body))

    hold_tools = (
        []
        if holds is None
        else [
            AgentTool(
                name="hold_slot",
                description=HOLD_SLOT_DESCRIPTION,
                hints=ToolHints(read_only=False, destructive=False, idempotent=False),
                arguments=HoldSlotArguments,
                handler=hold_slot,
            ),
            AgentTool(
                name="confirm_hold",
                description=CONFIRM_HOLD_DESCRIPTION,
                # Confirming twice leaves the same state (the second is refused as not held).
                hints=ToolHints(read_only=False, destructive=False, idempotent=True),
                arguments=HoldArguments,
                handler=confirm_hold,
            ),
            AgentTool(
                name="release_hold",
                description=RELEASE_HOLD_DESCRIPTION,
                hints=ToolHints(read_only=False, destructive=True, idempotent=True),
                arguments=HoldArguments,
                handler=release_hold,
            ),
        ]
    )

    return [
        AgentTool(
            name="list_services",
            description=LIST_SERVICES_DESCRIPTION,
            hints=ToolHints(read_only=True, destructive=False, idempotent=True),
            arguments=ListServicesArguments,
            handler=list_catalog,
        ),
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
        AgentTool(
            name="find_free_slots",
            description=FIND_FREE_SLOTS_DESCRIPTION,
            hints=ToolHints(read_only=True, destructive=False, idempotent=True),
            arguments=FindFreeSlotsArguments,
            handler=find_free_slots,
        ),
        AgentTool(
            name="find_bookings",
            description=FIND_BOOKINGS_DESCRIPTION,
            hints=ToolHints(read_only=True, destructive=False, idempotent=True),
            arguments=FindBookingsArguments,
            handler=find_bookings,
        ),
        AgentTool(
            name="cancel_booking",
            description=CANCEL_BOOKING_DESCRIPTION,
            # Cancelling twice leaves the same state (the second is refused as not active).
            hints=ToolHints(read_only=False, destructive=True, idempotent=True),
            arguments=CancelBookingArguments,
            handler=cancel_booking,
        ),
        AgentTool(
            name="reschedule_booking",
            description=RESCHEDULE_BOOKING_DESCRIPTION,
            # Moving twice to the same start with one key is one move; without a key the
            # second is a move to where it already is. Nothing is lost: the old start is free.
            hints=ToolHints(read_only=False, destructive=False, idempotent=True),
            arguments=RescheduleBookingArguments,
            handler=reschedule_booking,
        ),
        *hold_tools,
    ]


def _key(arguments: dict[str, Any], call: ToolCall) -> str | None:
    """The call's idempotency key: the argument, else the platform's (a Vapi tool call id)."""
    key = arguments.pop("idempotency_key", None)
    if key is None:
        return call.idempotency_key
    if not isinstance(key, str):
        raise InvalidIdempotencyKey
    return key


def _booking_id(arguments: dict[str, Any]) -> Any:
    """The ``booking_id`` argument, taken out of ``arguments``; the endpoint judges it (a
    non-integer is refused there, as the route refuses a non-integer path)."""
    if "booking_id" not in arguments:
        raise MissingField("booking_id")
    return arguments.pop("booking_id")


def _hold_id(arguments: dict[str, Any]) -> object:
    if "hold_id" not in arguments:
        raise MissingField("hold_id")
    return arguments.pop("hold_id")


_OFFER_FIELDS = ("service_id", "service", "after", "limit", "part_of_day", "resource_id")


def optional_text(arguments: dict[str, Any], name: str) -> str | None:
    """An optional text argument; a number is read as its digits (ids, limit)."""
    value = arguments.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise InvalidField(name, "must be a string")
    return value
