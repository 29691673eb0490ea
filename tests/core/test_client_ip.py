"""takedown.core.http.client_ip: the address every per-address limit counts (issue 14, defect 5)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from takedown.core.http import client_ip

PROXY = "10.0.0.5"


def _ip(count: int, forwarded: str | None, remote: str = PROXY) -> str:
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    with override_settings(TRUSTED_PROXY_COUNT=count):
        return client_ip(request)


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "203.0.113.9", PROXY),  # no trusted proxy: the header is the client's word, ignored
        (1, None, PROXY),  # a proxy that sets no header: its own address, not a free pass
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the forged left part is never read
        (2, "198.51.100.1, 203.0.113.9, 10.0.0.7", "203.0.113.9"),  # CDN, then the load balancer
        (2, "203.0.113.9", "203.0.113.9"),  # came in past the outer proxy: the first recorded hop
        (1, "not-an-address", PROXY),  # a broken proxy: not a fresh key per request
        (1, "203.0.113.9:51234", "203.0.113.9"),
        (1, "[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::"),  # an IPv6 client counts as its /64
        (1, "::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_client_address_from_trusted_proxies(count: int, forwarded: str | None, expected: str) -> None:
    assert _ip(count, forwarded) == expected


def test_ipv6_addresses_in_one_slash_64_are_one_client() -> None:
    assert _ip(0, None, remote="2001:db8:1:2::1") == _ip(0, None, remote="2001:db8:1:2:ffff::9")
    assert _ip(0, None, remote="2001:db8:1:2::1") != _ip(0, None, remote="2001:db8:1:3::1")
