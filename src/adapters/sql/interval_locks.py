"""Which advisory locks a PostgreSQL transaction takes before it places a booking.

Two transactions that insert (or move a booking into) overlapping intervals of one resource at
the same moment would each wait for the other in the exclusion constraint, a deadlock that
PostgreSQL breaks after ``deadlock_timeout`` by aborting one of them. So such transactions take
turns: each takes an advisory lock before it reads the interval and keeps it until it ends.

The lock used to be the whole resource, which made *every* booking of a resource wait for the
one before it, from its lock to its commit (about 1.5 ms under load: five round trips and the
commit's flush). On a single-resource business that line was the service's throughput:
scenario (b1) of ``make bench`` (one worker, every booking on one resource, quiet machine,
2026-12-04) stored 685 bookings a second with it and 1,358 with no lock at all. Only
transactions whose intervals may overlap need to take turns, so the lock is now finer: time is
cut into :data:`BUCKET_SECONDS` buckets (UTC, from the epoch), and a transaction locks one key
per (resource, bucket) its occupied interval touches. Two overlapping intervals of one resource
share an instant, hence a bucket, hence a key: they still take turns. Bookings of one resource
further apart than a bucket no longer do. The same (b1) with 15-minute buckets: 1,134/s; with
5-minute ones: 1,254/s (docs/performance.md).

Keys are a hash of (resource, bucket) into PostgreSQL's second ``int4`` key (the first is
:data:`LOCK_CLASS`): two unrelated pairs may share a key, which only makes them take turns too.
A transaction takes all its keys in one statement in increasing key order, so two transactions
never wait for each other's keys crosswise. Smaller buckets mean more keys per transaction, and
every key is an entry in PostgreSQL's shared lock table (``max_locks_per_transaction`` x
connections, 6,400 by default): at 10 minutes a typical 30-90 minute booking with buffers takes
4-12 keys, the longest possible interval (20 hours: 720 minutes of service and two 240-minute
buffers) 121, so about 50 of those in progress at once would fill a default lock table.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent_booking.core.occupancy import OccupiedInterval
from agent_booking.core.slot_grid import micros

__all__ = ["BUCKET_SECONDS", "LOCK_CLASS", "interval_lock_keys"]

#: First key of these advisory locks (PostgreSQL's two-``int4`` form, a key space apart from
#: the outbox's and the migrations' one-``bigint`` locks).
LOCK_CLASS = 0x0B00C1E9
#: The length of a bucket. Every process that books on one database must use the same value.
BUCKET_SECONDS = 10 * 60
_BUCKET_MICROS = BUCKET_SECONDS * 1_000_000
_INT4 = 0x7FFFFFFF
_MIX = 0x9E3779B1  # Knuth's multiplicative hash constant: spreads resource ids over the keys


def interval_lock_keys(intervals: Iterable[OccupiedInterval]) -> list[int]:
    """The keys to lock for ``(resource id, begin, end)`` intervals (end exclusive), distinct
    and in increasing order."""
    keys: set[int] = set()
    for resource_id, begin, end in intervals:
        first = micros(begin) // _BUCKET_MICROS
        last = max(first, (micros(end) - 1) // _BUCKET_MICROS)
        base = (resource_id * _MIX) & _INT4
        keys.update((base ^ bucket) & _INT4 for bucket in range(first, last + 1))
    return sorted(keys)
