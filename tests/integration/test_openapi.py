"""The OpenAPI document (``GET /schema/openapi.json``) against the server it describes.

- The document is valid OpenAPI 3.1, and ``GET /schema`` renders it as a self-contained page.
- Contract: real servers are driven through every documented status of the create,
  availability and admin endpoints; each answer's status must be documented for its operation,
  its ``code`` must be in that status's enum, and its body must validate against the documented
  schema. Conversely every documented code must have been produced by some request here, unless
  it is listed in :data:`NOT_PRODUCED_HERE` with the reason, so the document cannot promise codes
  the server never sends.
- A bounded schemathesis run fuzzes every operation against the document.

SQLite only: the document does not depend on the engine. The servers: the main one (every
ordinary request, from a trusted agent: it sends the test servers' API key), a public one (no
keys: the success body for anybody else), one with API keys, an allow-list and a tiny rate limit
(401/403/429), one whose database is broken on purpose (503s), and public ones schemathesis may
mess up (it PATCHes the settings with whatever it generates).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agent_booking.core.idempotency import request_fingerprint
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import create_app
from tests.integration.endpoint import CREATE_PATH, booking_body, unique_phone
from tests.integration.working_days import SLOT_TIMES, WorkingDays, today_utc
from tests.support.server import (
    ADMIN_TOKEN,
    AGENT_HEADERS,
    PUBLIC_AGENT_ENDPOINTS,
    ServerProcess,
)

OPENAPI_PATH = "/schema/openapi.json"
DOCS_PATH = "/schema"
AVAILABILITY = "/api/agent/availability/"
BOOKINGS = "/api/admin/bookings/"
BOOKING = "/api/admin/bookings/{booking_id}/"
CANCEL = "/api/admin/bookings/{booking_id}/cancel/"
SETTINGS = "/api/admin/settings/"
CALLER_BOOKINGS = "/api/agent/bookings/"
CALLER_CANCEL = "/api/agent/bookings/{booking_id}/cancel/"
RESCHEDULE = "/api/agent/bookings/{booking_id}/reschedule/"
HOLDS = "/api/agent/holds/"
HOLD = "/api/agent/holds/{hold_id}/"
HOLD_CONFIRM = "/api/agent/holds/{hold_id}/confirm/"
SLOTS = "/api/agent/slots/"
ADMIN_AVAILABILITY = "/api/admin/availability/"
WEBHOOKS = "/api/admin/webhooks/"
WEBHOOK = "/api/admin/webhooks/{webhook_id}/"
WEBHOOK_ROTATE = "/api/admin/webhooks/{webhook_id}/rotate-secret/"
WEBHOOK_LOG = "/api/admin/webhooks/{webhook_id}/deliveries/"
WEBHOOK_REPLAY = "/api/admin/webhooks/{webhook_id}/replay/"
RESOURCES = "/api/admin/resources/"
RESOURCE = "/api/admin/resources/{resource_id}/"
PLAN = "/api/admin/resources/{resource_id}/plan/"
EXCEPTION = "/api/admin/resources/{resource_id}/exceptions/{day}/"
SERVICES = "/api/admin/services/"
SERVICE = "/api/admin/services/{service_id}/"
#: A date exception: closed on a far date, so no other request of the module meets it.
CLOSED = {"intervals": []}


def _exception_url(resource_id: object, day: str = "2031-01-06") -> str:
    return EXCEPTION.replace("{resource_id}", str(resource_id)).replace("{day}", day)


#: A plan the shared server's other requests never meet: Sundays are off days.
SUNDAY_PLAN = {"weekly_plan": {"7": [{"opens": "09:00", "closes": "10:00"}]}}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
TEXT = {"Content-Type": "text/plain"}
AGENT_KEY = "openapi-test-agent-key"
#: An address outside the access server's allow-list, sent through its trusted proxy.
OUTSIDER = {"X-Forwarded-For": "192.0.2.10"}
#: Codes an operation documents that no request of this module produces, and why.
NOT_PRODUCED_HERE: dict[str, str] = {
    "transient_conflict": (
        "PostgreSQL aborting a transaction three times running (deadlock or serialization "
        "failure); SQLite serialises writers, so it cannot happen here"
    ),
    "internal_error": "our own bugs; no request may produce one on purpose",
}
#: Headers the server adds only in some answers: each one sent must be documented there.
CONDITIONAL_HEADERS = (
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "retry-after",
    "idempotent-replayed",
    "www-authenticate",
    "allow",
)
_DOCUMENT_URI = "urn:booking:openapi"
_SLOW_CREATE_TIMEOUT_S = 30.0


# --- servers --------------------------------------------------------------------------------------


def _serve(tmp_path_factory: pytest.TempPathFactory, **env: str) -> ServerProcess:
    database = tmp_path_factory.mktemp("sqlite") / "booking.db"
    return ServerProcess(
        f"sqlite+aiosqlite:///{database}", env=env, log_dir=tmp_path_factory.mktemp("server")
    )


@pytest.fixture(scope="module")
def database_url(sqlite_database_url: str) -> str:
    """SQLite only (overrides the suite's fixture, which adds PostgreSQL)."""
    return sqlite_database_url


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The main server; rate limited so that its headers show, but never reached. Its hold
    sweep never runs within the module, so an expired hold stays for a confirmation to meet."""
    env = {"BOOKING_RATE_LIMIT": "100000/minute", "BOOKING_HOLD_SWEEP_SECONDS": "3600"}
    log_dir = tmp_path_factory.mktemp("server")
    with ServerProcess(database_url, env=env, log_dir=log_dir) as process:
        yield process


@pytest.fixture(scope="module")
def public_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """No API keys: its callers are not trusted agents. Rate limited so that its headers show."""
    with _serve(
        tmp_path_factory, BOOKING_RATE_LIMIT="100000/minute", **PUBLIC_AGENT_ENDPOINTS
    ) as process:
        yield process


@pytest.fixture(scope="module")
def access_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """API keys, an allow-list (loopback only) and two requests per hour per client."""
    with _serve(
        tmp_path_factory,
        BOOKING_AGENT_API_KEYS=AGENT_KEY,
        BOOKING_RATE_LIMIT="2/hour",
        BOOKING_ALLOWED_NETWORKS="127.0.0.0/8",
        BOOKING_TRUSTED_PROXIES="127.0.0.1/32",
    ) as process:
        yield process


@pytest.fixture(scope="module")
def outage_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # Loopback webhooks allowed, so that a subscription reaches the (then dropped) storage.
    with _serve(
        tmp_path_factory,
        BOOKING_RATE_LIMIT="0",
        BOOKING_WEBHOOK_ALLOW_HTTP="1",
        BOOKING_WEBHOOK_ALLOW_PRIVATE="1",
    ) as process:
        yield process


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Public agent endpoints: the fuzzer sends no API key."""
    with _serve(tmp_path_factory, BOOKING_RATE_LIMIT="0", **PUBLIC_AGENT_ENDPOINTS) as process:
        yield process


def _add_service(database_url: str, name: str, *, min_notice_minutes: int) -> int:
    """A catalog service, written behind the server's back (a new catalog version)."""
    path = database_url.removeprefix("sqlite+aiosqlite:///")
    connection = sqlite3.connect(path, timeout=30)
    try:
        with connection:
            inserted = connection.execute(
                "INSERT INTO services (name, name_key, duration_minutes, buffer_before, "
                "buffer_after, min_notice_minutes, is_active) VALUES (?, ?, 60, 0, 0, ?, 1)",
                (name, name.casefold(), min_notice_minutes),
            )
            connection.execute(
                "UPDATE business_settings SET catalog_version = catalog_version + 1 WHERE is_active"
            )
    finally:
        connection.close()
    assert inserted.lastrowid is not None
    return inserted.lastrowid


def _client(process: ServerProcess, *, agent: bool = True, **headers: str) -> httpx.Client:
    """A client of ``process``; ``agent``: it sends the test servers' agent API key."""
    sent = {**AGENT_HEADERS, **headers} if agent else headers
    return httpx.Client(base_url=process.base_url, timeout=_SLOW_CREATE_TIMEOUT_S, headers=sent)


def _sql(process: ServerProcess, statement: str, *params: object) -> None:
    path = process.database_url.removeprefix("sqlite+aiosqlite:///")
    connection = sqlite3.connect(path, timeout=30)
    try:
        with connection:
            connection.execute(statement, params)
    finally:
        connection.close()


# --- the document as the judge --------------------------------------------------------------------


@pytest.fixture(scope="module")
def document(server: ServerProcess) -> dict[str, Any]:
    with _client(server) as client:
        response = client.get(OPENAPI_PATH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


class Contract:
    """Judges answers by the document: status, code, body schema and conditional headers."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_DOCUMENT_URI, resource)

    def operation(self, method: str, path: str) -> dict[str, Any]:
        operation: dict[str, Any] = self.document["paths"][path][method.lower()]
        return operation

    def documented_codes(self, method: str, path: str) -> set[str]:
        return {
            code
            for response in self.operation(method, path)["responses"].values()
            for media in response.get("content", {}).values()
            for code in media["schema"].get("properties", {}).get("code", {}).get("enum", [])
        }

    def check(self, response: httpx.Response, method: str, path: str | None) -> str | None:
        """Assert that ``response`` is documented; return its ``code``. ``path=None``: a
        route-level answer (404 unknown path, 405 unknown method)."""
        if path is None:
            name = {404: "NotFound", 405: "MethodNotAllowed"}[response.status_code]
            documented = self.document["components"]["responses"][name]
            location: tuple[str, ...] = ("components", "responses", name)
        else:
            responses = self.operation(method, path)["responses"]
            status = str(response.status_code)
            assert status in responses, (
                f"{method} {path} answered {status}, which is not documented: {response.text}"
            )
            documented = responses[status]
            location = ("paths", path, method.lower(), "responses", status)
        return self._check_response(response, documented, location)

    def _check_response(
        self, response: httpx.Response, documented: dict[str, Any], location: tuple[str, ...]
    ) -> str | None:
        assert response.headers.get("x-request-id"), response.headers
        headers = {name.lower() for name in documented.get("headers", {})}
        for name in CONDITIONAL_HEADERS:
            assert name not in response.headers or name in headers, (
                f"{name} sent but not documented at {location}"
            )
        media_type = response.headers["content-type"].split(";")[0].strip()
        assert media_type in documented["content"], (media_type, location)
        if media_type != "application/json":
            return None
        body = response.json()
        reference = _DOCUMENT_URI + _pointer(*location, "content", media_type, "schema")
        validator = Draft202012Validator(
            {"$ref": reference},
            registry=self._registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        errors = [error.message for error in validator.iter_errors(body)]
        assert not errors, f"{location}: {errors} in {body}"
        code = body.get("code") if isinstance(body, dict) else None
        return code if isinstance(code, str) else None


@pytest.fixture(scope="module")
def contract(document: dict[str, Any]) -> Contract:
    return Contract(document)


# --- exchanges: requests with the answer each is meant to get ------------------------------------


@dataclass(frozen=True)
class Exchange:
    label: str
    method: str
    #: The documented path template, or None for a route-level answer.
    path: str | None
    status: int
    code: str | None
    response: httpx.Response


class Exchanges:
    """Sends requests and keeps each answer with the status and code it should have."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.done: list[Exchange] = []

    def send(
        self,
        label: str,
        expected: tuple[int, str | None],
        method: str,
        path: str | None,
        url: str | None = None,
        **request: Any,
    ) -> httpx.Response:
        response = self.client.request(method, url or path or "", **request)
        self.done.append(Exchange(label, method, path, *expected, response))
        return response


def _admin_url(template: str, booking_id: int) -> str:
    return template.format(booking_id=booking_id)


@pytest.fixture(scope="module")
def create_exchanges(server: ServerProcess, days: WorkingDays) -> list[Exchange]:  # noqa: PLR0915 - one request per refusal
    """The create endpoint on the main server: every success and refusal it can produce."""
    day, closed, keyed, replayed_day, full_day, next_day = days.take_many(6)
    with _client(server) as client, _client(server, **ADMIN) as admin:
        run = Exchanges(client)

        def create(label: str, expected: tuple[int, str | None], **request: Any) -> None:
            run.send(label, expected, "POST", CREATE_PATH, **request)

        created = (201, None)
        create("basic request", created, json=booking_body(day, "14:00"))
        complete = booking_body(
            day,
            "15:00",
            first_name="John",
            last_name="Doe",
            email="john.doe@example.com",
            gender="male",
            country="USA",
            notes="Agent created booking",
            status="pending",
        )
        create("complete request", created, json=complete)
        create("taken slot", (409, "slot_taken"), json=booking_body(day, "14:00"))
        create("before opening", (422, "outside_working_hours"), json=booking_body(day, "09:00"))
        create("between slots", (422, "not_slot_start"), json=booking_body(day, "14:30"))
        yesterday = today_utc() - dt.timedelta(days=1)
        create("yesterday", (422, "booking_in_past"), json=booking_body(yesterday))
        far = today_utc() + dt.timedelta(days=400)
        create("past the horizon", (422, "beyond_horizon"), json=booking_body(far))
        create("a Sunday", (422, "off_day"), json=booking_body(days.sunday()))
        patched = admin.patch(SETTINGS, json={"closed_dates": [closed.isoformat()]})
        assert patched.status_code == 200, patched.text
        create("a closed date", (422, "closed_date"), json=booking_body(closed))
        phone = _phone_at_its_limit(client, full_day)
        create(
            "a sixth booking for one phone",
            (422, "too_many_bookings"),
            json=booking_body(next_day, "12:00", phone=phone),
        )
        create(
            "a resource that does not exist",
            (422, "unknown_resource"),
            json=booking_body(day, "16:00", resource_id=10**9),
        )
        create(
            "a service id not in the catalog",
            (422, "unknown_service"),
            json=booking_body(day, "16:00", service_id=10**9),
        )
        notice = _add_service(server.database_url, "Week's notice", min_notice_minutes=7 * 24 * 60)
        soon = today_utc() + dt.timedelta(days=2)
        soon += dt.timedelta(days=1) if soon.isoweekday() == 7 else dt.timedelta()
        create(
            "a service that needs more notice",
            (422, "notice_too_short"),
            json=booking_body(soon, "16:00", service_id=notice),
        )
        create("an array", (400, "invalid_body"), content=b"[]")
        no_phone = booking_body(day)
        del no_phone["phone"]
        create("no phone", (400, "missing_field"), json=no_phone)
        create(
            "no such date", (400, "invalid_date"), json=booking_body(day, booking_date="31/02/2027")
        )
        create("no such time", (400, "invalid_time"), json=booking_body(day, "25:00"))
        create("bad e-mail", (400, "invalid_field"), json=booking_body(day, email="nope"))
        create("too large", (413, "body_too_large"), content=b'{"notes": "' + b"x" * 70_000 + b'"}')
        create("form body", (415, "unsupported_media_type"), content=b"phone=1", headers=TEXT)

        first = booking_body(keyed, "12:00")
        key = {"Idempotency-Key": f"openapi-{unique_phone()}"}
        create("keyed create", created, json=first, headers=key)
        create("keyed replay", created, json=first, headers=key)
        other = booking_body(keyed, "13:00")
        create("key reused", (422, "idempotency_key_reused"), json=other, headers=key)
        create(
            "bad key",
            (400, "invalid_idempotency_key"),
            json=other,
            headers={"Idempotency-Key": "a b"},
        )
        refused = booking_body(days.sunday())
        refused_key = {"Idempotency-Key": f"openapi-{unique_phone()}"}
        create("keyed refusal", (422, "off_day"), json=refused, headers=refused_key)
        create("replayed refusal", (422, "off_day"), json=refused, headers=refused_key)
        # A request still running under its key: what a crashed or stuck worker leaves behind
        # (a live lease, no outcome). Its retry waits for it, then gives up with a 409.
        running = booking_body(replayed_day)
        running_key = f"openapi-{unique_phone()}"
        _claim_key(server, running_key, running)
        create(
            "key of a running request",
            (409, "idempotency_in_progress"),
            json=running,
            headers={"Idempotency-Key": running_key},
        )
        replays = [e.response for e in run.done if e.label in {"keyed replay", "replayed refusal"}]
        assert all(r.headers.get("idempotent-replayed") == "true" for r in replays), replays
    return run.done


def _phone_at_its_limit(client: httpx.Client, day: dt.date) -> str:
    """A new phone with the default limit's five open bookings, all on ``day``."""
    phone = unique_phone()
    for time in SLOT_TIMES:
        booked = client.post(CREATE_PATH, json=booking_body(day, time, phone=phone))
        assert booked.status_code == 201, booked.text
    return phone


def _claim_key(process: ServerProcess, key: str, body: dict[str, Any]) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    _sql(
        process,
        "INSERT INTO idempotency_keys (key, fingerprint, state, locked_until, created_at) "
        "VALUES (?, ?, 'in_progress', ?, ?)",
        key,
        request_fingerprint(body),
        (now + dt.timedelta(hours=1)).strftime(stamp),
        now.strftime(stamp),
    )


@pytest.fixture(scope="module")
def public_exchanges(public_server: ServerProcess) -> list[Exchange]:
    """Successes for callers that are not trusted agents: the customer as the request said."""
    day = WorkingDays().take()  # the public server's database is this group's own
    phone = unique_phone()
    with _client(public_server, agent=False) as client:
        run = Exchanges(client)

        def create(label: str, **request: Any) -> httpx.Response:
            return run.send(label, (201, None), "POST", CREATE_PATH, **request)

        create("new phone", json=booking_body(day, "12:00", phone=phone, first_name="Ada"))
        known = booking_body(day, "13:00", phone=phone, email="eve@example.org")
        answer = create("known phone", json=known)
        assert answer.json()["data"]["user"]["email"] == "eve@example.org", answer.text
        keyed = booking_body(day, "14:00")
        key = {"Idempotency-Key": f"openapi-public-{unique_phone()}"}
        create("keyed create", json=keyed, headers=key)
        replay = create("keyed replay", json=keyed, headers=key)
        assert replay.headers.get("idempotent-replayed") == "true", replay.headers
        held = run.send(
            "hold", (201, None), "POST", HOLDS, json=booking_body(day, "15:00", phone=phone)
        )
        run.send(
            "confirm",
            (201, None),
            "POST",
            HOLD_CONFIRM,
            _hold_url(HOLD_CONFIRM, held.json()["booking_id"]),
            json={"phone": phone},
        )
    assert all(e.response.json()["user_created"] is None for e in run.done), run.done
    return run.done


@pytest.fixture(scope="module")
def availability_exchanges(
    server: ServerProcess, days: WorkingDays, create_exchanges: list[Exchange]
) -> list[Exchange]:
    booked_day = dt.date.fromisoformat(
        next(e for e in create_exchanges if e.label == "basic request").response.json()["data"][
            "booking"
        ]["booking_date"]
    )
    with _client(server) as client:
        run = Exchanges(client)

        def ask(label: str, expected: tuple[int, str | None], **params: str) -> None:
            run.send(label, expected, "GET", AVAILABILITY, params=params)

        ask("one day", (200, None), date=booked_day.isoformat())
        last = booked_day + dt.timedelta(days=6)
        ask(
            "a week",
            (200, None),
            **{"from": booked_day.strftime("%d/%m/%Y"), "to": last.isoformat()},
        )
        ask("nothing asked", (400, "missing_field"))
        ask("no such date", (400, "invalid_date"), date="2027-02-30")
        day = booked_day.isoformat()
        ask("no such service", (422, "unknown_service"), date=day, service_id="999999")
        ask("no such resource", (422, "unknown_resource"), date=day, resource_id="999999")
        ask(
            "backwards",
            (400, "invalid_field"),
            **{"from": last.isoformat(), "to": booked_day.isoformat()},
        )
        too_far = booked_day + dt.timedelta(days=40)
        ask(
            "too long a range",
            (400, "invalid_field"),
            **{"from": booked_day.isoformat(), "to": too_far.isoformat()},
        )
    return run.done


@pytest.fixture(scope="module")
def admin_exchanges(server: ServerProcess, days: WorkingDays) -> list[Exchange]:
    day = days.take()
    with _client(server) as anonymous, _client(server, **ADMIN) as client:
        booked = anonymous.post(CREATE_PATH, json=booking_body(day, "16:00"))
        assert booked.status_code == 201, booked.text
        booking_id = booked.json()["booking_id"]
        run = Exchanges(client)
        stranger = Exchanges(anonymous)
        bad_token = {"Authorization": "Bearer wrong"}

        for method, template in [
            ("GET", ADMIN_AVAILABILITY),
            ("GET", BOOKINGS),
            ("GET", BOOKING),
            ("POST", CANCEL),
            ("GET", SETTINGS),
            ("PATCH", SETTINGS),
            ("GET", RESOURCES),
            ("POST", RESOURCES),
            ("PATCH", RESOURCE),
            ("PUT", PLAN),
            ("PUT", EXCEPTION),
            ("DELETE", EXCEPTION),
            ("GET", SERVICES),
            ("POST", SERVICES),
            ("GET", SERVICE),
            ("PATCH", SERVICE),
        ]:
            filled = template.replace("{resource_id}", "1").replace("{day}", "2031-01-06")
            filled = filled.replace("{service_id}", "1")
            url = _admin_url(filled, booking_id)
            stranger.send("no token", (401, "unauthorized"), method, template, url, json={})
            stranger.send(
                "wrong token",
                (401, "unauthorized"),
                method,
                template,
                url,
                headers=bad_token,
                json={},
            )

        def list_(label: str, expected: tuple[int, str | None], **params: str) -> None:
            run.send(label, expected, "GET", BOOKINGS, params=params)

        def one_day(label: str, expected: tuple[int, str | None], **params: str) -> None:
            run.send(label, expected, "GET", ADMIN_AVAILABILITY, params=params)

        one_day("dashboard day", (200, None), date=day.isoformat())
        one_day("dashboard no day", (400, "invalid_request"))
        one_day("dashboard empty day", (400, "missing_field"), date="")
        one_day("dashboard bad day", (400, "invalid_date"), date="2027-02-30")
        one_day("dashboard bad id", (400, "invalid_field"), date=day.isoformat(), service_id="x")
        one_day(
            "dashboard no such service",
            (422, "unknown_service"),
            date=day.isoformat(),
            service_id="999999",
        )
        one_day(
            "dashboard no such resource",
            (422, "unknown_resource"),
            date=day.isoformat(),
            resource_id="999999",
        )

        list_("all", (200, None))
        list_(
            "filtered",
            (200, None),
            **{"from": day.isoformat(), "to": day.isoformat(), "status": "upcoming"},
            phone=booked.json()["data"]["user"]["phone"],
            page="1",
            page_size="10",
        )
        list_("bad from", (400, "invalid_date"), **{"from": "yesterday"})
        list_("bad status", (400, "invalid_field"), status="lost")
        list_("page size 0", (400, "invalid_field"), page_size="0")
        list_("page size too big", (400, "invalid_field"), page_size="201")

        one = _admin_url(BOOKING, booking_id)
        run.send("a booking", (200, None), "GET", BOOKING, one)
        run.send(
            "no booking", (404, "booking_not_found"), "GET", BOOKING, _admin_url(BOOKING, 999_999)
        )
        run.send("not an id", (404, "not_found"), "GET", BOOKING, "/api/admin/bookings/abc/")
        run.send(
            "cancel not an id", (404, "not_found"), "POST", CANCEL, "/api/admin/bookings/x/cancel/"
        )
        cancel = _admin_url(CANCEL, booking_id)
        run.send(
            "cancel with a text body",
            (415, "unsupported_media_type"),
            "POST",
            CANCEL,
            cancel,
            headers=TEXT,
            content=b"x",
        )
        run.send("cancel", (200, None), "POST", CANCEL, cancel)
        run.send("cancel again", (409, "booking_not_active"), "POST", CANCEL, cancel)
        run.send(
            "cancel nothing",
            (404, "booking_not_found"),
            "POST",
            CANCEL,
            _admin_url(CANCEL, 999_999),
        )

        run.send("settings", (200, None), "GET", SETTINGS)
        run.send("change settings", (200, None), "PATCH", SETTINGS, json={"horizon_days": 365})
        run.send(
            "unknown setting", (400, "invalid_settings"), "PATCH", SETTINGS, json={"colour": "red"}
        )
        run.send(
            "closing before opening",
            (400, "invalid_settings"),
            "PATCH",
            SETTINGS,
            json={"close_time": "08:00"},
        )
        run.send("settings not an object", (400, "invalid_body"), "PATCH", SETTINGS, content=b"[]")
        big = b'{"timezone": "' + b"x" * 70_000 + b'"}'
        run.send("settings too large", (413, "body_too_large"), "PATCH", SETTINGS, content=big)
        run.send(
            "settings as text",
            (415, "unsupported_media_type"),
            "PATCH",
            SETTINGS,
            content=b"{}",
            headers=TEXT,
        )
        _resource_exchanges(run)
    return [*stranger.done, *run.done]


def _resource_exchanges(run: Exchanges) -> None:
    """Resources: a new one gets a plan only on Sundays (off days), then is deactivated, so the
    other requests of this module see the one resource they expect."""
    run.send("resources", (200, None), "GET", RESOURCES)
    added = run.send("add resource", (201, None), "POST", RESOURCES, json={"name": "Room A"})
    resource = RESOURCE.replace("{resource_id}", str(added.json()["data"]["id"]))
    plan = PLAN.replace("{resource_id}", str(added.json()["data"]["id"]))
    nothing = RESOURCE.replace("{resource_id}", "999999")
    for method, template, url, body in [
        ("POST", RESOURCES, RESOURCES, {"name": "Room B"}),
        ("PATCH", RESOURCE, resource, {"name": "Room A"}),
        ("PUT", PLAN, plan, SUNDAY_PLAN),
    ]:
        run.send(
            "as text",
            (415, "unsupported_media_type"),
            method,
            template,
            url,
            content=json.dumps(body).encode(),
            headers=TEXT,
        )
        big = b'{"name": "' + b"x" * 70_000 + b'"}'
        run.send("too large", (413, "body_too_large"), method, template, url, content=big)
        run.send("not an object", (400, "invalid_request"), method, template, url, content=b"[]")
    run.send("blank name", (400, "invalid_catalog"), "POST", RESOURCES, json={"name": "  "})
    run.send("empty name", (400, "invalid_request"), "POST", RESOURCES, json={"name": ""})
    run.send("rename", (200, None), "PATCH", RESOURCE, resource, json={"name": "Room A1"})
    run.send(
        "control character",
        (400, "invalid_catalog"),
        "PATCH",
        RESOURCE,
        resource,
        json={"name": "Room\u0007"},
    )
    run.send(
        "no resource",
        (404, "resource_not_found"),
        "PATCH",
        RESOURCE,
        nothing,
        json={"active": False},
    )
    run.send(
        "not an id",
        (404, "not_found"),
        "PATCH",
        RESOURCE,
        "/api/admin/resources/x/",
        json={"active": False},
    )
    run.send("plan", (200, None), "PUT", PLAN, plan, json=SUNDAY_PLAN)
    overlapping = {
        "weekly_plan": {
            "7": [{"opens": "09:00", "closes": "11:00"}, {"opens": "10:00", "closes": "12:00"}]
        }
    }
    run.send("overlapping plan", (400, "invalid_catalog"), "PUT", PLAN, plan, json=overlapping)
    late = {"weekly_plan": {"7": [{"opens": "09:00", "closes": "24:00"}]}}
    run.send("no such time", (400, "invalid_request"), "PUT", PLAN, plan, json=late)
    run.send(
        "plan of nothing",
        (404, "resource_not_found"),
        "PUT",
        PLAN,
        PLAN.replace("{resource_id}", "999999"),
        json=SUNDAY_PLAN,
    )
    run.send(
        "plan of not an id",
        (404, "not_found"),
        "PUT",
        PLAN,
        "/api/admin/resources/x/plan/",
        json=SUNDAY_PLAN,
    )
    _exception_exchanges(run, added.json()["data"]["id"])
    _service_exchanges(run, added.json()["data"]["id"])
    run.send("deactivate", (200, None), "PATCH", RESOURCE, resource, json={"active": False})


def _service_exchanges(run: Exchanges, resource_id: int) -> None:
    """Services: one performed by the new resource only (which works Sundays, off days), so
    the module's other requests never meet it; changed, refused, deactivated."""
    run.send("services", (200, None), "GET", SERVICES)
    body = {"name": "Sunday Special", "duration_minutes": 30, "resource_ids": [resource_id]}
    added = run.send("add service", (201, None), "POST", SERVICES, json=body)
    other = {**body, "name": "Sunday Other"}
    other_id = run.send("add another", (201, None), "POST", SERVICES, json=other).json()["data"]
    service = SERVICE.replace("{service_id}", str(added.json()["data"]["id"]))
    nothing = SERVICE.replace("{service_id}", "999999")
    not_an_id = "/api/admin/services/x/"
    for method, template, url in [("POST", SERVICES, SERVICES), ("PATCH", SERVICE, service)]:
        run.send(
            "as text",
            (415, "unsupported_media_type"),
            method,
            template,
            url,
            content=json.dumps(body).encode(),
            headers=TEXT,
        )
        big = b'{"name": "' + b"x" * 70_000 + b'"}'
        run.send("too large", (413, "body_too_large"), method, template, url, content=big)
        run.send("not an object", (400, "invalid_request"), method, template, url, content=b"[]")
        taken = {"name": "SUNDAY other", "duration_minutes": 30}
        run.send("name taken", (409, "service_name_taken"), method, template, url, json=taken)
        nobody = {"name": "Nobody's", "duration_minutes": 30, "resource_ids": [999999]}
        run.send("no such resource", (422, "unknown_resource"), method, template, url, json=nobody)
        long = {"name": "Long", "duration_minutes": 721}
        run.send("too long", (400, "invalid_catalog"), method, template, url, json=long)
    run.send("one", (200, None), "GET", SERVICE, service)
    run.send("of nothing", (404, "service_not_found"), "GET", SERVICE, nothing)
    run.send("of not an id", (404, "not_found"), "GET", SERVICE, not_an_id)
    change = {"buffer_after": 10}
    run.send("change", (200, None), "PATCH", SERVICE, service, json=change)
    run.send("no service", (404, "service_not_found"), "PATCH", SERVICE, nothing, json=change)
    run.send("not an id", (404, "not_found"), "PATCH", SERVICE, not_an_id, json=change)
    run.send("deactivate", (200, None), "PATCH", SERVICE, service, json={"active": False})
    other_url = SERVICE.replace("{service_id}", str(other_id["id"]))
    run.send("deactivate", (200, None), "PATCH", SERVICE, other_url, json={"active": False})


def _exception_exchanges(run: Exchanges, resource_id: int) -> None:
    """Date exceptions of the new resource: set, refused, removed."""
    exception = _exception_url(resource_id)
    run.send("closed date", (200, None), "PUT", EXCEPTION, exception, json=CLOSED)
    run.send(
        "as text",
        (415, "unsupported_media_type"),
        "PUT",
        EXCEPTION,
        exception,
        content=json.dumps(CLOSED).encode(),
        headers=TEXT,
    )
    big = b'{"intervals": [' + b" " * 70_000 + b"]}"
    run.send("too large", (413, "body_too_large"), "PUT", EXCEPTION, exception, content=big)
    run.send("not an object", (400, "invalid_request"), "PUT", EXCEPTION, exception, content=b"[]")
    overlapping = {
        "intervals": [{"opens": "09:00", "closes": "11:00"}, {"opens": "10:00", "closes": "12:00"}]
    }
    run.send("overlapping", (400, "invalid_catalog"), "PUT", EXCEPTION, exception, json=overlapping)
    for method in ("PUT", "DELETE"):
        body = {"json": CLOSED} if method == "PUT" else {}
        bad_date = _exception_url(resource_id, "2031-02-30")
        run.send("no such date", (400, "invalid_date"), method, EXCEPTION, bad_date, **body)
        nothing = _exception_url(999999)
        run.send("of nothing", (404, "resource_not_found"), method, EXCEPTION, nothing, **body)
        not_an_id = _exception_url("x")
        run.send("of not an id", (404, "not_found"), method, EXCEPTION, not_an_id, **body)
    run.send("remove", (200, None), "DELETE", EXCEPTION, exception)


@pytest.fixture(scope="module")
def caller_exchanges(
    server: ServerProcess, public_server: ServerProcess, days: WorkingDays
) -> list[Exchange]:
    """Find and cancel by phone (a trusted agent's), and their refusals."""
    day, phone = days.take(), unique_phone()
    with _client(server) as client, _client(public_server, agent=False) as public:
        run = Exchanges(client)
        stranger = Exchanges(public)
        ids = []
        for time in ("12:00", "13:00", "14:00", "15:00"):
            booked = client.post(CREATE_PATH, json=booking_body(day, time, phone=phone))
            assert booked.status_code == 201, booked.text
            ids.append(booked.json()["booking_id"])
        first, second, third, fourth = ids

        def find(label: str, expected: tuple[int, str | None], **params: str) -> None:
            run.send(label, expected, "GET", CALLER_BOOKINGS, params=params)

        def cancel(
            label: str, expected: tuple[int, str | None], booking_id: int, **request: Any
        ) -> None:
            url = _admin_url(CALLER_CANCEL, booking_id)
            run.send(label, expected, "POST", CALLER_CANCEL, url, **request)

        find("find", (200, None), phone=phone)
        find("find nothing", (200, None), phone=unique_phone())
        find("find without phone", (400, "missing_field"))
        find("find a bad phone", (400, "invalid_field"), phone="12")
        stranger.send(
            "find, untrusted", (403, "forbidden"), "GET", CALLER_BOOKINGS, params={"phone": phone}
        )
        stranger.send(
            "cancel, untrusted",
            (403, "forbidden"),
            "POST",
            CALLER_CANCEL,
            _admin_url(CALLER_CANCEL, first),
            json={"phone": phone},
        )

        mine = {"phone": phone}
        cancel("cancel", (200, None), first, json={**mine, "reason": "ill"})
        cancel("cancel again", (409, "booking_not_active"), first, json=mine)
        cancel(
            "cancel another's", (404, "booking_not_found"), second, json={"phone": unique_phone()}
        )
        cancel("cancel nothing", (404, "booking_not_found"), 999_999, json=mine)
        run.send(
            "cancel not an id",
            (404, "not_found"),
            "POST",
            CALLER_CANCEL,
            "/api/agent/bookings/x/cancel/",
            json=mine,
        )
        cancel("cancel an array", (400, "invalid_body"), second, content=b"[]")
        cancel("cancel without phone", (400, "missing_field"), second, json={})
        cancel("cancel a bad phone", (400, "invalid_field"), second, json={"phone": "12"})
        cancel(
            "cancel too large",
            (413, "body_too_large"),
            second,
            content=b'{"reason": "' + b"x" * 70_000 + b'"}',
        )
        cancel(
            "cancel as text", (415, "unsupported_media_type"), second, content=b"{}", headers=TEXT
        )
        key = {"Idempotency-Key": f"openapi-cancel-{unique_phone()}"}
        cancel("keyed cancel", (200, None), second, json=mine, headers=key)
        cancel("keyed cancel replay", (200, None), second, json=mine, headers=key)
        cancel("cancel key reused", (422, "idempotency_key_reused"), third, json=mine, headers=key)
        cancel(
            "cancel bad key",
            (400, "invalid_idempotency_key"),
            third,
            json=mine,
            headers={"Idempotency-Key": "a b"},
        )
        running_key = f"openapi-cancel-{unique_phone()}"
        _claim_key(server, running_key, {"cancel_booking": third, "body": mine})
        cancel(
            "cancel key of a running request",
            (409, "idempotency_in_progress"),
            third,
            json=mine,
            headers={"Idempotency-Key": running_key},
        )
        # Time passing, as far as the service can tell: the booking now started 5 minutes ago.
        started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        _sql(
            server,
            "UPDATE bookings SET starts_at = ? WHERE id = ?",
            started.strftime("%Y-%m-%d %H:%M:%S.%f"),
            fourth,
        )
        cancel("cancel a started booking", (422, "too_late"), fourth, json=mine)
    replayed = next(e for e in run.done if e.label == "keyed cancel replay")
    assert replayed.response.headers.get("idempotent-replayed") == "true", replayed.response.headers
    return [*stranger.done, *run.done]


#: A new start for requests that are refused before it matters.
_MOVE_TIME = {"booking_date": "2030-01-07", "booking_time": "14:00"}


@pytest.fixture(scope="module")
def reschedule_exchanges(  # noqa: PLR0915 - one request per refusal
    server: ServerProcess, public_server: ServerProcess, days: WorkingDays
) -> list[Exchange]:
    """Moving a trusted agent's caller's booking: the move and every refusal it can produce."""
    day, later, closed, far_off = days.take_many(4)
    phone = unique_phone()
    with (
        _client(server) as client,
        _client(server, **ADMIN) as admin,
        _client(public_server, agent=False) as public,
    ):
        run = Exchanges(client)
        stranger = Exchanges(public)
        ids = []
        for time in ("12:00", "13:00", "14:00", "15:00", "16:00"):
            booked = client.post(CREATE_PATH, json=booking_body(day, time, phone=phone))
            assert booked.status_code == 201, booked.text
            ids.append(booked.json()["booking_id"])
        first, second, third, fourth, fifth = ids

        def move(
            label: str, expected: tuple[int, str | None], booking_id: int, **request: Any
        ) -> None:
            url = _admin_url(RESCHEDULE, booking_id)
            run.send(label, expected, "POST", RESCHEDULE, url, **request)

        def to(when: dt.date, time: str = "14:00", **fields: Any) -> dict[str, Any]:
            return {
                "phone": phone,
                "booking_date": when.isoformat(),
                "booking_time": time,
                **fields,
            }

        stranger.send(
            "move, untrusted",
            (403, "forbidden"),
            "POST",
            RESCHEDULE,
            _admin_url(RESCHEDULE, first),
            json=to(later),
        )
        move("move", (200, None), first, json=to(later, "12:00"))
        move("move into a taken start", (409, "slot_taken"), second, json=to(day, "14:00"))
        move(
            "move another's",
            (404, "booking_not_found"),
            second,
            json=to(later) | {"phone": unique_phone()},
        )
        move("move nothing", (404, "booking_not_found"), 999_999, json=to(later))
        run.send(
            "move not an id",
            (404, "not_found"),
            "POST",
            RESCHEDULE,
            "/api/agent/bookings/x/reschedule/",
            json=to(later),
        )
        move("move before opening", (422, "outside_working_hours"), second, json=to(later, "09:00"))
        move("move between slots", (422, "not_slot_start"), second, json=to(later, "14:30"))
        move(
            "move to yesterday",
            (422, "booking_in_past"),
            second,
            json=to(today_utc() - dt.timedelta(days=1)),
        )
        move(
            "move past the horizon",
            (422, "beyond_horizon"),
            second,
            json=to(today_utc() + dt.timedelta(days=400)),
        )
        move("move to a Sunday", (422, "off_day"), second, json=to(days.sunday()))
        dates = admin.get(SETTINGS).json()["data"]["closed_dates"]
        patched = admin.patch(SETTINGS, json={"closed_dates": [*dates, closed.isoformat()]})
        assert patched.status_code == 200, patched.text
        move("move to a closed date", (422, "closed_date"), second, json=to(closed))
        move(
            "move to no resource",
            (422, "unknown_resource"),
            second,
            json=to(later, resource_id=10**9),
        )
        notice = _add_service(server.database_url, "Move's notice", min_notice_minutes=7 * 24 * 60)
        week_on = far_off + dt.timedelta(days=8)
        week_on += dt.timedelta(days=1) if week_on.isoweekday() == 7 else dt.timedelta()
        soon = today_utc() + dt.timedelta(days=2)
        soon += dt.timedelta(days=1) if soon.isoweekday() == 7 else dt.timedelta()
        other = unique_phone()  # the first phone holds the most open bookings one phone may
        noticed = client.post(
            CREATE_PATH, json=booking_body(week_on, "16:00", phone=other, service_id=notice)
        )
        assert noticed.status_code == 201, noticed.text
        move(
            "move a service needing notice too soon",
            (422, "notice_too_short"),
            noticed.json()["booking_id"],
            json=to(soon, "16:00", phone=other),
        )
        _sql(server, "UPDATE services SET is_active = 0 WHERE id = ?", notice)
        _sql(
            server,
            "UPDATE business_settings SET catalog_version = catalog_version + 1 WHERE is_active",
        )
        move(
            "move a booking of a withdrawn service",
            (422, "unknown_service"),
            noticed.json()["booking_id"],
            json=to(later, "16:00", phone=other),
        )
        move("move an array", (400, "invalid_body"), second, content=b"[]")
        move(
            "move without a time",
            (400, "missing_field"),
            second,
            json={"phone": phone, "booking_date": "2030-01-07"},
        )
        move(
            "move to no such date",
            (400, "invalid_date"),
            second,
            json=to(later) | {"booking_date": "31/02/2027"},
        )
        move("move to no such time", (400, "invalid_time"), second, json=to(later, "25:00"))
        move(
            "move with a bad phone",
            (400, "invalid_field"),
            second,
            json=to(later) | {"phone": "12"},
        )
        move(
            "move too large",
            (413, "body_too_large"),
            second,
            content=b'{"notes": "' + b"x" * 70_000 + b'"}',
        )
        move("move as text", (415, "unsupported_media_type"), second, content=b"{}", headers=TEXT)
        key = {"Idempotency-Key": f"openapi-move-{unique_phone()}"}
        move("keyed move", (200, None), second, json=to(later, "13:00"), headers=key)
        move("keyed move replay", (200, None), second, json=to(later, "13:00"), headers=key)
        move("move key reused", (422, "idempotency_key_reused"), third, json=to(later), headers=key)
        move(
            "move bad key",
            (400, "invalid_idempotency_key"),
            third,
            json=to(later),
            headers={"Idempotency-Key": "a b"},
        )
        running_key = f"openapi-move-{unique_phone()}"
        _claim_key(server, running_key, {"reschedule_booking": third, "body": to(later)})
        move(
            "move key of a running request",
            (409, "idempotency_in_progress"),
            third,
            json=to(later),
            headers={"Idempotency-Key": running_key},
        )
        cancelled = client.post(_admin_url(CALLER_CANCEL, fourth), json={"phone": phone})
        assert cancelled.status_code == 200, cancelled.text
        move("move a cancelled booking", (409, "booking_not_active"), fourth, json=to(later))
        started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        _sql(
            server,
            "UPDATE bookings SET starts_at = ? WHERE id = ?",
            started.strftime("%Y-%m-%d %H:%M:%S.%f"),
            fifth,
        )
        move("move a started booking", (422, "too_late"), fifth, json=to(later))
    replayed = next(e for e in run.done if e.label == "keyed move replay")
    assert replayed.response.headers.get("idempotent-replayed") == "true", replayed.response.headers
    return [*stranger.done, *run.done]


#: Create refusals a hold answers alike: the same request sent to the hold endpoint.
_HOLD_REPLAYS_OF_CREATE = frozenset(
    {
        "taken slot",
        "before opening",
        "between slots",
        "yesterday",
        "past the horizon",
        "a Sunday",
        "a closed date",
        "a sixth booking for one phone",
        "a resource that does not exist",
        "a service id not in the catalog",
        "a service that needs more notice",
        "an array",
        "no phone",
        "no such date",
        "no such time",
        "bad e-mail",
        "too large",
        "form body",
    }
)


def _hold_url(template: str, hold_id: object) -> str:
    return template.replace("{hold_id}", str(hold_id))


@pytest.fixture(scope="module")
def hold_exchanges(  # noqa: PLR0915 - one request per refusal
    server: ServerProcess, days: WorkingDays, create_exchanges: list[Exchange]
) -> list[Exchange]:
    """Hold, confirm and release, and their refusals (a hold refuses what create refuses)."""
    with _client(server) as client:
        run = Exchanges(client)
        for sent in create_exchanges:
            if sent.label in _HOLD_REPLAYS_OF_CREATE:
                request = sent.response.request
                run.send(
                    f"hold: {sent.label}",
                    (sent.status, sent.code),
                    "POST",
                    HOLDS,
                    content=request.content,
                    headers={"Content-Type": request.headers.get("content-type", "")},
                )
        day, keyed_day = days.take_many(2)
        phone = unique_phone()

        def hold(label: str, expected: tuple[int, str | None], **request: Any) -> httpx.Response:
            return run.send(label, expected, "POST", HOLDS, **request)

        held = [
            hold("hold", (201, None), json=booking_body(day, time, phone=phone)).json()
            for time in ("12:00", "13:00")
        ]
        assert all(answer["data"]["booking"]["status"] == "held" for answer in held), held
        hold("a third hold", (409, "too_many_holds"), json=booking_body(day, "14:00", phone=phone))
        first, second = (answer["booking_id"] for answer in held)
        key_body = booking_body(keyed_day, "12:00")
        key = {"Idempotency-Key": f"openapi-hold-{unique_phone()}"}
        hold("keyed hold", (201, None), json=key_body, headers=key)
        hold("keyed hold replay", (201, None), json=key_body, headers=key)
        other = booking_body(keyed_day, "13:00")
        hold("hold key reused", (422, "idempotency_key_reused"), json=other, headers=key)
        bad_key = {"Idempotency-Key": "a b"}
        hold("hold bad key", (400, "invalid_idempotency_key"), json=other, headers=bad_key)
        running = booking_body(keyed_day, "14:00")
        running_key = f"openapi-hold-{unique_phone()}"
        _claim_key(server, running_key, {"hold_slot": running})
        hold(
            "hold key of a running request",
            (409, "idempotency_in_progress"),
            json=running,
            headers={"Idempotency-Key": running_key},
        )

        mine = {"phone": phone}

        def confirm(
            label: str, expected: tuple[int, str | None], hold_id: object, **request: Any
        ) -> None:
            url = _hold_url(HOLD_CONFIRM, hold_id)
            run.send(label, expected, "POST", HOLD_CONFIRM, url, **request)

        def release(
            label: str, expected: tuple[int, str | None], hold_id: object, **request: Any
        ) -> None:
            run.send(label, expected, "DELETE", HOLD, _hold_url(HOLD, hold_id), **request)

        confirm("confirm another's", (404, "booking_not_found"), first, json={"phone": "5550100"})
        confirm("confirm nothing", (404, "booking_not_found"), 999_999, json=mine)
        # Beyond any id storage can hold (SQLite refused such an integer with a 500 once).
        confirm("confirm a huge id", (404, "booking_not_found"), 10**30, json=mine)
        confirm("confirm not an id", (404, "not_found"), "x", json=mine)
        confirm("confirm an array", (400, "invalid_body"), first, content=b"[]")
        confirm("confirm without phone", (400, "missing_field"), first, json={})
        confirm("confirm a bad phone", (400, "invalid_field"), first, json={"phone": "12"})
        confirm(
            "confirm too large",
            (413, "body_too_large"),
            first,
            content=b'{"phone": "' + b"1" * 70_000 + b'"}',
        )
        confirm(
            "confirm as text", (415, "unsupported_media_type"), first, content=b"{}", headers=TEXT
        )
        confirm_key = {"Idempotency-Key": f"openapi-confirm-{unique_phone()}"}
        confirm("keyed confirm", (201, None), first, json=mine, headers=confirm_key)
        confirm("keyed confirm replay", (201, None), first, json=mine, headers=confirm_key)
        confirm(
            "confirm key reused",
            (422, "idempotency_key_reused"),
            second,
            json=mine,
            headers=confirm_key,
        )
        confirm(
            "confirm bad key", (400, "invalid_idempotency_key"), second, json=mine, headers=bad_key
        )
        confirm_running = f"openapi-confirm-{unique_phone()}"
        _claim_key(server, confirm_running, {"confirm_hold": second, "body": mine})
        confirm(
            "confirm key of a running request",
            (409, "idempotency_in_progress"),
            second,
            json=mine,
            headers={"Idempotency-Key": confirm_running},
        )
        confirm("confirm a booking", (409, "booking_not_held"), first, json=mine)
        # Time passing, as far as the service can tell: the second hold's time is up.
        _sql(
            server,
            "UPDATE bookings SET hold_expires_at = ? WHERE id = ?",
            (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f"),
            second,
        )
        confirm("confirm an expired hold", (409, "hold_expired"), second, json=mine)

        third = hold("hold to release", (201, None), json=booking_body(day, "15:00", phone=phone))
        third_id = third.json()["booking_id"]
        release(
            "release another's", (404, "booking_not_found"), third_id, params={"phone": "5550100"}
        )
        release("release nothing", (404, "booking_not_found"), 999_999, params=mine)
        release("release a huge id", (404, "booking_not_found"), 10**30, params=mine)
        release("release not an id", (404, "not_found"), "x", params=mine)
        release("release an array", (400, "invalid_body"), third_id, content=b"[]")
        release("release without phone", (400, "missing_field"), third_id)
        release("release a bad phone", (400, "invalid_field"), third_id, params={"phone": "12"})
        release(
            "release too large",
            (413, "body_too_large"),
            third_id,
            content=b'{"phone": "' + b"1" * 70_000 + b'"}',
        )
        release_key = {"Idempotency-Key": f"openapi-release-{unique_phone()}"}
        release("keyed release", (200, None), third_id, params=mine, headers=release_key)
        release("keyed release replay", (200, None), third_id, params=mine, headers=release_key)
        release(
            "release key reused",
            (422, "idempotency_key_reused"),
            first,
            params=mine,
            headers=release_key,
        )
        release(
            "release bad key", (400, "invalid_idempotency_key"), first, params=mine, headers=bad_key
        )
        release_running = f"openapi-release-{unique_phone()}"
        _claim_key(server, release_running, {"release_hold": first, "phone": phone})
        release(
            "release key of a running request",
            (409, "idempotency_in_progress"),
            first,
            params=mine,
            headers={"Idempotency-Key": release_running},
        )
        release("release a booking", (409, "booking_not_held"), first, params=mine)
        fourth = hold(
            "hold to release by body", (201, None), json=booking_body(day, "16:00", phone=phone)
        )
        release("release by body", (200, None), fourth.json()["booking_id"], json=mine)
    for label in ("keyed hold replay", "keyed confirm replay", "keyed release replay"):
        replayed = next(e for e in run.done if e.label == label)
        assert replayed.response.headers.get("idempotent-replayed") == "true", label
    return run.done


@pytest.fixture(scope="module")
def webhook_exchanges(server: ServerProcess) -> list[Exchange]:
    """The webhook subscriptions' admin API: every answer but the outage (outage_exchanges)."""
    with _client(server, agent=False, **ADMIN) as client, _client(server, agent=False) as anonymous:
        run = Exchanges(client)
        stranger = Exchanges(anonymous)
        operations = [
            ("GET", WEBHOOKS),
            ("POST", WEBHOOKS),
            ("GET", WEBHOOK),
            ("PATCH", WEBHOOK),
            ("DELETE", WEBHOOK),
            ("POST", WEBHOOK_ROTATE),
            ("GET", WEBHOOK_LOG),
            ("POST", WEBHOOK_REPLAY),
        ]
        for method, template in operations:
            url = template.format(webhook_id=1)
            stranger.send("no token", (401, "unauthorized"), method, template, url, json={})
        hook = {"url": "https://127.0.0.1:9/hook", "event_types": ["booking_created"]}
        refused = (422, "webhook_url_refused")
        run.send("private address", refused, "POST", WEBHOOKS, json=hook)
        run.send("not https", refused, "POST", WEBHOOKS, json={"url": "http://localhost/"})
        run.send("no url", (400, "invalid_field"), "POST", WEBHOOKS, json={})
        run.send("not an object", (400, "invalid_body"), "POST", WEBHOOKS, content=b"[]")
        big = b'{"url": "' + b"x" * 70_000 + b'"}'
        run.send("too large", (413, "body_too_large"), "POST", WEBHOOKS, content=big)
        text = {"content": b"{}", "headers": TEXT}
        run.send("as text", (415, "unsupported_media_type"), "POST", WEBHOOKS, **text)
        run.send("list", (200, None), "GET", WEBHOOKS)
        missing = (404, "webhook_not_found")
        not_an_id = (404, "not_found")
        for method, template in operations[2:]:
            url = template.format(webhook_id=999_999)
            body = {"since": 0} if template == WEBHOOK_REPLAY else {}
            run.send("no such webhook", missing, method, template, url, json=body)
            bad = template.format(webhook_id="abc")
            run.send("not an id", not_an_id, method, template, bad, json=body)
        for method, template in [("PATCH", WEBHOOK), ("POST", WEBHOOK_REPLAY)]:
            url = template.format(webhook_id=1)
            run.send("not an object", (400, "invalid_body"), method, template, url, content=b"1")
            run.send("too large", (413, "body_too_large"), method, template, url, content=big)
        for method, template in [
            ("PATCH", WEBHOOK),
            ("POST", WEBHOOK_REPLAY),
            ("POST", WEBHOOK_ROTATE),
        ]:
            url = template.format(webhook_id=1)
            run.send("as text", (415, "unsupported_media_type"), method, template, url, **text)
        # With private addresses refused, a subscription can only be made for a public name;
        # the test servers send webhooks to loopback only (BOOKING_WEBHOOK_ALLOWED_HOSTS), so
        # this one is refused too: the rest is shown on a subscription made in SQL.
        _sql(
            server,
            "INSERT INTO webhook_subscriptions (id, url, description, event_types, enabled, "
            "secret, after_event_id, created_at, updated_at) VALUES (1, 'https://127.0.0.1:9/x', "
            "'', '*', 0, 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 0, 0, 0)",
        )
        one = {"webhook_id": 1}
        run.send("one", (200, None), "GET", WEBHOOK, WEBHOOK.format(**one))
        run.send(
            "rename",
            (200, None),
            "PATCH",
            WEBHOOK,
            WEBHOOK.format(**one),
            json={"description": "x"},
        )
        run.send(
            "bad types",
            (400, "invalid_field"),
            "PATCH",
            WEBHOOK,
            WEBHOOK.format(**one),
            json={"event_types": ["nope"]},
        )
        run.send(
            "move inside",
            refused,
            "PATCH",
            WEBHOOK,
            WEBHOOK.format(**one),
            json={"url": "https://10.0.0.1/"},
        )
        run.send("rotate", (200, None), "POST", WEBHOOK_ROTATE, WEBHOOK_ROTATE.format(**one))
        log = WEBHOOK_LOG.format(**one)
        run.send("log", (200, None), "GET", WEBHOOK_LOG, log, params={"limit": "10"})
        run.send(
            "bad limit", (400, "invalid_field"), "GET", WEBHOOK_LOG, log, params={"limit": "0"}
        )
        replay = WEBHOOK_REPLAY.format(**one)
        run.send("replay all", (200, None), "POST", WEBHOOK_REPLAY, replay, json={"since": 0})
        run.send(
            "replay what", (400, "invalid_field"), "POST", WEBHOOK_REPLAY, replay, json={"x": 1}
        )
        run.send("delete", (200, None), "DELETE", WEBHOOK, WEBHOOK.format(**one))
    return [*stranger.done, *run.done]


@pytest.fixture(scope="module")
def operations_exchanges(server: ServerProcess) -> list[Exchange]:
    with _client(server) as client:
        run = Exchanges(client)
        for path in ["/health", "/ready", "/metrics", "/admin/", DOCS_PATH, OPENAPI_PATH]:
            run.send(path, (200, None), "GET", path)
        run.send("unknown path", (404, "not_found"), "GET", None, "/nope")
        run.send("GET on create", (405, "method_not_allowed"), "GET", None, CREATE_PATH)
        run.send(
            "DELETE on settings",
            (405, "method_not_allowed"),
            "DELETE",
            None,
            SETTINGS,
            headers=ADMIN,
        )
    return run.done


@pytest.fixture(scope="module")
def offer_exchanges(
    server: ServerProcess, public_server: ServerProcess, days: WorkingDays
) -> list[Exchange]:
    """Offered slots (a trusted agent's), and their refusals."""
    with _client(server) as client, _client(public_server, agent=False) as public:
        run = Exchanges(client)
        stranger = Exchanges(public)
        offer = {"after": days.take().isoformat(), "part_of_day": "evening", "limit": "1"}
        run.send("offer", (200, None), "GET", SLOTS, params=offer)
        run.send("offer a bad limit", (400, "invalid_field"), "GET", SLOTS, params={"limit": "0"})
        run.send("offer a bad day", (400, "invalid_date"), "GET", SLOTS, params={"after": "x"})
        run.send(
            "offer no service",
            (422, "unknown_service"),
            "GET",
            SLOTS,
            params={"service_id": "999999"},
        )
        run.send(
            "offer no resource",
            (422, "unknown_resource"),
            "GET",
            SLOTS,
            params={"resource_id": "999999"},
        )
        stranger.send("offer, untrusted", (403, "forbidden"), "GET", SLOTS)
    return [*stranger.done, *run.done]


@pytest.fixture(scope="module")
def access_exchanges(access_server: ServerProcess) -> list[Exchange]:
    """401 without a key, then 429 once the client's two requests are spent; 403 outside."""
    with _client(access_server, agent=False) as client:
        run = Exchanges(client)
        body = booking_body(WorkingDays().take())
        run.send(
            "no key", (401, "unauthorized"), "GET", AVAILABILITY, params={"date": "2027-10-20"}
        )
        run.send("no key", (401, "unauthorized"), "POST", CREATE_PATH, json=body)

        run.send("spent", (429, "rate_limited"), "POST", CREATE_PATH, json=body)
        run.send("spent", (429, "rate_limited"), "GET", AVAILABILITY, params={"date": "2027-10-20"})
        caller = {"phone": "1234567"}
        cancel_one = _admin_url(CALLER_CANCEL, 1)
        # Another client (through the trusted proxy), with two requests of its own.
        other = {"X-Forwarded-For": "127.0.0.15"}
        third = {"X-Forwarded-For": "127.0.0.16"}
        for expected in [(401, "unauthorized"), (401, "unauthorized"), (429, "rate_limited")]:
            run.send(expected[1], expected, "GET", SLOTS, headers=third)
        for expected in [(401, "unauthorized"), (429, "rate_limited")]:
            run.send(expected[1], expected, "GET", CALLER_BOOKINGS, params=caller, headers=other)
            run.send(
                expected[1], expected, "POST", CALLER_CANCEL, cancel_one, json=caller, headers=other
            )
        move_one, move = _admin_url(RESCHEDULE, 1), {**caller, **_MOVE_TIME}
        fourth = {"X-Forwarded-For": "127.0.0.20"}
        for expected in [(401, "unauthorized"), (401, "unauthorized"), (429, "rate_limited")]:
            run.send(expected[1], expected, "POST", RESCHEDULE, move_one, json=move, headers=fourth)
        run.send(
            "outsider",
            (403, "forbidden"),
            "POST",
            RESCHEDULE,
            move_one,
            json=move,
            headers=OUTSIDER,
        )
        hold_requests: list[tuple[str, str, str, dict[str, Any]]] = [
            ("POST", HOLDS, HOLDS, {"json": body}),
            ("POST", HOLD_CONFIRM, _hold_url(HOLD_CONFIRM, 1), {"json": caller}),
            ("DELETE", HOLD, _hold_url(HOLD, 1), {"params": caller}),
        ]
        for address, (method, path, url, request) in zip(
            ("127.0.0.17", "127.0.0.18", "127.0.0.19"), hold_requests, strict=True
        ):
            client_of = {"X-Forwarded-For": address}
            for expected in [(401, "unauthorized"), (401, "unauthorized"), (429, "rate_limited")]:
                run.send(expected[1], expected, method, path, url, headers=client_of, **request)
            run.send("outsider", (403, "forbidden"), method, path, url, headers=OUTSIDER, **request)
        run.send("outsider", (403, "forbidden"), "POST", CREATE_PATH, json=body, headers=OUTSIDER)
        run.send("outsider", (403, "forbidden"), "GET", AVAILABILITY, headers=OUTSIDER)
        run.send("outsider", (403, "forbidden"), "GET", SLOTS, headers=OUTSIDER)
        run.send(
            "outsider", (403, "forbidden"), "GET", CALLER_BOOKINGS, params=caller, headers=OUTSIDER
        )
        run.send(
            "outsider",
            (403, "forbidden"),
            "POST",
            CALLER_CANCEL,
            cancel_one,
            json=caller,
            headers=OUTSIDER,
        )
        run.send(
            "valid key",
            (201, None),
            "POST",
            CREATE_PATH,
            json=body,
            headers={"X-API-Key": AGENT_KEY},
        )
    for exchange in run.done:
        if exchange.status == 429:
            assert exchange.response.headers.get("retry-after"), exchange.response.headers
    return run.done


@pytest.fixture(scope="module")
def outage_exchanges(outage_server: ServerProcess) -> list[Exchange]:  # noqa: PLR0915 - one request per refusal
    """Without settings (503 settings_missing), then without tables (503 storage_unavailable)."""
    body = booking_body(WorkingDays().take())
    date = {"date": body["booking_date"]}
    with _client(outage_server, **ADMIN) as client:
        run = Exchanges(client)
        phone = unique_phone()
        booked = client.post(CREATE_PATH, json=booking_body(WorkingDays().take(), phone=phone))
        assert booked.status_code == 201, booked.text
        own = _admin_url(CALLER_CANCEL, booked.json()["booking_id"])
        held = client.post(HOLDS, json=booking_body(WorkingDays().take(), "13:00", phone=phone))
        assert held.status_code == 201, held.text
        own_hold = held.json()["booking_id"]
        _sql(outage_server, "DELETE FROM business_settings")
        missing = (503, "settings_missing")
        run.send("no settings", missing, "POST", CREATE_PATH, json=body)
        run.send("no settings", missing, "GET", AVAILABILITY, params=date)
        run.send("no settings", missing, "GET", SETTINGS)
        run.send("no settings", missing, "GET", ADMIN_AVAILABILITY, params=date)
        run.send("no settings", missing, "PATCH", SETTINGS, json={"slot_minutes": 30})
        run.send("no settings", missing, "GET", CALLER_BOOKINGS, params={"phone": "1234567"})
        run.send("no settings", missing, "GET", SLOTS)
        run.send("no settings", missing, "POST", CALLER_CANCEL, own, json={"phone": phone})
        own_move = _admin_url(RESCHEDULE, booked.json()["booking_id"])
        run.send(
            "no settings",
            missing,
            "POST",
            RESCHEDULE,
            own_move,
            json={"phone": phone, **_MOVE_TIME},
        )
        run.send("no settings", missing, "POST", HOLDS, json=body)
        confirm_own = _hold_url(HOLD_CONFIRM, own_hold)
        run.send("no settings", missing, "POST", HOLD_CONFIRM, confirm_own, json={"phone": phone})
        release_own = _hold_url(HOLD, own_hold)
        run.send("no settings", missing, "DELETE", HOLD, release_own, params={"phone": phone})
        run.send("no settings", missing, "GET", RESOURCES)
        run.send("no settings", missing, "POST", RESOURCES, json={"name": "Room"})
        run.send(
            "no settings",
            missing,
            "PATCH",
            RESOURCE,
            RESOURCE.replace("{resource_id}", "1"),
            json={"active": True},
        )
        run.send(
            "no settings",
            missing,
            "PUT",
            PLAN,
            PLAN.replace("{resource_id}", "1"),
            json=SUNDAY_PLAN,
        )
        run.send("no settings", missing, "PUT", EXCEPTION, _exception_url(1), json=CLOSED)
        run.send("no settings", missing, "DELETE", EXCEPTION, _exception_url(1))
        one_service = SERVICE.replace("{service_id}", "1")
        new_service = {"name": "Check-up", "duration_minutes": 30}
        run.send("no settings", missing, "GET", SERVICES)
        run.send("no settings", missing, "POST", SERVICES, json=new_service)
        run.send("no settings", missing, "GET", SERVICE, one_service)
        run.send("no settings", missing, "PATCH", SERVICE, one_service, json={"active": False})
        # An unmigrated (here: half-dropped) schema is storage the service cannot use.
        _sql(outage_server, "DROP TABLE business_settings")
        _sql(outage_server, "DROP TABLE bookings")
        down = (503, "storage_unavailable")
        run.send("no tables", down, "GET", "/ready")
        run.send("no tables", down, "POST", CREATE_PATH, json=body)
        run.send("no tables", down, "GET", AVAILABILITY, params=date)
        run.send("no tables", down, "GET", BOOKINGS)
        run.send("no tables", down, "GET", ADMIN_AVAILABILITY, params=date)
        run.send("no tables", down, "GET", BOOKING, _admin_url(BOOKING, 1))
        run.send("no tables", down, "POST", CANCEL, _admin_url(CANCEL, 1))
        run.send("no tables", down, "GET", CALLER_BOOKINGS, params={"phone": "1234567"})
        run.send("no tables", down, "GET", SLOTS)
        run.send(
            "no tables",
            down,
            "POST",
            CALLER_CANCEL,
            _admin_url(CALLER_CANCEL, 1),
            json={"phone": "1234567"},
        )
        run.send("no tables", down, "POST", HOLDS, json=body)
        run.send(
            "no tables",
            down,
            "POST",
            RESCHEDULE,
            _admin_url(RESCHEDULE, 1),
            json={"phone": "1234567", **_MOVE_TIME},
        )
        run.send(
            "no tables",
            down,
            "POST",
            HOLD_CONFIRM,
            _hold_url(HOLD_CONFIRM, 1),
            json={"phone": phone},
        )
        run.send("no tables", down, "DELETE", HOLD, _hold_url(HOLD, 1), params={"phone": phone})
        run.send("no tables", down, "GET", SETTINGS)
        run.send("no tables", down, "PATCH", SETTINGS, json={"slot_minutes": 30})
        _sql(outage_server, "DROP TABLE webhook_attempts")
        _sql(outage_server, "DROP TABLE webhook_deliveries")
        _sql(outage_server, "DROP TABLE webhook_subscriptions")
        hook = {"url": "https://localhost/x"}
        run.send("no tables", down, "GET", WEBHOOKS)
        run.send("no tables", down, "POST", WEBHOOKS, json={"url": "http://127.0.0.1/x"})
        for method, template in [
            ("GET", WEBHOOK),
            ("PATCH", WEBHOOK),
            ("DELETE", WEBHOOK),
            ("POST", WEBHOOK_ROTATE),
            ("GET", WEBHOOK_LOG),
            ("POST", WEBHOOK_REPLAY),
        ]:
            body = {"since": 0} if template == WEBHOOK_REPLAY else hook
            url = template.format(webhook_id=1)
            run.send("no tables", down, method, template, url, json=body)
        run.send("no tables", down, "GET", RESOURCES)
        run.send("no tables", down, "POST", RESOURCES, json={"name": "Room"})
        run.send(
            "no tables",
            down,
            "PATCH",
            RESOURCE,
            RESOURCE.replace("{resource_id}", "1"),
            json={"active": True},
        )
        run.send(
            "no tables", down, "PUT", PLAN, PLAN.replace("{resource_id}", "1"), json=SUNDAY_PLAN
        )
        run.send("no tables", down, "PUT", EXCEPTION, _exception_url(1), json=CLOSED)
        run.send("no tables", down, "DELETE", EXCEPTION, _exception_url(1))
        run.send("no tables", down, "GET", SERVICES)
        run.send("no tables", down, "POST", SERVICES, json=new_service)
        run.send("no tables", down, "GET", SERVICE, one_service)
        run.send("no tables", down, "PATCH", SERVICE, one_service, json={"active": False})
    return run.done


EXCHANGE_GROUPS = [
    "create_exchanges",
    "public_exchanges",
    "availability_exchanges",
    "admin_exchanges",
    "caller_exchanges",
    "reschedule_exchanges",
    "hold_exchanges",
    "webhook_exchanges",
    "offer_exchanges",
    "operations_exchanges",
    "access_exchanges",
    "outage_exchanges",
]


@pytest.fixture
def all_exchanges(request: pytest.FixtureRequest) -> list[Exchange]:
    return [exchange for name in EXCHANGE_GROUPS for exchange in request.getfixturevalue(name)]


# --- the document ---------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate_openapi(document)
    assert document["openapi"].startswith("3.1")


def test_every_route_of_the_server_is_documented(document: dict[str, Any]) -> None:
    app = create_app(AppConfig(database_url="sqlite+aiosqlite:///unused.db"))
    documented = {path.rstrip("/") or "/" for path in document["paths"]}
    documented |= {path.rstrip("/") for path in document["x-websockets"]}
    served = {
        route.path.replace(":int}", "}").replace(":str}", "}")
        for route in app.routes
        if "{file_path:path}" not in route.path  # static assets of documented pages
        and "{path:str}" not in route.path  # Litestar's 404 for other /schema/... paths
    }
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


def test_the_docs_page_is_self_contained_html_naming_every_path(
    server: ServerProcess, document: dict[str, Any]
) -> None:
    with _client(server) as client:
        page = client.get(DOCS_PATH)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        html = page.text
        stylesheets = [part.split('"')[0] for part in html.split('rel="stylesheet" href="')[1:]]
        assert stylesheets, "the page has its stylesheet"
        for stylesheet in stylesheets:
            assert stylesheet.startswith("/"), stylesheet
            assert client.get(stylesheet).status_code == 200, stylesheet
    assert "<script" not in html.lower()
    assert 'src="http' not in html
    assert 'href="http' not in html
    for path in [*document["paths"], *document["x-websockets"]]:
        assert f"<code>{path}</code>" in html, path


# --- the contract ---------------------------------------------------------------------------------


@pytest.mark.parametrize("group", EXCHANGE_GROUPS)
def test_every_answer_is_documented_for_its_operation(
    request: pytest.FixtureRequest, contract: Contract, group: str
) -> None:
    for exchange in request.getfixturevalue(group):
        response = exchange.response
        where = f"{exchange.label}: {exchange.method} {response.url}"
        assert response.status_code == exchange.status, (where, response.text)
        code = contract.check(response, exchange.method, exchange.path)
        assert code == exchange.code, (where, response.text)


def test_every_documented_code_is_produced(
    contract: Contract, all_exchanges: list[Exchange]
) -> None:
    produced: dict[tuple[str, str], set[str]] = defaultdict(set)
    for exchange in all_exchanges:
        if exchange.path is not None and exchange.code is not None:
            produced[exchange.method.lower(), exchange.path].add(exchange.code)
    never = {
        f"{method.upper()} {path}: {code}"
        for path, item in contract.document["paths"].items()
        for method in item
        for code in contract.documented_codes(method, path) - produced[method, path]
        if code not in NOT_PRODUCED_HERE
    }
    assert never == set(), "documented codes that no request here produced"


def test_the_create_endpoint_documents_exactly_what_it_produced_here(
    contract: Contract, all_exchanges: list[Exchange]
) -> None:
    produced = {e.code for e in all_exchanges if e.path == CREATE_PATH and e.code is not None}
    documented = contract.documented_codes("POST", CREATE_PATH)

    assert documented - produced == {"transient_conflict", "internal_error"}
    assert produced <= documented


@pytest.mark.parametrize(
    ("field", "valid"),
    [
        ("service_name", lambda n: "s" * n),
        ("first_name", lambda n: "f" * n),
        ("last_name", lambda n: "l" * n),
        ("country", lambda n: "c" * n),
        ("notes", lambda n: "n" * n),
        ("email", lambda n: "e" * (n - len("@example.com")) + "@example.com"),
    ],
)
def test_documented_length_limits_are_the_servers(
    server: ServerProcess,
    document: dict[str, Any],
    field: str,
    valid: Callable[[int], str],
) -> None:
    limit = document["components"]["schemas"]["CreateBookingRequest"]["properties"][field][
        "maxLength"
    ]
    # A past date: the request passes validation only to be refused by the rules (422).
    yesterday = today_utc() - dt.timedelta(days=1)
    with _client(server) as client:
        at_limit = client.post(CREATE_PATH, json=booking_body(yesterday, **{field: valid(limit)}))
        over = client.post(CREATE_PATH, json=booking_body(yesterday, **{field: valid(limit + 1)}))

    assert at_limit.json()["code"] == "booking_in_past", at_limit.text
    assert (over.status_code, over.json()["code"]) == (400, "invalid_field"), over.text


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", f"{BOOKINGS}?page={10**20}", 400),
        ("GET", f"{BOOKINGS}{10**20}/", 404),
        ("POST", f"{BOOKINGS}{10**20}/cancel/", 404),
    ],
)
def test_huge_numbers_are_refused_not_server_errors(
    server: ServerProcess, method: str, url: str, status: int
) -> None:
    with _client(server, **ADMIN) as client:
        response = client.request(method, url)

    assert response.status_code == status, response.text


# --- fuzzing --------------------------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    """The document an app generates (building one does no I/O)."""
    app = create_app(AppConfig(database_url="sqlite+aiosqlite:///unused.db"))
    document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


# The document the server serves (asserted below) is the one an app generates. Loaded at
# import, not from a fixture: schemathesis' lazy fixture loader does not work with pytest 9.
fuzzed = schemathesis.openapi.from_dict(openapi_document())


def test_the_served_document_is_the_one_fuzzed(document: dict[str, Any]) -> None:
    assert document == json.loads(json.dumps(openapi_document()))


def test_every_documented_operation_is_fuzzed_admin_ones_with_the_token(
    document: dict[str, Any],
) -> None:
    """Every operation of the document, the admin API (called with the token, below), the
    probes, ``/metrics`` and the pages included; what it does not describe (static files, the
    WebSocket feed) gets raw requests in ``test_fuzzing.py``."""
    operations = {(op.ok().method.upper(), op.ok().path) for op in fuzzed.get_all_operations()}
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert operations == documented
    assert {("PATCH", SETTINGS), ("POST", CANCEL), ("GET", "/metrics")} <= operations


@fuzzed.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
def test_the_api_holds_to_its_document_under_fuzzing(case: Any, fuzz_server: ServerProcess) -> None:
    # The Host header is the transport's, not the document's: schemathesis sometimes generates
    # one, and a malformed Host is refused with 400 before any route (as RFC 9112 says it must).
    for name in [name for name in case.headers or {} if name.lower() == "host"]:
        del case.headers[name]
    case.call_and_validate(
        base_url=fuzz_server.base_url,
        headers=ADMIN,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


# --- exactness: schemathesis with every check ----------------------------------------------------

#: What a request the document calls valid may still be answered, beyond schemathesis' defaults.
#: 409 and 422 are the business rules' refusals of a well-formed request (slot taken, off day,
#: key reused…), which no schema can state. Two operations also have rules across fields that
#: OpenAPI cannot express, refused with 400: availability (`date` or `from` required, `to` not
#: before `from`, at most 31 days) and the settings (closing after opening, a slot fitting the
#: day, at least one working day, a known time zone). The resources' bodies too: a plan's
#: intervals must not overlap and must close after they open, a name is not only spaces or
#: control characters, and unknown fields (and weekday keys other than 1-7) are refused, which
#: the document says in words; an exception's date must be a real calendar date (2031-02-30
#: matches the path's pattern, and is refused with 400 invalid_date). A service's name is
#: judged as a resource's, and a name another service has is 409 service_name_taken.
EXACTNESS_CONFIG = """\
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429", "5xx"]

[[operations]]
include-path = "/api/agent/availability/"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "400", "401", "403", "404", "409", "422", "429", "5xx",
]

[[operations]]
include-path-regex = "^/api/admin/resources/"
include-method-regex = "^(POST|PATCH|PUT|DELETE)$"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "400", "401", "403", "404", "409", "422", "429", "5xx",
]

[[operations]]
include-path-regex = "^/api/admin/services/"
include-method-regex = "^(POST|PATCH)$"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "400", "401", "403", "404", "409", "422", "429", "5xx",
]

[[operations]]
include-path = "/api/admin/settings/"
include-method = "PATCH"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "400", "401", "403", "404", "409", "422", "429", "5xx",
]

# The webhook bodies are read as sent and judged by the core (described, not typed).
[[operations]]
include-path-regex = "^/api/admin/webhooks/"
include-method-regex = "^(POST|PATCH)$"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "400", "401", "403", "404", "409", "422", "429", "5xx",
]
"""
_EXACTNESS_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def exactness_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Public agent endpoints: ``st run`` sends no API key."""
    with _serve(tmp_path_factory, BOOKING_RATE_LIMIT="0", **PUBLIC_AGENT_ENDPOINTS) as process:
        yield process


def test_schemathesis_with_every_check_finds_nothing_the_server_does_differently(
    exactness_server: ServerProcess, tmp_path: Path
) -> None:
    """`st run --checks all` over the examples, coverage and fuzzing phases, admin routes with
    the token: the document describes exactly what the server accepts and answers."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(EXACTNESS_CONFIG)
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        f"{exactness_server.base_url}{OPENAPI_PATH}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--header",
        f"Authorization: Bearer {ADMIN_TOKEN}",
        "--max-examples",
        "30",
        "--seed",
        "20261204",
        # One worker: CPython 3.11's ast is not thread-safe, and hypothesis parses lambdas.
        "--workers",
        "1",
        "--no-color",
    ]
    run = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=_EXACTNESS_TIMEOUT_S,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
