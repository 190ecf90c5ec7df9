"""Behaviour that lives on the entities themselves (agent_booking.core.entities)."""

from __future__ import annotations

import attrs
import pytest

from agent_booking.core import OPEN_STATUSES, Booking, BookingStatus
from agent_booking.core.entities import NewBooking
from agent_booking.core.errors import BookingNotActive
from tests.unit.builders import NOW, TOMORROW


def _booking(status: BookingStatus) -> Booking:
    return Booking(
        id=7,
        customer_id=3,
        service_name="Legal Consultation",
        booking_date=TOMORROW,
        booking_time=NOW.time(),
        starts_at=NOW.add(days=1),
        status=status,
        notes="",
        created_at=NOW,
        resource_id=1,
        service_id=None,
        occupied_from=NOW.add(days=1),
        occupied_until=NOW.add(days=1, hours=1),
    )


class TestBookingCancel:
    @pytest.mark.parametrize("status", sorted(OPEN_STATUSES))
    def test_an_open_booking_becomes_cancelled_and_frees_its_slot(
        self, status: BookingStatus
    ) -> None:
        booking = _booking(status)

        cancelled = booking.cancel()

        assert cancelled.status is BookingStatus.CANCELLED
        assert not cancelled.is_active
        assert cancelled.id == booking.id
        assert booking.status is status  # the original value is unchanged

    @pytest.mark.parametrize("status", [BookingStatus.COMPLETED, BookingStatus.CANCELLED])
    def test_a_booking_that_is_no_longer_open_cannot_be_cancelled(
        self, status: BookingStatus
    ) -> None:
        with pytest.raises(BookingNotActive, match=f"Booking is {status.value}"):
            _booking(status).cancel()


class TestOpenStatuses:
    def test_open_statuses_are_the_creatable_ones_and_hold_their_slot(self) -> None:
        assert {status.value for status in OPEN_STATUSES} == {"upcoming", "pending"}
        assert all(_booking(status).is_active for status in OPEN_STATUSES)
        assert not _booking(BookingStatus.COMPLETED).is_open


class TestNewBookingStoredAs:
    def test_carries_every_field_and_the_id(self) -> None:
        held = _booking(BookingStatus.HELD)
        stored = attrs.evolve(held, hold_expires_at=held.created_at.add(minutes=5))
        fields = attrs.asdict(stored, recurse=False)
        # No field left at its default, so one that stored_as forgets cannot pass unseen.
        defaults = {
            f.name: f.default for f in attrs.fields(Booking) if f.default is not attrs.NOTHING
        }
        assert all(fields[name] != default for name, default in defaults.items()), fields
        new = NewBooking(**{name: value for name, value in fields.items() if name != "id"})

        assert new.stored_as(7) == stored
