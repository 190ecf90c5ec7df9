"""SQLite's statements, as plain SQL text, and its values in SQLAlchemy's storage formats.

The schema is SQLAlchemy's (``tables.py``, Alembic), so values are written in exactly the text
SQLAlchemy's SQLite types write and read (``DateTime``: ``YYYY-MM-DD HH:MM:SS.ffffff``, ``Date``:
``YYYY-MM-DD``, ``Time``: ``HH:MM:SS.ffffff``; ``Boolean``: 1/0): databases written before keep
working and SQLAlchemy reads (the admin listings, backups, the benchmark's seed) see the same
values. ``tests/unit/test_sqlite_values.py`` compares the text with SQLAlchemy's own processors.

The formatting is one ``%`` operation per value: SQLAlchemy's processors build a dict per value
and cost about three times as much (measured in the first round, see docs/performance.md).
"""

from __future__ import annotations

import datetime as dt

import pendulum

from agent_booking.adapters.sql import tables
from agent_booking.adapters.sql.convert import instant_from_db as _instant_from_datetime
from agent_booking.adapters.sql.statements import (
    BOOKING_COLUMNS,
    CUSTOMER_COLUMNS,
    SETTINGS_COLUMNS,
    EngineStatements,
)
from agent_booking.core.instants import as_utc

__all__ = [
    "SQLITE",
    "date_from_text",
    "date_text",
    "instant_from_text",
    "instant_text",
    "time_from_text",
    "time_text",
]

_DATETIME_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
_DATE_TEXT = "%04d-%02d-%02d"
_TIME_TEXT = "%02d:%02d:%02d.%06d"


def instant_text(instant: pendulum.DateTime) -> str:
    """An instant as SQLAlchemy's SQLite ``DateTime`` stores it: UTC, without an offset."""
    utc = as_utc(instant)
    return _DATETIME_TEXT % (
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
    )


def instant_from_text(value: str) -> pendulum.DateTime:
    return _instant_from_datetime(dt.datetime.fromisoformat(value))


def date_text(value: dt.date) -> str:
    return _DATE_TEXT % (value.year, value.month, value.day)


def date_from_text(value: str) -> pendulum.Date:
    day = dt.date.fromisoformat(value)
    return pendulum.Date(day.year, day.month, day.day)


def time_text(value: dt.time) -> str:
    """A time of day, as the service keeps it: to the second."""
    return _TIME_TEXT % (value.hour, value.minute, value.second, 0)


def time_from_text(value: str) -> pendulum.Time:
    time = dt.time.fromisoformat(value)
    return pendulum.Time(time.hour, time.minute, time.second)


_ACTIVE = tables.ACTIVE_BOOKING.text
_OPEN = tables.OPEN_BOOKING.text
_HELD = tables.HELD_BOOKING.text

