"""CPU per webhook send: the delivery worker's sender against a receiver in the same process.

    python -m bench.webhook_send [--compare OTHER_SENDER.py] [--rounds 6]

Sends 1,000 signed webhooks per round, 8 in flight at a time (the worker's default per
subscription), over keep-alive connections to a minimal HTTP/1.1 receiver on 127.0.0.1 in this
process, and prints the process's CPU microseconds per send (the receiver's share included, the
same for every sender). With ``--compare`` a second sender module (an older
``adapters/webhooks/sender.py``, say: ``git show REV:src/adapters/webhooks/sender.py > old.py``)
is measured in the same process, rounds interleaved in ABBA order, so a busy machine's drift
falls on both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pendulum
import uvloop

from agent_booking.adapters.webhooks import sender as this_sender
from agent_booking.adapters.webhooks.addresses import GuardedNetworkBackend, system_resolver
from agent_booking.core.events import StoredEvent

__all__ = ["main"]

_PER_ROUND = 1000
_IN_FLIGHT = 8
_SECRETS = ["whsec_" + "A" * 43 + "="]


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
    writer.close()


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("compared_sender", path)
    if spec is None or spec.loader is None:
        msg = f"cannot load {path}"
        raise SystemExit(msg)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _run(compare: Path | None, rounds: int) -> None:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    event = StoredEvent(
        event_id=7,
        type="booking_created",
        payload={"id": 1, "service_name": "Legal Consultation", "status": "upcoming"},
        occurred_at=pendulum.now("UTC"),
    )
    backend = GuardedNetworkBackend(system_resolver, allow_private=True)
    senders: dict[str, Any] = {"this tree": this_sender.WebhookSender(backend, timeout=5)}
    if compare is not None:
        senders[str(compare)] = _load(compare).WebhookSender(backend, timeout=5)
    cpu_per_send: dict[str, list[float]] = {name: [] for name in senders}

    async def batch(sender: Any, count: int) -> None:
        for _ in range(count // _IN_FLIGHT):
            results = await asyncio.gather(
                *(sender.send(url, event, _SECRETS) for _ in range(_IN_FLIGHT))
            )
            if any(result.status_code != 204 for result in results):
                msg = f"a send failed: {results}"
                raise SystemExit(msg)

    for sender in senders.values():
        await batch(sender, 200)  # connections open, caches warm
    for number in range(rounds):
        names = list(senders) if number % 2 == 0 else list(senders)[::-1]
        for name in names:
            started = time.process_time()
            await batch(senders[name], _PER_ROUND)
            cpu_per_send[name].append(1e6 * (time.process_time() - started) / _PER_ROUND)
    for name, values in cpu_per_send.items():
        shown = ", ".join(f"{value:.0f}" for value in values)
        print(f"{name}: median {statistics.median(values):.0f} µs CPU per send ({shown})")
    for sender in senders.values():
        await sender.aclose()
    server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    uvloop.run(_run(args.compare, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
