"""Webhooks end to end: a real server delivers outbox events to a real receiver on 127.0.0.1.

The servers here allow plain http and loopback receivers (``BOOKING_WEBHOOK_ALLOW_HTTP`` and
``_ALLOW_PRIVATE``), shrink the retry schedule a thousandfold
(``BOOKING_WEBHOOK_RETRY_SCALE=0.001``: 5 ms, 300 ms, 1.8 s, …) and give an attempt 2 s, so a
lease (2 x 2 + 1 s) expires quickly after a crash. Signatures are checked with the official
``standardwebhooks`` library.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.integration.endpoint import CREATE_PATH, booking_body, unique_phone
from tests.integration.working_days import SLOT_TIMES, WorkingDays
from tests.support.server import ADMIN_TOKEN, AGENT_HEADERS, ServerProcess
from tests.support.webhook_receiver import Received, WebhookReceiver

WEBHOOKS = "/api/admin/webhooks/"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
WEBHOOK_ENV = {
    "BOOKING_WEBHOOK_ALLOW_HTTP": "1",
    "BOOKING_WEBHOOK_ALLOW_PRIVATE": "1",
    "BOOKING_WEBHOOK_RETRY_SCALE": "0.001",
    "BOOKING_WEBHOOK_TIMEOUT_S": "2",
    "BOOKING_EVENT_POLL_MS": "100",
}


@pytest.fixture(scope="module")
def receiver(database_url: str) -> Iterator[WebhookReceiver]:
    """One per engine, so each engine's server is judged by what it sent alone."""
    del database_url
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def hook_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with ServerProcess(
        database_url, env=WEBHOOK_ENV, log_dir=tmp_path_factory.mktemp("server")
    ) as process:
        yield process


def _admin(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers=ADMIN, timeout=30.0)


def _subscribe(server: ServerProcess, url: str, **fields: Any) -> dict[str, Any]:
    with _admin(server) as admin:
        answer = admin.post(WEBHOOKS, json={"url": url, **fields})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert body["secret"].startswith("whsec_")
    return body


def _book(server: ServerProcess, days: WorkingDays, count: int = 1) -> list[int]:
    """``count`` bookings, on days of their own, each for a new phone; their ids."""
    ids = []
    with httpx.Client(base_url=server.base_url, headers=AGENT_HEADERS, timeout=30.0) as agent:
        while len(ids) < count:
            day = days.take()
            for time in SLOT_TIMES[: count - len(ids)]:
                answer = agent.post(CREATE_PATH, json=booking_body(day, time, phone=unique_phone()))
                assert answer.status_code == 201, answer.text
                ids.append(answer.json()["booking_id"])
    return ids


def _booking_id(item: Received) -> int:
    return int(json.loads(item.body)["data"]["id"])


def _log(server: ServerProcess, webhook_id: int) -> list[dict[str, Any]]:
    """The delivery log once nothing in it is pending any more."""
    data: list[dict[str, Any]] = _eventually(
        server,
        f"{WEBHOOKS}{webhook_id}/deliveries/",
        lambda log: bool(log) and all(entry["status"] != "pending" for entry in log),
    )
    return data


def _eventually(
    server: ServerProcess, path: str, done: Callable[[Any], bool], timeout: float = 20.0
) -> Any:
    """The ``data`` of ``GET path`` once ``done`` holds for it (the server records outcomes
    in its next round); polls, since another process's state has no event to wait on."""
    deadline = time.monotonic() + timeout
    with _admin(server) as admin:
        while True:
            data = admin.get(path).json()["data"]
            if done(data) or time.monotonic() > deadline:
                return data
            time.sleep(0.05)


