"""The advisory-lock keys a PostgreSQL booking transaction takes (adapters.sql.interval_locks):
overlapping intervals of one resource must always share a key (else two overlapping inserts
could be in progress at once and deadlock in the exclusion constraint); intervals far apart
should not (else bookings of one resource wait for each other for nothing)."""

from __future__ import annotations

import pendulum
from hypothesis import given
from hypothesis import strategies as st

from agent_booking.adapters.sql.interval_locks import BUCKET_SECONDS, interval_lock_keys

_BASE = pendulum.datetime(2027, 3, 1, tz="UTC")
_INT4_MAX = 2**31 - 1
#: A booking's longest occupied interval: 720 minutes of service and two 240-minute buffers.
_LONGEST = 720 + 2 * 240

minutes = st.integers(min_value=-60 * 24 * 400, max_value=60 * 24 * 400)
lengths = st.integers(min_value=1, max_value=_LONGEST)
resources = st.integers(min_value=1, max_value=2**63 - 1)


def _interval(
    resource: int, start: int, length: int
) -> tuple[int, pendulum.DateTime, pendulum.DateTime]:
    begin = _BASE.add(minutes=start)
    return resource, begin, begin.add(minutes=length)


@given(resources, minutes, lengths, minutes, lengths)
def test_overlapping_intervals_of_one_resource_share_a_key(
    resource: int, start_a: int, length_a: int, start_b: int, length_b: int
) -> None:
    a = _interval(resource, start_a, length_a)
    b = _interval(resource, start_b, length_b)
    overlap = a[1] < b[2] and b[1] < a[2]
    shared = set(interval_lock_keys([a])) & set(interval_lock_keys([b]))
    if overlap:
        assert shared


@given(st.lists(st.tuples(resources, minutes, lengths), min_size=1, max_size=4))
def test_keys_are_distinct_sorted_int4_and_few(
    items: list[tuple[int, int, int]],
) -> None:
    intervals = [_interval(*item) for item in items]
    keys = interval_lock_keys(intervals)
    assert keys == sorted(set(keys))
    assert all(0 <= key <= _INT4_MAX for key in keys)
    per_interval = _LONGEST * 60 // BUCKET_SECONDS + 1
    assert len(keys) <= per_interval * len(intervals)
    # Locking several intervals at once takes exactly the keys of each.
    union = set().union(*(interval_lock_keys([interval]) for interval in intervals))
    assert set(keys) == union


def test_a_typical_booking_takes_a_few_keys_and_bookings_apart_take_different_ones() -> None:
    nine = _interval(1, 9 * 60, 60)  # 09:00-10:00 UTC
    assert len(interval_lock_keys([nine])) == 3600 // BUCKET_SECONDS
    one_minute = _interval(1, 9 * 60, 1)
    later = _interval(1, 9 * 60 + 30, 1)  # the same resource, half an hour later
    assert len(interval_lock_keys([one_minute])) == 1
    assert set(interval_lock_keys([one_minute])).isdisjoint(interval_lock_keys([later]))
    other_resource = _interval(2, 9 * 60, 1)  # the same minute on another resource
    assert set(interval_lock_keys([one_minute])).isdisjoint(interval_lock_keys([other_resource]))


def test_an_interval_ending_on_a_bucket_boundary_does_not_take_the_next_bucket() -> None:
    # 09:00-09:10 ends where the next bucket begins (end exclusive): it cannot overlap
    # 09:10-09:20, so they need not take turns.
    bucket = BUCKET_SECONDS // 60
    first = _interval(1, 9 * 60, bucket)
    second = _interval(1, 9 * 60 + bucket, bucket)
    assert set(interval_lock_keys([first])).isdisjoint(interval_lock_keys([second]))
