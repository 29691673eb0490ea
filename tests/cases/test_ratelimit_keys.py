"""Rate-limit counters live in Redis under keyed digests: a dump of the cache names no case
reference and no network address (issue 14, defect 7)."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from django.test import Client

from takedown.core.ratelimit import attempt_record, rate_limit_cache_key
from tests.cases.test_survivor_pages import open_case

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.77"


def cache_keys() -> list[str]:
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return [key.decode() for key in client.scan_iter(f"{prefix}:*", count=1000)]


def test_pin_and_opening_counters_name_no_reference_and_no_address() -> None:
    survivor = Client(REMOTE_ADDR=ADDRESS)
    reference, pin = open_case(survivor)
    attacker = Client(REMOTE_ADDR=ADDRESS)
    wrong = "00000000" if pin != "00000000" else "11111111"
    assert attacker.post("/case/sign-in/", {"reference": reference, "pin": wrong}).status_code == 404
    keys = cache_keys()
    assert any(":rl:" in key for key in keys)  # the counters were written
    dump = " ".join(keys)
    assert reference not in dump and reference.replace("-", "") not in dump
    assert ADDRESS not in dump


def test_staff_sign_in_counters_name_no_address() -> None:
    attacker = Client(REMOTE_ADDR=ADDRESS)
    response = attacker.post("/accounts/login/", {"login": "nobody@example.org", "password": "wrong password"})
    assert response.status_code == 200
    keys = cache_keys()
    assert any("allauth" in key for key in keys)  # allauth's counters were written
    dump = " ".join(keys)
    assert ADDRESS not in dump and "nobody@example.org" not in dump


def test_counter_keys_are_keyed_by_the_secret(settings) -> None:  # type: ignore[no-untyped-def]
    attempt_record("pin:ip:198.51.100.1", window_seconds=60)
    first = rate_limit_cache_key("pin:ip:198.51.100.1")
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert rate_limit_cache_key("pin:ip:198.51.100.1") != first
