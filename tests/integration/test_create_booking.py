"""``POST /api/agent/booking/create/`` through a real ``booking serve``, on SQLite and PostgreSQL.

What the spec promises (its example requests and bodies, its error messages) and what DESIGN.md
adds (validation, the policy's check order, the HTTP contract's statuses and codes), asserted on
the wire and, where it matters, in the database itself.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.direct_sql import count_rows, run_sql
from tests.integration.endpoint import (
    CREATE_PATH,
    assert_created,
    assert_created_for_the_public,
    assert_error,
    booking_body,
    unique_phone,
)
from tests.integration.working_days import WorkingDays, today_utc
from tests.support.server import (
    ADMIN_TOKEN,
    AGENT_API_KEY,
    AGENT_HEADERS,
    PUBLIC_AGENT_ENDPOINTS,
    ServerProcess,
    run_booking,
)

SPEC_DATE = "2025-10-20"
SPEC_PHONE = "1234567890"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def spec_complete_request(day: dt.date, phone: str) -> dict[str, str]:
    """The spec's "Complete Request", on a date that is still ahead and a phone of our own."""
    return {
        "phone": phone,
        "first_name": "John",
        "last_name": "Doe",
        "email": "john.doe@example.com",
        "gender": "male",
        "country": "USA",
        "service_name": "Legal Consultation",
        "booking_date": day.isoformat(),
        "booking_time": "14:00",
        "notes": "Agent created booking",
        "status": "upcoming",
    }


async def customer_count(database_url: str, phone: str) -> int:
    return await count_rows(database_url, "SELECT count(*) FROM customers WHERE phone = $1", phone)


