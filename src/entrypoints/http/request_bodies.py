"""The request bodies of the HTTP API as msgspec Structs: decoded by the handlers, documented as is.

Each constraint here describes what the core accepts (``agent_booking.core.request`` and
``agent_booking.core.update_settings`` validate, and own the messages), so the generated OpenAPI
document says what the server does. A body the Struct refuses is never answered with msgspec's
words: the create endpoint falls back to ``BookingRequest.from_mapping`` for the core's refusal.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta

from agent_booking.core.entities import MAX_ID, OPEN_STATUSES

__all__ = [
    "ACCEPTED_DATE",
    "ACCEPTED_TIME",
    "IDEMPOTENCY_KEY_HEADER",
    "IDEMPOTENCY_KEY_PATTERN",
    "PHONE",
    "PHONE_OR_EMPTY",
    "PHONE_RULE",
    "CreateBookingRequest",
    "SettingsChangesRequest",
    "describe_regional_phones",
    "regional_phone_rule",
]

#: The create request's header that makes a retry safe (``agent_booking.core.idempotency``).
IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
#: What an ``Idempotency-Key`` may be: 1 to 255 printable ASCII characters, no spaces.
IDEMPOTENCY_KEY_PATTERN: Final = r"^[\x21-\x7e]{1,255}$"

#: Characters the core refuses in text fields (Unicode category Cc, ``request._printable``).
_CONTROLS: Final = r"\u0000-\u001f\u007f-\u009f"
#: The same, less tab, line feed and carriage return, which notes may contain.
_CONTROLS_BUT_LINES: Final = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
#: What ``str.strip()`` removes: the core trims every text before judging it. Python's ``\s``
#: is exactly ``str.isspace`` (ECMAScript's differs in a few control characters).
_SPACE: Final = r"\s"
_TRIM: Final = rf"{_SPACE}*"


def _trimmed(core: str) -> str:
    """A pattern for ``core`` with any leading and trailing whitespace, as the core trims."""
    return f"^{_TRIM}(?:{core}){_TRIM}$"


_NO_CONTROLS: Final = _trimmed(f"[^{_CONTROLS}]*")
_NOT_BLANK: Final = _trimmed(f"[^{_CONTROLS}]*[^{_CONTROLS}{_SPACE}][^{_CONTROLS}]*")


def _dates() -> str:
    """Exactly the dates ``agent_booking.core.parsing.parse_date`` accepts, in every format.

    A day/month pair is valid in either order when both are at most 12 (so the configured
    order does not change which texts are valid), else read the only way it can be. Years run
    from 0002 to 9998 (``parsing.FIRST_DATE`` to ``parsing.LAST_DATE``).
    """
    year = (
        "(?:000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}"  # 0002-0999
        "|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"  # 1000-9998
    )
    leap = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
    month = "(?:0?[1-9]|1[0-2])"
    february = "0?2"
    # (months, their days up to 12, their days above 12), February of a common year.
    lengths = (
        ("(?:0?[13578]|1[02])", "(?:0?[1-9]|1[0-2])", "(?:1[3-9]|2[0-9]|3[01])"),
        ("(?:0?[469]|11)", "(?:0?[1-9]|1[0-2])", "(?:1[3-9]|2[0-9]|30)"),
        (february, "(?:0?[1-9]|1[0-2])", "(?:1[3-9]|2[0-8])"),
    )
    iso = "|".join(f"{year}-{months}-(?:{low}|{high})" for months, low, high in lengths)
    formats = [f"{iso}|{leap}-{february}-29"]
    for sep in ("/", "-"):
        day_first = "|".join(f"{high}{sep}{months}" for months, _, high in lengths)
        month_first = "|".join(f"{months}{sep}{high}" for months, _, high in lengths)
        formats.append(f"(?:{month}{sep}{month}|{day_first}|{month_first}){sep}{year}")
        formats.append(f"(?:29{sep}{february}|{february}{sep}29){sep}{leap}")
    return "|".join(formats)


#: ``agent_booking.core.parsing``'s date formats, valid dates only.
ACCEPTED_DATE: Final = _trimmed(_dates())
#: The same, or empty: a query parameter left empty counts as not given.
DATE_OR_EMPTY: Final = f"^(?:{_TRIM}(?:{_dates()}){_TRIM})?$"
#: ``agent_booking.core.parsing``'s time formats, valid times only.
ACCEPTED_TIME: Final = _trimmed(
    "(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?|(?:0?[1-9]|1[0-2]):[0-5][0-9] ?[AaPp][Mm]"
)
#: 6 to 15 digits, optionally after ``+``, among whitespace, dashes, dots and parentheses.
_PHONE_CORE: Final = r"[\s.()-]*\+?(?:[\s.()-]*[0-9]){6,15}[\s.()-]*"
PHONE: Final = f"^{_PHONE_CORE}$"
PHONE_OR_EMPTY: Final = f"^(?:{_PHONE_CORE})?$"
#: How a phone is read without ``BOOKING_DEFAULT_REGION`` (what :data:`PHONE` says).
PHONE_RULE: Final = (
    "6 to 15 digits once whitespace, dashes, dots and parentheses are removed, optionally "
    "starting with `+`"
)


def regional_phone_rule(region: str) -> str:
    """How a phone is read with ``BOOKING_DEFAULT_REGION``: no pattern can say it."""
    return (
        f"a number as libphonenumber reads it in region {region} (`BOOKING_DEFAULT_REGION`): "
        f"national as dialled in {region}, or international (with `+` or the international "
        "prefix), in any common formatting (spaces, dashes, dots, parentheses, slashes), at "
        "most 40 characters; kept in E.164 (`+` and the digits). A number that cannot exist "
        "is refused with 400 `invalid_field`, saying why"
    )


def describe_regional_phones(node: object, region: str) -> None:
    """Make every phone field (a schema with a phone pattern) in the JSON schema ``node``
    honest about ``region``, in place: libphonenumber accepts what the pattern would refuse
    (``030/1234567``, more digits after an international prefix), so the pattern goes and the
    description says the rule. For the OpenAPI document and the agent tools' schemas alike."""
    rule = regional_phone_rule(region)
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if item.get("pattern") in {PHONE, PHONE_OR_EMPTY}:
                del item["pattern"]
                text = str(item.get("description", ""))
                described = text.replace(PHONE_RULE, rule) if PHONE_RULE in text else None
                item["description"] = described or f"{text} Read as {rule}.".strip()
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


