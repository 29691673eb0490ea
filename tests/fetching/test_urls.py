"""URL parsing: one strict reading, every spelling of an address checked as that address."""

from __future__ import annotations

import ipaddress

import pytest

from takedown.fetching import FetchError, FetchPolicy, fetch
from takedown.fetching.urls import parse_ipv4_loose, parse_target
from tests.fetching.conftest import local_policy
from tests.fetching.servers import MapResolver


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("127.0.0.1.", "127.0.0.1"),
    ],
)
def test_loose_ipv4_spellings(host, expected):
    assert parse_ipv4_loose(host) == ipaddress.IPv4Address(expected)


@pytest.mark.parametrize(
    "host", ["256.1.1.1", "1.2.3.4.5", "08.1.1.1", "0x1g.1", "1_0.0.0.1", "-1.0.0.1", "4294967296"]
)
def test_invalid_numeric_hosts_are_not_addresses(host):
    assert parse_ipv4_loose(host) is None


NUMERIC_LOOPBACK_URLS = [
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://10.1/",
    "http://0x7f000001/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::a00:1]/",
    "http://[::127.0.0.1]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://[fc00::1]/",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1]/",
    "https://10.0.0.1/",
]


@pytest.mark.parametrize("url", NUMERIC_LOOPBACK_URLS)
def test_address_literals_in_every_notation_are_refused_without_dns_or_connection(url, connections, no_system_dns):
    resolver = MapResolver({})
    with pytest.raises(FetchError) as caught:
        fetch(url, local_policy(resolver, allow_loopback=False))
    assert caught.value.reason == "forbidden_address"
    assert resolver.calls == []
    assert connections == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x.jpg",
        "gopher://127.0.0.1:6379/_INFO",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "dict://127.0.0.1:11211/stat",
        "ws://example.com/",
        "example.com/image.jpg",
        "//example.com/image.jpg",
        "HTTPX://example.com/",
    ],
)
def test_non_http_schemes_are_refused(url, connections):
    with pytest.raises(FetchError) as caught:
        fetch(url, local_policy(MapResolver({})))
    assert caught.value.reason == "bad_scheme"
    assert connections == []


@pytest.mark.parametrize(
    "url",
    [
        "http://good.example@127.0.0.1/",
        "http://user:pass@media.test/",
        "http://a\\@127.0.0.1/",
        "https://media.test:443@10.0.0.1/",
        "http://%40@127.0.0.1/",
    ],
)
def test_userinfo_is_refused(url, connections):
    resolver = MapResolver({"media.test": ["127.0.0.1"], "good.example": ["127.0.0.1"]})
    with pytest.raises(FetchError) as caught:
        fetch(url, local_policy(resolver))
    assert caught.value.reason == "userinfo"
    assert resolver.calls == []
    assert connections == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://media.test:22/", "bad_port"),
        ("http://media.test:6379/", "bad_port"),
        ("http://media.test:0/", "bad_port"),
        ("http://media.test:99999/", "bad_url"),
        ("http://media.test:8o/", "bad_url"),
        ("http://exa mple.com/", "bad_url"),
        ("http://example.com/\x00", "bad_url"),
        ("http://[::1/", "bad_url"),
        ("http://[fe80::1%25eth0]/", "bad_url"),
        ("http:///only/a/path", "bad_url"),
        ("http:example.com", "bad_url"),
        ("http://1.2.3.4.5/", "bad_url"),
        ("http://256.0.0.1/", "bad_url"),
        ("http://exa_mple..com/", "bad_url"),
        ("http://localhost/", "forbidden_host"),
        ("http://LOCALHOST./", "forbidden_host"),
        ("http://app.localhost/", "forbidden_host"),
        ("http://metadata.google.internal/computeMetadata/v1/", "forbidden_host"),
        ("http://printer.local/", "forbidden_host"),
        ("http://intranet/", "forbidden_host"),
        ("http://router.home.arpa/", "forbidden_host"),
    ],
)
def test_malformed_and_internal_urls_are_refused(url, reason, connections):
    resolver = MapResolver({"media.test": ["127.0.0.1"]})
    with pytest.raises(FetchError) as caught:
        fetch(url, FetchPolicy(resolver=resolver))  # production limits: the usual ports only
    assert caught.value.reason == reason, caught.value
    assert resolver.calls == []
    assert connections == []


def test_targets_are_normalised():
    target = parse_target("HTTPS://Bücher.Example/a b?q=1#frag".replace(" ", "%20"), allowed_ports=None)
    assert target.host == "xn--bcher-kva.example"
    assert target.url == "https://xn--bcher-kva.example/a%20b?q=1"
    assert target.port == 443
    assert target.host_header == "xn--bcher-kva.example"
    ipv6 = parse_target("http://[2606:4700:4700:0::1111]:8080", allowed_ports=None)
    assert ipv6.host == "2606:4700:4700::1111"
    assert ipv6.host_header == "[2606:4700:4700::1111]:8080"
    assert ipv6.url == "http://[2606:4700:4700::1111]:8080/"


def test_allowed_ports_none_admits_any_port():
    assert parse_target("http://media.test:6379/", allowed_ports=None).port == 6379