class TestCreateBookingSucceeds:
    async def test_basic_request_from_the_spec_creates_the_customer_and_the_booking(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day = days.take()
        request = booking_body(day, "14:00")

        response = await client.post(CREATE_PATH, json=request)

        body = assert_created(response, request, user_created=True, booking_date=day)
        rows = await run_sql(
            database_url,
            "SELECT b.id, c.id, b.service_name, b.status FROM bookings b "
            "JOIN customers c ON c.id = b.customer_id WHERE c.phone = $1",
            request["phone"],
        )
        assert rows == [(body["booking_id"], body["user_id"], "Legal Consultation", "upcoming")]

    async def test_complete_request_from_the_spec_returns_every_field(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        request = spec_complete_request(day, unique_phone())

        response = await client.post(CREATE_PATH, json=request)

        assert_created(response, request, user_created=True, booking_date=day)

    async def test_a_known_phone_books_again_without_creating_a_customer(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        phone = unique_phone()
        first = spec_complete_request(days.take(), phone)
        second_day = days.take()
        second = spec_complete_request(second_day, phone)

        created = assert_created(
            await client.post(CREATE_PATH, json=first),
            first,
            user_created=True,
            booking_date=dt.date.fromisoformat(first["booking_date"]),
        )
        again = assert_created(
            await client.post(CREATE_PATH, json=second),
            second,
            user_created=False,
            booking_date=second_day,
        )

        assert again["user_id"] == created["user_id"]
        assert again["booking_id"] != created["booking_id"]
        assert await customer_count(database_url, phone) == 1

    async def test_a_later_request_never_modifies_an_existing_customer(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        phone = unique_phone()
        first = spec_complete_request(days.take(), phone)
        second_day = days.take()
        second = first | {
            "booking_date": second_day.isoformat(),
            "first_name": "Mallory",
            "last_name": "Intruder",
            "email": "mallory@example.org",
            "gender": "female",
            "country": "Atlantis",
        }
        assert (await client.post(CREATE_PATH, json=first)).status_code == 201

        response = await client.post(CREATE_PATH, json=second)

        original = {"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com"}
        assert_created(response, second, user_created=False, booking_date=second_day, user=original)
        stored = await run_sql(
            database_url,
            "SELECT first_name, last_name, email, gender, country FROM customers WHERE phone = $1",
            phone,
        )
        assert stored == [("John", "Doe", "john.doe@example.com", "male", "USA")]

    @pytest.mark.parametrize(
        "spelling",
        [
            pytest.param("%Y-%m-%d", id="YYYY-MM-DD"),
            pytest.param("%d/%m/%Y", id="DD/MM/YYYY"),
            pytest.param("%m/%d/%Y", id="MM/DD/YYYY"),
            pytest.param("%d-%m-%Y", id="DD-MM-YYYY"),
            pytest.param("%m-%d-%Y", id="MM-DD-YYYY"),
        ],
    )
    async def test_accepts_every_documented_date_format(
        self, client: httpx.AsyncClient, days: WorkingDays, spelling: str
    ) -> None:
        # A day of the month above 12 can only be read one way in every format.
        day = days.take(where=lambda day: day.day > 12)
        request = booking_body(day, booking_date=day.strftime(spelling))

        response = await client.post(CREATE_PATH, json=request)

        assert_created(response, request, user_created=True, booking_date=day)

    async def test_reads_an_ambiguous_date_day_first(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take(where=lambda day: day.day <= 12 and day.day != day.month)
        request = booking_body(day, booking_date=day.strftime("%d/%m/%Y"))

        response = await client.post(CREATE_PATH, json=request)

        assert_created(response, request, user_created=True, booking_date=day)

    @pytest.mark.parametrize(
        ("spelling", "slot"),
        [
            ("14:00", "14:00:00"),
            ("2:00 PM", "14:00:00"),
            ("2:00PM", "14:00:00"),
            ("2:00 pm", "14:00:00"),
            ("14:00:00", "14:00:00"),
            ("12:00 PM", "12:00:00"),
            ("04:00 pm", "16:00:00"),
        ],
    )
    async def test_accepts_every_documented_time_format(
        self, client: httpx.AsyncClient, days: WorkingDays, spelling: str, slot: str
    ) -> None:
        day = days.take()
        request = booking_body(day, spelling)

        response = await client.post(CREATE_PATH, json=request)

        assert_created(response, request, user_created=True, booking_date=day, booking_time=slot)

    async def test_stores_the_phone_normalised_and_uses_it_as_the_username(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        digits = unique_phone()
        spaced = f"+{digits[:3]} ({digits[3:6]}) {digits[6:8]}-{digits[8:]}"
        request = booking_body(day, phone=spaced)

        response = await client.post(CREATE_PATH, json=request)

        assert_created(
            response, request, user_created=True, booking_date=day, user={"phone": f"+{digits}"}
        )

    async def test_accepts_pending_as_the_initial_status(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        request = booking_body(day, status="pending")

        response = await client.post(CREATE_PATH, json=request)

        assert_created(response, request, user_created=True, booking_date=day)

    async def test_accepts_fields_at_their_length_limits(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        request = booking_body(
            day,
            service_name="s" * 100,
            first_name="f" * 150,
            last_name="l" * 150,
            country="c" * 100,
            notes="n" * 2000,
        )

        response = await client.post(CREATE_PATH, json=request)

        assert_created(response, request, user_created=True, booking_date=day)

    async def test_tolerates_a_utf8_byte_order_mark(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        request = booking_body(day)

        response = await client.post(
            CREATE_PATH,
            content=b"\xef\xbb\xbf" + json.dumps(request).encode(),
            headers={"content-type": "application/json"},
        )

        assert_created(response, request, user_created=True, booking_date=day)

    def test_the_spec_curl_example_books(
        self, server: ServerProcess, days: WorkingDays, tmp_path: Path
    ) -> None:
        day = days.take()
        phone = unique_phone()
        # The spec's cURL example verbatim, but for its date (long past) and phone (shared).
        data = """{
    "phone": "1234567890",
    "first_name": "John",
    "last_name": "Doe",
    "email": "john.doe@example.com",
    "service_name": "Legal Consultation",
    "booking_date": "2025-10-20",
    "booking_time": "14:00",
    "notes": "Agent created booking"
  }""".replace(SPEC_DATE, day.isoformat()).replace(SPEC_PHONE, phone)
        output = tmp_path / "body.json"

        result = subprocess.run(
            [
                "curl",
                "--silent",
                "--show-error",
                "-X",
                "POST",
                f"{server.base_url}/api/agent/booking/create/",
                "-H",
                "Content-Type: application/json",
                "-H",  # as a trusted agent: the spec's answer shows the stored customer
                f"X-API-Key: {AGENT_API_KEY}",
                "-d",
                data,
                "--output",
                str(output),
                "--write-out",
                "%{http_code}\n%{content_type}",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )

        status, content_type = result.stdout.split("\n")
        response = httpx.Response(
            int(status), content=output.read_bytes(), headers={"content-type": content_type}
        )
        request = {
            "phone": phone,
            "first_name": "John",
            "last_name": "Doe",
            "email": "john.doe@example.com",
            "service_name": "Legal Consultation",
            "notes": "Agent created booking",
        }
        assert_created(response, request, user_created=True, booking_date=day)


class TestCreateBookingRejectsInvalidRequests:
    @pytest.mark.parametrize("field", ["phone", "service_name", "booking_date", "booking_time"])
    async def test_requires_each_required_field(
        self, client: httpx.AsyncClient, days: WorkingDays, field: str
    ) -> None:
        request = booking_body(days.take())
        del request[field]

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 400, "missing_field", f"Missing required field: {field}")

    @pytest.mark.parametrize("field", ["phone", "service_name", "booking_date", "booking_time"])
    @pytest.mark.parametrize("blank", ["", "   ", None], ids=["empty", "spaces", "null"])
    async def test_treats_a_blank_required_field_as_missing(
        self, client: httpx.AsyncClient, days: WorkingDays, field: str, blank: str | None
    ) -> None:
        request = booking_body(days.take(), **{field: blank})

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 400, "missing_field", f"Missing required field: {field}")

    @pytest.mark.parametrize(
        "date", ["31/02/2027", "2027-13-01", "2027/10/20", "20.10.2027", "tomorrow", "20-10"]
    )
    async def test_rejects_an_unsupported_or_impossible_date(
        self, client: httpx.AsyncClient, days: WorkingDays, date: str
    ) -> None:
        request = booking_body(days.take(), booking_date=date)

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 400, "invalid_date", "Invalid date format")

    @pytest.mark.parametrize("time", ["13:00 PM", "24:00", "9", "2 PM", "14h00", "0:00 AM"])
    async def test_rejects_an_unsupported_or_impossible_time(
        self, client: httpx.AsyncClient, days: WorkingDays, time: str
    ) -> None:
        request = booking_body(days.take(), time)

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 400, "invalid_time", "Invalid time format")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("phone", "12345"),
            ("phone", "1234567890123456"),
            ("phone", "call-me-maybe"),
            ("email", "not-an-email"),
            ("email", "john@localhost"),
            ("gender", "unknown"),
            ("status", "cancelled"),
            ("status", "completed"),
            ("status", "booked"),
        ],
    )
    async def test_rejects_an_invalid_field_value(
        self, client: httpx.AsyncClient, days: WorkingDays, field: str, value: str
    ) -> None:
        request = booking_body(days.take(), **{field: value})

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 400, "invalid_field", message_prefix=f"Invalid {field}")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("phone", 1234567890),
            ("service_name", ["Legal Consultation"]),
            ("booking_date", {"year": 2027, "month": 10, "day": 20}),
            ("booking_time", True),
            ("notes", 42),
            ("email", False),
        ],
        ids=[
            "number-phone",
            "list-service",
            "object-date",
            "bool-time",
            "number-notes",
            "bool-email",
        ],
    )
    async def test_rejects_a_field_of_the_wrong_json_type(
        self, client: httpx.AsyncClient, days: WorkingDays, field: str, value: object
    ) -> None:
        request = booking_body(days.take(), **{field: value})

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 400, "invalid_field", message_prefix=f"Invalid {field}")

    @pytest.mark.parametrize(
        ("field", "length"),
        [
            ("service_name", 101),
            ("notes", 2001),
            ("first_name", 151),
            ("last_name", 151),
            ("country", 101),
        ],
    )
    async def test_rejects_an_over_long_field(
        self, client: httpx.AsyncClient, days: WorkingDays, field: str, length: int
    ) -> None:
        request = booking_body(days.take(), **{field: "x" * length})

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 400, "invalid_field", message_prefix=f"Invalid {field}")

    @pytest.mark.parametrize("field", ["service_name", "notes", "first_name"])
    async def test_rejects_a_nul_character_in_a_text_field(
        self, client: httpx.AsyncClient, days: WorkingDays, field: str
    ) -> None:
        # PostgreSQL cannot store U+0000 in text at all, so it must be refused up front, and
        # the same way on both engines.
        request = booking_body(days.take(), **{field: "Legal\u0000Consultation"})

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 400, "invalid_field", message_prefix=f"Invalid {field}")


