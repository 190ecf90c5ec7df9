"""The caller's own bookings: find them by phone, cancel one with its phone (issue 15).

The clock stands at Wednesday 2026-11-25 10:00 UTC; ``TOMORROW`` 14:00 is 28 hours ahead.
"""

from __future__ import annotations

import httpx
import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BusinessSettings, CreateAgentBooking
from agent_booking.core.cancel_booking import CallerCancellation, CancelBooking
from agent_booking.core.entities import BookingStatus
from agent_booking.core.errors import (
    BookingNotActive,
    BookingNotFound,
    InvalidField,
    InvalidSettings,
    MissingField,
    SettingsMissing,
    TooLate,
)
from agent_booking.core.find_bookings import FindCallerBookings
from agent_booking.core.resources import Catalog, Service
from agent_booking.entrypoints.cli.parser import build_parser
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import create_app
from tests.unit.builders import NOW, ONE_RESOURCE_PLACEMENT, TOMORROW, basic_body

PHONE = "1234567890"


@pytest.fixture
def cancel(store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier) -> CancelBooking:
    return CancelBooking(store.unit_of_work, clock, notifier)


@pytest.fixture
def find(store: InMemoryStore, clock: FixedClock) -> FindCallerBookings:
    return FindCallerBookings(store.unit_of_work, clock)


async def book(
    create: CreateAgentBooking, day: pendulum.Date = TOMORROW, time: str = "14:00", **fields: str
) -> int:
    result = await create(basic_body(booking_date=day.isoformat(), booking_time=time, **fields))
    return result.booking.id


def status_of(store: InMemoryStore, booking_id: int) -> BookingStatus:
    return next(b.status for b in store.bookings if b.id == booking_id)


class TestCancelByTheCaller:
    async def test_cancels_with_the_bookings_phone_and_says_why_to_the_dashboards(
        self,
        create_booking: CreateAgentBooking,
        cancel: CancelBooking,
        store: InMemoryStore,
        notifier: InMemoryNotifier,
    ) -> None:
        booking_id = await book(create_booking)

        done = await cancel(booking_id, caller=CallerCancellation(PHONE, "Flu"))

        assert done.booking.status is BookingStatus.CANCELLED
        assert status_of(store, booking_id) is BookingStatus.CANCELLED
        assert [event.type for event in notifier.sent] == ["booking_created", "booking_cancelled"]
        assert notifier.sent[-1].payload["cancellation_reason"] == "Flu"

    async def test_no_reason_adds_nothing_to_the_event(
        self, create_booking: CreateAgentBooking, cancel: CancelBooking, notifier: InMemoryNotifier
    ) -> None:
        await cancel(await book(create_booking), caller=CallerCancellation(PHONE))
        assert "cancellation_reason" not in notifier.sent[-1].payload

    async def test_another_phone_is_told_the_booking_does_not_exist(
        self, create_booking: CreateAgentBooking, cancel: CancelBooking, store: InMemoryStore
    ) -> None:
        booking_id = await book(create_booking)

        with pytest.raises(BookingNotFound) as other_phone:
            await cancel(booking_id, caller=CallerCancellation("5550100"))
        with pytest.raises(BookingNotFound) as missing:
            await cancel(booking_id + 1000, caller=CallerCancellation(PHONE))

        assert (other_phone.value.code, other_phone.value.message) == (
            missing.value.code,
            missing.value.message,
        )
        assert status_of(store, booking_id) is BookingStatus.UPCOMING

    async def test_twice_is_not_active_and_tells_the_dashboards_once(
        self, create_booking: CreateAgentBooking, cancel: CancelBooking, notifier: InMemoryNotifier
    ) -> None:
        booking_id = await book(create_booking)
        await cancel(booking_id, caller=CallerCancellation(PHONE))

        with pytest.raises(BookingNotActive):
            await cancel(booking_id, caller=CallerCancellation(PHONE))

        assert [event.type for event in notifier.sent].count("booking_cancelled") == 1

    async def test_a_started_booking_is_too_late(
        self, create_booking: CreateAgentBooking, cancel: CancelBooking, clock: FixedClock
    ) -> None:
        booking_id = await book(create_booking)
        clock.advance(hours=28)  # TOMORROW 14:00: it starts now

        with pytest.raises(TooLate, match="already started"):
            await cancel(booking_id, caller=CallerCancellation(PHONE))

    async def test_an_admin_may_still_cancel_a_started_booking(
        self, create_booking: CreateAgentBooking, cancel: CancelBooking, clock: FixedClock
    ) -> None:
        booking_id = await book(create_booking)
        clock.advance(hours=28, minutes=30)

        assert (await cancel(booking_id)).booking.status is BookingStatus.CANCELLED


