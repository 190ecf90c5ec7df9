"""Passwords of auto-created customers (agent_booking.core.passwords and the use case)."""

from __future__ import annotations

import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier
from agent_booking.core import (
    UNUSABLE_PASSWORD,
    BusinessSettings,
    hash_password,
    verify_password,
)
from tests.unit.builders import basic_body
from tests.unit.driving import CreateFromBody
from tests.unit.fakes import PasswordKeepingStore

FAST = 1_000  # iterations: enough to exercise the format without the production cost


class TestPasswordHashes:
    @pytest.mark.parametrize("password", ["password", "", "!", "anything"])
    def test_the_unusable_password_matches_nothing(self, password: str) -> None:
        assert verify_password(password, UNUSABLE_PASSWORD) is False

    def test_a_hash_verifies_its_own_password_only(self) -> None:
        stored = hash_password("s3cret-initial", iterations=FAST)
        assert verify_password("s3cret-initial", stored) is True
        assert verify_password("s3cret-Initial", stored) is False
        assert verify_password("", stored) is False

    def test_a_hash_is_salted(self) -> None:
        first, second = (hash_password("same", iterations=FAST) for _ in range(2))
        assert first != second
        assert verify_password("same", first)
        assert verify_password("same", second)

    def test_a_hash_never_contains_the_password(self) -> None:
        assert "s3cret-initial" not in hash_password("s3cret-initial", iterations=FAST)

    def test_a_default_hash_uses_a_strong_work_factor(self) -> None:
        algorithm, iterations, salt, digest = hash_password("s3cret").split("$")
        assert algorithm == "pbkdf2_sha256"
        assert int(iterations) >= 600_000
        assert len(salt) >= 16
        assert digest

    @pytest.mark.parametrize(
        "stored", ["password", "pbkdf2_sha256$x$salt$digest", "md5$1$salt$digest", "a$b$c"]
    )
    def test_a_malformed_stored_value_matches_nothing(self, stored: str) -> None:
        assert verify_password("password", stored) is False


class TestAutoCreatedCustomerPasswords:
    @pytest.fixture
    def store(self) -> PasswordKeepingStore:
        return PasswordKeepingStore(BusinessSettings())

    async def test_an_auto_created_customer_gets_no_usable_password(
        self, store: PasswordKeepingStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        create = CreateFromBody(store.unit_of_work, clock, notifier)

        await create(basic_body())

        stored = store.passwords["1234567890"]
        assert stored == UNUSABLE_PASSWORD
        assert verify_password("password", stored) is False

    async def test_a_configured_initial_password_is_stored_only_as_a_salted_hash(
        self, store: PasswordKeepingStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        initial = hash_password("welcome-2026", iterations=FAST)
        create = CreateFromBody(store.unit_of_work, clock, notifier, initial_password_hash=initial)

        await create(basic_body())

        stored = store.passwords["1234567890"]
        assert "welcome-2026" not in stored
        assert verify_password("welcome-2026", stored) is True
        assert verify_password("password", stored) is False

    async def test_a_known_customer_keeps_the_password_it_was_created_with(
        self, store: PasswordKeepingStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        await CreateFromBody(store.unit_of_work, clock, notifier)(basic_body())
        later = CreateFromBody(
            store.unit_of_work,
            clock,
            notifier,
            initial_password_hash=hash_password("later", iterations=FAST),
        )

        await later(basic_body(booking_time="15:00"))

        assert store.passwords == {"1234567890": UNUSABLE_PASSWORD}