class TestCreateBookingAppliesTheBookingPolicy:
    async def test_rejects_a_date_in_the_past_and_creates_no_customer(
        self, client: httpx.AsyncClient, database_url: str
    ) -> None:
        request = booking_body(today_utc() - dt.timedelta(days=1))

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 422, "booking_in_past", "Booking time is in the past")
        assert await customer_count(database_url, request["phone"]) == 0

    async def test_rejects_the_spec_example_date_which_is_now_past(
        self, client: httpx.AsyncClient
    ) -> None:
        request = booking_body(dt.date.fromisoformat(SPEC_DATE))

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 422, "booking_in_past", "Booking time is in the past")

    async def test_rejects_a_date_beyond_the_booking_horizon(
        self, client: httpx.AsyncClient
    ) -> None:
        request = booking_body(today_utc() + dt.timedelta(days=400))

        response = await client.post(CREATE_PATH, json=request)

        assert_error(
            response,
            422,
            "beyond_horizon",
            message_prefix="Booking date is more than 365 days ahead",
        )

    async def test_rejects_sundays(self, client: httpx.AsyncClient, days: WorkingDays) -> None:
        request = booking_body(days.sunday(), "14:00")

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 422, "off_day", "Booking not allowed on off days")

    async def test_reports_the_off_day_before_the_working_hours(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        request = booking_body(days.sunday(), "11:00")

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 422, "off_day", "Booking not allowed on off days")

    @pytest.mark.parametrize("time", ["11:00", "17:00", "11:59:59", "9:00 AM", "5:00 PM"])
    async def test_rejects_a_time_outside_working_hours(
        self, client: httpx.AsyncClient, days: WorkingDays, time: str
    ) -> None:
        request = booking_body(days.take(), time)

        response = await client.post(CREATE_PATH, json=request)

        assert_error(
            response, 422, "outside_working_hours", "Booking time is outside working hours"
        )

    @pytest.mark.parametrize("time", ["14:30", "12:01", "16:59", "14:00:30"])
    async def test_rejects_a_time_that_does_not_start_a_slot(
        self, client: httpx.AsyncClient, days: WorkingDays, time: str
    ) -> None:
        request = booking_body(days.take(), time)

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 422, "not_slot_start", "Booking time is not the start of a slot")

    async def test_rejects_a_closed_date_set_by_the_operator(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        holiday, open_day = days.take(), days.take()
        run_booking(["settings", "set", "--closed-dates", holiday.isoformat()], database_url)
        try:
            closed = await client.post(CREATE_PATH, json=booking_body(holiday))
            still_open = await client.post(CREATE_PATH, json=booking_body(open_day))
        finally:
            run_booking(["settings", "set", "--closed-dates", "none"], database_url)
        reopened = await client.post(CREATE_PATH, json=booking_body(holiday))

        assert_error(closed, 422, "closed_date", "Booking not allowed on closed dates")
        assert still_open.status_code == 201, still_open.text
        assert reopened.status_code == 201, reopened.text

    async def test_the_operator_hears_of_bookings_a_new_closed_date_strands(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day = days.take()
        booked = await client.post(CREATE_PATH, json=booking_body(day, "15:00"))
        assert booked.status_code == 201, booked.text
        booking_id = booked.json()["booking_id"]
        try:
            changed = run_booking(
                ["settings", "set", "--closed-dates", day.isoformat()], database_url
            )
        finally:
            run_booking(["settings", "set", "--closed-dates", "none"], database_url)

        assert f"outside the new rules: booking {booking_id} on {day.isoformat()} at 15:00" in (
            changed.stderr
        ), changed.stderr
        still = await client.post(CREATE_PATH, json=booking_body(day, "15:00"))
        assert_error(still, 409, "slot_taken", "This time slot is already reserved")


class TestCreateBookingRefusesATakenSlot:
    async def test_answers_409_and_creates_nothing_for_the_second_agent(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day = days.take()
        first = booking_body(day, "15:00")
        second = booking_body(day, "3:00 PM")
        assert (await client.post(CREATE_PATH, json=first)).status_code == 201

        response = await client.post(CREATE_PATH, json=second)

        assert_error(response, 409, "slot_taken", "This time slot is already reserved")
        assert await customer_count(database_url, second["phone"]) == 0
        slot_bookings = await count_rows(
            database_url,
            "SELECT count(*) FROM bookings b JOIN customers c ON c.id = b.customer_id "
            "WHERE c.phone IN ($1, $2)",
            first["phone"],
            second["phone"],
        )
        assert slot_bookings == 1

    async def test_the_same_customer_cannot_take_the_slot_twice(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        request = booking_body(days.take(), "12:00")
        assert (await client.post(CREATE_PATH, json=request)).status_code == 201

        response = await client.post(CREATE_PATH, json=request)

        assert_error(response, 409, "slot_taken", "This time slot is already reserved")

    async def test_other_slots_of_the_day_stay_free(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        assert (await client.post(CREATE_PATH, json=booking_body(day, "13:00"))).status_code == 201

        responses = [
            await client.post(CREATE_PATH, json=booking_body(day, time))
            for time in ("12:00", "14:00", "15:00", "16:00")
        ]

        assert [response.status_code for response in responses] == [201] * 4


class TestCreateBookingWithoutSettings:
    async def test_answers_503_when_no_settings_row_is_active(
        self, fresh_server: ServerProcess, days: WorkingDays
    ) -> None:
        await run_sql(fresh_server.database_url, "DELETE FROM business_settings")

        async with httpx.AsyncClient(
            headers=AGENT_HEADERS, base_url=fresh_server.base_url, timeout=30.0
        ) as client:
            response = await client.post(CREATE_PATH, json=booking_body(days.take()))

        assert_error(response, 503, "settings_missing", "No booking settings found")


# --- what the answer discloses about the customer -------------------------------------------------


@pytest.fixture(scope="module")
def public_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A second server on the module's database, without API keys: public agent endpoints."""
    log_dir = tmp_path_factory.mktemp("public-server")
    with ServerProcess(database_url, env=PUBLIC_AGENT_ENDPOINTS, log_dir=log_dir) as process:
        yield process


@pytest.fixture
async def public(public_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """Anybody: a client of the public server (it has no key to send)."""
    async with httpx.AsyncClient(base_url=public_server.base_url, timeout=30.0) as http:
        yield http


class TestWhatTheAnswerDisclosesAboutTheCustomer:
    """Issue 13, defect 2: a known phone number must not open the stored customer's profile.

    A trusted agent (a configured API key sent) gets the spec's answer, the stored customer;
    anyone else gets the same shape with the customer only as its own request described it.
    """

    async def test_a_public_caller_gets_no_stored_profile_for_a_known_phone(
        self, client: httpx.AsyncClient, public: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        phone = unique_phone()
        stored = spec_complete_request(days.take(), phone)
        assert (await client.post(CREATE_PATH, json=stored)).status_code == 201
        day = days.take()
        probe = booking_body(day, "14:00", phone=phone, first_name="Eve")

        response = await public.post(CREATE_PATH, json=probe)

        assert_created_for_the_public(response, probe, booking_date=day)
        for private in ("John", "Doe", "john.doe@example.com", "male", "USA"):
            assert private not in response.text

    async def test_a_public_caller_cannot_tell_a_known_phone_from_a_new_one(
        self, client: httpx.AsyncClient, public: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        known = unique_phone()
        assert (
            await client.post(CREATE_PATH, json=booking_body(days.take(), phone=known))
        ).is_success
        day = days.take()
        fields = {"first_name": "Eve", "last_name": "Prober", "email": "eve@example.org"}
        to_known = booking_body(day, "13:00", phone=known, **fields)
        to_new = booking_body(day, "15:00", **fields)

        answers = [
            await public.post(CREATE_PATH, json=to_known),
            await public.post(CREATE_PATH, json=to_new),
        ]

        assert_created_for_the_public(
            answers[0], to_known, booking_date=day, booking_time="13:00:00"
        )
        assert_created_for_the_public(answers[1], to_new, booking_date=day, booking_time="15:00:00")

    async def test_a_trusted_agent_gets_the_stored_profile_for_the_same_request(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        phone = unique_phone()
        stored = spec_complete_request(days.take(), phone)
        first = await client.post(CREATE_PATH, json=stored)
        day = days.take()
        probe = booking_body(day, "14:00", phone=phone, first_name="Eve")

        response = await client.post(CREATE_PATH, json=probe)

        original = {"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com"}
        again = assert_created(response, probe, user_created=False, booking_date=day, user=original)
        assert again["user_id"] == first.json()["user_id"]

    async def test_the_admin_api_still_shows_the_stored_customer(
        self, client: httpx.AsyncClient, public: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        phone = unique_phone()
        assert (
            await client.post(CREATE_PATH, json=spec_complete_request(days.take(), phone))
        ).is_success
        booked = await public.post(CREATE_PATH, json=booking_body(days.take(), phone=phone))
        assert booked.status_code == 201, booked.text

        shown = await client.get(
            f"/api/admin/bookings/{booked.json()['booking_id']}/", headers=ADMIN
        )

        assert shown.status_code == 200, shown.text
        details = shown.json()["data"]["user_details"]
        assert (details["first_name"], details["email"]) == ("John", "john.doe@example.com")
        assert isinstance(details["id"], int)

    async def test_a_replay_gives_a_public_caller_no_more_than_its_first_answer(
        self, client: httpx.AsyncClient, public: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        """The key was first used by a trusted agent (the record holds the stored profile);
        the operator then removed the keys, or the record predates this rule."""
        phone = unique_phone()
        assert (
            await client.post(CREATE_PATH, json=spec_complete_request(days.take(), phone))
        ).is_success
        day = days.take()
        request = booking_body(day, "14:00", phone=phone, last_name="Sent")
        key = {"Idempotency-Key": f"disclosure-{phone}"}
        first = await client.post(CREATE_PATH, json=request, headers=key)
        assert first.json()["data"]["user"]["first_name"] == "John", first.text

        replay = await public.post(CREATE_PATH, json=request, headers=key)

        assert replay.headers.get("idempotent-replayed") == "true", replay.headers
        body = assert_created_for_the_public(replay, request, booking_date=day)
        assert body["data"]["booking"] == first.json()["data"]["booking"]
