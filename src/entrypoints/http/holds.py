"""Holds for an agent on the phone: hold a start, confirm it, or release it.

- ``POST /api/agent/holds/`` takes exactly a create request and answers exactly as create does
  (same checks, refusals with alternatives, idempotency, who sees the stored customer): it runs a
  second :class:`~agent_booking.entrypoints.http.booking_endpoint.BookingEndpoint` whose use case
  is the hold. The booking in the answer has status ``held`` and ``hold_expires_at``.
- ``POST /api/agent/holds/{id}/confirm/`` with ``{"phone"}`` turns the hold into the booking
  (same id) and answers with the create's 201 body.
- ``DELETE /api/agent/holds/{id}/`` with the phone (``?phone=`` or ``{"phone"}``) releases it.

They are open to the agents create is open to (``agent_access``), and take an
``Idempotency-Key``. A hold of another phone is ``404 booking_not_found``, as one that does not
exist. :class:`HoldsEndpoint` turns requests into answers and never raises; the routes and the
agent tools both call it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Annotated, Any, Final, Literal, cast

import msgspec
from litestar import MediaType, Request, Response, delete, post
from litestar.params import JSONBody

from agent_booking.core.confirm_hold import ConfirmHold
from agent_booking.core.create_agent_booking import AgentBookingResult, IdempotentSuccess
from agent_booking.core.entities import Booking, CustomerProfile
from agent_booking.core.errors import (
    BookingError,
    BookingNotFound,
    BookingNotHeld,
    HoldExpired,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    InvalidField,
    InvalidIdempotencyKey,
    InvalidRequestBody,
    MissingField,
    SettingsMissing,
    StorageUnavailable,
    TooManyHolds,
    TransientConflict,
)
from agent_booking.core.events import format_instant, format_time
from agent_booking.core.idempotency import ClaimOutcome, IdempotencyKeys
from agent_booking.core.placement import Placement
from agent_booking.core.release_hold import ReleaseHold
from agent_booking.core.request import PhoneReader, read_phone
from agent_booking.entrypoints.http.agent_access import is_trusted_agent
from agent_booking.entrypoints.http.booking_endpoint import (
    REPLAYED_HEADER,
    Answer,
    BookingEndpoint,
    json_object,
)
from agent_booking.entrypoints.http.caller_bookings import possible_booking_id
from agent_booking.entrypoints.http.errors import error_body, internal_error_body, status_for
from agent_booking.entrypoints.http.openapi import (
    AGENT_SECURITY,
    DocumentedOperation,
    framework_case,
    id_in_path,
    idempotency_key_header,
    query,
    refusals,
)
from agent_booking.entrypoints.http.presenters import (
    BookingCreated,
    Date,
    Instant,
    PublicBookingCreated,
    ResourceRef,
    ServiceRef,
    Time,
    booking_created,
    public_booking_created,
    public_replay,
    resource_ref,
    service_ref,
)
from agent_booking.entrypoints.http.request_bodies import (
    IDEMPOTENCY_KEY_HEADER,
    PHONE,
    CreateBookingRequest,
    documented,
)
from agent_booking.entrypoints.http.routes import (
    agent_access_cases,
    body_cases,
    create_refusals,
    direct_answer,
)

__all__ = [
    "HOLDS_PATH",
    "ConfirmHoldRequest",
    "HoldReleased",
    "HoldsEndpoint",
    "hold_routes",
]

HOLDS_PATH: Final = "/api/agent/holds/"
_REPLAYED: Final = ((REPLAYED_HEADER, "true"),)

_log = logging.getLogger(__name__)


class ConfirmHoldRequest(msgspec.Struct, frozen=True):
    """Who confirms: the phone the hold was made with. Other fields are ignored."""

    phone: Annotated[
        str, documented("The phone the hold was made with (any accepted form).", pattern=PHONE)
    ]


class ReleasedHoldView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    service_name: str
    booking_date: Date
    booking_time: Time
    starts_at: Instant
    status: Literal["released"]
    notes: str
    created_at: Instant
    hold_expires_at: Annotated[Instant, msgspec.Meta(description="When it would have expired.")]
    resource: ResourceRef
    service: ServiceRef


class ReleasedHoldData(msgspec.Struct, frozen=True, kw_only=True):
    booking: ReleasedHoldView


class HoldReleased(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    message: Literal["Hold released"] = "Hold released"
    data: ReleasedHoldData


def _released_view(booking: Booking, placement: Placement) -> HoldReleased:
    expires = booking.hold_expires_at or booking.created_at
    return HoldReleased(
        data=ReleasedHoldData(
            booking=ReleasedHoldView(
                id=booking.id,
                service_name=booking.service_name,
                booking_date=booking.booking_date.isoformat(),
                booking_time=format_time(booking.booking_time),
                starts_at=format_instant(booking.starts_at),
                status="released",
                notes=booking.notes,
                created_at=format_instant(booking.created_at),
                hold_expires_at=format_instant(expires),
                resource=resource_ref(placement),
                service=service_ref(placement),
            )
        )
    )


def _hold_id(value: object) -> int:
    """An id as the path gave it; one no booking can have is answered as a missing one."""
    if possible_booking_id(value):
        return cast("int", value)
    raise BookingNotFound


class HoldsEndpoint:
    """Hold, confirm and release, as the routes and the agent tools run them."""

    def __init__(
        self,
        hold: BookingEndpoint,
        confirm: ConfirmHold,
        release: ReleaseHold,
        keys: IdempotencyKeys,
        phones: PhoneReader | None,
    ) -> None:
        #: ``POST /api/agent/holds/``: the create's endpoint, running the hold.
        self.hold = hold
        self._confirm = confirm
        self._release = release
        self._keys = keys
        self._phones = phones

    async def confirmed(
        self, hold_id: int, phone: str, *, trusted: bool
    ) -> BookingCreated | PublicBookingCreated:
        """Confirm without a key; raise the core's refusal. An id no booking can have (the
        path takes any integer) is answered as a missing booking, before storage sees it."""
        booking_id = _hold_id(hold_id)
        caller = read_phone(phone, self._phones)
        result = await self._confirm(booking_id, caller)
        return _created(result, caller, self.hold.spoken(result.booking), trusted=trusted)

    async def confirm(
        self, hold_id: object, raw_body: bytes, key: str | None, *, trusted: bool
    ) -> Answer:
        """The answer to a confirmation; never raises."""
        try:
            return await self._confirm_answer(hold_id, raw_body, key, trusted=trusted)
        except BookingError as error:
            return _refusal(error)
        except Exception as error:
            _log.error("unhandled error confirming hold %r", hold_id, exc_info=error)
            return Answer.json(HTTPStatus.INTERNAL_SERVER_ERROR, internal_error_body())

    async def release(
        self, hold_id: object, raw_body: bytes, phone: str | None, key: str | None
    ) -> Answer:
        """The answer to a release; the phone from ``?phone=`` (``phone``), else from the
        JSON body. Never raises."""
        try:
            return await self._release_answer(hold_id, raw_body, phone, key)
        except BookingError as error:
            return _refusal(error)
        except Exception as error:
            _log.error("unhandled error releasing hold %r", hold_id, exc_info=error)
            return Answer.json(HTTPStatus.INTERNAL_SERVER_ERROR, internal_error_body())

    async def _confirm_answer(
        self, hold_id: object, raw_body: bytes, key: str | None, *, trusted: bool
    ) -> Answer:
        """Checked in the cancel's order: the id, the body, the phone, the key."""
        booking_id = _hold_id(hold_id)
        body = json_object(raw_body)
        phone = read_phone(body.get("phone"), self._phones)

        async def run(idempotency: IdempotentSuccess | None) -> Answer:
            result = await self._confirm(booking_id, phone, idempotency=idempotency)
            spoken = self.hold.spoken(result.booking)
            return Answer.json(HTTPStatus.CREATED, _created(result, phone, spoken, trusted=trusted))

        if key is None:
            return await run(None)
        key = IdempotencyKeys.validate_key(key)
        claim = await self._keys.begin(key, {"confirm_hold": booking_id, "body": body})
        if claim.outcome is ClaimOutcome.REPLAY:
            status = claim.status_code or HTTPStatus.OK
            if trusted or status != HTTPStatus.CREATED or claim.body is None:
                return Answer.json(status, claim.body, _REPLAYED)
            public = public_replay(claim.body, CustomerProfile(phone=phone))
            return Answer.json(status, public, _REPLAYED)
        # The success is recorded in the confirmation's own transaction.
        return await self._keyed(key, run, IdempotentSuccess(key, self.hold.outcome))

    async def _release_answer(
        self, hold_id: object, raw_body: bytes, phone: str | None, key: str | None
    ) -> Answer:
        booking_id = _hold_id(hold_id)
        given: object = phone
        if phone is None and raw_body.strip():
            given = json_object(raw_body).get("phone")
        caller = read_phone(given, self._phones)

        async def run(idempotency: IdempotentSuccess | None) -> Answer:
            del idempotency  # recorded right after the release's commit
            released = await self._release(booking_id, caller)
            return Answer.json(HTTPStatus.OK, _released_view(released.booking, released.placement))

        if key is None:
            return await run(None)
        key = IdempotencyKeys.validate_key(key)
        claim = await self._keys.begin(key, {"release_hold": booking_id, "phone": caller})
        if claim.outcome is ClaimOutcome.REPLAY:
            return Answer.json(claim.status_code or HTTPStatus.OK, claim.body, _REPLAYED)
        answer = await self._keyed(key, run, None)
        await self._keys.record(key, answer.status, msgspec.json.decode(answer.body))
        return answer

    async def _keyed(self, key: str, run: Any, idempotency: IdempotentSuccess | None) -> Answer:
        """Run under a claimed key: a refusal (4xx) is recorded, an outage (5xx) frees it."""
        try:
            return cast("Answer", await run(idempotency))
        except BookingError as error:
            status = status_for(error)
            if status is not None and status < HTTPStatus.INTERNAL_SERVER_ERROR:
                await self._keys.record(key, status, error_body(error))
            else:
                await self._keys.release(key)
            raise
        except Exception:
            await self._keys.release(key)
            raise


