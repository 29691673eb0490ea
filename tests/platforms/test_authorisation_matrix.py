"""Every API endpoint, every kind of refused caller: refused, in the one error shape, and nothing changed.

Callers: no key; a malformed key; a revoked key; a rotated key past its grace period; a key of
the right platform without the endpoint's scope; an un-vetted platform (for feed and lookup); and
another platform (for objects that belong to the first: its notices and webhooks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from takedown.cases.models import FeedEntry
from takedown.core.access import Actor
from takedown.core.errors import InvalidInput
from takedown.core.models import AuditEvent
from takedown.matching.models import ItemCheck
from takedown.notices.models import Notice
from takedown.platforms import services
from takedown.platforms.models import ApiKey, HashFeedback, WebhookDelivery, WebhookSubscription
from tests.platforms.conftest import World, api_client, key_for

pytestmark = pytest.mark.django_db

HOOK_URL = "http://127.0.0.1:9/hook"


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(Notice.objects.values_list("pk", "status", "platform_ticket", "acknowledged_at", "replied_at")),
        sorted(str(n.reply_reason) for n in Notice.objects.all()),
        sorted(HashFeedback.objects.values_list("entry_id", "account_id", "verdict")),
        sorted(WebhookSubscription.objects.values_list("pk", "url", "is_active")),
        WebhookDelivery.objects.count(),
        sorted(FeedEntry.objects.values_list("pk", "change_id", "status", "held_at")),
        ItemCheck.objects.count(),
        sorted(ApiKey.objects.values_list("pk", "revoked_at", "expires_at")),
        # Refused calls are audited (api.called); nothing else may be written.
        AuditEvent.objects.exclude(action="api.called").count(),
    )


# (method, path, body, scope, owned): `owned` endpoints act on the first platform's objects.
ENDPOINTS: list[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]], str, bool]] = [
    ("get", "/api/v1/notices/", lambda _o: {}, "notices", False),
    ("get", "/api/v1/notices/{notice}/", lambda _o: {}, "notices", True),
    ("post", "/api/v1/notices/{notice}/acknowledge/", lambda _o: {"ticket_id": "T-1"}, "notices", True),
    ("post", "/api/v1/notices/{notice}/resolve/", lambda _o: {"outcome": "removed"}, "notices", True),
    ("get", "/api/v1/webhooks/", lambda _o: {}, "notices", False),
    ("post", "/api/v1/webhooks/", lambda _o: {"url": HOOK_URL, "events": ["notice.sent"]}, "notices", False),
    ("delete", "/api/v1/webhooks/{webhook}/", lambda _o: {}, "notices", True),
    ("post", "/api/v1/webhooks/{webhook}/ping/", lambda _o: {}, "notices", True),
    (
        "post",
        "/api/v1/lookup/",
        lambda o: {"hashes": [{"signal": "pdq", "value": o["pdq"]}]},
        "lookup",
        False,
    ),
    ("get", "/api/v1/feed/", lambda _o: {}, "feed", False),
    ("get", "/api/v1/feed/export.txt", lambda _o: {}, "feed", False),
    ("post", "/api/v1/hashes/{hash}/feedback/", lambda _o: {"verdict": "false_positive"}, "feed", False),
]


@pytest.fixture
def setup(world: World, settings: Any) -> dict[str, Any]:
    settings.FETCH_ALLOW_LOOPBACK = True
    hook, _secret = services.webhook_subscribe(caller=_caller(world.x_key), url=HOOK_URL, events=["notice.sent"])
    entry = FeedEntry.objects.filter(case_id=world.case.pk, signal="pdq").first()
    assert entry is not None and entry.value
    return {"notice": world.notice.pk, "webhook": hook.pk, "hash": entry.public_id, "pdq": entry.value}


def _caller(key: str) -> Any:
    from takedown.platforms.access import caller_for_key

    return caller_for_key(key)


def _call(client: Client, method: str, path: str, body: dict[str, Any]) -> Any:
    if method == "get":
        return client.get(path)
    if method == "delete":
        return client.delete(path)
    return client.post(path, body, content_type="application/json")


def _refused_key(world: World, kind: str, scope: str) -> str | None:
    if kind == "no_key":
        return None
    if kind == "malformed":
        return "tdk_live_nothex.short"
    if kind == "wrong_secret":
        prefix = world.x_key.split(".")[0]
        return prefix + "." + "A" * 43
    if kind == "revoked":
        key = key_for(world.x, ["notices", "lookup", "feed"])
        services.api_key_revoke(actor=Actor.system(), key=ApiKey.objects.get(prefix=key.split(".")[0]))
        return key
    if kind == "rotated":
        key = key_for(world.x, ["notices", "lookup", "feed"])
        services.api_key_rotate(actor=Actor.system(), key=ApiKey.objects.get(prefix=key.split(".")[0]), grace_seconds=0)
        return key
    if kind == "missing_scope":
        others = [s for s in ("notices", "lookup", "feed") if s != scope]
        return key_for(world.x, others)
    raise AssertionError(kind)


STATUS = {"no_key": 401, "malformed": 401, "wrong_secret": 401, "revoked": 401, "rotated": 401, "missing_scope": 403}


@pytest.mark.parametrize(("method", "path", "body", "scope", "owned"), ENDPOINTS)
@pytest.mark.parametrize("kind", list(STATUS))
def test_refused_callers_change_nothing(
    world: World, setup: dict[str, Any], kind: str, method: str, path: str, body: Any, scope: str, owned: bool
) -> None:
    key = _refused_key(world, kind, scope)
    before = snapshot()
    response = _call(api_client(key), method, path.format(**setup), body(setup))
    assert response.status_code == STATUS[kind], response.content
    error = response.json()["error"]
    assert set(error) >= {"code", "message"}
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path", "body", "scope", "owned"), [e for e in ENDPOINTS if e[3] != "notices"])
def test_unvetted_platform_is_refused_feed_and_lookup(
    world: World, setup: dict[str, Any], method: str, path: str, body: Any, scope: str, owned: bool
) -> None:
    services.platform_account_set_vetted(actor=Actor.system(), account=world.y, is_vetted=False)
    before = snapshot()
    response = _call(api_client(world.y_key), method, path.format(**setup), body(setup))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_vetted"
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path", "body", "scope", "owned"), [e for e in ENDPOINTS if e[4]])
def test_other_platform_cannot_reach_objects(
    world: World, setup: dict[str, Any], method: str, path: str, body: Any, scope: str, owned: bool
) -> None:
    before = snapshot()
    response = _call(api_client(world.y_key), method, path.format(**setup), body(setup))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot() == before


def test_other_platform_lists_none_of_the_first_ones(world: World, setup: dict[str, Any]) -> None:
    client = api_client(world.y_key)
    assert client.get("/api/v1/notices/").json()["results"] == []
    assert client.get("/api/v1/webhooks/").json() == []


@pytest.mark.parametrize(("method", "path", "body", "scope", "owned"), ENDPOINTS)
def test_the_allowed_caller_gets_through(
    world: World, setup: dict[str, Any], method: str, path: str, body: Any, scope: str, owned: bool
) -> None:
    response = _call(api_client(world.x_key), method, path.format(**setup), body(setup))
    assert response.status_code in {200, 201, 202, 204}, response.content


def test_every_call_is_audited_with_the_key_prefix(world: World, setup: dict[str, Any]) -> None:
    api_client(world.x_key).get("/api/v1/notices/")
    api_client(world.x_key).get("/api/v1/notices/999999/")
    events = list(AuditEvent.objects.filter(action="api.called").order_by("id"))
    assert [e.data["status"] for e in events] == [200, 404]
    assert all(e.data["prefix"] == world.x_key.split(".")[0] and e.actor_kind == "platform" for e in events)


def test_unvetted_platform_cannot_get_feed_or_lookup_keys(world: World) -> None:
    services.platform_account_set_vetted(actor=Actor.system(), account=world.y, is_vetted=False)
    with pytest.raises(InvalidInput):
        services.api_key_create(actor=Actor.system(), account=world.y, scopes=["feed"])
    with pytest.raises(InvalidInput):
        services.api_key_create(actor=Actor.system(), account=world.y, scopes=["notices", "lookup"])
    assert services.api_key_create(actor=Actor.system(), account=world.y, scopes=["notices"]).key.scopes == ["notices"]
