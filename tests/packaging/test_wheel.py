"""The built wheel, installed as a stranger would install it.

- Beside PyPI's ``entrypoints`` 0.4 (which Jupyter's nbconvert uses) and AdapterHub's
  ``adapters``: installing the service must not replace either, so both still import as
  themselves and the service imports as ``agent_booking``.
- Alone, without extras (``pip install agent-booking``): a service that imports only the core
  gets attrs and pendulum, and no web server, framework or database driver.

Each check builds a fresh virtual environment and installs with ``--no-index`` from the wheelhouse
``make test`` fills before the tests run (``.venv/wheelhouse``, or ``BOOKING_WHEELHOUSE``), so no
test reaches the network; AdapterHub's ``adapters`` is there without its dependencies
(transformers and a deep-learning stack), because only where its files land matters here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What the server extras bring; none of it may come with the core alone.
SERVER_STACK = frozenset(
    {
        "litestar",
        "uvicorn",
        "sqlalchemy",
        "aiosqlite",
        "asyncpg",
        "alembic",
        "msgspec",
        "websockets",
        "mcp",
        "phonenumbers",
        "babel",
    }
)

WHEELHOUSE = Path(os.environ.get("BOOKING_WHEELHOUSE") or ROOT / ".venv" / "wheelhouse")
OFFLINE = ("--no-index", "--find-links", WHEELHOUSE)

pytestmark = pytest.mark.slow


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    completed = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert (WHEELHOUSE / ".complete").exists(), f"no wheelhouse at {WHEELHOUSE}: run make test"
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *OFFLINE, "-w", dist, ROOT)
    (built,) = dist.glob("agent_booking-*.whl")
    return built


def _venv(path: Path) -> Path:
    _run(sys.executable, "-m", "venv", path)
    return path / "bin" / "python"


def test_the_wheel_holds_one_top_level_package_of_ours(wheel: Path) -> None:
    import zipfile  # noqa: PLC0415

    with zipfile.ZipFile(wheel) as archive:
        top_level = {name.split("/")[0] for name in archive.namelist()}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"agent_booking"}


def test_it_installs_beside_entrypoints_and_adapters_without_shadowing_them(
    wheel: Path, tmp_path: Path
) -> None:
    python = _venv(tmp_path / "venv")
    _run(python, "-m", "pip", "install", "--quiet", *OFFLINE, "entrypoints==0.4")
    _run(python, "-m", "pip", "install", "--quiet", *OFFLINE, "--no-deps", "adapters")
    _run(python, "-m", "pip", "install", "--quiet", *OFFLINE, "--no-deps", wheel)

    check = textwrap.dedent(
        """
        import importlib.metadata, importlib.util, json
        import entrypoints
        adapters = importlib.util.find_spec("adapters")
        adapters_files = {str(f) for f in importlib.metadata.files("adapters")}
        ours = importlib.util.find_spec("agent_booking.core")
        print(json.dumps({
            "entrypoints_api": hasattr(entrypoints, "get_group_all"),
            "entrypoints_version": importlib.metadata.version("entrypoints"),
            "adapters_is_adapterhub": "adapters/__init__.py" in adapters_files
                and adapters.origin.endswith("site-packages/adapters/__init__.py"),
            "ours": ours.origin,
        }))
        """
    )
    found = _run(python, "-c", check)
    assert '"entrypoints_api": true' in found
    assert '"entrypoints_version": "0.4"' in found
    assert '"adapters_is_adapterhub": true' in found
    assert "site-packages/agent_booking/core/__init__.py" in found


def test_the_core_alone_pulls_no_web_or_database_package(wheel: Path, tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv")
    _run(python, "-m", "pip", "install", "--quiet", *OFFLINE, wheel)

    installed = {
        line.split("==")[0].lower()
        for line in _run(python, "-m", "pip", "freeze").splitlines()
        if "==" in line
    }
    assert "pendulum" in installed
    assert "attrs" in installed
    assert not installed & SERVER_STACK

    booking = textwrap.dedent(
        """
        import asyncio
        import pendulum
        from agent_booking.adapters.clock import FixedClock
        from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
        from agent_booking.core import BookingRequest, BusinessSettings, CreateAgentBooking

        async def main():
            store = InMemoryStore(BusinessSettings())
            clock = FixedClock(pendulum.datetime(2027, 3, 1, 9, tz="UTC"))
            book = CreateAgentBooking(store.unit_of_work, clock, InMemoryNotifier())
            request = BookingRequest.from_mapping({
                "phone": "+44 20 7946 0958", "service_name": "Consultation",
                "booking_date": "2027-03-02", "booking_time": "14:00",
            })
            result = await book(request)
            print(result.booking.id, result.customer.phone)

        asyncio.run(main())
        """
    )
    assert _run(python, "-c", booking).split() == ["1", "+442079460958"]
