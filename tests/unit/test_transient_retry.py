"""Retries of transactions that storage aborted as safe to retry, and only those."""

from __future__ import annotations

import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore, InMemoryUnitOfWork
from agent_booking.core import BusinessSettings, CreateAgentBooking, SlotTaken, TransientConflict
from agent_booking.core.create_agent_booking import TRANSIENT_ATTEMPTS
from tests.unit.driving import CreateFromBody

NOW = pendulum.datetime(2026, 11, 25, 10)
BODY = {
    "phone": "1234567890",
    "service_name": "Legal Consultation",
    "booking_date": "2026-11-26",
    "booking_time": "14:00",
}


class FlakyUnitOfWork(InMemoryUnitOfWork):
    """Fails its commit the way PostgreSQL reports a deadlock, a set number of times."""

    failures_left = 0
    attempts = 0

    async def commit(self) -> None:
        FlakyUnitOfWork.attempts += 1
        if FlakyUnitOfWork.failures_left:
            FlakyUnitOfWork.failures_left -= 1
            raise TransientConflict
        await super().commit()


@pytest.fixture
def store() -> InMemoryStore:
    FlakyUnitOfWork.attempts = 0
    return InMemoryStore(BusinessSettings())


def use_case(store: InMemoryStore, notifier: InMemoryNotifier) -> CreateAgentBooking:
    return CreateFromBody(lambda: FlakyUnitOfWork(store), FixedClock(NOW), notifier)


class TestTransientConflicts:
    async def test_a_deadlocked_transaction_is_run_again_and_books_once(self, store):
        notifier = InMemoryNotifier()
        FlakyUnitOfWork.failures_left = TRANSIENT_ATTEMPTS - 1
        result = await use_case(store, notifier)(BODY)
        assert FlakyUnitOfWork.attempts == TRANSIENT_ATTEMPTS
        assert [b.id for b in store.bookings] == [result.booking.id]
        assert len(store.events) == 1
        assert len(store.customers) == 1
        assert notifier.sent == store.events

    async def test_gives_up_after_the_last_attempt_with_nothing_stored(self, store):
        notifier = InMemoryNotifier()
        FlakyUnitOfWork.failures_left = TRANSIENT_ATTEMPTS
        with pytest.raises(TransientConflict):
            await use_case(store, notifier)(BODY)
        assert FlakyUnitOfWork.attempts == TRANSIENT_ATTEMPTS
        assert (store.bookings, store.customers, store.events, notifier.sent) == ([], [], [], [])

    async def test_a_taken_slot_is_never_retried(self, store):
        notifier = InMemoryNotifier()
        FlakyUnitOfWork.failures_left = 0
        await use_case(store, notifier)(BODY)
        with pytest.raises(SlotTaken):
            await use_case(store, notifier)(BODY | {"phone": "5550001"})
        assert FlakyUnitOfWork.attempts == 1  # the second request never reached a commit
