"""The agent booking domain: pure rules and the use case, depending only on ports.

Import what you need from here; adapters (storage, notification) are supplied by the caller.
"""

from agent_booking.core.check_availability import AvailabilityQuery, CheckAvailability
from agent_booking.core.create_agent_booking import (
    AgentBookingResult,
    CreateAgentBooking,
    IdempotentSuccess,
)
from agent_booking.core.entities import (
    ACTIVE_STATUSES,
    OPEN_STATUSES,
    Booking,
    BookingStatus,
    Customer,
    CustomerProfile,
    NewBooking,
)
from agent_booking.core.errors import (
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
    TooLate,
    TooManyBookings,
    TransientConflict,
)
from agent_booking.core.events import BOOKING_CANCELLED, BOOKING_CREATED, DomainEvent, StoredEvent
from agent_booking.core.parsing import DateOrder, parse_date, parse_time
from agent_booking.core.passwords import UNUSABLE_PASSWORD, hash_password, verify_password
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import (
    BookingRepository,
    Clock,
    CustomerRepository,
    EventOutbox,
    Notifier,
    SettingsRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from agent_booking.core.request import BookingRequest, PhoneReader, normalize_phone
from agent_booking.core.settings import BusinessSettings, parse_closed_dates, parse_off_days
from agent_booking.core.stranded import StrandedBooking, stranded_bookings
from agent_booking.core.update_settings import SettingsChanges, UpdateSettings

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
    "PhoneReader",
    "RequestValidationError",
    "ServiceUnavailable",
    "SettingsChanges",
    "SettingsMissing",
    "SettingsRepository",
    "SlotPolicy",
    "SlotTaken",
    "StorageUnavailable",
    "StoredEvent",
    "StrandedBooking",
    "TooLate",
    "TooManyBookings",
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
    "stranded_bookings",
    "verify_password",
]
