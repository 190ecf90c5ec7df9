"""One error hierarchy for every way the core is used.

Each error carries a stable machine ``code`` and the user-facing ``message``, so HTTP clients,
library users and tests all see the same words. The HTTP layer maps the *families* below
(validation, policy, conflict, unavailable) to status codes in one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

__all__ = [
    "BeyondHorizon",
    "BookingError",
    "BookingInPast",
    "BookingNotActive",
    "BookingNotFound",
    "BookingNotHeld",
    "BookingPolicyViolation",
    "ClosedDate",
    "Conflict",
    "HoldExpired",
    "IdempotencyKeyReused",
    "IdempotencyRequestInProgress",
    "InvalidCatalog",
    "InvalidDate",
    "InvalidField",
    "InvalidIdempotencyKey",
    "InvalidRequestBody",
    "InvalidSettings",
    "InvalidTime",
    "MissingField",
    "NotASlotStart",
    "NotFound",
    "NoticeTooShort",
    "OffDay",
    "OutsideWorkingHours",
    "RequestValidationError",
    "ResourceNotFound",
    "ServiceNameTaken",
    "ServiceNotFound",
    "ServiceUnavailable",
    "SettingsMissing",
    "SlotSuggestion",
    "SlotTaken",
    "StorageUnavailable",
    "TooLate",
    "TooManyBookings",
    "TooManyHolds",
    "TransientConflict",
    "UnknownResource",
    "UnknownService",
    "WebhookNotFound",
    "WebhookUrlRefused",
]

#: (booking_date ISO, booking_time HH:MM:SS) pairs offered instead of a refused slot.
SlotSuggestion = tuple[str, str]


class BookingError(Exception):
    """Base of every error the core raises on purpose."""

    code: ClassVar[str] = "booking_error"
    default_message: ClassVar[str] = "Booking failed"

    def __init__(
        self, message: str | None = None, *, alternatives: Sequence[SlotSuggestion] = ()
    ) -> None:
        self.message = message or self.default_message
        self.alternatives: tuple[SlotSuggestion, ...] = tuple(alternatives)
        super().__init__(self.message)


# --- 400: the request itself is malformed -------------------------------------------------------


class RequestValidationError(BookingError):
    code = "invalid_request"
    default_message = "Invalid request"


class InvalidRequestBody(RequestValidationError):
    code = "invalid_body"
    default_message = "Request body must be a JSON object"


class MissingField(RequestValidationError):
    code = "missing_field"

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(f"Missing required field: {field}")


class InvalidDate(RequestValidationError):
    code = "invalid_date"
    default_message = "Invalid date format"


class InvalidTime(RequestValidationError):
    code = "invalid_time"
    default_message = "Invalid time format"


class InvalidField(RequestValidationError):
    code = "invalid_field"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"Invalid {field}: {reason}")


class InvalidSettings(RequestValidationError):
    """Business settings an operator tried to set are inconsistent."""

    code = "invalid_settings"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid settings: {reason}")


class InvalidCatalog(RequestValidationError):
    """A resource, weekly plan, exception or service an operator tried to set is inconsistent."""

    code = "invalid_catalog"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid catalog: {reason}")


# --- 422: well-formed, but the business rules refuse it ------------------------------------------


class BookingPolicyViolation(BookingError):
    code = "policy_violation"


class BookingInPast(BookingPolicyViolation):
    code = "booking_in_past"
    default_message = "Booking time is in the past"


class BeyondHorizon(BookingPolicyViolation):
    code = "beyond_horizon"
    default_message = "Booking date is too far in the future"


class OffDay(BookingPolicyViolation):
    code = "off_day"
    default_message = "Booking not allowed on off days"


class ClosedDate(BookingPolicyViolation):
    code = "closed_date"
    default_message = "Booking not allowed on closed dates"


class OutsideWorkingHours(BookingPolicyViolation):
    code = "outside_working_hours"
    default_message = "Booking time is outside working hours"


class NotASlotStart(BookingPolicyViolation):
    code = "not_slot_start"
    default_message = "Booking time is not the start of a slot"


class NoticeTooShort(BookingPolicyViolation):
    """The service needs more notice than the time left before the start."""

    code = "notice_too_short"

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes
        super().__init__(f"This service must be booked at least {minutes} minutes ahead")


class UnknownService(BookingPolicyViolation):
    """The service is not in the catalog and the business books only its catalog's services
    (``unknown_services = reject``); ``services`` lists the names it does book."""

    code = "unknown_service"

    def __init__(self, services: Sequence[str]) -> None:
        self.services = tuple(services)
        listed = ", ".join(self.services) if self.services else "none"
        super().__init__(f"Unknown service; services offered: {listed}")


class UnknownResource(BookingPolicyViolation):
    """The resource named does not exist, is inactive, or does not perform the service."""

    code = "unknown_resource"
    default_message = "Unknown resource, or it does not perform this service"


class TooManyBookings(BookingPolicyViolation):
    """The customer already holds as many open future bookings as one phone may.

    An operator's limit against slot grabbing: without it one client could book every slot
    ahead, from as many addresses and keys as it likes, since nothing else ties requests
    together but the phone they book for.
    """

    code = "too_many_bookings"
    default_message = "This phone already has the most upcoming bookings one phone may hold"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        bookings = "booking" if limit == 1 else "bookings"
        super().__init__(
            f"This phone already has {limit} upcoming {bookings}, the most one phone may hold"
        )


class IdempotencyKeyReused(BookingPolicyViolation):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request body"


class InvalidIdempotencyKey(RequestValidationError):
    code = "invalid_idempotency_key"
    default_message = "Invalid Idempotency-Key: use 1 to 255 printable ASCII characters"


class TooLate(BookingPolicyViolation):
    """A caller tried to cancel or move a booking closer to its start than the business allows
    (``cancel_notice_minutes`` / ``reschedule_notice_minutes``), or after it started."""

    code = "too_late"
    default_message = "It is too late to change this booking"


class WebhookUrlRefused(BookingPolicyViolation):
    """A webhook URL the service will not call: plain http, or an address inside the network."""

    code = "webhook_url_refused"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Webhook URL refused: {reason}")


# --- 404: nothing there ---------------------------------------------------------------------------


class NotFound(BookingError):
    code = "not_found"
    default_message = "Not found"


class BookingNotFound(NotFound):
    code = "booking_not_found"
    default_message = "Booking not found"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    default_message = "Webhook subscription not found"


class ResourceNotFound(NotFound):
    code = "resource_not_found"
    default_message = "Resource not found"


class ServiceNotFound(NotFound):
    code = "service_not_found"
    default_message = "Service not found"


# --- 409: the state of things refuses it ---------------------------------------------------------


class Conflict(BookingError):
    code = "conflict"
    default_message = "The request conflicts with the current state"


class SlotTaken(Conflict):
    code = "slot_taken"
    default_message = "This time slot is already reserved"


class BookingNotActive(Conflict):
    code = "booking_not_active"
    default_message = "Only upcoming or pending bookings can be cancelled"


class ServiceNameTaken(Conflict):
    """Another catalog service has this name (names are unique case-insensitively)."""

    code = "service_name_taken"
    default_message = "Another service already has this name"


class BookingNotHeld(Conflict):
    """Confirming or releasing a booking that is not a live hold (confirmed, released...)."""

    code = "booking_not_held"
    default_message = "This booking is not a hold"


class HoldExpired(Conflict):
    """Confirming a hold whose time ran out: its start is free again (it is now ``expired``)."""

    code = "hold_expired"
    default_message = "This hold has expired; the slot is no longer held"


class TooManyHolds(Conflict):
    """The phone already has as many live holds as one phone may (``max_holds``)."""

    code = "too_many_holds"
    default_message = "This phone already holds as many slots as one phone may"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"This phone already holds {limit} slot{'s' if limit != 1 else ''}: confirm or "
            "release one first"
        )


class IdempotencyRequestInProgress(Conflict):
    code = "idempotency_in_progress"
    default_message = "A request with this Idempotency-Key is still in progress, retry later"


# --- 503: the service cannot decide right now -----------------------------------------------------


class ServiceUnavailable(BookingError):
    code = "service_unavailable"
    default_message = "Service temporarily unavailable, please retry"


class SettingsMissing(ServiceUnavailable):
    code = "settings_missing"
    default_message = "No booking settings found"


class TransientConflict(ServiceUnavailable):
    """Storage aborted the transaction for a reason a retry can fix (serialization failure,
    deadlock). Use cases retry these a few times; only then does the client see a 503."""

    code = "transient_conflict"
    default_message = (
        "The booking could not be completed because of concurrent activity, please retry"
    )


class StorageUnavailable(ServiceUnavailable):
    code = "storage_unavailable"
    default_message = "Booking storage is temporarily unavailable, please retry"