class TestDelivery:
    def test_a_booking_arrives_signed_as_standard_webhooks_verify_it(
        self, hook_server: ServerProcess, receiver: WebhookReceiver, days: WorkingDays
    ) -> None:
        created = _subscribe(hook_server, receiver.url("/signed"), event_types=["booking_created"])
        (booking_id,) = _book(hook_server, days)

        (got,) = receiver.wait_for(lambda items: len(items) >= 1, "/signed")

        payload = Webhook(created["secret"]).verify(got.body, got.headers)
        assert payload["type"] == "booking_created"
        assert payload["data"]["id"] == booking_id
        assert got.webhook_id == str(payload["event_id"])
        with pytest.raises(Exception, match="signature"):
            Webhook("whsec_" + "A" * 43 + "=").verify(got.body, got.headers)
        log = _log(hook_server, created["data"]["id"])
        assert [(entry["status"], entry["attempts"]) for entry in log] == [("delivered", 1)]
        assert log[0]["last_status_code"] == 200
        assert log[0]["last_latency_ms"] >= 0
        assert log[0]["next_attempt_at"] is None
        (attempt,) = log[0]["attempt_log"]
        assert attempt["attempt"] == 1
        assert attempt["status_code"] == 200
        assert attempt["error"] is None
        assert attempt["latency_ms"] == log[0]["last_latency_ms"]
        assert attempt["next_attempt_at"] is None

    def test_a_receiver_failing_twice_gets_the_event_three_times_with_one_id(
        self, hook_server: ServerProcess, receiver: WebhookReceiver, days: WorkingDays
    ) -> None:
        receiver.script = lambda path, seen: 500 if path == "/flaky" and seen < 2 else 200
        created = _subscribe(hook_server, receiver.url("/flaky"))
        _book(hook_server, days)

        got = receiver.wait_for(lambda items: len(items) >= 3, "/flaky")

        assert len({item.webhook_id for item in got}) == 1
        for item in got:
            Webhook(created["secret"]).verify(item.body, item.headers)
        log = _log(hook_server, created["data"]["id"])
        assert [(entry["status"], entry["attempts"]) for entry in log] == [("delivered", 3)]
        # A row per attempt: two failures, each with its retry due, then the success.
        attempts = log[0]["attempt_log"]
        assert [a["attempt"] for a in attempts] == [1, 2, 3]
        assert [a["status_code"] for a in attempts] == [500, 500, 200]
        assert [a["next_attempt_at"] is not None for a in attempts] == [True, True, False]
        assert all(a["latency_ms"] >= 0 for a in attempts)
        starts = [a["started_at"] for a in attempts]
        assert starts == sorted(starts)

    def test_410_gone_disables_the_subscription_and_says_why(
        self, hook_server: ServerProcess, receiver: WebhookReceiver, days: WorkingDays
    ) -> None:
        receiver.script = lambda path, _seen: 410 if path == "/gone" else 200
        created = _subscribe(hook_server, receiver.url("/gone"))
        webhook_id = created["data"]["id"]
        _book(hook_server, days)
        receiver.wait_for(lambda items: len(items) >= 1, "/gone")

        shown = _eventually(hook_server, f"{WEBHOOKS}{webhook_id}/", lambda s: not s["enabled"])
        assert shown["enabled"] is False
        assert "410" in shown["disabled_reason"]
        _book(hook_server, days)
        # Another subscription's delivery shows the worker went on, and this one got nothing.
        receiver.script = lambda _path, _seen: 200
        _subscribe(hook_server, receiver.url("/after-gone"))
        _book(hook_server, days)
        receiver.wait_for(lambda items: len(items) >= 1, "/after-gone")
        assert len(receiver.at("/gone")) == 1

    def test_a_rotated_secret_signs_alongside_the_old_one(
        self, hook_server: ServerProcess, receiver: WebhookReceiver, days: WorkingDays
    ) -> None:
        created = _subscribe(hook_server, receiver.url("/rotated"))
        with _admin(hook_server) as admin:
            rotated = admin.post(f"{WEBHOOKS}{created['data']['id']}/rotate-secret/")
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        assert new_secret != created["secret"]
        assert rotated.json()["data"]["previous_secret_valid_until"] is not None
        _book(hook_server, days)

        (got,) = receiver.wait_for(lambda items: len(items) >= 1, "/rotated")

        assert len(got.headers["webhook-signature"].split(" ")) == 2
        Webhook(new_secret).verify(got.body, got.headers)
        Webhook(created["secret"]).verify(got.body, got.headers)

    def test_replay_sends_an_event_again_with_its_id(
        self, hook_server: ServerProcess, receiver: WebhookReceiver, days: WorkingDays
    ) -> None:
        created = _subscribe(hook_server, receiver.url("/replayed"))
        webhook_id = created["data"]["id"]
        _book(hook_server, days, count=2)
        first = receiver.wait_for(lambda items: len(items) >= 2, "/replayed")
        event_ids = sorted(int(item.webhook_id) for item in first)

        with _admin(hook_server) as admin:
            one = admin.post(f"{WEBHOOKS}{webhook_id}/replay/", json={"event_id": event_ids[1]})
            assert one.json() == {"success": True, "scheduled": 1}, one.text
            receiver.wait_for(lambda items: len(items) >= 3, "/replayed")
            since = admin.post(f"{WEBHOOKS}{webhook_id}/replay/", json={"since": event_ids[0] - 1})
            assert since.json() == {"success": True, "scheduled": 2}, since.text
        got = receiver.wait_for(lambda items: len(items) >= 5, "/replayed")

        ids = [int(item.webhook_id) for item in got]
        assert sorted(ids) == sorted([*event_ids, event_ids[1], *event_ids])


