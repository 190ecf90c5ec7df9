"""Validating an agent's raw request body (``BookingRequest.from_mapping``)."""

from __future__ import annotations

import pendulum
import pytest

from agent_booking.core import (
    BookingRequest,
    BookingStatus,
    DateOrder,
    InvalidDate,
    InvalidField,
    InvalidRequestBody,
    InvalidTime,
    MissingField,
    normalize_phone,
)
from tests.unit.builders import basic_body, complete_body, without

REQUIRED = ("phone", "service_name", "booking_date", "booking_time")


class TestBookingRequestBody:
    @pytest.mark.parametrize("body", [[], ["phone", "1234567890"], "phone=1", None, 42, b"{}"])
    def test_rejects_a_body_that_is_not_an_object(self, body: object) -> None:
        with pytest.raises(InvalidRequestBody, match="Request body must be a JSON object"):
            BookingRequest.from_mapping(body)

    def test_reads_the_spec_basic_request(self) -> None:
        request = BookingRequest.from_mapping(basic_body())

        assert request.customer.phone == "1234567890"
        assert request.service_name == "Legal Consultation"
        assert request.booking_date == pendulum.Date(2026, 11, 26)
        assert request.booking_time == pendulum.Time(14, 0)
        assert request.status is BookingStatus.UPCOMING
        assert request.notes == ""
        assert (request.customer.first_name, request.customer.email) == ("", "")

    def test_reads_the_spec_complete_request(self) -> None:
        request = BookingRequest.from_mapping(complete_body())

        customer = request.customer
        assert (customer.first_name, customer.last_name) == ("John", "Doe")
        assert customer.email == "john.doe@example.com"
        assert (customer.gender, customer.country) == ("male", "USA")
        assert request.notes == "Agent created booking"

    def test_trims_surrounding_whitespace(self) -> None:
        request = BookingRequest.from_mapping(
            basic_body(service_name="  Tax Advice ", first_name=" Ann ", booking_time=" 14:00")
        )
        assert request.service_name == "Tax Advice"
        assert request.customer.first_name == "Ann"

    def test_ignores_unknown_fields(self) -> None:
        assert BookingRequest.from_mapping(basic_body(colour="blue")) == (
            BookingRequest.from_mapping(basic_body())
        )

    def test_reads_an_ambiguous_date_in_the_given_order(self) -> None:
        body = basic_body(booking_date="05/06/2027")
        assert BookingRequest.from_mapping(body).booking_date == pendulum.Date(2027, 6, 5)
        assert BookingRequest.from_mapping(body, DateOrder.MDY).booking_date == pendulum.Date(
            2027, 5, 6
        )


class TestRequiredFields:
    @pytest.mark.parametrize("name", REQUIRED)
    def test_rejects_a_missing_field(self, name: str) -> None:
        with pytest.raises(MissingField, match=rf"^Missing required field: {name}$"):
            BookingRequest.from_mapping(without(basic_body(), name))

    @pytest.mark.parametrize("value", [None, "", "   ", "\t\n", "\u00a0"])
    @pytest.mark.parametrize("name", REQUIRED)
    def test_rejects_a_blank_field(self, name: str, value: object) -> None:
        with pytest.raises(MissingField) as raised:
            BookingRequest.from_mapping(basic_body(**{name: value}))
        assert raised.value.message == f"Missing required field: {name}"
        assert raised.value.field == name

    @pytest.mark.parametrize(
        ("missing", "reported"),
        [
            (REQUIRED, "phone"),
            (("service_name", "booking_date", "booking_time"), "service_name"),
            (("booking_time", "booking_date"), "booking_date"),
            (("booking_time",), "booking_time"),
        ],
    )
    def test_reports_the_first_missing_field(self, missing: tuple[str, ...], reported: str) -> None:
        with pytest.raises(MissingField, match=rf"^Missing required field: {reported}$"):
            BookingRequest.from_mapping(without(basic_body(), *missing))

    def test_reports_a_missing_field_before_a_malformed_one(self) -> None:
        body = without(basic_body(booking_date="31/02/2027"), "booking_time")
        with pytest.raises(MissingField, match="booking_time"):
            BookingRequest.from_mapping(body)

    @pytest.mark.parametrize("value", [1234567890, 12.5, True, ["14:00"], {"a": 1}])
    @pytest.mark.parametrize("name", REQUIRED)
    def test_rejects_a_value_that_is_not_a_string(self, name: str, value: object) -> None:
        with pytest.raises(InvalidField, match=rf"^Invalid {name}") as raised:
            BookingRequest.from_mapping(basic_body(**{name: value}))
        assert raised.value.field == name

    def test_rejects_an_unreadable_date(self) -> None:
        with pytest.raises(InvalidDate, match="Invalid date format"):
            BookingRequest.from_mapping(basic_body(booking_date="31/02/2027"))

    def test_rejects_an_unreadable_time(self) -> None:
        with pytest.raises(InvalidTime, match="Invalid time format"):
            BookingRequest.from_mapping(basic_body(booking_time="13:00 PM"))

    @pytest.mark.parametrize("name", ["booking_date", "booking_time"])
    def test_rejects_a_very_long_date_or_time_without_parsing_it(self, name: str) -> None:
        with pytest.raises(InvalidField, match=f"Invalid {name}"):
            BookingRequest.from_mapping(basic_body(**{name: "1" * 10_000}))