def _created(
    result: AgentBookingResult, phone: str, spoken: str | msgspec.UnsetType, *, trusted: bool
) -> BookingCreated | PublicBookingCreated:
    """The create's 201 body (with the start ``spoken``): the stored customer for a trusted
    agent, else only the phone this request gave."""
    if trusted:
        return booking_created(
            result.booking, result.customer, False, result.placement, spoken=spoken
        )
    return public_booking_created(
        result.booking, CustomerProfile(phone=phone), result.placement, spoken=spoken
    )


def _refusal(error: BookingError) -> Answer:
    status = status_for(error)
    if status is None:  # a new error family nobody mapped: a bug, not the client's fault
        _log.error("unmapped error on a hold: %r", error)
        return Answer.json(HTTPStatus.INTERNAL_SERVER_ERROR, internal_error_body())
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        _log.warning("%s on a hold: %r", error.code, error.__cause__ or error)
    return Answer.json(status, error_body(error))


def _response(answer: Answer) -> Response[bytes]:
    return Response(
        answer.body,
        status_code=answer.status,
        media_type=MediaType.JSON,
        headers=dict(answer.headers),
    )


_CONFIRM_KEY = (
    "Makes a retried confirmation safe: the first request's answer (201, or a 404/409 "
    "refusal) is recorded and a retry with the same key and body gets it again, with "
    "`Idempotent-Replayed: true`. A 400 is not recorded. Keys are shared with create: the "
    "same key with another request is 422 `idempotency_key_reused`. Kept 48 hours."
)
_RELEASE_KEY = (
    "Makes a retried release safe: the first request's answer (200, or a 404/409 refusal) "
    "is recorded and a retry with the same key gets it again, with `Idempotent-Replayed: "
    "true`. Keys are shared with create: the same key with another request is 422 "
    "`idempotency_key_reused`. Kept 48 hours."
)
_HOLD_ID = id_in_path("The hold's id (`booking_id` of the hold's answer).")


