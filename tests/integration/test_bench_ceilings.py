"""The benchmark's ceiling scripts still run the service's statements against today's schema.

``bench.sqlite_ceiling`` and ``bench.raw_asyncpg`` carry their own copy of the create's order of
statements and parameters; a schema change that adds a column to the booking insert broke them
twice without any test noticing (``make bench`` stopped half-way). Each runs here for a fraction
of a second on a freshly migrated database of its engine: every booking it counts must be a row
on resource 1 with its occupied interval, and none may fail.
"""

from __future__ import annotations

import pytest

from bench import raw_asyncpg, sqlite_ceiling
from bench.seed import seed_catalog_postgres
from bench.workload import RESOURCES, SERVICES
from tests.integration.conftest import POSTGRES, SQLITE, engine_of
from tests.integration.direct_sql import count_rows, run_sql
from tests.support.server import run_booking

_CATALOG_VERSION = "SELECT catalog_version FROM business_settings WHERE is_active"
_STORED = (
    "SELECT count(*) FROM bookings WHERE resource_id = 1 AND service_name = 'Consultation' "
    "AND occupied_from = starts_at AND occupied_until > occupied_from"
)


async def test_ceiling_script_stores_real_bookings(fresh_database_url: str) -> None:
    engine = engine_of(fresh_database_url)
    if engine == SQLITE:
        run_booking(["migrate"], fresh_database_url)
        path = fresh_database_url.removeprefix("sqlite+aiosqlite:///")
        result = sqlite_ceiling.run(path, seconds=0.3, pool=50, run=1, first_slot=0)
        errors = 0
    else:
        assert engine == POSTGRES
        dsn = "postgresql://" + fresh_database_url.removeprefix("postgresql+asyncpg://")
        result = await raw_asyncpg.run(
            dsn, seconds=0.5, connections=4, pool=50, run=1, first_slot=0
        )
        errors = int(result["errors"])
    assert errors == 0
    assert result["bookings"] > 0
    # The PostgreSQL script warms up first (its bookings are not counted), SQLite's does not.
    stored = await count_rows(fresh_database_url, _STORED)
    assert stored >= result["bookings"]
    if engine == SQLITE:
        assert stored == result["bookings"]


@pytest.mark.postgres
async def test_postgres_catalog_seed_is_what_scenario_r_books(postgres_database_url: str) -> None:
    """Scenario (br) books (r)'s workload on PostgreSQL: the seed must give it the same
    resources and services as SQLite's, and a catalog version the servers notice."""
    dsn = "postgresql://" + postgres_database_url.removeprefix("postgresql+asyncpg://")
    version = await count_rows(postgres_database_url, _CATALOG_VERSION)
    await seed_catalog_postgres(dsn)
    resources = await run_sql(postgres_database_url, "SELECT id FROM resources ORDER BY id")
    assert [row[0] for row in resources] == list(range(1, RESOURCES + 1))
    services = await run_sql(
        postgres_database_url,
        "SELECT name, duration_minutes, buffer_before, buffer_after FROM services ORDER BY id",
    )
    assert [tuple(row) for row in services] == [tuple(item) for item in SERVICES]
    assert await count_rows(postgres_database_url, _CATALOG_VERSION) == version + 1
