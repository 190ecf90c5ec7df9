"""Which addresses a webhook may reach, checked where it matters: on the address connected to.

A URL's host is resolved by the :data:`Resolver` (the system's ``getaddrinfo`` unless a test
stubs it), and only public addresses are connected to, unless private ones are allowed
(``BOOKING_WEBHOOK_ALLOW_PRIVATE=1``). The check sits in the network backend that httpcore
(under httpx) asks for every new connection, so the address checked is the address connected
to: a name that resolved to a public address when the subscription was made and to
``169.254.169.254`` later is refused then (DNS rebinding). TLS still verifies the certificate
against the URL's host name, since httpcore passes that name, not the address, to the handshake.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore

__all__ = [
    "AddressRefused",
    "GuardedNetworkBackend",
    "Resolver",
    "host_allowed",
    "is_public",
    "resolve",
    "system_resolver",
]

#: ``(host, port) -> addresses`` (text, IPv4 or IPv6).
Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(httpcore.ConnectError):
    """The host resolves only to addresses a webhook may not reach."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    """A globally routable unicast address: not loopback, private, link-local (where cloud
    metadata services live), shared (CGNAT), multicast, reserved or unspecified."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(resolver: Resolver, host: str, port: int) -> list[str]:
    """The host's addresses (an address literal is its own)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return await resolver(host, port)


def host_allowed(host: str, allowed_hosts: tuple[str, ...]) -> bool:
    """Whether the operator's host list (empty: any host) names ``host``: exactly, or by a
    ``.example.com`` suffix."""
    if not allowed_hosts:
        return True
    name = host.strip("[]").lower().rstrip(".")
    return any(
        name == allowed or (allowed.startswith(".") and name.endswith(allowed))
        for allowed in allowed_hosts
    )


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default backend, connecting only to addresses :func:`is_public` accepts."""

    def __init__(
        self, resolver: Resolver, *, allow_private: bool, allowed_hosts: tuple[str, ...] = ()
    ) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._allowed_hosts = allowed_hosts
        self._inner = httpcore.AnyIOBackend()

    def allowed(self, addresses: Iterable[str]) -> list[str]:
        return [a for a in addresses if self._allow_private or is_public(a)]

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if not host_allowed(host, self._allowed_hosts):
            raise AddressRefused(f"{host} is not in BOOKING_WEBHOOK_ALLOWED_HOSTS")
        try:
            addresses = await resolve(self._resolver, host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        allowed = self.allowed(addresses)
        if not allowed:
            shown = ", ".join(addresses[:4]) or "nothing"
            raise AddressRefused(f"{host} resolves to {shown}: not a public address")
        last: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as error:
                last = error
        assert last is not None  # noqa: S101 - allowed is not empty
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        del path, timeout, socket_options
        raise AddressRefused("webhooks are sent over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
