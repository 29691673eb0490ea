"""HMA-compatible lookups (`/api/v1/m/raw_lookup`, `/api/v1/m/lookup`): HMA's shapes over the bank.

The shapes are those of HMA's matcher (facebook/ThreatExchange, hasher-matcher-actioner,
`OpenMediaMatch/blueprints/matching.py` and `schemas/matching.py`): raw_lookup answers
`{"matches": [bank_content_id, ...]}` or, with `include_distance`, objects with `bank_content_id`
(an integer) and `distance` (text); lookup answers `{bank name: [{bank_content_id, distance}]}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from takedown.cases import services as case_services
from takedown.cases.models import FeedEntry, RegisteredHash
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.matching import bank as banks
from takedown.platforms import services
from tests.platforms.conftest import World, account_for, api_client, consented_case, key_for
from tests.platforms.test_feed_lookup import flip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_banks(settings: Any) -> Iterator[None]:
    settings.PLATFORM_LOOKUP_REFRESH_SECONDS = 3600  # nothing syncs by itself: withdrawals must still be at once
    banks._BANKS.clear()
    yield
    banks._BANKS.clear()


def hashes_of(case_id: int, signal: str) -> RegisteredHash:
    found = RegisteredHash.objects.filter(case_id=case_id, signal=signal)
    return found.get(variant="original") if signal == "pdq" else found.first()  # type: ignore[return-value]


def test_raw_lookup_and_lookup_answer_in_hmas_shapes(world: World) -> None:
    pdq = hashes_of(world.case.pk, "pdq")
    entry = FeedEntry.objects.get(registered_hash=pdq)
    client = api_client(world.x_key)

    raw = client.get("/api/v1/m/raw_lookup", {"signal_type": "pdq", "signal": pdq.value})
    assert raw.status_code == 200 and entry.pk in raw.json()["matches"]
    assert all(isinstance(m, int) for m in raw.json()["matches"])

    near = flip(pdq.value, 10)
    with_distance = client.get(
        "/api/v1/m/raw_lookup", {"signal_type": "pdq", "signal": near, "include_distance": "true"}
    ).json()["matches"]
    mine = next(m for m in with_distance if m["bank_content_id"] == entry.pk)
    assert mine["distance"] == "10" and mine["hash_id"] == entry.public_id and mine["case_token"].startswith("ct_")

    by_bank = client.get("/api/v1/m/lookup", {"signal_type": "pdq", "signal": near, "seed": "7"}).json()
    assert set(by_bank) == {"TAKEDOWN"} and entry.pk in {m["bank_content_id"] for m in by_bank["TAKEDOWN"]}
    assert {"bank_content_id", "distance"} <= set(by_bank["TAKEDOWN"][0])
    # HMA's exact MD5 type (and the extension's photo_md5) reach the feed's md5 hashes.
    md5 = hashes_of(world.case.pk, "md5")
    for signal_type in ("video_md5", "photo_md5"):
        exact = client.get("/api/v1/m/lookup", {"signal_type": signal_type, "signal": md5.value}).json()
        assert exact["TAKEDOWN"][0]["distance"] == "0"
    # Nothing near, another bank, or a case that did not consent: no match, in HMA's empty shapes.
    assert client.get("/api/v1/m/lookup", {"signal_type": "pdq", "signal": flip(pdq.value, 80)}).json() == {}
    assert client.get("/api/v1/m/lookup", {"signal_type": "pdq", "signal": pdq.value, "banks": "OTHER"}).json() == {}
    assert client.get(
        "/api/v1/m/raw_lookup", {"signal_type": "pdq", "signal": pdq.value, "banks": "A,TAKEDOWN"}
    ).json()["matches"]
    private = consented_case(3, consent=False)
    assert client.get(
        "/api/v1/m/raw_lookup", {"signal_type": "pdq", "signal": hashes_of(private.pk, "pdq").value}
    ).json() == {"matches": []}
    # Each call is audited like the rest of the API.
    assert AuditEvent.objects.filter(action="api.called", data__route="api_v1:hma_lookup").exists()


def test_a_withdrawn_hash_is_not_answered_at_once(world: World) -> None:
    pdq = hashes_of(world.case.pk, "pdq")
    client = api_client(world.x_key)
    assert client.get("/api/v1/m/raw_lookup", {"signal_type": "pdq", "signal": pdq.value}).json()["matches"]
    case_services.case_withdraw_and_delete(actor=Actor(kind="survivor"), case=world.case)
    assert client.get("/api/v1/m/raw_lookup", {"signal_type": "pdq", "signal": pdq.value}).json() == {"matches": []}
    assert client.get("/api/v1/m/lookup", {"signal_type": "pdq", "signal": pdq.value}).json() == {}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"signal_type": "pdq", "signal": "xyz"}, "invalid"),
        ({"signal_type": "pdq", "signal": "0" * 16}, "invalid_hash"),
        ({"signal_type": "trend_query", "signal": "abc"}, "invalid"),
        ({"signal_type": "pdq"}, "invalid"),
        ({"url": "https://example.org/a.jpg"}, "url_not_supported"),
        ({"signal_type": "pdq", "signal": "0" * 64, "include_distance": "perhaps"}, "invalid"),
        ({"signal_type": "pdq", "signal": "0" * 64, "colour": "red"}, "unknown_parameter"),
    ],
)
def test_bad_queries_get_a_clear_400(world: World, query: dict[str, str], code: str) -> None:
    response = api_client(world.x_key).get("/api/v1/m/raw_lookup", query)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code


def test_the_hma_endpoints_are_authorised_like_the_lookup(world: World) -> None:
    pdq = hashes_of(world.case.pk, "pdq").value
    query = {"signal_type": "pdq", "signal": pdq}
    assert api_client(None).get("/api/v1/m/lookup", query).status_code == 401
    assert api_client("tdk_live_nope.nope").get("/api/v1/m/lookup", query).status_code == 401
    notices_only = key_for(world.x, ["notices"])
    assert api_client(notices_only).get("/api/v1/m/lookup", query).status_code == 403
    unvetted = account_for("unvetted-platform", vetted=False)
    refused = api_client(key_for(unvetted, ["notices"])).get("/api/v1/m/raw_lookup", query)
    assert refused.status_code == 403
    services.platform_account_set_vetted(actor=Actor.system(), account=world.y, is_vetted=False)
    refused = api_client(world.y_key).get("/api/v1/m/raw_lookup", query)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_vetted"
