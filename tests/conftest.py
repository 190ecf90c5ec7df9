"""What every test suite shares: the Hypothesis profiles and the PostgreSQL cluster.

Suite-specific fixtures live in ``tests/unit/conftest.py`` and ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.support.postgres import PostgresCluster, postgres_available

#: Set to 1 (CI does) to make a missing PostgreSQL a failure instead of a skip.
REQUIRE_POSTGRES_ENV = "BOOKING_REQUIRE_POSTGRES"

# CI explores more examples; locally the suite stays quick. Deadlines are off because a
# loaded 2-core machine makes timings noise. HYPOTHESIS_PROFILE=ci forces a profile by hand.
settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
_on_ci = os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _on_ci else "dev"))


def _postgres_required() -> bool:
    return os.environ.get(REQUIRE_POSTGRES_ENV) == "1"


def pytest_report_header() -> str:
    available, reason = postgres_available()
    required = " (required)" if _postgres_required() else ""
    return f"postgres{required}: {'available' if available else reason}"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server for the whole run; take fresh databases from it with
    ``postgres_cluster.create_database(name)``.

    Skips when PostgreSQL is not installed, unless BOOKING_REQUIRE_POSTGRES=1, when it fails.
    """
    available, reason = postgres_available()
    if not available:
        if _postgres_required():
            pytest.fail(
                f"{REQUIRE_POSTGRES_ENV}=1 but PostgreSQL cannot run: {reason}", pytrace=False
            )
        pytest.skip(f"PostgreSQL not available: {reason}")
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
