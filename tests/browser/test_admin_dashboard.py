"""The admin dashboard at ``/admin/``, end to end in real headless Chromium.

A real ``booking serve`` on SQLite; bookings are made over HTTP, as agents make them, while the
page is open. The page is used as a person uses it (the token typed into the form, buttons
clicked); what it did is checked both on screen and through the API.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, WebSocketRoute, expect

from tests.browser.browsing import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, PageWatch
from tests.integration.endpoint import CREATE_PATH, unique_phone
from tests.integration.working_days import WorkingDays
from tests.support.server import ADMIN_TOKEN, ServerProcess

#: The issue's limit for a new booking to show up on an open dashboard.
LIVE_WITHIN_MS = 2000
XSS_NOTES = "<img src=x onerror=alert(1)>"
XSS_NAME = "<script>alert(2)</script>"
TOKEN_KEY = "booking-admin.token"
LAST_EVENT_KEY = "booking-admin.last-event-id"
#: What the security headers send on HTML responses.
STRICT_POLICY = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'"
)


@pytest.fixture(scope="module")
def days() -> WorkingDays:
    return WorkingDays()


@pytest.fixture(scope="module")
def existing(http: httpx.Client, days: WorkingDays) -> list[dict[str, Any]]:
    """Bookings made before any dashboard opens, one of them with hostile customer strings."""
    first, second = days.take_many(2)
    return [
        create_booking(http, first, "12:00", first_name="Ada", last_name="Lovelace"),
        create_booking(
            http,
            first,
            "15:00",
            service_name="Tax Advice",
            first_name="Grace",
            last_name="Hopper",
            notes="Prefers a call first",
        ),
        create_booking(
            http,
            second,
            "13:00",
            service_name="Contract Review",
            first_name=XSS_NAME,
            last_name="Mallory",
            notes=XSS_NOTES,
        ),
    ]


def create_booking(
    http: httpx.Client, day: dt.date, at: str = "14:00", **fields: Any
) -> dict[str, Any]:
    """Book over HTTP as an agent does; returns the booking as the admin API shows it."""
    body = {
        "phone": unique_phone(),
        "service_name": "Legal Consultation",
        "booking_date": day.isoformat(),
        "booking_time": at,
    } | fields
    response = http.post(CREATE_PATH, json=body)
    assert response.status_code == 201, response.text
    booking: dict[str, Any] = response.json()["data"]["booking"]
    return booking


def availability(http: httpx.Client, day: dt.date) -> dict[str, Any]:
    response = http.get("/api/agent/availability/", params={"date": day.isoformat()})
    assert response.status_code == 200, response.text
    (entry,) = response.json()["days"]
    return entry


def open_dashboard(page: Page, server: ServerProcess) -> None:
    page.goto(f"{server.base_url}/admin/")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator("#bookings-loading")).to_be_hidden()


def row(page: Page, booking_id: int) -> Locator:
    return page.locator(f'#bookings-body tr[data-booking-id="{booking_id}"]')


def slot(page: Page, at: str, resource_id: int = 1) -> Locator:
    """The day view's cell at ``at`` in the column of the resource (the first one by default)."""
    return page.locator(f'#day-board td[data-slot="{at}"][data-resource-id="{resource_id}"]')


def session_storage(page: Page, key: str) -> str | None:
    value: str | None = page.evaluate("key => sessionStorage.getItem(key)", key)
    return value


class TestSignIn:
    def test_refuses_a_wrong_token(self, page: Page, server: ServerProcess) -> None:
        page.goto(f"{server.base_url}/admin/")
        page.get_by_label("Admin token").fill("not-the-token")
        page.get_by_role("button", name="Sign in").click()

        expect(page.get_by_role("alert")).to_contain_text("not accepted")
        expect(page.locator("#bookings-view")).to_be_hidden()
        assert session_storage(page, TOKEN_KEY) is None

    def test_keeps_the_token_in_session_storage_only(
        self, page: Page, server: ServerProcess, existing: list[dict[str, Any]]
    ) -> None:
        open_dashboard(page, server)

        assert ADMIN_TOKEN not in page.url
        assert session_storage(page, TOKEN_KEY) == ADMIN_TOKEN
        page.reload()  # the tab's session survives a reload without typing the token again
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        expect(row(page, existing[0]["id"])).to_be_visible()
        assert ADMIN_TOKEN not in page.url

    def test_bare_admin_path_redirects_to_the_page(self, http: httpx.Client) -> None:
        response = http.get("/admin")

        assert response.status_code in {301, 302, 307, 308}
        assert response.headers["location"] == "/admin/"

    def test_sign_out_clears_session_storage(self, page: Page, server: ServerProcess) -> None:
        open_dashboard(page, server)

        page.get_by_role("button", name="Sign out").click()

        expect(page.get_by_label("Admin token")).to_be_visible()
        assert page.evaluate("sessionStorage.length") == 0