class TestMetrics:
    def test_metrics_count_attempts_and_the_backlog(
        self, hook_server: ServerProcess, receiver: WebhookReceiver, days: WorkingDays
    ) -> None:
        """Every other subscription is disabled first, so this one's attempts are all there
        is; the backlog gauge counts the whole database's pending deliveries."""
        with _admin(hook_server) as admin:
            for other in admin.get(WEBHOOKS).json()["data"]:
                admin.patch(f"{WEBHOOKS}{other['id']}/", json={"enabled": False})
        down = True
        receiver.script = lambda path, seen: (
            503 if path == "/metered" and (seen < 2 or down) else 200
        )
        before = _metrics(hook_server)
        created = _subscribe(hook_server, receiver.url("/metered"))
        webhook_id = created["data"]["id"]

        # An event that fails twice, then is delivered; then one that keeps failing.
        down = False
        _book(hook_server, days)
        receiver.wait_for(lambda items: len(items) >= 3, "/metered")
        after = _eventually_metrics(
            hook_server, lambda m: _delta(m, before, 'outcome="succeeded"') >= 1
        )
        assert _delta(after, before, 'outcome="succeeded"') == 1
        assert _delta(after, before, 'outcome="retried"') == 2
        assert _delta(after, before, 'outcome="failed"') == 0
        assert _delta(after, before, "duration_seconds_count") == 3
        assert _delta(after, before, 'duration_seconds_bucket{le="+Inf"}') == 3
        assert (
            after["booking_webhook_delivery_duration_seconds_sum"]
            > (before["booking_webhook_delivery_duration_seconds_sum"])
        )
        down = True
        _book(hook_server, days)
        # Attempts 1 to 4 come within about 2 s (scaled schedule); the 5th waits 7 s.
        failing = receiver.wait_for(lambda items: len(items) >= 7, "/metered")
        held = _eventually_metrics(
            hook_server, lambda m: m.get("booking_webhook_pending_deliveries") == 1
        )
        assert held["booking_webhook_pending_deliveries"] == 1
        assert _delta(held, after, 'outcome="retried"') >= 4

        down = False
        with _admin(hook_server) as admin:
            replayed = admin.post(
                f"{WEBHOOKS}{webhook_id}/replay/", json={"event_id": int(failing[-1].webhook_id)}
            )
        assert replayed.json() == {"success": True, "scheduled": 1}, replayed.text
        drained = _eventually_metrics(
            hook_server, lambda m: m.get("booking_webhook_pending_deliveries") == 0
        )
        assert drained["booking_webhook_pending_deliveries"] == 0
        assert _delta(drained, before, 'outcome="succeeded"') == 2