class TestPhone:
    @pytest.mark.parametrize(
        ("raw", "normalised"),
        [
            ("+1 (234) 567-890", "+1234567890"),
            ("1234567890", "1234567890"),
            ("555.010.0199", "5550100199"),
            ("(030) 1234 5678", "03012345678"),
            ("123456", "123456"),
            ("+123456789012345", "+123456789012345"),
            (" 12-34-56\t78 ", "12345678"),
        ],
    )
    def test_normalises_formatting_away(self, raw: str, normalised: str) -> None:
        assert normalize_phone(raw) == normalised
        assert BookingRequest.from_mapping(basic_body(phone=raw)).customer.phone == normalised

    @pytest.mark.parametrize(
        "raw",
        [
            "12345",  # too short
            "+1 (234)",
            "1234567890123456",  # too long
            "+1234567890123456",
            "123456789O",  # a letter O
            "call me",
            "12+34567890",
            "++1234567890",
            "1234567890 ext 5",
            "١٢٣٤٥٦٧٨٩٠",  # Arabic-Indic digits
            "+",
        ],
    )
    def test_rejects_a_phone_that_is_not_6_to_15_digits(self, raw: str) -> None:
        with pytest.raises(InvalidField, match=r"^Invalid phone"):
            BookingRequest.from_mapping(basic_body(phone=raw))


class TestFieldLimits:
    @pytest.mark.parametrize(
        ("name", "limit"),
        [
            ("service_name", 100),
            ("first_name", 150),
            ("last_name", 150),
            ("country", 100),
            ("notes", 2000),
        ],
    )
    def test_accepts_a_field_at_its_limit_and_rejects_one_more(self, name: str, limit: int) -> None:
        BookingRequest.from_mapping(basic_body(**{name: "é" * limit}))
        with pytest.raises(InvalidField, match=rf"^Invalid {name}: at most {limit} characters"):
            BookingRequest.from_mapping(basic_body(**{name: "é" * (limit + 1)}))

    @pytest.mark.parametrize("name", ["first_name", "last_name", "country", "notes", "email"])
    def test_treats_an_absent_or_null_optional_field_as_empty(self, name: str) -> None:
        assert BookingRequest.from_mapping(basic_body(**{name: None})) == (
            BookingRequest.from_mapping(basic_body())
        )

    @pytest.mark.parametrize(
        "name", ["first_name", "last_name", "email", "gender", "country", "notes", "status"]
    )
    def test_rejects_an_optional_field_that_is_not_a_string(self, name: str) -> None:
        with pytest.raises(InvalidField, match=rf"^Invalid {name}"):
            BookingRequest.from_mapping(basic_body(**{name: 42}))


class TestEmail:
    @pytest.mark.parametrize(
        "email", ["john.doe@example.com", "a@b.co", "first+tag@sub.example.org", "  x@y.io "]
    )
    def test_accepts_a_valid_address(self, email: str) -> None:
        request = BookingRequest.from_mapping(basic_body(email=email))
        assert request.customer.email == email.strip()

    def test_accepts_no_address(self) -> None:
        assert BookingRequest.from_mapping(basic_body(email="")).customer.email == ""

    @pytest.mark.parametrize(
        "email",
        [
            "not-an-email",
            "a@b",
            "@example.com",
            "john@",
            "john@@example.com",
            "john doe@example.com",
            "john@exa mple.com",
            "a@b.c" + "m" * 250,  # longer than 254 characters
        ],
    )
    def test_rejects_an_invalid_address(self, email: str) -> None:
        with pytest.raises(InvalidField, match=r"^Invalid email"):
            BookingRequest.from_mapping(basic_body(email=email))