class TestBookingsTable:
    def test_lists_existing_bookings_with_their_details(
        self, page: Page, server: ServerProcess, existing: list[dict[str, Any]]
    ) -> None:
        open_dashboard(page, server)

        ada = row(page, existing[0]["id"])
        expect(ada).to_contain_text("12:00")
        expect(ada).to_contain_text("Legal Consultation")
        expect(ada).to_contain_text("Ada Lovelace")
        expect(ada).to_contain_text("Upcoming")
        expect(ada.locator(".booking__resource")).to_have_text("Default")  # the one resource
        expect(ada.locator(".booking__service")).to_have_text("Legal Consultation · 60 min")
        grace = row(page, existing[1]["id"])
        expect(grace).to_contain_text("Tax Advice")
        expect(grace).to_contain_text("Prefers a call first")
        ids = page.locator("#bookings-body tr").evaluate_all(
            "rows => rows.map(r => Number(r.dataset.bookingId))"
        )
        assert ids.index(existing[0]["id"]) < ids.index(existing[1]["id"]), "soonest first"

    def test_customer_strings_render_as_text(
        self, page: Page, watch: PageWatch, server: ServerProcess, existing: list[dict[str, Any]]
    ) -> None:
        open_dashboard(page, server)

        hostile = row(page, existing[2]["id"])
        expect(hostile.locator(".booking__notes")).to_have_text(XSS_NOTES)
        expect(hostile.locator(".booking__customer")).to_have_text(f"{XSS_NAME} Mallory")
        assert page.locator("img").count() == 0, "an <img> was built from customer input"
        assert page.locator("#bookings-body script").count() == 0
        assert watch.dialogs == [], "customer input ran as script"
        assert [url for url in watch.urls if urlsplit(url).path.endswith("/x")] == []


