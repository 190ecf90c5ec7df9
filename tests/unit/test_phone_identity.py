"""Phone identity: libphonenumber reads national numbers in the default region, stores E.164.

The numbers are libphonenumber's own example numbers (``phonenumbers.example_number``) as its
metadata writes them nationally, for eight regions; the invalid ones say why they are refused.
"""

from __future__ import annotations

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
