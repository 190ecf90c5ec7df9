"""Re-reading stored phones after the way phones are read has changed.

Setting a default region (``BOOKING_DEFAULT_REGION``) changes how new requests are read:
``020 7946 0958`` becomes ``+442079460958``. Customers stored before keep the phone they were
stored with, so a returning caller would become a second customer. :func:`plan_phone_changes`
says, for every stored phone, what it reads as now; a change is applied only when nobody else
has, or would get, the same phone. Two customers that turn out to be one person are reported,
never merged: merging moves bookings between people, which is an operator's decision.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from attrs import frozen

from agent_booking.core.errors import BookingError
from agent_booking.core.request import PhoneReader

__all__ = ["PhoneChange", "PhoneCollision", "PhonePlan", "UnreadablePhone", "plan_phone_changes"]


@frozen
class PhoneChange:
    customer_id: int
    old: str
    new: str


@frozen
class PhoneCollision:
    """Customers whose phones all read as ``phone``; none of them is changed."""

    phone: str
    customer_ids: tuple[int, ...]


@frozen
class UnreadablePhone:
    """A stored phone the reader refuses now; it is kept as it is."""

    customer_id: int
    phone: str
    reason: str


@frozen
class PhonePlan:
    changes: tuple[PhoneChange, ...]
    collisions: tuple[PhoneCollision, ...]
    unreadable: tuple[UnreadablePhone, ...]
    unchanged: int


def plan_phone_changes(stored: Iterable[tuple[int, str]], read: PhoneReader) -> PhonePlan:
    """What each stored ``(customer_id, phone)`` becomes under ``read``.

    A phone that reads as one another customer has now, or as one another customer's phone
    reads as, is a collision: all of those customers keep their phones. (So a change never
    takes a phone another row still holds, and the changes can be applied in any order.)
    """
    current: dict[int, str] = {}
    claims: defaultdict[str, set[int]] = defaultdict(set)
    unreadable: list[UnreadablePhone] = []
    for customer_id, phone in stored:
        current[customer_id] = phone
        claims[phone].add(customer_id)
        try:
            wanted = read(phone)
        except BookingError as error:
            unreadable.append(UnreadablePhone(customer_id, phone, error.message))
            continue
        if wanted != phone:
            claims[wanted].add(customer_id)
    collisions = sorted(
        (
            PhoneCollision(phone, tuple(sorted(ids)))
            for phone, ids in claims.items()
            if len(ids) > 1
        ),
        key=lambda collision: collision.customer_ids,
    )
    colliding = {customer_id for collision in collisions for customer_id in collision.customer_ids}
    refused = {item.customer_id for item in unreadable}
    changes = []
    for customer_id, phone in sorted(current.items()):
        if customer_id in colliding or customer_id in refused:
            continue
        wanted = read(phone)
        if wanted != phone:
            changes.append(PhoneChange(customer_id, phone, wanted))
    unchanged = len(current) - len(changes) - len(colliding | refused)
    return PhonePlan(tuple(changes), tuple(collisions), tuple(unreadable), unchanged)