class TestLiveFeed:
    def test_new_booking_appears_highlighted_without_reload(
        self,
        page: Page,
        watch: PageWatch,
        server: ServerProcess,
        http: httpx.Client,
        days: WorkingDays,
        existing: list[dict[str, Any]],
    ) -> None:
        open_dashboard(page, server)
        page.evaluate("window.__sameDocument = true")

        booking = create_booking(
            http,
            days.take(),
            "16:00",
            service_name="Will Drafting",
            first_name="Alan",
            last_name="Turing",
            notes=XSS_NOTES,
        )

        new_row = row(page, booking["id"])
        expect(new_row).to_be_visible(timeout=LIVE_WITHIN_MS)
        expect(new_row).to_have_class(re.compile(r"\bis-new\b"))
        expect(new_row).to_contain_text("New")
        expect(new_row).to_contain_text("Alan Turing")
        expect(new_row.locator(".booking__notes")).to_have_text(XSS_NOTES)
        assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
        assert page.locator("img").count() == 0
        assert watch.dialogs == []
        assert watch.foreign_urls() == [], "the page left 127.0.0.1"

    def test_a_moved_booking_moves_in_the_list_and_the_day_view_and_says_from_where(
        self,
        page: Page,
        server: ServerProcess,
        http: httpx.Client,
        days: WorkingDays,
    ) -> None:
        day = days.take()
        phone = unique_phone()
        booking = create_booking(http, day, "13:00", phone=phone, first_name="Edsger")
        open_dashboard(page, server)
        page.goto(f"{server.base_url}/admin/#day={day.isoformat()}")
        expect(slot(page, "13:00:00")).to_contain_text("Edsger")

        moved = http.post(
            f"/api/agent/bookings/{booking['id']}/reschedule/",
            json={"phone": phone, "booking_date": day.isoformat(), "booking_time": "16:00"},
        )
        assert moved.status_code == 200, moved.text

        expect(slot(page, "16:00:00")).to_contain_text("Edsger", timeout=LIVE_WITHIN_MS)
        expect(slot(page, "13:00:00")).not_to_contain_text("Edsger")
        page.locator('.tabs__link[data-view="bookings"]').click()
        moved_row = row(page, booking["id"])
        expect(moved_row.locator(".booking__time")).to_have_text(re.compile("4:00|16:00"))
        expect(moved_row).to_contain_text("Moved from")
        expect(moved_row).to_have_class(re.compile(r"\bis-moved\b"))

    def test_a_hold_shows_held_until_and_goes_on_release(
        self, page: Page, server: ServerProcess, http: httpx.Client, days: WorkingDays
    ) -> None:
        open_dashboard(page, server)
        phone = unique_phone()
        held = http.post(
            "/api/agent/holds/",
            json={
                "phone": phone,
                "service_name": "Hold Me",
                "booking_date": days.take().isoformat(),
                "booking_time": "13:00",
            },
        )
        assert held.status_code == 201, held.text
        hold_id = held.json()["booking_id"]

        held_row = row(page, hold_id)
        expect(held_row).to_be_visible(timeout=LIVE_WITHIN_MS)
        expect(held_row.locator(".booking__status")).to_contain_text(
            re.compile(r"Held until \d\d:\d\d")
        )
        page.locator("#status-filter").select_option("active")
        expect(held_row).to_be_visible()

        released = http.delete(f"/api/agent/holds/{hold_id}/", params={"phone": phone})
        assert released.status_code == 200, released.text
        expect(held_row).to_be_hidden(timeout=LIVE_WITHIN_MS)
        page.locator("#status-filter").select_option("all")
        expect(held_row.locator(".booking__status .badge--released")).to_have_text("Released")

    def test_reconnects_with_since_and_misses_nothing(
        self, page: Page, server: ServerProcess, http: httpx.Client, days: WorkingDays
    ) -> None:
        sockets: list[WebSocketRoute] = []
        made_while_away: list[dict[str, Any]] = []
        day = days.take()

        def relay(socket: WebSocketRoute) -> None:
            sockets.append(socket)
            if len(sockets) == 2:
                # The dashboard is away: only ?since= can bring it this booking.
                made_while_away.append(create_booking(http, day, "13:00", first_name="Away"))
            socket.connect_to_server()

        page.route_web_socket(re.compile(r"/ws/admin/bookings/"), relay)
        open_dashboard(page, server)
        seen = create_booking(http, day, "12:00", first_name="Seen")
        expect(row(page, seen["id"])).to_be_visible(timeout=LIVE_WITHIN_MS)
        last_seen = session_storage(page, LAST_EVENT_KEY)
        assert last_seen is not None

        sockets[0].close(code=1012, reason="service restart")

        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        expect(row(page, made_while_away[0]["id"])).to_be_visible(timeout=5000)
        assert len(sockets) == 2
        assert f"since={last_seen}" in sockets[1].url
        assert "since=" not in sockets[0].url, "a first visit has nothing to resume"


class TestCancel:
    def test_cancelling_from_the_page_frees_the_slot(
        self,
        page: Page,
        server: ServerProcess,
        http: httpx.Client,
        admin: httpx.Client,
        days: WorkingDays,
    ) -> None:
        day = days.take()
        open_dashboard(page, server)
        booking = create_booking(http, day, "14:00", first_name="Cancel", last_name="Me")
        target = row(page, booking["id"])
        expect(target).to_be_visible(timeout=LIVE_WITHIN_MS)
        assert "14:00:00" in availability(http, day)["taken"]

        target.get_by_role("button", name="Cancel").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Cancel Me")
        dialog.get_by_role("button", name="Cancel booking").click()

        expect(target.locator(".booking__status .badge").first).to_have_text("Cancelled")
        expect(target.get_by_role("button", name="Cancel")).to_have_count(0)
        assert admin.get(f"/api/admin/bookings/{booking['id']}/").json()["data"]["status"] == (
            "cancelled"
        )
        assert "14:00:00" in availability(http, day)["free"]
        target.get_by_title("Open the day view").click()
        expect(page.locator("#day-view")).to_be_visible()
        expect(slot(page, "14:00:00")).to_have_attribute("data-state", "free")
        expect(slot(page, "14:00:00")).to_contain_text("Free")

    def test_keep_booking_leaves_it_active(
        self,
        page: Page,
        server: ServerProcess,
        http: httpx.Client,
        admin: httpx.Client,
        days: WorkingDays,
    ) -> None:
        booking = create_booking(http, days.take(), "15:00", first_name="Kept")
        open_dashboard(page, server)

        row(page, booking["id"]).get_by_role("button", name="Cancel").click()
        page.get_by_role("dialog").get_by_role("button", name="Keep booking").click()

        expect(page.get_by_role("dialog")).to_be_hidden()
        expect(row(page, booking["id"]).locator(".booking__status")).to_have_text("Upcoming")
        assert admin.get(f"/api/admin/bookings/{booking['id']}/").json()["data"]["status"] == (
            "upcoming"
        )


