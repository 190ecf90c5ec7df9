"""``booking phones normalise`` on a real database: changes what reads differently, reports
collisions and unreadable phones, merges nothing, and ``--dry-run`` writes nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from agent_booking.adapters.sql.migrate import migrate
from agent_booking.adapters.sql.tables import customers
from tests.support.server import ServerError, run_booking

STORED = {
    1: "02079460958",
    2: "+442079460958",
    3: "01212345678",
    4: "123456",
}


def _seed(database_url: str) -> None:
    engine = sa.create_engine(_sync_url(database_url))
    with engine.begin() as connection:
        connection.execute(sa.delete(customers))
        for customer_id, phone in STORED.items():
            connection.execute(
                sa.insert(customers).values(
                    id=customer_id,
                    phone=phone,
                    first_name="",
                    last_name="",
                    email="",
                    gender="",
                    country="",
                    password_hash="!",
                    is_active=True,
                    created_at=sa.func.now(),
                )
            )
    engine.dispose()


def _phones(database_url: str) -> dict[int, str]:
    engine = sa.create_engine(_sync_url(database_url))
    with engine.connect() as connection:
        rows = connection.execute(sa.select(customers.c.id, customers.c.phone)).all()
    engine.dispose()
    return {int(row.id): str(row.phone) for row in rows}


def _sync_url(database_url: str) -> str:
    """The statements are SQLAlchemy Core, alike on both engines; SQLite is enough here."""
    return database_url.replace("+aiosqlite", "")


@pytest.fixture(scope="module")
def migrated(sqlite_database_url: str) -> str:
    migrate(sqlite_database_url)  # in process: the command under test is what runs as one
    return sqlite_database_url


@pytest.fixture
def seeded(migrated: str) -> str:
    _seed(migrated)
    return migrated


def test_dry_run_reports_and_writes_nothing(seeded: str) -> None:
    result = run_booking(
        ["phones", "normalise", "--dry-run", "--json"], seeded, env={"BOOKING_DEFAULT_REGION": "GB"}
    )
    report = json.loads(result.stdout)
    assert report["changes"] == [{"customer_id": 3, "old": "01212345678", "new": "+441212345678"}]
    assert report["collisions"] == [{"phone": "+442079460958", "customer_ids": [1, 2]}]
    assert report["unreadable"] == [
        {
            "customer_id": 4,
            "phone": "123456",
            "reason": "Invalid phone: a local number: include the area code",
        }
    ]
    assert report["changed"] == 0
    assert _phones(seeded) == STORED


def test_normalise_changes_only_what_collides_with_nobody(seeded: str) -> None:
    result = run_booking(["phones", "normalise"], seeded, env={"BOOKING_DEFAULT_REGION": "GB"})
    assert "changed customer 3: 01212345678 -> +441212345678" in result.stdout
    assert "customers 1, 2 are all +442079460958" in result.stdout
    assert _phones(seeded) == STORED | {3: "+441212345678"}


def test_without_a_region_it_refuses_to_guess(seeded: str) -> None:
    with pytest.raises(ServerError, match="BOOKING_DEFAULT_REGION"):
        run_booking(["phones", "normalise"], seeded)
    assert _phones(seeded) == STORED
