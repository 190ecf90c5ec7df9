"""Phone identity: libphonenumber reads national numbers in the default region, stores E.164.

The numbers are libphonenumber's own example numbers (``phonenumbers.example_number``) as its
metadata writes them nationally, for eight regions; the invalid ones say why they are refused.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import phonenumbers
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.adapters.phones import RegionalPhones
from agent_booking.core import BusinessSettings
from agent_booking.core.errors import InvalidField
from agent_booking.core.phone_identity import (
    PhoneChange,
    PhoneCollision,
    UnreadablePhone,
    plan_phone_changes,
)
from agent_booking.core.request import BookingRequest, normalize_phone
from agent_booking.entrypoints.config import AppConfig, ConfigError
from agent_booking.entrypoints.http.app import create_app
from tests.unit.builders import NOW, TOMORROW, basic_body

#: (region, the example number as dialled in that region, its E.164 form)
LIBPHONENUMBER_EXAMPLES = [
    ("GB", "0121 234 5678", "+441212345678"),
    ("US", "(201) 555-0123", "+12015550123"),
    ("DE", "030 123456", "+4930123456"),
    ("FR", "01 23 45 67 89", "+33123456789"),
    ("JP", "03-1234-5678", "+81312345678"),
    ("AU", "(02) 1234 5678", "+61212345678"),
    ("IN", "074104 10123", "+917410410123"),
    ("BR", "(11) 2345-6789", "+551123456789"),
]


class TestRegionalPhones:
    @pytest.mark.parametrize(("region", "national", "e164"), LIBPHONENUMBER_EXAMPLES)
    def test_reads_the_regions_example_number_as_e164(
        self, region: str, national: str, e164: str
    ) -> None:
        example = phonenumbers.example_number(region)
        assert example is not None
        assert phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL) == (
            national
        )
        assert RegionalPhones(region)(national) == e164

    @pytest.mark.parametrize(("region", "national", "e164"), LIBPHONENUMBER_EXAMPLES)
    def test_an_international_number_is_read_alike_in_any_region(
        self, region: str, national: str, e164: str
    ) -> None:
        del region, national
        for reading_region in ("GB", "US", "DE", "JP", "BR"):
            assert RegionalPhones(reading_region)(e164) == e164

    def test_national_and_international_forms_are_one_number(self) -> None:
        read = RegionalPhones("GB")
        forms = {"020 7946 0958", "+44 20 7946 0958", "0044 20 7946 0958", "(020) 7946-0958"}
        assert {read(form) for form in forms} == {"+442079460958"}

    @pytest.mark.parametrize(
        ("region", "raw", "reason"),
        [
            ("US", "201-555-012", "too short"),
            ("GB", "12", "too short"),
            ("GB", "+44 20 7946 09581111", "too long"),
            ("DE", "030 1", "not a valid number for DE"),
            ("GB", "(650) 253-0000", "not a valid number for GB"),
            ("GB", "+999 1234", "unknown country calling code"),
            ("GB", "call me", "not a phone number"),
            ("GB", "020 7946 0958 ext. 12", "extensions are not accepted"),
            ("GB", "0" * 41, "too long"),
        ],
    )
    def test_refuses_an_impossible_number_saying_why(
        self, region: str, raw: str, reason: str
    ) -> None:
        with pytest.raises(InvalidField) as refused:
            RegionalPhones(region)(raw)
        assert refused.value.code == "invalid_field"
        assert refused.value.message == f"Invalid phone: {reason}"

    def test_an_unknown_region_is_refused_up_front(self) -> None:
        with pytest.raises(ValueError, match="unknown region"):
            RegionalPhones("XX")


class TestTheRequestReadsPhonesThroughThePort:
    def test_without_a_reader_the_phone_is_normalised_as_always(self) -> None:
        request = BookingRequest.from_mapping(basic_body(phone="020 7946 0958"))
        assert request.customer.phone == "02079460958" == normalize_phone("020 7946 0958")

    def test_with_a_regional_reader_the_phone_is_e164(self) -> None:
        body = basic_body(phone="020 7946 0958")
        request = BookingRequest.from_mapping(body, phones=RegionalPhones("GB"))
        assert request.customer.phone == "+442079460958"


_OPEN = {"rate_limit": None, "admin_token": "a" * 32}
_ADMIN = {"Authorization": f"Bearer {'a' * 32}"}


@asynccontextmanager
async def _client(config: AppConfig) -> AsyncIterator[httpx.AsyncClient]:
    """An app on an in-memory store at ``NOW``, public agent endpoints, a known admin token."""
    app = create_app(
        config,
        uow_factory=InMemoryStore(BusinessSettings()).unit_of_work,
        clock=FixedClock(NOW),
        notifier=InMemoryNotifier(),
        ping=_ready,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


class TestConfiguration:
    def test_the_region_is_read_in_upper_case(self) -> None:
        assert AppConfig.from_env({"BOOKING_DEFAULT_REGION": "gb"}).default_region == "GB"

    def test_unset_means_no_region(self) -> None:
        assert AppConfig.from_env({}).default_region is None

    def test_an_unknown_region_stops_the_service(self) -> None:
        with pytest.raises(ConfigError, match="BOOKING_DEFAULT_REGION"):
            AppConfig.from_env({"BOOKING_DEFAULT_REGION": "Britain"})


async def _ready() -> None:
    return None


class TestTheEndpointWithARegion:
    async def test_national_and_international_forms_book_as_one_customer(self) -> None:
        store = InMemoryStore(BusinessSettings())
        config = AppConfig(default_region="GB", rate_limit=None, agent_api_keys=("k",))
        app = create_app(
            config,
            uow_factory=store.unit_of_work,
            clock=FixedClock(NOW),
            notifier=InMemoryNotifier(),
            ping=_ready,
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            headers = {"X-API-Key": "k"}
            first = await client.post(
                "/api/agent/booking/create/",
                json=basic_body(phone="020 7946 0958", booking_time="13:00"),
                headers=headers,
            )
            second = await client.post(
                "/api/agent/booking/create/",
                json=basic_body(phone="+44 20 7946 0958", booking_time="14:00"),
                headers=headers,
            )
            invalid = await client.post(
                "/api/agent/booking/create/",
                json=basic_body(phone="020 7946", booking_time="15:00"),
                headers=headers,
            )
        assert first.status_code == second.status_code == 201
        assert first.json()["data"]["user"]["phone"] == "+442079460958"
        assert second.json()["user_created"] is False
        assert second.json()["user_id"] == first.json()["user_id"]
        assert invalid.status_code == 400
        assert invalid.json()["code"] == "invalid_field"
        assert invalid.json()["message"].startswith("Invalid phone: ")
        assert TOMORROW.isoformat() == first.json()["data"]["booking"]["booking_date"]

    async def test_the_admin_list_finds_the_e164_phone_by_its_national_form(self) -> None:
        async with _client(AppConfig(default_region="GB", **_OPEN)) as client:
            booked = await client.post(
                "/api/agent/booking/create/", json=basic_body(phone="+44 20 7946 0958")
            )
            other = await client.post(
                "/api/agent/booking/create/",
                json=basic_body(phone="+44 121 234 5678", booking_time="15:00"),
            )
            found = await client.get(
                "/api/admin/bookings/", params={"phone": "020 7946 0958"}, headers=_ADMIN
            )
            unreadable = await client.get(
                "/api/admin/bookings/", params={"phone": "020 7946"}, headers=_ADMIN
            )
        assert booked.status_code == other.status_code == 201
        assert found.status_code == 200, found.text
        assert [b["id"] for b in found.json()["data"]] == [booked.json()["booking_id"]]
        assert found.json()["data"][0]["user_details"]["phone"] == "+442079460958"
        assert unreadable.status_code == 400
        assert unreadable.json()["code"] == "invalid_field"

    async def test_without_a_region_the_admin_list_strips_formatting_as_always(self) -> None:
        async with _client(AppConfig(**_OPEN)) as client:
            booked = await client.post(
                "/api/agent/booking/create/", json=basic_body(phone="020 7946 0958")
            )
            found = await client.get(
                "/api/admin/bookings/", params={"phone": "020-7946-0958"}, headers=_ADMIN
            )
            national = await client.get(
                "/api/admin/bookings/", params={"phone": "+44 20 7946 0958"}, headers=_ADMIN
            )
        assert [b["id"] for b in found.json()["data"]] == [booked.json()["booking_id"]]
        assert national.json()["data"] == []  # another phone without a region


class TestDocumentedPhones:
    """The OpenAPI document's phone fields say what the server reads: the 6-15 digit pattern
    without a region; with one, no pattern (libphonenumber accepts ``030/1234567``, or more
    digits after an international prefix) and the rule in words."""

    @staticmethod
    async def phone_fields(config: AppConfig) -> tuple[dict[str, object], list[dict[str, object]]]:
        async with _client(config) as client:
            document = (await client.get("/schema/openapi.json")).json()
        paths, schemas = document["paths"], document["components"]["schemas"]
        fields = [
            schemas["CreateBookingRequest"]["properties"]["phone"],
            schemas["CancelBookingRequest"]["properties"]["phone"],
            *(
                parameter["schema"]
                for path in ("/api/admin/bookings/", "/api/agent/bookings/")
                for parameter in paths[path]["get"]["parameters"]
                if parameter["name"] == "phone"
            ),
        ]
        return document, fields

    async def test_without_a_region_the_pattern_is_documented(self) -> None:
        document, fields = await self.phone_fields(AppConfig(**_OPEN))

        assert "x-phone-region" not in document
        assert len(fields) == 4
        assert all("{6,15}" in str(field["pattern"]) for field in fields)
        assert "6 to 15 digits" in str(fields[0]["description"])

    async def test_with_a_region_the_rule_is_described_instead(self) -> None:
        document, fields = await self.phone_fields(AppConfig(default_region="GB", **_OPEN))

        assert document["x-phone-region"] == "GB"
        assert len(fields) == 4
        assert all("pattern" not in field for field in fields)
        assert all("libphonenumber reads it in region GB" in str(f["description"]) for f in fields)
        assert "6 to 15 digits" not in str(fields[0]["description"])
        assert str(fields[0]["description"]).startswith("The customer's phone number and username")
        # What the pattern would have refused is a phone there.
        assert RegionalPhones("GB")("0044 (0)20 7946 0958 ") == "+442079460958"

    @pytest.mark.parametrize(("region", "patterned"), [(None, True), ("GB", False)])
    async def test_the_agent_tools_phones_are_described_alike(
        self, region: str | None, *, patterned: bool
    ) -> None:
        async with _client(AppConfig(default_region=region, **_OPEN)) as client:
            answer = await client.get("/api/agent/tools/")
        phones = {
            item["function"]["name"]: item["function"]["parameters"]["properties"]["phone"]
            for item in answer.json()
            if "phone" in item["function"]["parameters"]["properties"]
        }
        assert {"book_appointment", "find_bookings"} <= phones.keys()
        for name, phone in phones.items():
            text = json.dumps(phone)
            assert ("{6,15}" in text) is patterned, (name, phone)
            assert ("libphonenumber reads it in region GB" in text) is not patterned, name


class TestPlanningARenormalisation:
    def test_changes_what_reads_differently_and_keeps_collisions_and_refusals(self) -> None:
        stored = [
            (1, "02079460958"),  # becomes +442079460958, but 2 has that already
            (2, "+442079460958"),
            (3, "01212345678"),  # becomes +441212345678
            (4, "+12015550123"),  # already E.164
            (5, "123456"),  # too short for GB
            (6, "07400123456"),  # and 7 reads as the same number
            (7, "+447400123456"),
            (8, "0044 7400 123456"),
        ]
        plan = plan_phone_changes(stored, RegionalPhones("GB"))
        assert plan.changes == (PhoneChange(3, "01212345678", "+441212345678"),)
        assert plan.collisions == (
            PhoneCollision("+442079460958", (1, 2)),
            PhoneCollision("+447400123456", (6, 7, 8)),
        )
        assert [item.customer_id for item in plan.unreadable] == [5]
        assert isinstance(plan.unreadable[0], UnreadablePhone)
        assert plan.unchanged == 1  # customer 4

    def test_a_change_never_takes_a_phone_another_customer_still_has(self) -> None:
        # 1 would become 2's phone while 2 moves on: refused too (order-free application).
        stored = [(1, "a"), (2, "b")]
        plan = plan_phone_changes(stored, {"a": "b", "b": "c"}.__getitem__)
        assert plan.changes == ()
        assert plan.collisions == (PhoneCollision("b", (1, 2)),)