class TestGender:
    @pytest.mark.parametrize(
        ("gender", "stored"),
        [
            ("male", "male"),
            ("Female", "female"),
            ("OTHER", "other"),
            ("", ""),
            ("  ", ""),
        ],
    )
    def test_accepts_male_female_other_in_any_case_or_nothing(
        self, gender: str, stored: str
    ) -> None:
        assert BookingRequest.from_mapping(basic_body(gender=gender)).customer.gender == stored

    @pytest.mark.parametrize("gender", ["m", "robot", "males"])
    def test_rejects_anything_else(self, gender: str) -> None:
        with pytest.raises(InvalidField, match=r"^Invalid gender"):
            BookingRequest.from_mapping(basic_body(gender=gender))


class TestStatus:
    def test_defaults_to_upcoming(self) -> None:
        assert BookingRequest.from_mapping(basic_body()).status is BookingStatus.UPCOMING
        assert BookingRequest.from_mapping(basic_body(status="")).status is (BookingStatus.UPCOMING)

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("upcoming", BookingStatus.UPCOMING),
            ("pending", BookingStatus.PENDING),
            ("Pending", BookingStatus.PENDING),
            (" UPCOMING ", BookingStatus.UPCOMING),
        ],
    )
    def test_accepts_upcoming_or_pending(self, status: str, expected: BookingStatus) -> None:
        assert BookingRequest.from_mapping(basic_body(status=status)).status is expected

    @pytest.mark.parametrize("status", ["completed", "cancelled", "confirmed", "done"])
    def test_rejects_any_other_status(self, status: str) -> None:
        with pytest.raises(InvalidField, match=r"^Invalid status: must be upcoming or pending"):
            BookingRequest.from_mapping(basic_body(status=status))


class TestInvisibleCharacters:
    """Text that would display as something else on the dashboard is refused."""

    @pytest.mark.parametrize("name", ["first_name", "last_name", "service_name", "country"])
    @pytest.mark.parametrize(
        "character",
        ["\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\u200e", "\u200f", "\u2060", "\ufeff"],
    )
    def test_refuses_direction_controls_and_zero_width_spaces(
        self, name: str, character: str
    ) -> None:
        with pytest.raises(InvalidField, match="invisible or text-direction") as raised:
            BookingRequest.from_mapping(basic_body(**{name: f"Ann{character}e"}))
        assert raised.value.message.startswith(f"Invalid {name}")

    @pytest.mark.parametrize("name", ["first_name", "last_name", "service_name", "country"])
    @pytest.mark.parametrize("character", ["\u2028", "\u2029"])
    def test_refuses_line_separators_in_one_line_fields(self, name: str, character: str) -> None:
        with pytest.raises(InvalidField, match="control characters"):
            BookingRequest.from_mapping(basic_body(**{name: f"Ann{character}Lee"}))

    def test_notes_may_span_lines_but_not_reverse_text(self) -> None:
        request = BookingRequest.from_mapping(basic_body(notes="first\u2028second\nthird"))
        assert request.notes == "first\u2028second\nthird"

        with pytest.raises(InvalidField, match="invisible or text-direction"):
            BookingRequest.from_mapping(basic_body(notes="call \u202eback"))

    @pytest.mark.parametrize(
        "name",
        [
            "\u0645\u0647\u0633\u0627\u200c\u0631\u0636\u0627\u06cc\u06cc",  # Persian, ZWNJ
            "\U0001f469\u200d\U0001f4bb Dev",  # an emoji sequence, ZWJ
            "Zo\u00eb",
            "\u674e\u5c0f\u9f8d",
        ],
    )
    def test_keeps_joiners_that_scripts_and_emoji_need(self, name: str) -> None:
        assert BookingRequest.from_mapping(basic_body(first_name=name)).customer.first_name == name