def hold_routes(endpoint: HoldsEndpoint, *, hold_seconds: int, max_holds: int) -> list[Any]:
    hold_errors = [*create_refusals(), TooManyHolds]

    @post(
        HOLDS_PATH,
        status_code=HTTPStatus.CREATED,
        name="agent_hold_slot",
        operation_id="agentHoldSlot",
        tags=["agent"],
        summary="Hold a start for a caller for a few minutes",
        description=(
            "Exactly a create request (`POST /api/agent/booking/create/`), checked by the same "
            "rules with the same refusals (409 `slot_taken` with alternatives), but the booking "
            f"is held: status `held` until `hold_expires_at` ({hold_seconds} seconds from now, "
            "`BOOKING_HOLD_SECONDS`). The start is taken for everyone else until the hold is "
            "confirmed (`POST …/holds/{hold_id}/confirm/`), released (`DELETE …/holds/"
            "{hold_id}/`) or expires. A phone may have "
            f"{max_holds} live holds (`BOOKING_MAX_HOLDS_PER_PHONE`); one more is 409 "
            "`too_many_holds`. The answer is the create's body (its message too) with the held "
            "booking; dashboards get `booking_held`. Open to the agents create is open to."
        ),
        security=AGENT_SECURITY,
        operation_class=DocumentedOperation,
        before_request=direct_answer(endpoint.hold),
        responses=refusals(*hold_errors, *agent_access_cases(), *body_cases(), alternatives=True),
    )
    async def hold_slot(
        request: Request[Any, Any, Any],
        data: JSONBody[CreateBookingRequest],
        idempotency_key: Annotated[
            str | None,
            idempotency_key_header(
                "As for create: the first outcome (201, or a 400/409/422 refusal) is "
                "recorded and a retry with the same key and body gets it again instead of a "
                "second hold. Keys are shared with create."
            ),
        ] = None,
    ) -> BookingCreated | PublicBookingCreated:
        """Reached only with a body the Struct accepts and no key (``direct_answer``)."""
        del idempotency_key  # always None here; declared for the document
        return await endpoint.hold.book(data, trusted=is_trusted_agent(request.scope))

    @post(
        HOLDS_PATH + "{hold_id:int}/confirm/",
        status_code=HTTPStatus.CREATED,
        name="agent_confirm_hold",
        operation_id="agentConfirmHold",
        tags=["agent"],
        summary="Confirm a hold: it becomes the booking (same id)",
        description=(
            "Give the phone the hold was made with: a hold of another phone is 404 "
            "`booking_not_found`, as one that does not exist. The booking keeps the hold's id, "
            "becomes `upcoming`, and the answer is the create's 201 body; dashboards get "
            "`booking_created`, as for a direct create. A hold whose time is up is 409 "
            "`hold_expired` (it is released then); a booking that is not a hold (confirmed, "
            "released, expired, any other booking) is 409 `booking_not_held`."
        ),
        security=AGENT_SECURITY,
        operation_class=DocumentedOperation,
        before_request=_confirm_hook(endpoint),
        responses=refusals(
            InvalidRequestBody,
            MissingField,
            InvalidField,
            InvalidIdempotencyKey,
            BookingNotFound,
            BookingNotHeld,
            HoldExpired,
            IdempotencyKeyReused,
            IdempotencyRequestInProgress,
            SettingsMissing,
            StorageUnavailable,
            TransientConflict,
            framework_case(HTTPStatus.NOT_FOUND),
            *agent_access_cases(),
            *body_cases(),
        ),
    )
    async def confirm_hold(
        request: Request[Any, Any, Any],
        hold_id: Annotated[int, _HOLD_ID],
        data: JSONBody[ConfirmHoldRequest],
        idempotency_key: Annotated[
            str | None,
            idempotency_key_header(_CONFIRM_KEY),
        ] = None,
    ) -> BookingCreated | PublicBookingCreated:
        """Reached only with a body the Struct accepts and no key (``_confirm_hook``)."""
        del idempotency_key  # always None here; declared for the document
        return await endpoint.confirmed(
            hold_id, data.phone, trusted=is_trusted_agent(request.scope)
        )

    @delete(
        HOLDS_PATH + "{hold_id:int}/",
        status_code=HTTPStatus.OK,
        name="agent_release_hold",
        operation_id="agentReleaseHold",
        tags=["agent"],
        summary="Release a hold: its start is free at once",
        description=(
            'Give the phone the hold was made with, as `?phone=` or as the JSON body `{"phone"}`'
            ": a hold of another phone is 404 `booking_not_found`, as one that does not exist. "
            "Dashboards get `hold_released` with `reason` `released`. A booking that is not a "
            "live hold (confirmed, already released, expired) is 409 `booking_not_held`."
        ),
        security=AGENT_SECURITY,
        operation_class=DocumentedOperation,
        responses=refusals(
            InvalidRequestBody,
            MissingField,
            InvalidField,
            InvalidIdempotencyKey,
            BookingNotFound,
            BookingNotHeld,
            IdempotencyKeyReused,
            IdempotencyRequestInProgress,
            SettingsMissing,
            StorageUnavailable,
            TransientConflict,
            framework_case(HTTPStatus.NOT_FOUND),
            *agent_access_cases(),
            framework_case(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
        ),
    )
    async def release_hold(
        request: Request[Any, Any, Any],
        hold_id: Annotated[int, _HOLD_ID],
        phone: Annotated[
            str | None,
            query(
                "phone",
                'The hold\'s phone (or send `{"phone"}` as the JSON body).',
                {"type": "string", "pattern": PHONE},
            ),
        ] = None,
        idempotency_key: Annotated[
            str | None,
            idempotency_key_header(_RELEASE_KEY),
        ] = None,
    ) -> Response[HoldReleased]:
        answer = await endpoint.release(hold_id, await request.body(), phone, idempotency_key)
        return cast("Response[HoldReleased]", _response(answer))

    return [hold_slot, confirm_hold, release_hold]


def _confirm_hook(endpoint: HoldsEndpoint) -> Any:
    async def confirm_unless_plain(request: Request[Any, Any, Any]) -> Response[bytes] | None:
        """As create's hook: the core's refusals, not Litestar's, for a body the Struct
        refuses; a keyed request is answered here too (claimed before the body is judged)."""
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
        raw_body = await request.body()
        if key is None:
            try:
                msgspec.json.decode(raw_body, type=ConfirmHoldRequest)
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                pass
            else:
                return None
        answer = await endpoint.confirm(
            request.path_params.get("hold_id"),
            raw_body,
            key,
            trusted=is_trusted_agent(request.scope),
        )
        return _response(answer)

    return confirm_unless_plain