class TestCancelNotice:
    @pytest.fixture
    def settings(self) -> BusinessSettings:
        return BusinessSettings(cancel_notice_minutes=120)

    async def test_up_to_the_notice_before_the_start_is_allowed(
        self, create_booking: CreateAgentBooking, cancel: CancelBooking, clock: FixedClock
    ) -> None:
        booking_id = await book(create_booking)
        clock.advance(hours=26)  # 12:00, exactly two hours before

        done = await cancel(booking_id, caller=CallerCancellation(PHONE))

        assert done.booking.status is BookingStatus.CANCELLED

    async def test_later_is_too_late_and_changes_nothing(
        self,
        create_booking: CreateAgentBooking,
        cancel: CancelBooking,
        clock: FixedClock,
        store: InMemoryStore,
    ) -> None:
        booking_id = await book(create_booking)
        clock.advance(hours=26, seconds=1)

        with pytest.raises(TooLate) as refused:
            await cancel(booking_id, caller=CallerCancellation(PHONE))

        assert refused.value.code == "too_late"
        assert refused.value.message == (
            "Too late to cancel: bookings can be cancelled up to 120 minutes before they start"
        )
        assert status_of(store, booking_id) is BookingStatus.UPCOMING


class TestTheCallersRequest:
    def test_reads_the_phone_as_a_create_request_does(self) -> None:
        assert CallerCancellation.from_fields(phone=" (123) 456-7890 ") == CallerCancellation(PHONE)

    @pytest.mark.parametrize(
        ("fields", "error", "message"),
        [
            ({"phone": None}, MissingField, "Missing required field: phone"),
            ({"phone": "  "}, MissingField, "Missing required field: phone"),
            ({"phone": 5}, InvalidField, "Invalid phone: must be a string"),
            ({"phone": PHONE, "reason": 1}, InvalidField, "Invalid reason: must be a string"),
            ({"phone": PHONE, "reason": "x" * 501}, InvalidField, "Invalid reason: at most 500"),
            ({"phone": PHONE, "reason": "a\x00b"}, InvalidField, "Invalid reason: must not"),
        ],
    )
    def test_refuses_what_a_create_request_would(
        self, fields: dict[str, object], error: type[Exception], message: str
    ) -> None:
        with pytest.raises(error) as refused:
            CallerCancellation.from_fields(**fields)
        assert str(refused.value).startswith(message)


class TestFind:
    async def test_lists_the_phones_bookings_still_to_come_soonest_first(
        self,
        create_booking: CreateAgentBooking,
        cancel: CancelBooking,
        find: FindCallerBookings,
        clock: FixedClock,
    ) -> None:
        later = await book(create_booking, TOMORROW.add(days=1), "13:00")
        sooner = await book(create_booking, TOMORROW, "15:00")
        started = await book(create_booking, TOMORROW, "12:00")
        cancelled = await book(create_booking, TOMORROW, "16:00")
        await book(create_booking, TOMORROW, "13:00", phone="5550100")
        await cancel(cancelled)
        clock.advance(hours=26, minutes=30)  # 12:30 tomorrow: the 12:00 one has started

        found = await find(PHONE)

        assert [booking.id for booking, _ in found.bookings] == [sooner, later]
        assert started not in [booking.id for booking, _ in found.bookings]
        assert found.settings == BusinessSettings()

    async def test_says_where_each_booking_is(
        self, store: InMemoryStore, create_booking: CreateAgentBooking, find: FindCallerBookings
    ) -> None:
        default = Catalog.single(BusinessSettings()).resources[0]
        store.state.catalog = Catalog([default], [Service(4, "Massage", 45, buffer_after=15)])
        await book(create_booking, TOMORROW, "14:00", service_name="massage")
        await book(create_booking, TOMORROW, "16:00")

        found = await find(PHONE)

        assert [found.placement(booking).as_json() for booking, _ in found.bookings] == [
            {
                "resource": {"id": 1, "name": "Default"},
                "service": {"id": 4, "name": "Massage", "duration_minutes": 45},
            },
            {
                "resource": {"id": 1, "name": "Default"},
                "service": {"id": None, "name": "Legal Consultation", "duration_minutes": 60},
            },
        ]

    async def test_a_phone_without_bookings_finds_nothing(self, find: FindCallerBookings) -> None:
        assert (await find("5550199")).bookings == ()

    async def test_without_settings_it_cannot_say(self, clock: FixedClock) -> None:
        store = InMemoryStore(None)
        with pytest.raises(SettingsMissing):
            await FindCallerBookings(store.unit_of_work, clock)(PHONE)