_EMAIL_PART: Final = rf"[^@\s{_CONTROLS}]+"
_EMAIL: Final = _trimmed(rf"(?:{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART})?")


def documented(description: str, **schema: Any) -> Meta:
    """A field's description and the rules the core applies to it, for the document only.

    The core validates every field (``BookingRequest.from_fields``) and owns the messages;
    msgspec checking the same rules again at decode would only repeat it, at about 3.6 µs per
    create request (measured), so the Struct checks types and the document states the rules.
    """
    return Meta(
        description=description, extra_json_schema={"description": description, "extra": schema}
    )


_DATE_FORMATS: Final = (
    "`YYYY-MM-DD`, `DD/MM/YYYY`, `MM/DD/YYYY`, `DD-MM-YYYY` or `MM-DD-YYYY`; an ambiguous "
    "`05/06/2027` is read day first (month first with `BOOKING_DATE_ORDER=MDY`), a pair with "
    "a number above 12 the only way it can be read"
)
_TIME_FORMATS: Final = "`HH:MM`, `H:MM AM/PM`, `H:MMAM/PM` (any case) or `HH:MM:SS`"

_UNUSED_FOR_KNOWN_PHONE: Final = "Used only when the phone is new."


def _any_case(*words: str) -> str:
    """A pattern for ``words`` in any case, or blank: JSON Schema's regexes have no ``(?i)``."""
    spelled = ("".join(f"[{c.upper()}{c}]" for c in word) for word in words)
    return _trimmed(f"(?:{'|'.join(spelled)})?")