SQLITE = EngineStatements(
    engine="sqlite",
    active_settings=f"SELECT {SETTINGS_COLUMNS} FROM business_settings WHERE is_active",
    update_settings=(
        "UPDATE business_settings SET open_time = ?, close_time = ?, off_days = ?, "
        "slot_minutes = ?, timezone = ?, horizon_days = ?, closed_dates = ?, updated_at = ?, "
        "cancel_notice_minutes = ?, reschedule_notice_minutes = ?, unknown_services = ? "
        "WHERE is_active RETURNING id"
    ),
    insert_settings=(
        "INSERT INTO business_settings (is_active, open_time, close_time, off_days, "
        "slot_minutes, timezone, horizon_days, closed_dates, updated_at, "
        "cancel_notice_minutes, reschedule_notice_minutes, unknown_services) "
        "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    customer_by_phone=f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE phone = ?",
    customer_by_id=f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?",
    insert_customer=(
        "INSERT INTO customers (phone, first_name, last_name, email, gender, country, "
        "password_hash, is_active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        f"ON CONFLICT (phone) DO NOTHING RETURNING {CUSTOMER_COLUMNS}"
    ),
    # Active intervals of one resource never overlap, so only the last one starting before
    # the end can reach into the interval: one step of a backward scan of the index.
    occupied=(
        "SELECT occupied_until, id, hold_expires_at FROM bookings "
        f"WHERE resource_id = ? AND {_ACTIVE} "
        "AND occupied_from < ? ORDER BY occupied_from DESC LIMIT 1"
    ),
    # starts_at is at most 240 minutes (the longest buffer) after occupied_from: bounds on it
    # let the active-starts index serve the read.
    occupied_between=(
        "SELECT resource_id, occupied_from, occupied_until FROM bookings "
        f"WHERE starts_at >= ? AND starts_at < ? AND occupied_from < ? "
        f"AND occupied_until > ? AND {_ACTIVE} "
        f"AND (hold_expires_at IS NULL OR hold_expires_at > ?)"
    ),
    active_counts_on=(
        "SELECT resource_id, count(*) FROM bookings "
        f"WHERE booking_date = ? AND {_ACTIVE} GROUP BY resource_id"
    ),
    insert_booking=(
        "INSERT INTO bookings (customer_id, service_name, booking_date, booking_time, "
        "starts_at, status, notes, created_at, resource_id, service_id, occupied_from, "
        "occupied_until, hold_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id"
    ),
    booking_by_id=f"SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = ?",
    active_starts_between=(
        f"SELECT starts_at FROM bookings WHERE starts_at >= ? AND starts_at < ? AND {_ACTIVE}"
    ),
    set_status=(
        f"UPDATE bookings SET status = ?1 WHERE id = ?2 AND status <> ?1 "
        f"RETURNING {BOOKING_COLUMNS}"
    ),
    move_booking=(
        "UPDATE bookings SET booking_date = ?, booking_time = ?, starts_at = ?, "
        f"resource_id = ?, occupied_from = ?, occupied_until = ? WHERE id = ? AND {_OPEN} "
        f"RETURNING {BOOKING_COLUMNS}"
    ),
    count_live_holds=(
        f"SELECT count(*) FROM bookings WHERE customer_id = ? AND {_HELD} AND hold_expires_at > ?"
    ),
    expire_hold=(
        f"UPDATE bookings SET status = 'expired' WHERE id = ? AND {_HELD} "
        f"AND hold_expires_at <= ? RETURNING {BOOKING_COLUMNS}"
    ),
    expire_holds=(
        f"UPDATE bookings SET status = 'expired' WHERE {_HELD} "
        f"AND hold_expires_at <= ? RETURNING {BOOKING_COLUMNS}"
    ),
    confirm_hold=(
        "UPDATE bookings SET status = ?1, hold_expires_at = NULL WHERE id = ?2 "
        f"AND {_HELD} AND hold_expires_at > ?3 RETURNING {BOOKING_COLUMNS}"
    ),
    release_hold=(
        f"UPDATE bookings SET status = 'released' WHERE id = ? AND {_HELD} "
        f"RETURNING {BOOKING_COLUMNS}"
    ),
    lock_customer=None,
    lock_intervals=None,
    open_bookings_after=(
        f"SELECT count(*) FROM bookings WHERE customer_id = ? AND {_OPEN} AND starts_at > ?"
    ),
    append_event=(
        "INSERT INTO events (type, payload, occurred_at) VALUES (?, ?, ?) RETURNING event_id"
    ),
    latest_event_id="SELECT coalesce(max(event_id), 0) FROM events",
    events_after=(
        "SELECT event_id, type, payload, occurred_at FROM events WHERE event_id > ? "
        "ORDER BY event_id LIMIT ?"
    ),
    position_events=None,
    delete_expired_keys="DELETE FROM idempotency_keys WHERE created_at < ?",
    claim_key=(
        "INSERT INTO idempotency_keys (key, fingerprint, state, locked_until, created_at) "
        "VALUES (?, ?, 'in_progress', ?, ?) ON CONFLICT (key) DO NOTHING RETURNING key"
    ),
    key_record=(
        "SELECT fingerprint, state, status_code, response_body, locked_until "
        "FROM idempotency_keys WHERE key = ?"
    ),
    take_over_key=(
        "UPDATE idempotency_keys SET locked_until = ? "
        "WHERE key = ? AND state = 'in_progress' AND locked_until = ? RETURNING key"
    ),
    complete_key=(
        "UPDATE idempotency_keys SET state = 'completed', status_code = ?, response_body = ? "
        "WHERE key = ?"
    ),
    release_key="DELETE FROM idempotency_keys WHERE key = ? AND state = 'in_progress'",
    insert_resource=(
        "INSERT INTO resources (name, is_active, follows_business_hours, created_at) "
        "VALUES (?, ?, ?, ?) RETURNING id"
    ),
    update_resource="UPDATE resources SET name = ?, is_active = ? WHERE id = ?",
    own_plan="UPDATE resources SET follows_business_hours = ? WHERE id = ?",
    delete_hours="DELETE FROM resource_hours WHERE resource_id = ?",
    insert_hours=(
        "INSERT INTO resource_hours (resource_id, weekday, opens, closes) VALUES (?, ?, ?, ?)"
    ),
    delete_exception="DELETE FROM resource_exceptions WHERE resource_id = ? AND day = ?",
    insert_exception=(
        "INSERT INTO resource_exceptions (resource_id, day, opens, closes) VALUES (?, ?, ?, ?)"
    ),
    insert_service=(
        "INSERT INTO services (name, name_key, duration_minutes, buffer_before, buffer_after, "
        "min_notice_minutes, is_active) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"
    ),
    update_service=(
        "UPDATE services SET name = ?, name_key = ?, duration_minutes = ?, buffer_before = ?, "
        "buffer_after = ?, min_notice_minutes = ?, is_active = ? WHERE id = ?"
    ),
    delete_performers="DELETE FROM service_resources WHERE service_id = ?",
    insert_performer="INSERT INTO service_resources (service_id, resource_id) VALUES (?, ?)",
    bump_catalog_version=(
        "UPDATE business_settings SET catalog_version = catalog_version + 1 WHERE is_active"
    ),
    instant_to_db=instant_text,
    instant_from_db=instant_from_text,
    date_to_db=date_text,
    date_from_db=date_from_text,
    time_to_db=time_text,
    time_from_db=time_from_text,
)
