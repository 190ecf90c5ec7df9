"""What a client sees outside the happy path: bodies that are not a booking, unknown routes,
wrong methods, oversized bodies, and the health probes.

DESIGN.md: every error body is ``{"success": false, "message", "code"}``, never a framework
default page and never a 500 for the client's own mistake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.endpoint import CREATE_PATH, assert_error, booking_body
from tests.integration.working_days import WorkingDays
from tests.support.server import ADMIN_TOKEN

NOT_AN_OBJECT = "Request body must be a JSON object"
JSON = {"content-type": "application/json"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
OUTSIDE_THE_CALENDAR = "Invalid date format: dates from 0002-01-01 to 9998-12-31 are accepted"


class TestCreateBookingRejectsBodiesThatAreNotAJsonObject:
    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(b"phone=1234567890&service_name=Legal", id="form-text"),
            pytest.param(b"not json at all", id="plain-text"),
            pytest.param(b'{"phone": "1234567890",', id="truncated-json"),
            pytest.param(b"[]", id="array"),
            pytest.param(b'[{"phone": "1234567890"}]', id="array-of-object"),
            pytest.param(b'"a booking"', id="string"),
            pytest.param(b"42", id="number"),
            pytest.param(b"null", id="null"),
            pytest.param(b"true", id="bool"),
            pytest.param(b"", id="empty"),
            pytest.param(b"\xff\xfe{}", id="not-utf8"),
            pytest.param(b"[" * 30_000 + b"]" * 30_000, id="deeply-nested"),
        ],
    )
    async def test_answers_400_with_our_body(
        self, client: httpx.AsyncClient, content: bytes
    ) -> None:
        response = await client.post(CREATE_PATH, content=content, headers=JSON)

        assert_error(response, 400, "invalid_body", NOT_AN_OBJECT)

    async def test_refuses_a_body_declared_as_something_other_than_json(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            CREATE_PATH, content=b"[1, 2]", headers={"content-type": "text/plain"}
        )

        assert_error(
            response, 415, "unsupported_media_type", "Content-Type must be application/json"
        )

    async def test_reads_a_body_without_content_type_as_json(
        self, client: httpx.AsyncClient
    ) -> None:
        request = client.build_request("POST", CREATE_PATH, content=b"[1, 2]")
        assert "content-type" not in request.headers

        assert_error(await client.send(request), 400, "invalid_body", NOT_AN_OBJECT)

    async def test_answers_413_with_our_body_when_the_body_is_too_large(
        self, client: httpx.AsyncClient
    ) -> None:
        content = b'{"notes": "' + b"x" * (2 * 1024 * 1024) + b'"}'

        response = await client.post(CREATE_PATH, content=content, headers=JSON)

        assert_error(response, 413, "body_too_large", "Request body too large")

    async def test_answers_413_when_a_chunked_body_grows_too_large(
        self, client: httpx.AsyncClient
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"notes": "'
            for _ in range(100):
                yield b"x" * 20_000
            yield b'"}'

        # No Content-Length: the limit must hold while the body streams in.
        response = await client.post(CREATE_PATH, content=chunks(), headers=JSON)

        assert_error(response, 413, "body_too_large", "Request body too large")


class TestUnknownRoutesAndMethods:
    @pytest.mark.parametrize("method", ["GET", "POST"])
    @pytest.mark.parametrize("path", ["/nope", "/api/agent/booking/", "/api/agent/booking/delete/"])
    async def test_an_unknown_path_answers_404_with_our_body(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        response = await client.request(method, path, json={})

        assert_error(response, 404, "not_found", "Not found")

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
    async def test_another_method_on_the_create_path_answers_405_with_our_body(
        self, client: httpx.AsyncClient, method: str
    ) -> None:
        response = await client.request(method, CREATE_PATH)

        assert_error(response, 405, "method_not_allowed", "Method not allowed")
        assert "POST" in response.headers.get("allow", ""), response.headers


class TestProbes:
    async def test_health_answers_200(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health")

        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok"}

    async def test_ready_answers_200_when_the_database_answers(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/ready")

        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ready"}


class TestDatesAtTheEndsOfTheCalendar:
    """Issue 13, #7: ``?date=9999-12-31`` overflowed into a 500. Every route that takes a date
    refuses one outside 0002-01-01 … 9998-12-31 with a 400 that says so."""

    @pytest.mark.parametrize(
        "query",
        [
            "date=9999-12-31",
            "date=31/12/9999",
            "from=9999-12-20&to=9999-12-31",
            "from=9999-12-31",
            "from=9998-12-25&to=9999-01-01",
            "date=0001-01-01",
        ],
    )
    async def test_availability(self, client: httpx.AsyncClient, query: str) -> None:
        response = await client.get(f"/api/agent/availability/?{query}")

        assert_error(response, 400, "invalid_date", OUTSIDE_THE_CALENDAR)

    async def test_availability_of_the_last_supported_day_is_an_answer(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/agent/availability/?from=9998-12-01&to=9998-12-31")

        assert response.status_code == 200, response.text
        assert all(not day["free"] for day in response.json()["days"])  # beyond the horizon

    @pytest.mark.parametrize("day", ["9999-12-31", "31/12/9999", "0001-01-01"])
    async def test_create(self, client: httpx.AsyncClient, day: str) -> None:
        body = booking_body(WorkingDays().take(), "16:00", booking_date=day)

        response = await client.post(CREATE_PATH, json=body)

        assert_error(response, 400, "invalid_date", OUTSIDE_THE_CALENDAR)

    @pytest.mark.parametrize("query", ["from=9999-12-31", "to=9999-12-31", "from=0001-01-01"])
    async def test_admin_listing(self, client: httpx.AsyncClient, query: str) -> None:
        response = await client.get(f"/api/admin/bookings/?{query}", headers=ADMIN)

        assert_error(response, 400, "invalid_date", OUTSIDE_THE_CALENDAR)

    @pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
    async def test_closed_dates_in_the_settings(self, client: httpx.AsyncClient, day: str) -> None:
        response = await client.patch(
            "/api/admin/settings/", json={"closed_dates": [day]}, headers=ADMIN
        )

        assert_error(response, 400, "invalid_settings")
        assert "0002-01-01 to 9998-12-31" in response.json()["message"], response.text

    @pytest.mark.parametrize("name", ["page", "page_size"])
    async def test_a_number_of_thousands_of_digits(
        self, client: httpx.AsyncClient, name: str
    ) -> None:
        """A sibling: ``int()`` refuses to read more than 4300 digits, with a ValueError."""
        huge = await client.get(f"/api/admin/bookings/?{name}={'9' * 5000}", headers=ADMIN)
        one = await client.get(f"/api/admin/bookings/?{name}={'0' * 5000}1", headers=ADMIN)

        assert_error(huge, 400, "invalid_field")
        assert one.status_code == 200, one.text  # leading zeros are allowed, as documented