def _metrics(server: ServerProcess) -> dict[str, float]:
    """The webhook samples of ``GET /metrics``, by name and labels."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=30.0).text
    samples = {}
    for line in text.splitlines():
        if line.startswith("booking_webhook_"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def _delta(now: dict[str, float], then: dict[str, float], part: str) -> float:
    (name,) = [name for name in now if part in name]
    return now[name] - then.get(name, 0.0)


def _eventually_metrics(
    server: ServerProcess, done: Callable[[dict[str, float]], bool], timeout: float = 20.0
) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        samples = _metrics(server)
        if done(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


class TestAdminApi:
    def test_create_list_update_delete(self, hook_server: ServerProcess) -> None:
        with _admin(hook_server) as admin:
            made = admin.post(
                WEBHOOKS,
                json={"url": "http://127.0.0.1:9/x", "description": "CRM", "event_types": ["*"]},
            )
            assert made.status_code == 201, made.text
            webhook_id = made.json()["data"]["id"]
            listed = admin.get(WEBHOOKS).json()["data"]
            assert webhook_id in [item["id"] for item in listed]
            assert all("secret" not in item for item in listed)
            changed = admin.patch(
                f"{WEBHOOKS}{webhook_id}/",
                json={"enabled": False, "event_types": ["booking_cancelled", "hold_released"]},
            )
            assert changed.status_code == 200, changed.text
            assert changed.json()["data"]["enabled"] is False
            assert changed.json()["data"]["event_types"] == ["booking_cancelled", "hold_released"]
            assert admin.delete(f"{WEBHOOKS}{webhook_id}/").status_code == 200
            gone = admin.get(f"{WEBHOOKS}{webhook_id}/")
            assert (gone.status_code, gone.json()["code"]) == (404, "webhook_not_found")

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"url": "ftp://127.0.0.1/x"}, "invalid_field"),
            ({"url": "http://127.0.0.1/x", "event_types": ["booking_exploded"]}, "invalid_field"),
            ({"url": "http://127.0.0.1/x", "event_types": []}, "invalid_field"),
            ({"url": "http://127.0.0.1/x", "enabled": "yes"}, "invalid_field"),
            ({"url": "https://user:pw@127.0.0.1/x"}, "invalid_field"),
            ({"url": "https://example.com/x"}, "webhook_url_refused"),  # not an allowed host
            ({"description": "no url"}, "invalid_field"),
            ([1, 2], "invalid_body"),
        ],
    )
    def test_bad_subscriptions_are_refused_clearly(
        self, hook_server: ServerProcess, body: Any, code: str
    ) -> None:
        with _admin(hook_server) as admin:
            answer = admin.post(WEBHOOKS, json=body)
        assert answer.status_code in (400, 422), answer.text
        assert answer.json()["code"] == code
        assert answer.json()["success"] is False

    def test_without_the_admin_token_nothing_is_shown(self, hook_server: ServerProcess) -> None:
        answer = httpx.get(f"{hook_server.base_url}{WEBHOOKS}")
        assert answer.status_code == 401


def _all_events_delivered(
    receiver: WebhookReceiver, path: str, booking_ids: list[int], timeout: float
) -> list[Received]:
    wanted = set(booking_ids)
    return receiver.wait_for(
        lambda items: wanted <= {_booking_id(item) for item in items}, path, timeout
    )


def test_a_server_killed_with_deliveries_pending_delivers_them_after_restart(
    sqlite_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """SIGKILL while the receiver is down: after a restart every event arrives (at least once)."""
    days = WorkingDays()
    receiver_up = False

    def script(_path: str, _seen: int) -> int:
        return 200 if receiver_up else 503

    with WebhookReceiver(script) as receiver:
        server = ServerProcess(
            sqlite_database_url, env=WEBHOOK_ENV, log_dir=tmp_path_factory.mktemp("server")
        ).start()
        try:
            _subscribe(server, receiver.url("/crash"))
            booking_ids = _book(server, days, count=30)
            receiver.wait_for(lambda items: len(items) >= 10, "/crash")
            os.killpg(server.pid, signal.SIGKILL)
        finally:
            server.stop()
        receiver_up = True
        with ServerProcess(
            sqlite_database_url, env=WEBHOOK_ENV, log_dir=tmp_path_factory.mktemp("server")
        ):
            got = _all_events_delivered(receiver, "/crash", booking_ids, timeout=60)
    assert {_booking_id(item) for item in got} >= set(booking_ids)


@pytest.mark.postgres
def test_two_workers_on_postgresql_deliver_each_of_500_events_once(
    postgres_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    days = WorkingDays()
    with (
        WebhookReceiver() as receiver,
        ServerProcess(
            postgres_database_url,
            workers=2,
            env=WEBHOOK_ENV,
            log_dir=tmp_path_factory.mktemp("server"),
        ) as server,
    ):
        created = _subscribe(server, receiver.url("/two-workers"))
        booking_ids = asyncio.run(_book_concurrently(server, days, 500))
        _all_events_delivered(receiver, "/two-workers", booking_ids, timeout=120)
        # Outcomes are recorded in each worker's next round: wait until none is pending.
        deadline = time.monotonic() + 30
        while True:
            log = _whole_log(server, created["data"]["id"])
            if all(entry["status"] != "pending" for entry in log) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        got = receiver.at("/two-workers")
    ids = [item.webhook_id for item in got]
    assert len(ids) == len(set(ids)) == 500, "an event was sent twice (or lost)"
    assert {entry["status"] for entry in log} == {"delivered"}
    assert {entry["attempts"] for entry in log} == {1}
    assert len(log) == 500


def _whole_log(server: ServerProcess, webhook_id: int) -> list[dict[str, Any]]:
    """Every page of the delivery log."""
    log: list[dict[str, Any]] = []
    with _admin(server) as admin:
        before = ""
        while True:
            page = admin.get(
                f"{WEBHOOKS}{webhook_id}/deliveries/", params={"limit": "200", "before": before}
            ).json()["data"]
            log += page
            if len(page) < 200:
                return log
            before = str(page[-1]["id"])


async def _book_concurrently(server: ServerProcess, days: WorkingDays, count: int) -> list[int]:
    bodies = []
    while len(bodies) < count:
        day = days.take()
        bodies += [booking_body(day, time, phone=unique_phone()) for time in SLOT_TIMES]
    gate = asyncio.Semaphore(20)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=AGENT_HEADERS, timeout=60.0
    ) as agent:

        async def book(body: dict[str, Any]) -> int:
            async with gate:
                answer = await agent.post(CREATE_PATH, json=body)
            assert answer.status_code == 201, answer.text
            return int(answer.json()["booking_id"])

        return list(await asyncio.gather(*(book(body) for body in bodies[:count])))
