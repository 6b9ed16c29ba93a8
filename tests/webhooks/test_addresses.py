"""Which hosts a webhook may call (webhooks/addresses.py), judged on what the name resolves to."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

import pytest

from crowdexports.webhooks.addresses import AddressRefused, checked_addresses, refusal

REFUSED = ["127.0.0.1", "127.8.9.10", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
           "fe80::1", "fc00::1", "fd00:ec2::254", "0.0.0.0", "::", "100.100.100.200", "224.0.0.1",
           "::ffff:127.0.0.1", "::ffff:169.254.169.254", "192.0.2.1"]
ALLOWED = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"]


def resolving_to(*addresses: str) -> Any:
    def resolver(host: str, port: int) -> Sequence[tuple[Any, ...]]:
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in addresses]
    return resolver


@pytest.mark.parametrize("address", REFUSED)
def test_loopback_private_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None
    with pytest.raises(AddressRefused, match="public addresses only"):
        checked_addresses("hooks.example", 443, allow_private=False, resolver=resolving_to(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None
    assert checked_addresses("hooks.example", 443, allow_private=False, resolver=resolving_to(address)) == [address]


def test_a_name_with_one_refused_address_among_public_ones_is_refused() -> None:
    with pytest.raises(AddressRefused, match="127.0.0.1"):
        checked_addresses("hooks.example", 443, allow_private=False, resolver=resolving_to("8.8.8.8", "127.0.0.1"))


def test_the_setting_allows_private_addresses() -> None:
    assert checked_addresses("localhost", 80, allow_private=True,
                             resolver=resolving_to("127.0.0.1", "127.0.0.1")) == ["127.0.0.1"]


def test_the_check_is_after_dns_a_real_name_of_loopback_is_refused() -> None:
    with pytest.raises(AddressRefused, match="loopback"):
        checked_addresses("localhost", 80, allow_private=False)


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def failing(host: str, port: int) -> Sequence[tuple[Any, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    with pytest.raises(AddressRefused, match="does not resolve"):
        checked_addresses("nowhere.invalid", 443, allow_private=False, resolver=failing)
