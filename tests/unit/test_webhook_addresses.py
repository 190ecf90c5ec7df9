"""The address guard: a webhook connects only to public addresses (unless private ones are
allowed), judged on the address it connects to. Resolvers are stubbed: nothing here sends a
packet anywhere but to 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt

import pendulum
import pytest

from agent_booking.adapters.webhooks.addresses import (
    AddressRefused,
    GuardedNetworkBackend,
    host_allowed,
    is_public,
)
from agent_booking.adapters.webhooks.sender import WebhookSender, signed_request
from agent_booking.core.events import StoredEvent

EVENT = StoredEvent(7, "booking_created", {"id": 1}, pendulum.datetime(2027, 1, 4, 12))


def _resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        del port
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("fd00:ec2::254", False),  # AWS metadata over IPv6
        ("100.64.0.1", False),  # shared address space (CGNAT)
        ("0.0.0.0", False),  # noqa: S104 - an address judged, not bound
        ("224.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1", False),
        ("not an address", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_allowed_hosts() -> None:
    assert host_allowed("anything.example", ())
    assert host_allowed("Hooks.Example.com.", ("hooks.example.com",))
    assert host_allowed("a.b.example.com", (".example.com",))
    assert not host_allowed("example.com.evil", (".example.com",))
    assert not host_allowed("other.example", ("hooks.example.com",))


class TestConnecting:
    async def test_a_name_resolving_to_metadata_is_refused_before_connecting(self) -> None:
        backend = GuardedNetworkBackend(
            _resolver({"crm.example.com": ["169.254.169.254"]}), allow_private=False
        )
        with pytest.raises(AddressRefused, match=r"169\.254\.169\.254"):
            await backend.connect_tcp("crm.example.com", 443)

    async def test_an_address_literal_is_judged_itself(self) -> None:
        backend = GuardedNetworkBackend(_resolver({}), allow_private=False)
        with pytest.raises(AddressRefused):
            await backend.connect_tcp("10.0.0.5", 443)

    async def test_a_host_outside_the_allowed_list_is_refused(self) -> None:
        backend = GuardedNetworkBackend(
            _resolver({}), allow_private=True, allowed_hosts=("hooks.example.com",)
        )
        with pytest.raises(AddressRefused, match="ALLOWED_HOSTS"):
            await backend.connect_tcp("127.0.0.1", 443)

    async def test_only_the_allowed_address_of_a_mixed_answer_is_connected_to(self) -> None:
        """A name resolving to a private address and loopback, with private allowed, connects
        to what it resolved to (a listener of ours on 127.0.0.1)."""
        connected = asyncio.Event()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connected.set()
            writer.close()

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        backend = GuardedNetworkBackend(
            _resolver({"hooks.test": ["127.0.0.1"]}), allow_private=True
        )
        async with server:
            stream = await backend.connect_tcp("hooks.test", port, timeout=5)
            await asyncio.wait_for(connected.wait(), 5)
            await stream.aclose()

    async def test_a_sender_records_the_refusal_as_the_attempts_error(self) -> None:
        backend = GuardedNetworkBackend(
            _resolver({"crm.example.com": ["10.9.8.7"]}), allow_private=False
        )
        sender = WebhookSender(backend, timeout=5)
        try:
            result = await sender.send("https://crm.example.com/hook", EVENT, ["whsec_" + "A" * 44])
        finally:
            await sender.aclose()
        assert not result.ok
        assert result.status_code is None
        assert result.error is not None
        assert "not a public address" in result.error


def test_the_signed_request_carries_the_standard_headers() -> None:
    from standardwebhooks.webhooks import Webhook  # noqa: PLC0415

    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    now = dt.datetime.now(dt.UTC)
    body, headers = signed_request(EVENT, [secret], now)
    assert headers["webhook-id"] == "7"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert Webhook(secret).verify(body, headers)["data"] == {"id": 1}
