"""Turning an agent's raw request body into a validated command.

The body comes from unauthenticated callers, so nothing is trusted: every field is type-checked,
trimmed and bounded here, in the core, so that library users get exactly the errors HTTP
clients get.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import pendulum
from attrs import frozen

from agent_booking.core.entities import MAX_ID, OPEN_STATUSES, BookingStatus, CustomerProfile
from agent_booking.core.errors import InvalidField, InvalidRequestBody, MissingField
from agent_booking.core.parsing import DateOrder, check_supported_date, parse_date, parse_time

__all__ = [
    "FIELDS",
    "REQUIRED_FIELDS",
    "BookingRequest",
    "PhoneReader",
    "bounded_text",
    "normalize_phone",
    "read_date_and_time",
    "read_optional_id",
    "read_phone",
]

#: Reads a phone as a caller sent it into the stored form, or raises
#: ``InvalidField("phone", why)``. :func:`normalize_phone` is the default; with a default region
#: the service uses ``agent_booking.adapters.phones.RegionalPhones`` (libphonenumber, E.164).
PhoneReader = Callable[[str], str]

REQUIRED_FIELDS = ("phone", "service_name", "booking_date", "booking_time")
#: Every field a create request reads; others are ignored.
FIELDS = (
    *REQUIRED_FIELDS,
    "first_name",
    "last_name",
    "email",
    "gender",
    "country",
    "notes",
    "status",
    "resource_id",
    "service_id",
)

_PHONE_NOISE = re.compile(r"[\s\-.()]")
_PHONE = re.compile(r"\+?[0-9]{6,15}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: Unicode's control characters (category Cc: C0, DEL and C1); notes may keep tab and newlines.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Invisible characters that change how the text around them is shown: bidirectional
#: embeddings, overrides, isolates and marks (U+202E turns "gnp.exe" into "exe.png"), zero-width
#: spaces and joiners that make two names look identical, and the byte order mark. Zero-width
#: (non-)joiners (U+200C, U+200D) stay allowed: Persian and Indic names and emoji need them.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
#: Unicode's line and paragraph separators: a line break in a one-line field.
_LINE_SEPARATOR = re.compile("[\u2028\u2029]")
_GENDERS = frozenset({"male", "female", "other"})
_MAX_DATE_TIME_LENGTH = 32
_MAX_EMAIL_LENGTH = 254
#: Optional text fields and their maximum length in characters.
_TEXT_LIMITS = {"first_name": 150, "last_name": 150, "country": 100, "notes": 2000}
_SERVICE_NAME_LIMIT = 100


@frozen
class BookingRequest:
    """A create-booking command whose every field has been validated."""

    customer: CustomerProfile
    service_name: str
    booking_date: pendulum.Date
    booking_time: pendulum.Time
    notes: str = ""
    status: BookingStatus = BookingStatus.UPCOMING
    #: The resource asked for (None: the service assigns one) and the catalog service by id
    #: (None: ``service_name`` is matched to the catalog).
    resource_id: int | None = None
    service_id: int | None = None

    def __attrs_post_init__(self) -> None:
        check_supported_date(self.booking_date)  # built from typed values, too

    @classmethod
    def from_mapping(
        cls,
        body: object,
        date_order: DateOrder = DateOrder.DMY,
        *,
        phones: PhoneReader | None = None,
    ) -> BookingRequest:
        """Validate a raw request body (checks in ``DESIGN.md`` order; first failure wins)."""
        if not isinstance(body, Mapping):
            raise InvalidRequestBody
        return cls.from_fields(
            **{name: body.get(name) for name in FIELDS}, date_order=date_order, phones=phones
        )

    @classmethod
    def from_fields(  # noqa: PLR0913 - one parameter per field of the request
        cls,
        *,
        phone: object,
        service_name: object,
        booking_date: object,
        booking_time: object,
        first_name: object = None,
        last_name: object = None,
        email: object = None,
        gender: object = None,
        country: object = None,
        notes: object = None,
        status: object = None,
        resource_id: object = None,
        service_id: object = None,
        date_order: DateOrder = DateOrder.DMY,
        phones: PhoneReader | None = None,
    ) -> BookingRequest:
        """Validate the fields of a request as received: ``None`` is absent, a string is
        checked, anything else is refused. :meth:`from_mapping` and a decoded typed body (the
        HTTP layer's) both come here, so they refuse alike, in the same order."""
        body = {
            "phone": phone,
            "service_name": service_name,
            "booking_date": booking_date,
            "booking_time": booking_time,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "gender": gender,
            "country": country,
            "notes": notes,
            "status": status,
        }
        required = {name: _required_text(body, name) for name in REQUIRED_FIELDS}
        phone_number = (phones or normalize_phone)(required["phone"])
        service = _printable("service_name", required["service_name"])
        if len(service) > _SERVICE_NAME_LIMIT:
            raise InvalidField("service_name", f"at most {_SERVICE_NAME_LIMIT} characters")
        day, time = read_date_and_time(
            required["booking_date"], required["booking_time"], date_order
        )
        texts = {name: _bounded_text(body, name, limit) for name, limit in _TEXT_LIMITS.items()}
        return cls(
            customer=CustomerProfile(
                phone=phone_number,
                first_name=texts["first_name"],
                last_name=texts["last_name"],
                email=_email(body),
                gender=_gender(body),
                country=texts["country"],
            ),
            service_name=service,
            booking_date=day,
            booking_time=time,
            notes=texts["notes"],
            status=_status(body),
            resource_id=_optional_id("resource_id", resource_id),
            service_id=_optional_id("service_id", service_id),
        )


def normalize_phone(raw: str) -> str:
    """Strip formatting (spaces, dashes, dots, parentheses); require 6-15 digits, optional ``+``."""
    phone = _PHONE_NOISE.sub("", raw)
    if not _PHONE.fullmatch(phone):
        raise InvalidField("phone", "must be 6 to 15 digits, optionally starting with +")
    return phone


def _required_text(body: Mapping[str, object], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise MissingField(name)
    if not isinstance(value, str):
        raise InvalidField(name, "must be a string")
    text = value.strip()
    if not text:
        raise MissingField(name)
    return text


def _optional_text(body: Mapping[str, object], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidField(name, "must be a string")
    return _printable(name, value.strip())


def _printable(name: str, text: str) -> str:
    """Refuse control characters (a NUL cannot even be stored by PostgreSQL) and invisible
    characters that would make the text display as something else; notes may span lines."""
    multiline = name == "notes"
    control = _CONTROL_EXCEPT_MULTILINE if multiline else _CONTROL
    if control.search(text) or (not multiline and _LINE_SEPARATOR.search(text)):
        raise InvalidField(name, "must not contain control characters")
    if _INVISIBLE.search(text):
        raise InvalidField(name, "must not contain invisible or text-direction characters")
    return text


def read_phone(value: object, phones: PhoneReader | None = None) -> str:
    """A required ``phone`` of any request, read as a create request's is (``phones``, or
    :func:`normalize_phone`): missing or blank is :class:`MissingField`."""
    return (phones or normalize_phone)(_required_text({"phone": value}, "phone"))


def read_date_and_time(
    booking_date: object, booking_time: object, date_order: DateOrder = DateOrder.DMY
) -> tuple[pendulum.Date, pendulum.Time]:
    """A required ``booking_date`` and ``booking_time`` of any request (a move's new start),
    read as a create request's are: the same formats and messages."""
    body = {"booking_date": booking_date, "booking_time": booking_time}
    day_text, time_text = _required_text(body, "booking_date"), _required_text(body, "booking_time")
    if len(day_text) > _MAX_DATE_TIME_LENGTH:
        raise InvalidField("booking_date", "too long")
    day = parse_date(day_text, date_order)
    if len(time_text) > _MAX_DATE_TIME_LENGTH:
        raise InvalidField("booking_time", "too long")
    return day, parse_time(time_text)


def read_optional_id(name: str, value: object) -> int | None:
    """An optional id field of any request (a move's ``resource_id``), read as create's."""
    return _optional_id(name, value)


def bounded_text(name: str, value: object, limit: int) -> str:
    """An optional one-line text field of another request (a cancellation's reason), checked
    as a create request's names are: a string, trimmed, printable, at most ``limit`` characters;
    ``None`` is empty."""
    return _bounded_text({name: value}, name, limit)


def _bounded_text(body: Mapping[str, object], name: str, limit: int) -> str:
    text = _optional_text(body, name)
    if len(text) > limit:
        raise InvalidField(name, f"at most {limit} characters")
    return text


def _email(body: Mapping[str, object]) -> str:
    email = _optional_text(body, "email")
    if email and (len(email) > _MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email)):
        raise InvalidField("email", "not a valid e-mail address")
    return email


def _gender(body: Mapping[str, object]) -> str:
    gender = _optional_text(body, "gender").lower()
    if gender and gender not in _GENDERS:
        raise InvalidField("gender", "must be male, female or other")
    return gender


def _optional_id(name: str, value: object) -> int | None:
    """An id is a positive JSON integer (not a boolean, not a string of digits; ``7.0`` is the
    integer 7, as JSON Schema counts it)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and 1 <= value <= MAX_ID:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidField(name, "must be a positive integer")
    return value


def _status(body: Mapping[str, object]) -> BookingStatus:
    status = _optional_text(body, "status").lower()
    if not status:
        return BookingStatus.UPCOMING
    if status not in OPEN_STATUSES:
        raise InvalidField("status", "must be upcoming or pending")
    return BookingStatus(status)
