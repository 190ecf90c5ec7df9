"""PostgreSQL's statements, as plain SQL text for asyncpg (``$n`` placeholders).

Values go to asyncpg as ``datetime``/``date``/``time`` objects (``timestamptz`` instants in
UTC), which it encodes in the binary protocol; rows come back the same way.

The outbox append is a plain insert: no lock, no ``NOTIFY`` in the booking's transaction. Its
feed position is given after the commit by ``booking_position_events`` (migration 0005), which
also sends the ``NOTIFY`` once per batch; readers read by that position (see ``SqlEventOutbox``).
"""

from __future__ import annotations

from agent_booking.adapters.sql import tables
from agent_booking.adapters.sql.convert import (
    date_from_db,
    date_to_db,
    instant_from_db,
    instant_to_db,
    time_from_db,
    time_to_db,
)
from agent_booking.adapters.sql.interval_locks import LOCK_CLASS
from agent_booking.adapters.sql.statements import (
    BOOKING_COLUMNS,
    CUSTOMER_COLUMNS,
    SETTINGS_COLUMNS,
    EngineStatements,
)

__all__ = ["EVENTS_CHANNEL", "POSITION_BATCH", "POSITION_EVENTS", "POSTGRES"]

#: Channel notified when events got their feed positions (by ``booking_position_events``, whose
#: text in migration 0005 names the same channel).
EVENTS_CHANNEL = "booking_events"
#: How many events one call of ``booking_position_events`` positions at most.
POSITION_BATCH = 1000
#: Positions up to a batch of committed events in its own transaction; how many it did.
POSITION_EVENTS = f"SELECT booking_position_events({POSITION_BATCH})"

_ACTIVE = tables.ACTIVE_BOOKING.text
_OPEN = tables.OPEN_BOOKING.text
_HELD = tables.HELD_BOOKING.text