def _text(limit: int, description: str, pattern: str = _NO_CONTROLS) -> Meta:
    return documented(description, maxLength=limit, pattern=pattern)


Phone = Annotated[
    str,
    documented(
        f"The customer's phone number and username: {PHONE_RULE}.",
        pattern=PHONE,
    ),
]
ServiceName = Annotated[
    str,
    documented(
        "Name of the service, 1 to 100 characters (after trimming), no control characters.",
        minLength=1,
        maxLength=100,
        pattern=_NOT_BLANK,
    ),
]
AcceptedDate = Annotated[
    str, documented(f"A date in any accepted format: {_DATE_FORMATS}.", pattern=ACCEPTED_DATE)
]
AcceptedTime = Annotated[
    str,
    documented(f"A local time in the business time zone: {_TIME_FORMATS}.", pattern=ACCEPTED_TIME),
]
Gender = Annotated[
    str,
    documented(
        "`male`, `female` or `other`, any case, or blank. Used only when the phone is new.",
        pattern=_any_case("male", "female", "other"),
    ),
]
CreatableStatus = Annotated[
    str,
    documented(
        "`upcoming` or `pending`, any case; `upcoming` when left out or blank.",
        pattern=_any_case(*sorted(status.value for status in OPEN_STATUSES)),
    ),
]


class CreateBookingRequest(msgspec.Struct, frozen=True):
    """A create request. Blank required fields count as missing; `null` optional fields as
    left out; other fields are ignored. Texts are trimmed before they are judged. An existing
    customer (same phone) is never modified by this endpoint."""

    phone: Phone
    service_name: ServiceName
    booking_date: AcceptedDate
    booking_time: AcceptedTime
    first_name: Annotated[str, _text(150, _UNUSED_FOR_KNOWN_PHONE)] | None = None
    last_name: Annotated[str, _text(150, _UNUSED_FOR_KNOWN_PHONE)] | None = None
    email: (
        Annotated[
            str,
            documented(
                "A valid address, or blank; used only when the phone is new.",
                maxLength=254,
                pattern=_EMAIL,
            ),
        ]
        | None
    ) = None
    gender: Gender | None = None
    country: Annotated[str, _text(100, _UNUSED_FOR_KNOWN_PHONE)] | None = None
    notes: (
        Annotated[
            str,
            _text(
                2000,
                "Booking notes; may span lines (tabs and line breaks allowed).",
                _trimmed(f"[^{_CONTROLS_BUT_LINES}]*"),
            ),
        ]
        | None
    ) = None
    status: CreatableStatus | None = None
    resource_id: (
        Annotated[
            int,
            documented(
                "The resource (person or room) to book; left out, the service assigns one: of "
                "those that perform the service and are free, the one with the fewest active "
                "bookings that day, then the lowest id.",
                minimum=1,
                maximum=MAX_ID,
            ),
        ]
        | None
    ) = None
    service_id: (
        Annotated[
            int,
            documented(
                "A catalog service by id; left out, `service_name` is matched to the catalog "
                "(case-insensitively).",
                minimum=1,
                maximum=MAX_ID,
            ),
        ]
        | None
    ) = None


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
    cancel_notice_minutes: (
        Annotated[
            int,
            Meta(ge=0, le=10080, description="Callers may cancel only this long before a start."),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    reschedule_notice_minutes: (
        Annotated[
            int,
            Meta(ge=0, le=10080, description="Callers may move only this long before a start."),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    unknown_services: (
        Annotated[
            Literal["accept", "reject"],
            Meta(
                description="Book an unknown `service_name` as free text (`accept`) or refuse "
                "it with 422 `unknown_service` (`reject`)."
            ),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET
