"""The ASGI entry point for uvicorn.

``uvicorn agent_booking.entrypoints.asgi:app_from_env --factory`` serves it.

A factory rather than a module-level ``app`` so that importing this module builds nothing:
each worker process reads the environment and composes its own app when uvicorn asks for it.
Unlike ``booking serve``, this does not migrate the database (run ``booking migrate`` first),
nor does it bring the connection limits, which are uvicorn options (``http=``,
``limit_concurrency``): take them from ``agent_booking.entrypoints.cli.server.uvicorn_options``.
"""

from __future__ import annotations

import gc

from litestar import Litestar

from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http import create_app

__all__ = ["app_from_env"]


def app_from_env() -> Litestar:
    app = create_app(AppConfig.from_env())
    # Everything imported and built so far lives as long as the process: move it out of the
    # garbage collector's sight, so that its full collections do not rescan it all. Measured
    # under load (docs/performance.md), they stalled the server for ~60 ms at a time.
    gc.collect()
    gc.freeze()
    return app
