"""Who is calling: the client's IP address (behind trusted proxies) and its API key.

``X-Forwarded-For`` is only believed when the direct peer is one of our own proxies
(``BOOKING_TRUSTED_PROXIES``); anyone else could write any address into it. Each proxy appends
the address it received the request from, so the list is read from the right, skipping our
proxies: the first address that is not one of them is the client as our outermost proxy saw it.
uvicorn's own proxy-header handling is switched off (``booking serve``), so this is the only
place that decides.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Sequence

from litestar.datastructures import Headers
from litestar.types import Scope

__all__ = [
    "API_KEY_HEADER",
    "IPNetwork",
    "api_key_of",
    "bucket_key",
    "client_address",
    "in_networks",
    "is_known_key",
]

API_KEY_HEADER = "X-API-Key"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_address(text: str) -> _IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_networks(address: str, networks: Sequence[IPNetwork]) -> bool:
    parsed = _parse_address(address)
    return parsed is not None and any(parsed in network for network in networks)


def client_address(scope: Scope, trusted_proxies: Sequence[IPNetwork]) -> str:
    """The client's IP address as text (``"unknown"`` if the server was not told the peer)."""
    client = scope.get("client")
    peer = _parse_address(client[0]) if client else None
    if peer is None:
        return client[0] if client else "unknown"
    if not trusted_proxies or not any(peer in network for network in trusted_proxies):
        return str(peer)
    forwarded = Headers.from_scope(scope).getall("x-forwarded-for", [])
    hops = [hop.strip() for value in forwarded for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse_address(hop)
        if address is None:
            break  # garbage from beyond our proxies: trust nothing further left
        if not any(address in network for network in trusted_proxies):
            return str(address)
    # Only our proxies (or nothing usable) in the chain: the closest one is the best we know.
    return str(peer)


def api_key_of(scope: Scope) -> str | None:
    key = Headers.from_scope(scope).get(API_KEY_HEADER, "").strip()
    return key or None


def is_known_key(key: str | None, keys: Sequence[str]) -> bool:
    """Constant-time comparison against every configured key (no early exit)."""
    presented = (key or "").encode()
    matched = False
    for candidate in keys:
        matched |= hmac.compare_digest(presented, candidate.encode())
    return matched and key is not None


#: IPv6 clients are counted by network: a host is usually given a whole /64, and could
#: otherwise take a fresh address (and a fresh allowance) for every request.
_IPV6_CLIENT_PREFIX = 64


def bucket_key(address: str, key: str | None) -> str:
    """The rate-limit bucket: a hash of the API key (never the key itself), else the address
    (an IPv6 address by its /64 network)."""
    if key is not None:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()
    parsed = _parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((parsed, _IPV6_CLIENT_PREFIX), strict=False)
        return f"ip:{network}"
    return "ip:" + address
