"""``POST /api/agent/booking/create/``: one answer function, and a direct ASGI lane to it.

The create endpoint is the service's hot path. Measured under load (``make bench``), Litestar's
per-request machinery around it (routing, the guard, the handler's signature model, response
objects, the exception middleware) cost nearly as much CPU as the booking itself. So:

- :class:`BookingEndpoint` turns a request (its ``Content-Type``, ``Idempotency-Key``, raw
  body, and whether a trusted agent sent it) into an :class:`Answer` (status, JSON body,
  headers). A trusted agent's success is the spec's body with the stored customer; anyone
  else's describes the customer only as the request did (``presenters``). It never raises:
  every error is rendered here from the one error table
  (:mod:`agent_booking.entrypoints.http.errors`), so both ways in give byte-identical answers.
  The body is decoded as the documented
  :class:`~agent_booking.entrypoints.http.request_bodies.CreateBookingRequest`, the Struct
  Litestar's route decodes too; a body the Struct refuses is judged by
  ``BookingRequest.from_mapping``, whose refusal (``missing_field``, ``invalid_field``…, in the
  core's check order) is the answer.
- :class:`BookingLane` sits in front of Litestar and answers ``POST`` requests for that path
  itself, after the same :class:`~agent_booking.entrypoints.http.agent_access.AgentAccess` checks
  (network, rate limit, API key; the key also makes the caller a trusted agent) the Litestar
  middleware applies. Everything else goes on to Litestar: other paths and methods, and, when
  CORS is configured, any request with an ``Origin`` (the CORS middleware must see those).
  Litestar's own route for the path calls the same endpoint.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol, cast

import msgspec
from attrs import frozen
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from agent_booking.core.create_agent_booking import (
    AgentBookingResult,
    CreateAgentBooking,
    IdempotentSuccess,
    RenderedOutcome,
)
from agent_booking.core.entities import Booking, Customer, CustomerProfile
from agent_booking.core.errors import BookingError, InvalidRequestBody
from agent_booking.core.idempotency import ClaimOutcome, IdempotencyClaim, IdempotencyKeys
from agent_booking.core.parsing import DateOrder
from agent_booking.core.request import BookingRequest, PhoneReader
from agent_booking.entrypoints.http.agent_access import AgentAccess, is_trusted_agent
from agent_booking.entrypoints.http.content_type import is_json_media_type
from agent_booking.entrypoints.http.errors import (
    error_body,
    framework_error_body,
    internal_error_body,
    status_for,
)
from agent_booking.entrypoints.http.presenters import (
    BookingCreated,
    PublicBookingCreated,
    booking_created,
    created_outcome,
    public_booking_created,
    public_replay,
)
from agent_booking.entrypoints.http.request_bodies import CreateBookingRequest
from agent_booking.entrypoints.http.request_edge import header_value

# This module is imported by the openapi module, which the metrics' route imports.
if TYPE_CHECKING:
    from agent_booking.core.placement import Placement
    from agent_booking.entrypoints.http.metrics import Metrics
    from agent_booking.entrypoints.http.spoken_text import Speech

__all__ = [
    "BOOKING_CREATE_PATH",
    "Answer",
    "AnswersCreate",
    "BodyTooLarge",
    "BookingEndpoint",
    "BookingLane",
    "Books",
    "EndpointRole",
    "booking_request",
    "framework_answer",
    "json_object",
    "read_body",
    "request_of",
]

BOOKING_CREATE_PATH = "/api/agent/booking/create/"
REPLAYED_HEADER = "Idempotent-Replayed"

_UTF8_BOM = b"\xef\xbb\xbf"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_decode_request = msgspec.json.Decoder(CreateBookingRequest).decode
_JSON_CONTENT_TYPE = (b"content-type", b"application/json")

_log = logging.getLogger(__name__)


def json_object(raw: bytes) -> dict[str, Any]:
    """Decode a request body that must be one JSON object.

    A UTF-8 byte order mark is tolerated (RFC 8259 allows it; some Windows tools send one).
    msgspec reports invalid UTF-8 and excessive nesting with builtin exceptions, not
    ``DecodeError``, and both are the client's fault, so they get the same 400.
    """
    try:
        body = _decode(raw.removeprefix(_UTF8_BOM))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise InvalidRequestBody from None
    if not isinstance(body, dict):
        raise InvalidRequestBody
    return body


def booking_request(
    raw_body: bytes, date_order: DateOrder, phones: PhoneReader | None = None
) -> BookingRequest:
    """Decode as the Struct (the hot path); a body it refuses gets the core's refusal."""
    try:
        fields = _decode_request(raw_body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return BookingRequest.from_mapping(json_object(raw_body), date_order, phones=phones)
    return request_of(fields, date_order, phones)


def request_of(
    fields: CreateBookingRequest, date_order: DateOrder, phones: PhoneReader | None = None
) -> BookingRequest:
    """The core's command for a decoded body: the core still validates every field (trims,
    normalises, parses) and owns the messages."""
    return BookingRequest.from_fields(
        phone=fields.phone,
        service_name=fields.service_name,
        booking_date=fields.booking_date,
        booking_time=fields.booking_time,
        first_name=fields.first_name,
        last_name=fields.last_name,
        email=fields.email,
        gender=fields.gender,
        country=fields.country,
        notes=fields.notes,
        status=fields.status,
        resource_id=fields.resource_id,
        service_id=fields.service_id,
        date_order=date_order,
        phones=phones,
    )


@frozen
class Answer:
    """A complete HTTP answer: status, encoded JSON body and extra headers."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, body: object, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        return cls(status, _encode(body), headers)


class AnswersCreate(Protocol):
    """What :class:`BookingLane` serves: :class:`BookingEndpoint` (or the benchmark's ceiling)."""

    async def answer(
        self,
        *,
        content_type: str | None,
        idempotency_key: str | None,
        raw_body: bytes,
        trusted: bool,
    ) -> Answer: ...


class Books(Protocol):
    """What :class:`BookingEndpoint` runs: :class:`CreateAgentBooking`, or a hold
    (:class:`~agent_booking.core.hold_slot.HoldSlot`), which books through it."""

    async def __call__(
        self, request: BookingRequest, *, idempotency: IdempotentSuccess | None = None
    ) -> AgentBookingResult: ...


@frozen
class EndpointRole:
    """Which endpoint a :class:`BookingEndpoint` serves: the create (the default) or another
    that books the same requests (the hold)."""

    #: For logs.
    path: str = BOOKING_CREATE_PATH
    #: Keys are shared with create; another endpoint's request is told apart by its scope
    #: (the same key and body sent to create and to hold are two requests, not a replay).
    key_scope: str | None = None
    #: Whether the booking in a success body says its start (``spoken``): the hold's answers
    #: do; the create's keeps exactly the spec's keys.
    speak_start: bool = False


class BookingEndpoint:
    """The create endpoint's behaviour, independent of how the request arrived (also the hold
    endpoint's: the same requests, answers and refusals, given a hold to run)."""

    def __init__(
        self,
        create_booking: CreateAgentBooking | Books,
        keys: IdempotencyKeys,
        metrics: Metrics,
        *,
        date_order: DateOrder = DateOrder.DMY,
        phones: PhoneReader | None = None,
        speech: Speech | None = None,
        role: EndpointRole | None = None,
    ) -> None:
        role = role or EndpointRole()
        self._create = create_booking
        self._speak_start = role.speak_start and speech is not None
        self._path = role.path
        self._key_scope = role.key_scope
        #: What a second endpoint of the same service shares with this one (the hold's).
        self.keys = keys
        self.metrics = metrics
        self.phones = phones
        self.speech = speech
        self._keys = keys
        self._metrics = metrics
        self._date_order = date_order
        self._phones = phones
        self._speech = speech

    async def answer(
        self,
        *,
        content_type: str | None,
        idempotency_key: str | None,
        raw_body: bytes,
        trusted: bool,
    ) -> Answer:
        """The answer to one create request; never raises. ``trusted``: a trusted agent sent
        it (``agent_access.is_trusted_agent``), so a success shows the stored customer."""
        if content_type and not is_json_media_type(content_type.strip()):
            return framework_answer(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            if idempotency_key is None:
                request = booking_request(raw_body, self._date_order, self._phones)
                result = await self._create(request)
                return Answer(HTTPStatus.CREATED, _encode(self.created(result, request, trusted)))
            body = json_object(raw_body)  # an invalid body is reported before an invalid key
            key = IdempotencyKeys.validate_key(idempotency_key)
            return await self._idempotent(key, body, trusted)
        except BookingError as error:
            return self._refusal(error)
        except Exception as error:
            _log.error("unhandled error on POST %s", self._path, exc_info=error)
            return Answer.json(HTTPStatus.INTERNAL_SERVER_ERROR, internal_error_body())

    @staticmethod
    def decodes(raw_body: bytes) -> bool:
        """Whether ``raw_body`` is a :class:`CreateBookingRequest` as it stands."""
        try:
            _decode_request(raw_body)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return False
        return True

    async def book(
        self, fields: CreateBookingRequest, *, trusted: bool
    ) -> BookingCreated | PublicBookingCreated:
        """Book a decoded request; raise the core's refusal."""
        request = request_of(fields, self._date_order, self._phones)
        return self.created(await self._create(request), request, trusted)

    def created(
        self, result: AgentBookingResult, request: BookingRequest, trusted: bool
    ) -> BookingCreated | PublicBookingCreated:
        """The success body: the stored customer for a trusted agent, else the request's."""
        spoken = self.spoken(result.booking)
        if trusted:
            return booking_created(
                result.booking,
                result.customer,
                result.customer_created,
                result.placement,
                spoken=spoken,
            )
        return public_booking_created(
            result.booking, request.customer, result.placement, spoken=spoken
        )

    def spoken(self, booking: Booking) -> str | msgspec.UnsetType:
        """The booking's start as a voice says it, where this endpoint's answers say it."""
        if not self._speak_start or self._speech is None:
            return msgspec.UNSET
        speech = self._speech
        return speech.starts(booking.booking_date, booking.booking_time, speech.this_year())

    def outcome(
        self, booking: Booking, customer: Customer, customer_created: bool, placement: Placement
    ) -> RenderedOutcome:
        """The success recorded under an Idempotency-Key (what a replay answers)."""
        return created_outcome(
            booking, customer, customer_created, placement, spoken=self.spoken(booking)
        )

    async def _idempotent(self, key: str, body: dict[str, Any], trusted: bool) -> Answer:
        """Run a create under an Idempotency-Key: the first outcome is the outcome, every time.

        The key is claimed before the body is validated, so a refusal is recorded too. A
        success is recorded by the use case inside the booking's transaction; a refusal (4xx)
        right after; a failure a retry may fix (5xx) releases the key.
        """
        claim = await self._keys.begin(
            key, body if self._key_scope is None else {self._key_scope: body}
        )
        if claim.outcome is ClaimOutcome.REPLAY:
            return self._replay(claim, body, trusted)
        try:
            request = BookingRequest.from_mapping(body, self._date_order, phones=self._phones)
            result = await self._create(request, idempotency=IdempotentSuccess(key, self.outcome))
        except BookingError as error:
            status = status_for(error)
            if status is not None and status < HTTPStatus.INTERNAL_SERVER_ERROR:
                await self._keys.record(key, status, error_body(error, self._speech))
            else:
                await self._keys.release(key)
            raise
        except Exception:
            await self._keys.release(key)
            raise
        return Answer(HTTPStatus.CREATED, _encode(self.created(result, request, trusted)))

    def _replay(self, claim: IdempotencyClaim, body: dict[str, Any], trusted: bool) -> Answer:
        """The recorded outcome again. A success is recorded as the spec's body (the stored
        customer), whoever sent it; a caller that is not a trusted agent gets it as the first
        answer to such a caller was: the customer as this very body describes it. Refusals
        say nothing about a customer and are replayed as recorded."""
        status = claim.status_code or HTTPStatus.OK
        if trusted or status != HTTPStatus.CREATED or claim.body is None:
            return Answer.json(status, claim.body, _REPLAYED)
        try:
            sent = BookingRequest.from_mapping(body, self._date_order, phones=self._phones).customer
        except BookingError:  # valid when recorded; a setting changed since (the date order)
            sent = CustomerProfile(phone=str(claim.body["data"]["user"]["phone"]))
        return Answer(status, _encode(public_replay(claim.body, sent)), _REPLAYED)

    def _refusal(self, error: BookingError) -> Answer:
        status = status_for(error)
        if status is None:  # a new error family nobody mapped: a bug, not the client's fault
            _log.error("unmapped error on POST %s", self._path, exc_info=error)
            return Answer.json(HTTPStatus.INTERNAL_SERVER_ERROR, internal_error_body())
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:  # the operator must hear of an outage
            _log.warning("%s on POST %s: %r", error.code, self._path, error.__cause__ or error)
        else:
            self._metrics.count_refusal(error.code)
        return Answer.json(status, error_body(error, self._speech))


_REPLAYED = ((REPLAYED_HEADER, "true"),)


def framework_answer(status: HTTPStatus) -> Answer:
    return Answer.json(status, framework_error_body(status))


_TOO_LARGE = framework_answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)


class BodyTooLarge(Exception):
    """The request body is larger than the limit :func:`read_body` was given."""


class BookingLane:
    """ASGI: answers ``POST`` to the create path directly; everything else goes to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        endpoint: AnswersCreate,
        access: AgentAccess,
        *,
        max_body_bytes: int,
        cors_enabled: bool,
    ) -> None:
        self._app = app
        self._endpoint = endpoint
        self._access = access
        self._max_body_bytes = max_body_bytes
        self._cors_enabled = cors_enabled
        # Litestar serves a route with or without its trailing slash; so does the lane.
        self._route_label = BOOKING_CREATE_PATH.rstrip("/")  # the metrics' label, as Litestar's
        self._paths = frozenset({BOOKING_CREATE_PATH, self._route_label})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] != "POST"
            or scope["path"] not in self._paths
            or (self._cors_enabled and header_value(scope["headers"], b"origin") is not None)
        ):
            await self._app(scope, receive, send)
            return
        scope["path_template"] = self._route_label
        await self._access.handle(scope, receive, send, self._serve)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = await self._answer(cast("HTTPScope", scope), receive)
        if answer is None:  # the client went away before sending its body
            return
        headers = [
            _JSON_CONTENT_TYPE,
            (b"content-length", str(len(answer.body)).encode()),
            *((name.lower().encode(), value.encode()) for name, value in answer.headers),
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body, "more_body": False})

    async def _answer(self, scope: HTTPScope, receive: Receive) -> Answer | None:
        raw_headers = scope["headers"]
        length = header_value(raw_headers, b"content-length")
        too_large = _TOO_LARGE
        if length is not None and length.isdigit() and int(length) > self._max_body_bytes:
            return too_large
        try:
            body = await read_body(receive, self._max_body_bytes)
        except BodyTooLarge:
            return too_large
        if body is None:
            return None
        return await self._endpoint.answer(
            content_type=header_value(raw_headers, b"content-type"),
            idempotency_key=header_value(raw_headers, b"idempotency-key"),
            raw_body=body,
            trusted=is_trusted_agent(scope),
        )


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None if the client disconnected; at most ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = cast("bytes", message.get("body", b""))
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        if not message.get("more_body", False):
            if not chunks:
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)
