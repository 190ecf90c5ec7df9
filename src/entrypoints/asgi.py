"""The ASGI entry point for uvicorn: ``uvicorn entrypoints.asgi:app_from_env --factory``.

A factory rather than a module-level ``app`` so that importing this module builds nothing:
each worker process reads the environment and composes its own app when uvicorn asks for it.
Unlike ``booking serve``, this does not migrate the database; run ``booking migrate`` first.
"""

from __future__ import annotations

from litestar import Litestar

from entrypoints.config import AppConfig
from entrypoints.http import create_app

__all__ = ["app_from_env"]


def app_from_env() -> Litestar:
    return create_app(AppConfig.from_env())
