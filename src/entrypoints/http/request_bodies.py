"""The request bodies of the HTTP API as msgspec Structs: decoded by the handlers, documented as is.

Each constraint here describes what the core accepts (``booking_core.request`` and
``booking_core.update_settings`` validate, and own the messages), so the generated OpenAPI
document says what the server does. A body the Struct refuses is never answered with msgspec's
words: the create endpoint falls back to ``BookingRequest.from_mapping`` for the core's refusal.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

from booking_core.entities import CREATABLE_STATUSES

__all__ = [
    "ACCEPTED_DATE",
    "ACCEPTED_TIME",
    "IDEMPOTENCY_KEY_HEADER",
    "CreateBookingRequest",
    "SettingsChangesRequest",
]

#: The create request's header that makes a retry safe (``booking_core.idempotency``).
IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"

#: Characters the core refuses in text fields (Unicode category Cc, ``request._printable``).
_CONTROLS: Final = r"\u0000-\u001f\u007f-\u009f"
#: The same, less tab, line feed and carriage return, which notes may contain.
_CONTROLS_BUT_LINES: Final = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
_NO_CONTROLS: Final = rf"^[^{_CONTROLS}]*$"
_NOT_BLANK: Final = rf"^[^{_CONTROLS}]*[^\s{_CONTROLS}][^{_CONTROLS}]*$"
#: ``booking_core.parsing``'s formats; a matching value can still be no such day or time.
ACCEPTED_DATE: Final = (
    r"^\s*([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
    r"|[0-9]{1,2}-[0-9]{1,2}-[0-9]{4})\s*$"
)
ACCEPTED_TIME: Final = r"^\s*([0-9]{1,2}:[0-9]{2}(:[0-9]{2})?|[0-9]{1,2}:[0-9]{2} ?[AaPp][Mm])\s*$"
#: 6 to 15 digits, optionally after ``+``, among spaces, dashes, dots and parentheses.
PHONE: Final = r"^[\s.()-]*\+?([\s.()-]*[0-9]){6,15}[\s.()-]*$"
_EMAIL_PART: Final = rf"[^@\s{_CONTROLS}]+"
_EMAIL: Final = rf"^\s*({_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART})?\s*$"

_DATE_FORMATS: Final = (
    "`YYYY-MM-DD`, `DD/MM/YYYY`, `MM/DD/YYYY`, `DD-MM-YYYY` or `MM-DD-YYYY`; an ambiguous "
    "`05/06/2027` is read day first (month first with `BOOKING_DATE_ORDER=MDY`), a pair with "
    "a number above 12 the only way it can be read"
)
_TIME_FORMATS: Final = "`HH:MM`, `H:MM AM/PM`, `H:MMAM/PM` (any case) or `HH:MM:SS`"

_UNUSED_FOR_KNOWN_PHONE: Final = "Used only when the phone is new."


def _optional_text(limit: int, description: str, pattern: str = _NO_CONTROLS) -> Meta:
    return Meta(max_length=limit, pattern=pattern, description=description)


Phone = Annotated[
    str,
    Meta(
        pattern=PHONE,
        description="The customer's phone number and username: 6 to 15 digits once spaces, "
        "dashes, dots and parentheses are removed, optionally starting with `+`.",
        examples=["1234567890", "+44 20 7946 0958"],
    ),
]
ServiceName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=100,
        pattern=_NOT_BLANK,
        description="Name of the service, 1 to 100 characters (after trimming), no control "
        "characters.",
    ),
]
AcceptedDate = Annotated[
    str,
    Meta(
        max_length=32,
        pattern=ACCEPTED_DATE,
        description=f"A date in any accepted format: {_DATE_FORMATS}.",
        examples=["2027-10-20", "20/10/2027", "10-20-2027"],
    ),
]
AcceptedTime = Annotated[
    str,
    Meta(
        max_length=32,
        pattern=ACCEPTED_TIME,
        description=f"A local time in the business time zone: {_TIME_FORMATS}.",
        examples=["14:00", "2:00 PM", "2:00pm", "14:00:00"],
    ),
]


def _any_case(*words: str) -> str:
    """A pattern for ``words`` in any case, or blank: JSON Schema's regexes have no ``(?i)``."""
    spelled = ("".join(f"[{c.upper()}{c}]" for c in word) for word in words)
    return rf"^\s*({'|'.join(spelled)})?\s*$"


Gender = Annotated[
    str,
    Meta(
        pattern=_any_case("male", "female", "other"),
        description="`male`, `female` or `other`, any case. Used only when the phone is new.",
    ),
]
CreatableStatus = Annotated[
    str,
    Meta(
        pattern=_any_case(*sorted(status.value for status in CREATABLE_STATUSES)),
        description="`upcoming` or `pending`, any case; `upcoming` when left out or blank.",
    ),
]


class CreateBookingRequest(msgspec.Struct, frozen=True):
    """A create request. Blank required fields count as missing; `null` optional fields as
    left out; other fields are ignored. An existing customer (same phone) is never modified by
    this endpoint."""

    phone: Phone
    service_name: ServiceName
    booking_date: AcceptedDate
    booking_time: AcceptedTime
    first_name: Annotated[str, _optional_text(150, _UNUSED_FOR_KNOWN_PHONE)] | None = None
    last_name: Annotated[str, _optional_text(150, _UNUSED_FOR_KNOWN_PHONE)] | None = None
    email: (
        Annotated[
            str,
            Meta(
                max_length=254,
                pattern=_EMAIL,
                description="A valid address; used only when the phone is new.",
            ),
        ]
        | None
    ) = None
    gender: Gender | None = None
    country: Annotated[str, _optional_text(100, _UNUSED_FOR_KNOWN_PHONE)] | None = None
    notes: (
        Annotated[
            str,
            _optional_text(
                2000,
                "Booking notes; may span lines (tabs and line breaks allowed).",
                rf"^[^{_CONTROLS_BUT_LINES}]*$",
            ),
        ]
        | None
    ) = None
    status: CreatableStatus | None = None


_Clock = Annotated[str, Meta(pattern=ACCEPTED_TIME, description="A time such as `09:30`.")]
_Names = Annotated[
    list[str] | str,
    Meta(
        description="Weekday names (`mon`…`sun` or full names); also a comma-separated string, "
        '`"none"` or `[]` for no off day.'
    ),
]
_Dates = Annotated[
    list[str] | str,
    Meta(description='ISO dates (`YYYY-MM-DD`); also a comma-separated string, `"none"` or `[]`.'),
]


class SettingsChangesRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Any subset of the settings view's fields. Unknown fields and inconsistent values are
    refused with 400 `invalid_settings`, and nothing changes."""

    open_time: _Clock | msgspec.UnsetType = msgspec.UNSET
    close_time: _Clock | msgspec.UnsetType = msgspec.UNSET
    off_days: _Names | msgspec.UnsetType = msgspec.UNSET
    slot_minutes: (
        Annotated[int, Meta(ge=1, le=1440, description="Slot length, fitting the opening hours.")]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    timezone: Annotated[str, Meta(description="An IANA time zone name.")] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    horizon_days: (
        Annotated[int, Meta(ge=0, le=3660, description="Days ahead bookings are taken.")]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    closed_dates: _Dates | msgspec.UnsetType = msgspec.UNSET
