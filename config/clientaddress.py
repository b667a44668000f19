"""The client's address: the peer, or what trusted proxies say in X-Forwarded-For."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Parse `trusted_proxies` entries (addresses or CIDR networks); ValueError names a bad one."""
    parsed = []
    for value in values:
        try:
            parsed.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"'{value}' is not an IP address or network such as "
                             "10.0.0.0/8") from exc
    return tuple(parsed)


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted: tuple[Network, ...]) -> str:
    """The peer's address unless the peer is a trusted proxy; then the right-most address of
    X-Forwarded-For that is not a trusted proxy (hops further left are the client's to forge)."""
    peer = peer or "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in (forwarded_for or "").split(",")[-20:] if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop if _address(hop) else peer
    return hops[0] if hops else peer


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(value: str, trusted: tuple[Network, ...]) -> bool:
    address = _address(value)
    return address is not None and any(address in network for network in trusted)
