"""What the repositories run: one engine's statements as plain SQL, and the runner they go to.

Each engine has one module of SQL text (:mod:`agent_booking.adapters.sql.sqlite_statements`,
:mod:`agent_booking.adapters.sql.postgres_statements`) that fills in :class:`EngineStatements`: the
same statements in the same order, with that engine's placeholders and casts, and the value codecs
that turn domain values into what the engine's driver stores (SQLite: the text SQLAlchemy's types
write; PostgreSQL: ``datetime`` values asyncpg encodes). The repositories are written once against
this shape, so every statement has one path, and a test runs the same operations on both engines
(``tests/integration/test_engine_statements.py``).

A :class:`StatementRunner` is where one unit of work's statements go: the SQLite writer's own
``sqlite3`` connection, a SQLAlchemy connection for SQLite reads, or the unit's asyncpg
connection. It raises the domain's storage errors (``SlotTaken``, ``TransientConflict``,
``StorageUnavailable``) for what the engine reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pendulum
from attrs import frozen

__all__ = [
    "BOOKING_COLUMNS",
    "CATALOG_STATEMENTS",
    "CUSTOMER_COLUMNS",
    "SETTINGS_COLUMNS",
    "EngineStatements",
    "Row",
    "StatementRunner",
]

#: The columns every statement reads, in the order the repositories unpack them (both engines).
SETTINGS_COLUMNS = (
    "id, open_time, close_time, off_days, slot_minutes, timezone, horizon_days, closed_dates, "
    "updated_at, cancel_notice_minutes, reschedule_notice_minutes, unknown_services, "
    "catalog_version"
)
CUSTOMER_COLUMNS = "id, phone, first_name, last_name, email, gender, country, is_active, created_at"
BOOKING_COLUMNS = (
    "id, customer_id, service_name, booking_date, booking_time, starts_at, status, notes, "
    "created_at, resource_id, service_id, occupied_from, occupied_until, hold_expires_at"
)
#: The catalog, read whole when it changed (see ``SqlCatalogRepository``), each in id order.
CATALOG_STATEMENTS = {
    "resources": "SELECT id, name, is_active, follows_business_hours FROM resources ORDER BY id",
    "hours": "SELECT resource_id, weekday, opens, closes FROM resource_hours ORDER BY id",
    "exceptions": "SELECT resource_id, day, opens, closes FROM resource_exceptions ORDER BY id",
    "services": (
        "SELECT id, name, duration_minutes, buffer_before, buffer_after, min_notice_minutes, "
        "is_active FROM services ORDER BY id"
    ),
    "performers": "SELECT service_id, resource_id FROM service_resources",
}

#: One result row, its columns in the statement's order.
Row = Sequence[Any]


class StatementRunner(Protocol):
    async def fetch(self, sql: str, parameters: Sequence[Any] = ()) -> Sequence[Row]:
        """Run ``sql`` in the unit's transaction; its rows (none for a statement without)."""
        ...


@frozen
class EngineStatements:
    """One engine's SQL for every statement the repositories run, and its value codecs.

    Rows come back in the column order written in each statement (see the ``*_COLUMNS`` text of
    the engine modules); the repositories read them by position.
    """

    engine: str
    # business_settings
    active_settings: str
    update_settings: str
    insert_settings: str
    # customers
    customer_by_phone: str
    customer_by_id: str
    insert_customer: str
    # bookings
    #: The end, id and hold expiry of the last active booking of a resource starting before an
    #: instant (resource, instant): the only one that can overlap an interval ending there.
    occupied: str
    #: Active bookings' (resource, from, until) overlapping an interval (until, from), without
    #: the holds whose time is up at an instant (the last parameter).
    occupied_between: str
    #: Active bookings per resource on a date.
    active_counts_on: str
    insert_booking: str
    booking_by_id: str
    active_starts_between: str
    set_status: str
    #: Moves an open booking (date, time, starts_at, resource, occupied from, until, id) in one
    #: statement; no row if it is not open (upcoming or pending).
    move_booking: str
    #: Holds (live at an instant) of a customer: (customer, instant).
    count_live_holds: str
    #: (id, instant): ``held`` → ``expired`` if its time is up; the row.
    expire_hold: str
    #: (instant): every hold whose time is up → ``expired``; the rows.
    expire_holds: str
    #: (status, id, instant): a live hold → status, expiry cleared; the row.
    confirm_hold: str
    #: (id): ``held`` → ``released``; the row.
    release_hold: str
    #: Holds a customer's row until the transaction ends, so that counts of the customer's
    #: bookings stay true until the commit; None where the engine runs one write transaction
    #: at a time anyway (SQLite: ``BEGIN IMMEDIATE``), which holds everything.
    lock_customer: str | None
    #: (sorted int keys): advisory locks held until the transaction ends, so that bookings
    #: whose intervals may overlap take turns (``interval_locks``): two inserts of
    #: overlapping intervals in progress at once would otherwise wait on each other in the
    #: exclusion constraint (a deadlock PostgreSQL breaks by aborting one); None where writes
    #: are serialised anyway (SQLite).
    lock_intervals: str | None
    open_bookings_after: str
    # events
    append_event: str
    latest_event_id: str
    events_after: str
    #: Gives committed events their feed positions, in its own transaction (PostgreSQL: the
    #: number positioned, see ``SqlEventOutbox``); None where ids already commit in order
    #: (SQLite: one writer at a time).
    position_events: str | None
    # idempotency_keys
    delete_expired_keys: str
    claim_key: str
    key_record: str
    take_over_key: str
    complete_key: str
    release_key: str
    # the catalog: the admin's changes
    insert_resource: str
    #: (name, active, id)
    update_resource: str
    #: (id): the resource works its own plan from now on
    own_plan: str
    delete_hours: str
    #: (resource, weekday, opens, closes)
    insert_hours: str
    #: (resource, day)
    delete_exception: str
    #: (resource, day, opens, closes); both times NULL: closed that day
    insert_exception: str
    #: (name, name_key, duration, buffer before, buffer after, notice, active) -> id
    insert_service: str
    #: (name, name_key, duration, buffer before, buffer after, notice, active, id)
    update_service: str
    #: (service): its performers, before they are written again
    delete_performers: str
    #: (service, resource)
    insert_performer: str
    #: Makes every process read the catalog again (see ``SqlCatalogRepository``).
    bump_catalog_version: str
    # codecs
    instant_to_db: Callable[[pendulum.DateTime], Any]
    instant_from_db: Callable[[Any], pendulum.DateTime]
    date_to_db: Callable[[dt.date], Any]
    date_from_db: Callable[[Any], pendulum.Date]
    time_to_db: Callable[[dt.time], Any]
    time_from_db: Callable[[Any], pendulum.Time]
