"""The Litestar HTTP app: build it with :func:`create_app`."""

from agent_booking.entrypoints.http.app import create_app

__all__ = ["create_app"]
