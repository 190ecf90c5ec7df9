"""The one table from domain errors to HTTP statuses: every error has a status, the right one."""

from __future__ import annotations

import pytest

from agent_booking.core import errors
from agent_booking.entrypoints.http.errors import error_body, status_for

EXPECTED_STATUS = {
    "invalid_request": 400,
    "invalid_body": 400,
    "missing_field": 400,
    "invalid_date": 400,
    "invalid_time": 400,
    "invalid_field": 400,
    "invalid_settings": 400,
    "invalid_catalog": 400,
    "invalid_idempotency_key": 400,
    "not_found": 404,
    "booking_not_found": 404,
    "webhook_not_found": 404,
    "resource_not_found": 404,
    "service_not_found": 404,
    "conflict": 409,
    "slot_taken": 409,
    "service_name_taken": 409,
    "booking_not_active": 409,
    "booking_not_held": 409,
    "hold_expired": 409,
    "too_many_holds": 409,
    "idempotency_in_progress": 409,
    "policy_violation": 422,
    "booking_in_past": 422,
    "beyond_horizon": 422,
    "off_day": 422,
    "closed_date": 422,
    "outside_working_hours": 422,
    "not_slot_start": 422,
    "idempotency_key_reused": 422,
    "too_many_bookings": 422,
    "too_late": 422,
    "notice_too_short": 422,
    "unknown_service": 422,
    "unknown_resource": 422,
    "webhook_url_refused": 422,
    "service_unavailable": 503,
    "settings_missing": 503,
    "storage_unavailable": 503,
    "transient_conflict": 503,
}


def all_error_classes(base: type[errors.BookingError]) -> list[type[errors.BookingError]]:
    found = []
    for subclass in base.__subclasses__():
        found.append(subclass)
        found.extend(all_error_classes(subclass))
    return found


def instance(error_class: type[errors.BookingError]) -> errors.BookingError:
    if error_class is errors.MissingField:
        return errors.MissingField("phone")
    if error_class is errors.InvalidField:
        return errors.InvalidField("email", "not a valid e-mail address")
    if error_class is errors.InvalidSettings:
        return errors.InvalidSettings("closing time must be after opening time")
    if error_class is errors.TooManyBookings:
        return errors.TooManyBookings(5)
    if error_class is errors.TooManyHolds:
        return errors.TooManyHolds(2)
    if error_class is errors.InvalidCatalog:
        return errors.InvalidCatalog("intervals 09:00-12:00 and 11:00-13:00 overlap")
    if error_class is errors.NoticeTooShort:
        return errors.NoticeTooShort(60)
    if error_class is errors.UnknownService:
        return errors.UnknownService(["Consultation", "Check-up"])
    if error_class is errors.WebhookUrlRefused:
        return errors.WebhookUrlRefused("10.0.0.8 is not a public address")
    return error_class()


ERROR_CLASSES = all_error_classes(errors.BookingError)


def test_every_code_is_unique_and_listed_here():
    codes = [error_class.code for error_class in ERROR_CLASSES]
    assert len(codes) == len(set(codes))
    assert set(codes) == set(EXPECTED_STATUS)


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda cls: cls.code)
def test_maps_each_error_to_its_status(error_class):
    assert status_for(instance(error_class)) == EXPECTED_STATUS[error_class.code]


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda cls: cls.code)
def test_renders_the_error_body_with_code_and_message(error_class):
    error = instance(error_class)
    assert error_body(error) == {"success": False, "message": error.message, "code": error.code}


def test_alternatives_are_rendered_as_objects():
    error = errors.SlotTaken(alternatives=[("2026-12-01", "13:00:00")])
    assert error_body(error)["alternatives"] == [
        {"booking_date": "2026-12-01", "booking_time": "13:00:00"}
    ]
