"""Registrable domains from the bundled Public Suffix List, offline."""

from __future__ import annotations

import subprocess
import sys

import pytest

from takedown.fetching import registrable_domain


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", "example.com"),
        ("cdn.images.example.com", "example.com"),
        ("cdn.images.example.co.uk", "example.co.uk"),
        ("WWW.Example.COM.", "example.com"),
        ("alice.github.io", "alice.github.io"),
        ("www.bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("a.b.c.kawasaki.jp", "b.c.kawasaki.jp"),
        ("city.kawasaki.jp", "city.kawasaki.jp"),
        ("co.uk", None),
        ("com", None),
        ("github.io", None),
        ("media.test", "media.test"),
        ("93.184.216.34", "93.184.216.34"),
        ("2606:4700::1111", "2606:4700::1111"),
        ("[2606:4700:0::1111]", "2606:4700::1111"),
    ],
)
def test_registrable_domain(host, expected):
    assert registrable_domain(host) == expected


def test_icann_only_mode():
    assert registrable_domain("alice.github.io", include_private=False) == "github.io"
    assert registrable_domain("shop.blogspot.com", include_private=False) == "blogspot.com"


@pytest.mark.parametrize("host", ["", "exa mple.com", "user@example.com", "example.com/path", "a..b"])
def test_invalid_hosts(host):
    with pytest.raises(ValueError, match="host"):
        registrable_domain(host)


def test_works_without_network():
    """Run in a fresh interpreter where every socket operation fails: the list must be bundled."""
    code = """
import socket
def refuse(*args, **kwargs):
    raise AssertionError("network access attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from takedown.fetching import registrable_domain
assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
