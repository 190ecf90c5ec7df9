"""The delivery worker's decisions, with fakes: what an attempt's answer makes of the delivery,
and how much a saturated process sends."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pendulum
import pytest

from agent_booking.adapters.sql.webhook_store import (
    ClaimedDelivery,
    DeliveryOutcome,
    WebhookSubscription,
)
from agent_booking.adapters.webhooks.sender import AttemptResult
from agent_booking.adapters.webhooks.worker import WebhookWorker, WorkerTiming
from agent_booking.core.events import StoredEvent

NOW = 1_800_000_000.0
EVENT = StoredEvent(5, "booking_created", {"id": 1}, pendulum.datetime(2027, 1, 4, 12))


def _subscription(**fields: Any) -> WebhookSubscription:
    values: dict[str, Any] = {
        "id": 1,
        "url": "https://crm.example.com/hook",
        "description": "",
        "event_types": ("*",),
        "enabled": True,
        "secret": "whsec_" + "A" * 44,
        "previous_secret": None,
        "previous_secret_until": None,
        "after_event_id": 0,
        "failing_since": None,
        "disabled_reason": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return WebhookSubscription(**(values | fields))


class FakeStore:
    """Due deliveries of subscription 1, claimed as the SQL store does (due ones, a limit)."""

    def __init__(self, subscription: WebhookSubscription, due: int) -> None:
        self.subscription = subscription
        self.due = list(range(1, due + 1))
        self.recorded: list[DeliveryOutcome] = []

    async def enabled(self) -> list[WebhookSubscription]:
        return [self.subscription]

    async def cursor(self) -> int:
        return 5

    async def ingest(self, position: int, events: Sequence[StoredEvent], now: float) -> bool:
        return False

    async def due_subscriptions(self, ids: Sequence[int], now: float) -> list[int]:
        return [1] if self.due else []

    async def claim(
        self, subscription_id: int, limit: int, now: float, lease_until: float
    ) -> list[ClaimedDelivery]:
        taken, self.due = self.due[:limit], self.due[limit:]
        return [ClaimedDelivery(i, subscription_id, 5, 0, lease_until) for i in taken]

    async def record(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        self.recorded += outcomes


class FakeOutbox:
    async def after(self, event_id: int, limit: int) -> Sequence[StoredEvent]:
        return [EVENT] if event_id < EVENT.event_id else []

    async def latest_id(self) -> int:
        return EVENT.event_id


class FakeSender:
    def __init__(self, result: AttemptResult) -> None:
        self.result = result
        self.sent = 0

    async def send(self, url: str, event: StoredEvent, secrets: Sequence[str]) -> AttemptResult:
        self.sent += 1
        return self.result

    async def aclose(self) -> None:
        pass


async def _one_round(
    result: AttemptResult, *, due: int = 1, busy: bool = False, **subscription: Any
) -> tuple[FakeStore, FakeSender]:
    store = FakeStore(_subscription(**subscription), due)
    sender = FakeSender(result)
    worker = WebhookWorker(
        store,  # type: ignore[arg-type]
        FakeOutbox(),
        sender,  # type: ignore[arg-type]
        WorkerTiming(concurrency=8, busy_rate=3, scale=1),
        clock=lambda: NOW,
        jitter=lambda: 0.5,
    )
    worker.load.share = 1.0 if busy else 0.0
    await worker.run_round()  # claims and starts the attempts
    await worker.finish_attempts()
    return store, sender


@pytest.mark.parametrize("status", [200, 204, 299])
async def test_a_2xx_is_delivered(status: int) -> None:
    store, _ = await _one_round(AttemptResult(status, None, 3.0, None))
    assert [(o.status, o.next_attempt_at) for o in store.recorded] == [("delivered", None)]


async def test_a_failure_is_retried_after_five_seconds() -> None:
    store, _ = await _one_round(AttemptResult(500, None, 3.0, None))
    (outcome,) = store.recorded
    assert (outcome.status, outcome.next_attempt_at) == ("pending", NOW + 5)
    assert outcome.disable_reason is None


async def test_retry_after_is_honoured() -> None:
    store, _ = await _one_round(AttemptResult(503, None, 3.0, 120.0))
    assert store.recorded[0].next_attempt_at == NOW + 120


async def test_410_disables() -> None:
    store, _ = await _one_round(AttemptResult(410, None, 3.0, None))
    (outcome,) = store.recorded
    assert outcome.status == "failed"
    assert outcome.disable_reason is not None
    assert "410" in outcome.disable_reason


async def test_failing_for_five_days_disables() -> None:
    since = NOW - 5 * 24 * 3600
    store, _ = await _one_round(AttemptResult(None, "refused", 3.0, None), failing_since=since)
    assert store.recorded[0].disable_reason is not None
    assert "5 days" in store.recorded[0].disable_reason


async def test_an_idle_process_sends_up_to_the_concurrency() -> None:
    _, sender = await _one_round(AttemptResult(200, None, 1.0, None), due=20)
    assert sender.sent == 8


async def test_a_saturated_process_sends_at_most_its_busy_rate() -> None:
    _, sender = await _one_round(AttemptResult(200, None, 1.0, None), due=20, busy=True)
    assert sender.sent == 3


class CountingStore(FakeStore):
    """A store whose subscriptions can be switched off, counting the rounds run on it."""

    def __init__(self, *, enabled: bool) -> None:
        super().__init__(_subscription(), due=0)
        self.subscriptions = [self.subscription] if enabled else []
        self.rounds = 0

    async def enabled(self) -> list[WebhookSubscription]:
        return self.subscriptions

    async def record(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        self.rounds += 1  # every round starts by recording the last one's outcomes
        await super().record(outcomes)

    async def skip_to(self, position: int, latest: int) -> None:
        pass


async def _rounds_after_commits(*, enabled: bool) -> int:
    """Rounds a started worker runs for committed events, after one round that saw whether a
    subscription is enabled. The poll is an hour, so only a wake-up can start one; the loop
    gets many turns, more than a round takes with these fakes."""
    store = CountingStore(enabled=enabled)
    worker = WebhookWorker(
        store,  # type: ignore[arg-type]
        FakeOutbox(),
        FakeSender(AttemptResult(200, None, 1.0, None)),  # type: ignore[arg-type]
        WorkerTiming(poll=3600, min_interval=0, busy_rate=0),
        clock=lambda: NOW,
    )
    await worker.run_round()
    await worker.start()
    try:
        for _ in range(50):  # the round a started worker runs at once
            await asyncio.sleep(0)
        store.rounds = 0
        for _ in range(5):
            worker.events_committed()
        for _ in range(50):
            await asyncio.sleep(0)
        rounds = store.rounds  # stopping records once more, which is not a round
    finally:
        await worker.stop()
    return rounds


async def test_committed_events_start_a_round_while_a_subscription_is_enabled() -> None:
    assert await _rounds_after_commits(enabled=True) == 1


async def test_committed_events_start_no_round_while_no_subscription_is_enabled() -> None:
    # Nothing is owed for them; a subscription created here wakes the worker itself.
    assert await _rounds_after_commits(enabled=False) == 0


async def test_many_requests_in_flight_count_as_saturated_whatever_the_cpu_share() -> None:
    """On a machine whose other processes take the CPU, a saturated server may use little of
    one: the requests queueing in it say it is saturated."""
    store = FakeStore(_subscription(), 20)
    sender = FakeSender(AttemptResult(200, None, 1.0, None))
    worker = WebhookWorker(
        store,  # type: ignore[arg-type]
        FakeOutbox(),
        sender,  # type: ignore[arg-type]
        WorkerTiming(concurrency=8, busy_rate=3, scale=1),
        clock=lambda: NOW,
        jitter=lambda: 0.5,
        pressed=lambda: True,
    )
    worker.load.share = 0.1
    assert worker.load.busy
    await worker.run_round()
    await worker.finish_attempts()
    assert sender.sent == 3
