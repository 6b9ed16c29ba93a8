"""Which hosts a webhook may call: not this machine, its network nor the cloud's metadata service (SSRF),
unless the `webhooks_allow_private_addresses` setting says so (tests, an intranet receiver).

The check is on the addresses a name resolves to, at delivery time, and the delivery connects to one of
the addresses checked, never to the name again: a name that changes between the check and the connection
(DNS rebinding) cannot lead elsewhere. A name with any refused address is refused whole.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[tuple[Any, ...]]]

# Not global, but named for the error message; anything else not global (documentation, benchmarking,
# reserved, 100.64/10 shared space, where some clouds keep their metadata) is refused as "not public".
_KINDS: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local (cloud metadata)", lambda ip: ip.is_link_local),
    ("private", lambda ip: ip.is_private),
    ("multicast", lambda ip: ip.is_multicast),
    ("unspecified", lambda ip: ip.is_unspecified),
)


class AddressRefused(Exception):
    """The host's address is one a webhook may not call; the message says which and why."""


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not call `address`, or None. An IPv4 address written as IPv6 (::ffff:127.0.0.1,
    which reaches the IPv4 one) is judged as the IPv4 one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, test in _KINDS:
        if test(address):
            return f"{address} is a {kind} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def resolve(host: str, port: int) -> Sequence[tuple[Any, ...]]:
    """The system resolver's addresses of a TCP service."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def checked_addresses(host: str, port: int, *, allow_private: bool, resolver: Resolver = resolve) -> list[str]:
    """The addresses to connect to for host:port, each one allowed; AddressRefused if the name does not
    resolve or any address is refused."""
    try:
        found = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"{host} does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in found))
    if not addresses:
        raise AddressRefused(f"{host} does not resolve")
    if not allow_private:
        for address in addresses:
            reason = refusal(ipaddress.ip_address(address))
            if reason is not None:
                raise AddressRefused(f"{host}: {reason}; webhooks call public addresses only")
    return addresses
