"""Test doubles built on the in-memory adapters, for what those adapters do not show.

They keep real behaviour (real transactions, real state) and expose outcomes to assert on,
never a record of calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

import pendulum

from agent_booking.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from agent_booking.core import Customer, CustomerProfile, CustomerRepository, StorageUnavailable
from agent_booking.core.events import StoredEvent
from agent_booking.core.settings import BusinessSettings

__all__ = [
    "CommitCheckingNotifier",
    "FailingCommitUnitOfWork",
    "PasswordKeepingStore",
]


class CommitCheckingNotifier:
    """A notifier that also notes every event it was asked to publish before it was committed."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.sent: list[StoredEvent] = []
        self.uncommitted: list[StoredEvent] = []

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        committed = self._store.events
        self.uncommitted.extend(event for event in events if event not in committed)
        self.sent.extend(events)


class FailingCommitUnitOfWork(InMemoryUnitOfWork):
    """A transaction whose commit fails, as when the database goes away at the last moment."""

    async def commit(self) -> None:
        raise StorageUnavailable


class PasswordKeepingStore(InMemoryStore):
    """An in-memory store that also keeps the password hash each customer was created with."""

    def __init__(self, settings: BusinessSettings | None = None) -> None:
        super().__init__(settings)
        self.passwords: dict[str, str] = {}

    def unit_of_work(self) -> PasswordKeepingUnitOfWork:  # type: ignore[override]
        return PasswordKeepingUnitOfWork(self)


class _PasswordKeepingCustomers:
    def __init__(self, inner: CustomerRepository, pending: dict[str, str]) -> None:
        self._inner = inner
        self._pending = pending

    async def get(self, customer_id: int) -> Customer | None:
        return await self._inner.get(customer_id)

    async def get_or_create(
        self, profile: CustomerProfile, password_hash: str, now: pendulum.DateTime
    ) -> tuple[Customer, bool]:
        customer, created = await self._inner.get_or_create(profile, password_hash, now)
        if created:
            self._pending[customer.phone] = password_hash
        return customer, created


class PasswordKeepingUnitOfWork:
    """An :class:`InMemoryUnitOfWork` whose committed customers keep their password hash."""

    def __init__(self, store: PasswordKeepingStore) -> None:
        self._store = store
        self._inner = InMemoryUnitOfWork(store)
        self._pending: dict[str, str] = {}
        self._expose()

    def _expose(self) -> None:
        self.settings = self._inner.settings
        self.catalog = self._inner.catalog
        self.bookings = self._inner.bookings
        self.queries = self._inner.queries
        self.events = self._inner.events
        self.customers = _PasswordKeepingCustomers(self._inner.customers, self._pending)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        self._expose()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pending.clear()
        await self._inner.__aexit__(exc_type, exc, traceback)

    async def commit(self) -> None:
        await self._inner.commit()
        self._store.passwords.update(self._pending)
        self._pending.clear()
        self._expose()

    async def rollback(self) -> None:
        await self._inner.rollback()
        self._pending.clear()
        self._expose()