class TestDayView:
    def test_shows_free_and_taken_slots(
        self, page: Page, server: ServerProcess, http: httpx.Client, days: WorkingDays
    ) -> None:
        day = days.take()
        create_booking(http, day, "13:00", service_name="Estate Planning", first_name="Taken")
        open_dashboard(page, server)

        page.get_by_role("link", name="Day view").click()
        page.get_by_label("Date", exact=True).fill(day.isoformat())

        expect(slot(page, "13:00:00")).to_have_attribute("data-state", "taken")
        expect(slot(page, "13:00:00")).to_contain_text("Estate Planning")
        for free in ("12:00:00", "14:00:00", "15:00:00", "16:00:00"):
            expect(slot(page, free)).to_have_attribute("data-state", "free")

        create_booking(http, day, "16:00", first_name="Live")  # the open day view follows
        expect(slot(page, "16:00:00")).to_have_attribute(
            "data-state", "taken", timeout=LIVE_WITHIN_MS
        )


class TestSettings:
    def test_adds_and_removes_a_closed_date(
        self,
        page: Page,
        server: ServerProcess,
        http: httpx.Client,
        admin: httpx.Client,
        days: WorkingDays,
    ) -> None:
        day = days.take()
        open_dashboard(page, server)
        page.get_by_role("link", name="Settings").click()
        expect(page.get_by_label("Opens at")).to_have_value("12:00")

        page.get_by_label("Closed date to add").fill(day.isoformat())
        page.get_by_role("button", name="Add closed date").click()
        page.get_by_role("button", name="Save settings").click()

        expect(page.locator("#settings-status")).to_have_text("Saved.")
        assert day.isoformat() in admin.get("/api/admin/settings/").json()["data"]["closed_dates"]
        assert availability(http, day)["closed"] == "closed_date"

        page.get_by_role("button", name=re.compile(r"^Remove closed date")).click()
        page.get_by_role("button", name="Save settings").click()

        expect(page.locator("#settings-status")).to_have_text("Saved.")
        assert admin.get("/api/admin/settings/").json()["data"]["closed_dates"] == []
        assert availability(http, day)["closed"] is None

    def test_shows_the_servers_refusal(self, page: Page, server: ServerProcess) -> None:
        open_dashboard(page, server)
        page.get_by_role("link", name="Settings").click()
        page.get_by_label("Closes at").fill("11:00")  # before opening time

        page.get_by_role("button", name="Save settings").click()

        expect(page.locator("#settings-error")).to_be_visible()
        expect(page.locator("#settings-status")).not_to_have_text("Saved.")


class TestContentSecurityPolicy:
    def test_page_works_under_the_strict_policy(
        self,
        browser: Browser,
        server: ServerProcess,
        http: httpx.Client,
        days: WorkingDays,
    ) -> None:
        """The security headers' policy forbids inline script and style; the page needs none.

        The policy is added to every response of the page here, so this holds whether or not
        the server sends it. A page Playwright fulfilled has no address, so Chromium counts it
        as public and would refuse its socket to 127.0.0.1 (local network access checks): this
        test's own browser has those checks off.
        """
        own = browser.browser_type.launch(
            executable_path=str(CHROMIUM),
            args=[*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"],
        )
        try:
            page = own.new_page(viewport=DESKTOP)
            violations: list[str] = []
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )

            def with_policy(route: Route) -> None:
                response = route.fetch()
                headers = response.headers | {"content-security-policy": STRICT_POLICY}
                route.fulfill(response=response, headers=headers)

            page.route(re.compile(r"/admin/"), with_policy)
            open_dashboard(page, server)
            booking = create_booking(http, days.take(), "12:00", first_name="Policy")

            expect(row(page, booking["id"])).to_be_visible(timeout=LIVE_WITHIN_MS)
            page.get_by_role("link", name="Settings").click()
            expect(page.get_by_label("Opens at")).to_have_value("12:00")
            page.get_by_role("link", name="Day view").click()
            expect(page.locator("#day-board td").first).to_be_visible()
            assert violations == []
        finally:
            own.close()


