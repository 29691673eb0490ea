"""The address policy: every non-public address is refused, with a category that says why."""

from __future__ import annotations

import ipaddress

import pytest

from takedown.fetching import check_address

FORBIDDEN = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.0.1", "private"),
    ("192.168.255.255", "private"),
    ("100.64.0.1", "shared"),
    ("100.127.255.254", "shared"),
    ("169.254.1.1", "link_local"),
    ("169.254.169.254", "cloud_metadata"),
    ("169.254.170.2", "cloud_metadata"),
    ("100.100.100.200", "cloud_metadata"),
    ("168.63.129.16", "cloud_metadata"),
    ("fd00:ec2::254", "cloud_metadata"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.0.8", "reserved"),
    ("192.0.2.10", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.99", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("fc00::1", "unique_local"),
    ("fdff:ffff::1", "unique_local"),
    ("fe80::1", "link_local"),
    ("febf::1", "link_local"),
    ("fec0::1", "site_local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("100::1", "reserved"),
    ("5f00::1", "reserved"),
    ("::ffff:127.0.0.1", "ipv4_mapped"),
    ("::ffff:7f00:1", "ipv4_mapped"),
    ("::ffff:169.254.169.254", "ipv4_mapped"),
    ("::ffff:8.8.8.8", "ipv4_mapped"),
    ("::127.0.0.1", "ipv4_compatible"),
    ("::10.0.0.1", "ipv4_compatible"),
    ("2002:7f00:1::", "6to4"),
    ("2002:a9fe:a9fe::1", "6to4"),
    ("2002:808:808::1", "6to4"),
    ("64:ff9b::a00:1", "nat64"),
    ("64:ff9b::7f00:1", "nat64"),
    ("64:ff9b::a9fe:a9fe", "nat64"),
    ("64:ff9b:1::808:808", "nat64"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"),
    ("2001:10::1", "reserved"),
]

ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "151.101.1.140", "2606:4700:4700::1111", "64:ff9b::808:808"]


@pytest.mark.parametrize(("text", "category"), FORBIDDEN)
def test_forbidden_addresses_are_refused_with_their_category(text, category):
    verdict = check_address(ipaddress.ip_address(text))
    assert not verdict.allowed
    assert verdict.category == category


@pytest.mark.parametrize("text", ALLOWED)
def test_public_addresses_are_allowed(text):
    assert check_address(ipaddress.ip_address(text)).allowed


@pytest.mark.parametrize("text", ["127.0.0.1", "127.8.9.10", "::1"])
def test_allow_loopback_admits_loopback(text):
    assert check_address(ipaddress.ip_address(text), allow_loopback=True).allowed


@pytest.mark.parametrize(
    "text",
    [
        "::ffff:127.0.0.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
        "::127.0.0.1",
        "0.0.0.0",
        "::",
        "10.0.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "fc00::1",
        "100.64.0.1",
    ],
)
def test_allow_loopback_admits_nothing_else(text):
    assert not check_address(ipaddress.ip_address(text), allow_loopback=True).allowed


def test_embedded_address_is_named_in_the_detail():
    verdict = check_address(ipaddress.ip_address("2002:a9fe:a9fe::1"))
    assert "169.254.169.254" in verdict.detail
    assert "cloud_metadata" in verdict.detail
