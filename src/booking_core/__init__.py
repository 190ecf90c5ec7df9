"""The agent booking domain: pure rules and the use case, depending only on ports.

Import what you need from here; adapters (storage, notification) are supplied by the caller.
"""

from booking_core.check_availability import AvailabilityQuery, CheckAvailability
from booking_core.create_agent_booking import (
    AgentBookingResult,
    CreateAgentBooking,
    IdempotentSuccess,
)
from booking_core.entities import (
    ACTIVE_STATUSES,
    OPEN_STATUSES,
    Booking,
    BookingStatus,
    Customer,
    CustomerProfile,
    NewBooking,
)
from booking_core.errors import (
    BeyondHorizon,
    BookingError,
    BookingInPast,
    BookingPolicyViolation,
    ClosedDate,
    InvalidDate,
    InvalidField,
    InvalidRequestBody,
    InvalidSettings,
    InvalidTime,
    MissingField,
    NotASlotStart,
    OffDay,
    OutsideWorkingHours,
    RequestValidationError,
    ServiceUnavailable,
    SettingsMissing,
    SlotTaken,
    StorageUnavailable,
    TransientConflict,
)
from booking_core.events import BOOKING_CANCELLED, BOOKING_CREATED, DomainEvent, StoredEvent
from booking_core.parsing import DateOrder, parse_date, parse_time
from booking_core.passwords import UNUSABLE_PASSWORD, hash_password, verify_password
from booking_core.policy import SlotPolicy
from booking_core.ports import (
    BookingRepository,
    Clock,
    CustomerRepository,
    EventOutbox,
    Notifier,
    SettingsRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from booking_core.request import BookingRequest, normalize_phone
from booking_core.settings import BusinessSettings, parse_closed_dates, parse_off_days
from booking_core.update_settings import SettingsChanges, UpdateSettings

__all__ = [
    "ACTIVE_STATUSES",
    "BOOKING_CANCELLED",
    "BOOKING_CREATED",
    "OPEN_STATUSES",
    "UNUSABLE_PASSWORD",
    "AgentBookingResult",
    "AvailabilityQuery",
    "BeyondHorizon",
    "Booking",
    "BookingError",
    "BookingInPast",
    "BookingPolicyViolation",
    "BookingRepository",
    "BookingRequest",
    "BookingStatus",
    "BusinessSettings",
    "CheckAvailability",
    "Clock",
    "ClosedDate",
    "CreateAgentBooking",
    "Customer",
    "CustomerProfile",
    "CustomerRepository",
    "DateOrder",
    "DomainEvent",
    "EventOutbox",
    "IdempotentSuccess",
    "InvalidDate",
    "InvalidField",
    "InvalidRequestBody",
    "InvalidSettings",
    "InvalidTime",
    "MissingField",
    "NewBooking",
    "NotASlotStart",
    "Notifier",
    "OffDay",
    "OutsideWorkingHours",
    "RequestValidationError",
    "ServiceUnavailable",
    "SettingsChanges",
    "SettingsMissing",
    "SettingsRepository",
    "SlotPolicy",
    "SlotTaken",
    "StorageUnavailable",
    "StoredEvent",
    "TransientConflict",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UpdateSettings",
    "hash_password",
    "normalize_phone",
    "parse_closed_dates",
    "parse_date",
    "parse_off_days",
    "parse_time",
    "verify_password",
]
