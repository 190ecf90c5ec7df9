"""Phone identity with libphonenumber: one customer per number, however it was written.

With a default region (``BOOKING_DEFAULT_REGION``, e.g. ``GB``), a national number is read in
that region and every number is stored in E.164, so ``020 7946 0958`` and ``+44 20 7946 0958``
are the same customer, ``+442079460958``. A number written with ``+`` (or the region's
international prefix, ``00`` in most of Europe) is read as international whatever the region.
The core's default reader (:func:`agent_booking.core.request.normalize_phone`) only strips
formatting; this one is the core's ``PhoneReader`` port with the ``phonenumbers`` library, which
comes with the ``[server]`` extra so that the core alone stays attrs and pendulum.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from agent_booking.core.errors import InvalidField

__all__ = ["MAX_RAW_PHONE_LENGTH", "RegionalPhones", "is_known_region"]

#: Longer input is refused before libphonenumber reads it (it allows 250 characters).
MAX_RAW_PHONE_LENGTH = 40

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_LENGTH_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number: include the area code",
}


def is_known_region(region: str) -> bool:
    """Whether ``region`` is a CLDR region code libphonenumber has numbering data for."""
    return region in phonenumbers.SUPPORTED_REGIONS


class RegionalPhones:
    """Reads phones in ``region`` and answers E.164; refuses numbers that cannot exist, saying
    why (too short, too long, not valid for the region, ...)."""

    def __init__(self, region: str) -> None:
        if not is_known_region(region):
            raise ValueError(f"unknown region {region!r} (use a code such as GB, US, DE)")
        self.region = region

    def __call__(self, raw: str) -> str:
        if len(raw) > MAX_RAW_PHONE_LENGTH:
            raise InvalidField("phone", "too long")
        try:
            number = phonenumbers.parse(raw, self.region)
        except NumberParseException as error:
            reason = _PARSE_REASONS.get(error.error_type, "not a phone number")
            raise InvalidField("phone", reason) from None
        if number.extension:
            raise InvalidField("phone", "extensions are not accepted")
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible != ValidationResult.IS_POSSIBLE:
            raise InvalidField("phone", _LENGTH_REASONS.get(possible, "not a phone number"))
        if not phonenumbers.is_valid_number(number):
            where = phonenumbers.region_code_for_number(number) or self.region
            if not raw.lstrip().startswith("+") and number.country_code == (
                phonenumbers.country_code_for_region(self.region)
            ):
                where = self.region
            raise InvalidField("phone", f"not a valid number for {where}")
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