POSTGRES = EngineStatements(
    engine="postgresql",
    active_settings=f"SELECT {SETTINGS_COLUMNS} FROM business_settings WHERE is_active",
    update_settings=(
        "UPDATE business_settings SET open_time = $1, close_time = $2, off_days = $3, "
        "slot_minutes = $4, timezone = $5, horizon_days = $6, closed_dates = $7, "
        "updated_at = $8, cancel_notice_minutes = $9, reschedule_notice_minutes = $10, "
        "unknown_services = $11 WHERE is_active RETURNING id"
    ),
    insert_settings=(
        "INSERT INTO business_settings (is_active, open_time, close_time, off_days, "
        "slot_minutes, timezone, horizon_days, closed_dates, updated_at, "
        "cancel_notice_minutes, reschedule_notice_minutes, unknown_services) "
        "VALUES (true, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ),
    customer_by_phone=f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE phone = $1",
    customer_by_id=f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1",
    insert_customer=(
        "INSERT INTO customers (phone, first_name, last_name, email, gender, country, "
        "password_hash, is_active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        f"ON CONFLICT (phone) DO NOTHING RETURNING {CUSTOMER_COLUMNS}"
    ),
    # Active intervals of one resource never overlap, so only the last one starting before
    # the end can reach into the interval: one step of a backward scan of the index.
    occupied=(
        "SELECT occupied_until, id, hold_expires_at FROM bookings "
        f"WHERE resource_id = $1 AND {_ACTIVE} "
        "AND occupied_from < $2 ORDER BY occupied_from DESC LIMIT 1"
    ),
    # starts_at is at most 240 minutes (the longest buffer) after occupied_from: bounds on it
    # let the active-starts index serve the read.
    occupied_between=(
        "SELECT resource_id, occupied_from, occupied_until FROM bookings "
        f"WHERE starts_at >= $1 AND starts_at < $2 AND occupied_from < $3 "
        f"AND occupied_until > $4 AND {_ACTIVE} "
        f"AND (hold_expires_at IS NULL OR hold_expires_at > $5)"
    ),
    active_counts_on=(
        "SELECT resource_id, count(*) FROM bookings "
        f"WHERE booking_date = $1 AND {_ACTIVE} GROUP BY resource_id"
    ),
    insert_booking=(
        "INSERT INTO bookings (customer_id, service_name, booking_date, booking_time, "
        "starts_at, status, notes, created_at, resource_id, service_id, occupied_from, "
        "occupied_until, hold_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13) RETURNING id"
    ),
    booking_by_id=f"SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1",
    active_starts_between=(
        f"SELECT starts_at FROM bookings WHERE starts_at >= $1 AND starts_at < $2 AND {_ACTIVE}"
    ),
    set_status=(
        f"UPDATE bookings SET status = $1 WHERE id = $2 AND status <> $1 "
        f"RETURNING {BOOKING_COLUMNS}"
    ),
    move_booking=(
        "UPDATE bookings SET booking_date = $1, booking_time = $2, starts_at = $3, "
        f"resource_id = $4, occupied_from = $5, occupied_until = $6 WHERE id = $7 AND {_OPEN} "
        f"RETURNING {BOOKING_COLUMNS}"
    ),
    count_live_holds=(
        f"SELECT count(*) FROM bookings WHERE customer_id = $1 AND {_HELD} AND hold_expires_at > $2"
    ),
    expire_hold=(
        f"UPDATE bookings SET status = 'expired' WHERE id = $1 AND {_HELD} "
        f"AND hold_expires_at <= $2 RETURNING {BOOKING_COLUMNS}"
    ),
    expire_holds=(
        f"UPDATE bookings SET status = 'expired' WHERE {_HELD} "
        f"AND hold_expires_at <= $1 RETURNING {BOOKING_COLUMNS}"
    ),
    confirm_hold=(
        "UPDATE bookings SET status = $1, hold_expires_at = NULL WHERE id = $2 "
        f"AND {_HELD} AND hold_expires_at > $3 RETURNING {BOOKING_COLUMNS}"
    ),
    release_hold=(
        f"UPDATE bookings SET status = 'released' WHERE id = $1 AND {_HELD} "
        f"RETURNING {BOOKING_COLUMNS}"
    ),
    lock_customer="SELECT id FROM customers WHERE id = $1 FOR NO KEY UPDATE",
    # The keys come sorted (interval_lock_keys) and unnest keeps their order, so the locks
    # are taken in increasing key order.
    lock_intervals=f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, k) FROM unnest($1::int[]) AS k",
    open_bookings_after=(
        f"SELECT count(*) FROM bookings WHERE customer_id = $1 AND {_OPEN} AND starts_at > $2"
    ),
    append_event=(
        "INSERT INTO events (type, payload, occurred_at) VALUES ($1, $2, $3) RETURNING event_id"
    ),
    latest_event_id="SELECT coalesce(max(position), 0) FROM events",
    events_after=(
        "SELECT position, type, payload, occurred_at FROM events WHERE position > $1 "
        "ORDER BY position LIMIT $2"
    ),
    position_events=POSITION_EVENTS,
    delete_expired_keys="DELETE FROM idempotency_keys WHERE created_at < $1",
    claim_key=(
        "INSERT INTO idempotency_keys (key, fingerprint, state, locked_until, created_at) "
        "VALUES ($1, $2, 'in_progress', $3, $4) ON CONFLICT (key) DO NOTHING RETURNING key"
    ),
    key_record=(
        "SELECT fingerprint, state, status_code, response_body, locked_until "
        "FROM idempotency_keys WHERE key = $1"
    ),
    take_over_key=(
        "UPDATE idempotency_keys SET locked_until = $1 "
        "WHERE key = $2 AND state = 'in_progress' AND locked_until = $3 RETURNING key"
    ),
    complete_key=(
        "UPDATE idempotency_keys SET state = 'completed', status_code = $1, "
        "response_body = $2 WHERE key = $3"
    ),
    release_key="DELETE FROM idempotency_keys WHERE key = $1 AND state = 'in_progress'",
    insert_resource=(
        "INSERT INTO resources (name, is_active, follows_business_hours, created_at) "
        "VALUES ($1, $2, $3, $4) RETURNING id"
    ),
    update_resource="UPDATE resources SET name = $1, is_active = $2 WHERE id = $3",
    own_plan="UPDATE resources SET follows_business_hours = $1 WHERE id = $2",
    delete_hours="DELETE FROM resource_hours WHERE resource_id = $1",
    insert_hours=(
        "INSERT INTO resource_hours (resource_id, weekday, opens, closes) VALUES ($1, $2, $3, $4)"
    ),
    delete_exception="DELETE FROM resource_exceptions WHERE resource_id = $1 AND day = $2",
    insert_exception=(
        "INSERT INTO resource_exceptions (resource_id, day, opens, closes) VALUES ($1, $2, $3, $4)"
    ),
    insert_service=(
        "INSERT INTO services (name, name_key, duration_minutes, buffer_before, buffer_after, "
        "min_notice_minutes, is_active) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
    ),
    update_service=(
        "UPDATE services SET name = $1, name_key = $2, duration_minutes = $3, buffer_before = $4, "
        "buffer_after = $5, min_notice_minutes = $6, is_active = $7 WHERE id = $8"
    ),
    delete_performers="DELETE FROM service_resources WHERE service_id = $1",
    insert_performer="INSERT INTO service_resources (service_id, resource_id) VALUES ($1, $2)",
    bump_catalog_version=(
        "UPDATE business_settings SET catalog_version = catalog_version + 1 WHERE is_active"
    ),
    instant_to_db=instant_to_db,
    instant_from_db=instant_from_db,
    date_to_db=date_to_db,
    date_from_db=date_from_db,
    time_to_db=time_to_db,
    time_from_db=time_from_db,
)