class TestScreenshots:
    """Evidence for people: the signed-in page at desktop and phone width."""

    def test_desktop_and_phone(
        self,
        page: Page,
        server: ServerProcess,
        http: httpx.Client,
        days: WorkingDays,
        existing: list[dict[str, Any]],
        artifacts: Path,
    ) -> None:
        open_dashboard(page, server)
        fresh = create_booking(  # near the top of the table, so the highlight is in the picture
            http,
            dt.date.fromisoformat(existing[0]["booking_date"]),
            "14:00",
            service_name="Notary Appointment",
            first_name="Katherine",
            last_name="Johnson",
            notes="Bring two forms of ID",
        )
        expect(row(page, fresh["id"])).to_be_visible(timeout=LIVE_WITHIN_MS)
        page.emulate_media(reduced_motion="reduce")

        page.set_viewport_size(DESKTOP)
        page.screenshot(path=artifacts / "admin-desktop.png")
        page.set_viewport_size(PHONE)
        expect(page.locator("#bookings-table thead")).to_be_hidden()  # cards, not a table
        page.screenshot(path=artifacts / "admin-phone.png", full_page=True)

        assert (artifacts / "admin-desktop.png").stat().st_size > 0
        assert (artifacts / "admin-phone.png").stat().st_size > 0


class TestResources:
    """Staff and rooms (issue 14), last in this module: it adds a second resource, which would
    change what the earlier tests see free, and deactivates it again at the end."""

    def test_a_plan_with_a_lunch_break_shows_in_the_day_view(
        self,
        page: Page,
        server: ServerProcess,
        http: httpx.Client,
        admin: httpx.Client,
        days: WorkingDays,
        artifacts: Path,
    ) -> None:
        day = days.take()
        weekday = day.strftime("%A")
        open_dashboard(page, server)
        page.get_by_role("link", name="Staff & rooms").click()
        page.get_by_label("New resource name").fill("Room 2")
        page.get_by_role("button", name="Add resource").click()
        expect(page.locator("#plan-title")).to_have_text("Weekly plan of Room 2")
        (room,) = [
            r for r in admin.get("/api/admin/resources/").json()["data"] if r["name"] == "Room 2"
        ]

        # The morning, then the afternoon after a lunch break, on the test day's weekday.
        page.get_by_role("button", name=f"Add hours on {weekday}").click()
        page.get_by_label(f"{weekday} hours 1 open from").fill("12:00")
        page.get_by_label(f"{weekday} hours 1 close at").fill("13:00")
        page.get_by_role("button", name=f"Add hours on {weekday}").click()
        page.get_by_label(f"{weekday} hours 2 open from").fill("14:00")
        page.get_by_label(f"{weekday} hours 2 close at").fill("17:00")
        page.get_by_role("button", name="Save plan").click()

        expect(page.locator("#plan-status")).to_have_text("Saved.")
        expect(page.locator("#plan-stranded")).to_be_hidden()
        (saved,) = [
            r for r in admin.get("/api/admin/resources/").json()["data"] if r["id"] == room["id"]
        ]
        assert saved["weekly_plan"][str(day.isoweekday())] == [
            {"opens": "12:00", "closes": "13:00"},
            {"opens": "14:00", "closes": "17:00"},
        ]
        taken = create_booking(http, day, "15:00", resource_id=room["id"], first_name="Roomy")
        assert taken["resource"] == {"id": room["id"], "name": "Room 2"}

        page.goto(f"{server.base_url}/admin/#day={day.isoformat()}")
        room_column = page.locator(f'#day-board th[data-resource-id="{room["id"]}"]')
        expect(room_column).to_contain_text("Break 13:00\u201314:00")  # an en dash
        expect(slot(page, "13:00:00", room["id"])).to_have_attribute("data-state", "break")
        expect(slot(page, "13:00:00", room["id"])).to_contain_text("Break")
        expect(slot(page, "12:00:00", room["id"])).to_have_attribute("data-state", "free")
        expect(slot(page, "15:00:00", room["id"])).to_have_attribute("data-state", "taken")
        expect(slot(page, "15:00:00", room["id"])).to_contain_text("Roomy")
        expect(slot(page, "13:00:00")).to_have_attribute("data-state", "free")  # Default works on
        expect(slot(page, "15:00:00")).to_have_attribute("data-state", "free")

        live = create_booking(http, day, "16:00", resource_id=room["id"], first_name="Livewire")
        expect(slot(page, "16:00:00", room["id"])).to_have_attribute(
            "data-state", "taken", timeout=LIVE_WITHIN_MS
        )
        expect(slot(page, "16:00:00", room["id"])).to_contain_text("Livewire")
        expect(slot(page, "16:00:00")).to_have_attribute("data-state", "free")
        page.emulate_media(reduced_motion="reduce")
        page.screenshot(path=artifacts / "admin-day-resources.png", full_page=True)

        # Shortening the afternoon strands both bookings: the page lists what the API reports.
        page.get_by_role("link", name="Staff & rooms").click()
        page.get_by_role("button", name="Edit the plan of Room 2").click()
        page.get_by_label(f"{weekday} hours 2 close at").fill("15:00")
        page.get_by_role("button", name="Save plan").click()

        stranded = page.locator("#plan-stranded-list li")
        expect(stranded).to_have_count(2)
        assert sorted(
            stranded.evaluate_all("items => items.map(i => Number(i.dataset.bookingId))")
        ) == sorted([taken["id"], live["id"]])
        page.screenshot(path=artifacts / "admin-resources.png", full_page=True)

        page.get_by_role("button", name="Deactivate Room 2").click()
        expect(
            page.locator(f'#resources-body tr[data-resource-id="{room["id"]}"]')
        ).to_have_attribute("data-active", "false")
        (after,) = [
            r for r in admin.get("/api/admin/resources/").json()["data"] if r["id"] == room["id"]
        ]
        assert after["active"] is False
        assert (artifacts / "admin-day-resources.png").stat().st_size > 0


