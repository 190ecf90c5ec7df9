"""Cross-origin access for browser clients: an allow-list of origins, or nothing at all.

With no ``BOOKING_CORS_ORIGINS`` there is no CORS configuration, so responses carry no CORS
headers and browsers keep other sites' scripts out. With a list, only those origins get
``Access-Control-Allow-Origin``; credentials (cookies) are never allowed, since the API uses
headers (``X-API-Key``, ``Authorization``), not cookies.
"""

from __future__ import annotations

from collections.abc import Sequence

from litestar.config.cors import CORSConfig

__all__ = ["cors_config"]

_ALLOWED_HEADERS = ["Content-Type", "X-API-Key", "X-Request-ID", "Idempotency-Key", "Authorization"]
#: Response headers a browser script may read besides the CORS-safelisted ones.
_EXPOSED_HEADERS = [
    "X-Request-ID",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Idempotent-Replayed",
]
_PREFLIGHT_CACHE_S = 600


def cors_config(origins: Sequence[str]) -> CORSConfig | None:
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PATCH", "OPTIONS"],
        allow_headers=_ALLOWED_HEADERS,
        expose_headers=_EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=_PREFLIGHT_CACHE_S,
    )
