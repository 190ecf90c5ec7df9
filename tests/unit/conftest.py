"""Fixtures for the unit tests: a stopped clock, default settings and in-memory adapters."""

from __future__ import annotations

import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BusinessSettings, CreateAgentBooking
from tests.unit.builders import NOW
from tests.unit.driving import CreateFromBody


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def settings() -> BusinessSettings:
    """The settings the first migration seeds: 12:00-17:00, Sundays off, hourly slots, UTC."""
    return BusinessSettings()


@pytest.fixture
def store(settings: BusinessSettings) -> InMemoryStore:
    return InMemoryStore(settings)


@pytest.fixture
def notifier() -> InMemoryNotifier:
    return InMemoryNotifier()


@pytest.fixture
def create_booking(
    store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
) -> CreateAgentBooking:
    return CreateFromBody(store.unit_of_work, clock, notifier)