class TestServices:
    """The Services page (issue 14) against the services admin API, after the resources test:
    the service it adds is deactivated at the end."""

    def test_a_service_added_on_the_page_is_booked_for_its_length(
        self,
        page: Page,
        server: ServerProcess,
        http: httpx.Client,
        admin: httpx.Client,
        days: WorkingDays,
        artifacts: Path,
    ) -> None:
        day = days.take()
        open_dashboard(page, server)
        page.get_by_role("link", name="Services").click()
        page.get_by_role("button", name="New service").click()
        form = page.locator("#service-form")
        form.get_by_label("Name", exact=True).fill("Hot Stone")
        form.get_by_label("Duration (minutes)").fill("90")
        form.get_by_label("Buffer after (minutes)").fill("0")
        page.get_by_role("button", name="Save service").click()

        expect(page.locator("#service-status")).to_have_text("Saved.")
        listed = page.locator("#services-body tr.service", has_text="Hot Stone")
        expect(listed).to_contain_text("90 min")
        expect(listed).to_contain_text("Everyone")
        expect(listed).to_have_attribute("data-active", "true")
        (service,) = [
            s for s in admin.get("/api/admin/services/").json()["data"] if s["name"] == "Hot Stone"
        ]
        assert (service["duration_minutes"], service["resource_ids"]) == (90, [])

        booked = create_booking(http, day, "12:00", service_name="hot stone", first_name="Stony")
        assert booked["service"] == {
            "id": service["id"],
            "name": "Hot Stone",
            "duration_minutes": 90,
        }

        page.goto(f"{server.base_url}/admin/#day={day.isoformat()}")
        expect(slot(page, "12:00:00")).to_have_attribute("data-state", "taken")
        expect(slot(page, "12:00:00")).to_contain_text("Hot Stone")
        expect(slot(page, "12:00:00")).to_contain_text("12:00\u201313:30")  # an en dash
        expect(slot(page, "13:00:00")).to_have_attribute("data-state", "occupied")
        expect(slot(page, "14:00:00")).to_have_attribute("data-state", "free")

        # Longer than the day has left after 12:00: the page lists the booking it strands.
        page.get_by_role("link", name="Services").click()
        page.get_by_role("button", name="Edit Hot Stone").click()
        form.get_by_label("Duration (minutes)").fill("330")
        page.get_by_role("button", name="Save service").click()
        stranded = page.locator("#service-stranded-list li")
        expect(stranded).to_have_count(1)
        expect(stranded).to_have_attribute("data-booking-id", str(booked["id"]))
        expect(listed).to_contain_text("330 min")
        page.emulate_media(reduced_motion="reduce")
        page.screenshot(path=artifacts / "admin-services.png", full_page=True)

        page.get_by_role("button", name="Deactivate Hot Stone").click()
        expect(listed).to_have_attribute("data-active", "false")
        (after,) = [
            s for s in admin.get("/api/admin/services/").json()["data"] if s["id"] == service["id"]
        ]
        assert (after["active"], after["duration_minutes"]) == (False, 330)
        assert (artifacts / "admin-services.png").stat().st_size > 0
