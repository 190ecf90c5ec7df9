"""``/admin/``: the admin dashboard, plain HTML, CSS and JavaScript modules served as files.

There is no front-end build step: the files under ``static/admin`` are what the browser runs, and
they ship inside the package (``package-data``), so an installed service serves the same page as
a checkout. The page holds no secret; it asks for the admin token and talks to the admin API and
the WebSocket feed like any other client.

Assets are served with ``Cache-Control: no-cache``: browsers may keep them but revalidate, so an
upgraded service never runs against a stale ``app.js``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

__all__ = ["ADMIN_PAGE_PATH", "STATIC_DIRECTORY", "admin_page_routes"]

#: The dashboard's address; the bare ``/admin`` redirects here so relative asset URLs resolve.
ADMIN_PAGE_PATH = "/admin/"
#: The page's files, resolved from this module so an installed package finds its own copy.
STATIC_DIRECTORY = Path(__file__).resolve().parent / "static" / "admin"

_BARE_PATH = ADMIN_PAGE_PATH.rstrip("/")


async def _redirect_bare_path(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Litestar routes ``/admin`` and ``/admin/`` alike; only the latter is the page's URL.

    Litestar strips the trailing slash from ``scope["path"]``, so the check reads the path as
    the client sent it (``raw_path``, which ASGI servers set).
    """
    raw_path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    if raw_path.rstrip(b"/") == _BARE_PATH.encode() and not raw_path.endswith(b"/"):
        return Redirect(ADMIN_PAGE_PATH)
    return None


def admin_page_routes() -> list[Router]:
    return [
        create_static_files_router(
            path=_BARE_PATH,
            directories=[STATIC_DIRECTORY],
            html_mode=True,
            name="admin_page",
            before_request=_redirect_bare_path,
            cache_control=CacheControlHeader(no_cache=True),
        )
    ]