class TestNoticeSettings:
    @pytest.mark.parametrize("name", ["cancel_notice_minutes", "reschedule_notice_minutes"])
    @pytest.mark.parametrize("value", [-1, 10081])
    def test_out_of_range_is_refused(self, name: str, value: int) -> None:
        with pytest.raises(InvalidSettings, match="between 0 and 10080 minutes"):
            BusinessSettings(**{name: value})

    def test_the_cli_sets_them(self) -> None:
        args = build_parser().parse_args(
            [
                "settings",
                "set",
                "--cancel-notice-minutes",
                "60",
                "--reschedule-notice-minutes",
                "30",
            ]
        )
        assert (args.cancel_notice_minutes, args.reschedule_notice_minutes) == (60, 30)


async def _ready() -> None:
    return None


def _client(store: InMemoryStore, keys: tuple[str, ...]) -> httpx.AsyncClient:
    app = create_app(
        AppConfig(rate_limit=None, agent_api_keys=keys),
        uow_factory=store.unit_of_work,
        clock=FixedClock(NOW),
        notifier=InMemoryNotifier(),
        ping=_ready,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


class TestOnlyTrustedAgents:
    async def test_without_keys_configured_both_endpoints_are_closed(self) -> None:
        store = InMemoryStore(BusinessSettings())
        async with _client(store, ()) as public:
            created = await public.post("/api/agent/booking/create/", json=basic_body())
            found = await public.get("/api/agent/bookings/", params={"phone": PHONE})
            cancelled = await public.post(
                f"/api/agent/bookings/{created.json()['booking_id']}/cancel/",
                json={"phone": PHONE},
            )

        assert created.status_code == 201
        for refused in (found, cancelled):
            assert refused.status_code == 403
            assert refused.json() == {
                "success": False,
                "message": "Finding and cancelling bookings by phone needs an agent API key "
                "(BOOKING_AGENT_API_KEYS)",
                "code": "forbidden",
            }
        assert next(iter(store.bookings)).status is BookingStatus.UPCOMING

    async def test_a_trusted_agent_finds_and_cancels(self) -> None:
        store = InMemoryStore(BusinessSettings())
        async with _client(store, ("k",)) as agent:
            agent.headers["X-API-Key"] = "k"
            created = await agent.post("/api/agent/booking/create/", json=basic_body())
            found = await agent.get("/api/agent/bookings/", params={"phone": "123 456 7890"})
            cancelled = await agent.post(
                f"/api/agent/bookings/{created.json()['booking_id']}/cancel/",
                json={"phone": PHONE},
            )
            after = await agent.get("/api/agent/bookings/", params={"phone": PHONE})

        assert found.status_code == 200
        assert found.json()["data"] == [
            {
                "id": created.json()["booking_id"],
                "service_name": "Legal Consultation",
                "booking_date": "2026-11-26",
                "booking_time": "14:00:00",
                "starts_at": "2026-11-26T14:00:00Z",
                "status": "upcoming",
                "notes": "",
                **ONE_RESOURCE_PLACEMENT,
                "spoken": "Thursday, November 26, 2:00\u202fPM",
            }
        ]
        assert cancelled.status_code == 200
        assert cancelled.json()["data"]["status"] == "cancelled"
        assert cancelled.json()["data"]["resource"] == {"id": 1, "name": "Default"}
        assert after.json() == {"success": True, "data": []}
