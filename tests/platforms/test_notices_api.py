"""Notices through the API: what a platform sees, and how its answers land on the case."""

from __future__ import annotations

from typing import Any

import pytest

from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.matching.models import CheckTrigger, ItemCheck
from takedown.notices.models import Notice, NoticeStatus
from takedown.platforms import services
from takedown.platforms.models import ApiKey
from tests.platforms.conftest import World, api_client, key_for

pytestmark = pytest.mark.django_db


def timeline(case_id: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(subject_type="case", subject_id=str(case_id))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_the_platform_reads_exactly_the_frozen_sent_content(world: World) -> None:
    client = api_client(world.x_key)
    listed = client.get("/api/v1/notices/").json()
    assert [n["id"] for n in listed["results"]] == [world.notice.pk]
    assert listed["next"] is None
    detail = client.get(f"/api/v1/notices/{world.notice.pk}/").json()
    notice = Notice.objects.get(pk=world.notice.pk)
    assert detail["content"] == notice.content_json
    assert detail["status"] == "sent" and detail["due_at"] is not None
    # Nothing of the case beyond the sent notice: no reference, no case id, no PIN, no hashes table.
    text = str(detail)
    assert world.case.reference not in text
    assert set(detail) == {
        "id",
        "status",
        "basis",
        "sent_at",
        "due_at",
        "acknowledged_at",
        "replied_at",
        "ticket_id",
        "reason",
        "content",
    }


def test_drafts_are_not_the_platforms_yet(world: World) -> None:
    from tests.notices.conftest import approved_notice, open_case

    case = open_case(organization=world.case.organization, urls=("https://x.com/other/status/2",))
    draft = approved_notice(case)
    response = api_client(world.x_key).get(f"/api/v1/notices/{draft.pk}/")
    assert response.status_code == 404


def test_acknowledge_then_resolve_removed_lands_on_the_timeline_and_rechecks(world: World) -> None:
    client = api_client(world.x_key)
    url = f"/api/v1/notices/{world.notice.pk}/"
    ack = client.post(url + "acknowledge/", {"ticket_id": "X-4242"}, content_type="application/json")
    assert ack.status_code == 200 and ack.json()["ticket_id"] == "X-4242" and ack.json()["status"] == "acknowledged"
    checks_before = ItemCheck.objects.filter(case=world.case).count()
    done = client.post(url + "resolve/", {"outcome": "removed"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "removed"
    notice = Notice.objects.get(pk=world.notice.pk)
    assert notice.status == NoticeStatus.REMOVED and notice.platform_ticket == "X-4242"
    # The removal is verified, not believed: a re-check of the notice's link was requested.
    rechecks = ItemCheck.objects.filter(case=world.case, trigger=CheckTrigger.RECHECK)
    assert ItemCheck.objects.filter(case=world.case).count() == checks_before + 1 and rechecks.count() == 1
    events = timeline(world.case.pk)
    assert events.count("notice.reply_recorded") == 2 and "item.check_requested" in events
    replies = AuditEvent.objects.filter(action="notice.reply_recorded", subject_id=str(world.case.pk)).order_by("id")
    assert [e.data["outcome"] for e in replies] == ["acknowledged", "removed"]
    assert all(e.actor_kind == "platform" for e in replies)
    # A finished notice cannot be answered again.
    again = client.post(url + "resolve/", {"outcome": "rejected", "reason": "x"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"outcome": "rejected"}, "reason_required"),
        ({"outcome": "rejected", "reason": "   "}, "reason_required"),
        ({"outcome": "needs_info", "reason": "this is not a question field"}, "question_required"),
        ({"outcome": "deleted"}, "invalid"),
        ({}, "invalid"),
    ],
)
def test_resolving_needs_what_the_outcome_requires(world: World, body: dict[str, Any], code: str) -> None:
    response = api_client(world.x_key).post(
        f"/api/v1/notices/{world.notice.pk}/resolve/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert Notice.objects.get(pk=world.notice.pk).status == NoticeStatus.SENT


def test_rejection_and_question_are_recorded(world: World) -> None:
    client = api_client(world.x_key)
    url = f"/api/v1/notices/{world.notice.pk}/resolve/"
    asked = client.post(url, {"outcome": "needs_info", "question": "Which post?"}, content_type="application/json")
    assert asked.status_code == 200 and asked.json()["reason"] == "Which post?"
    rejected = client.post(url, {"outcome": "rejected", "reason": "Not our service"}, content_type="application/json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert ItemCheck.objects.filter(case=world.case, trigger=CheckTrigger.RECHECK).count() == 0


def test_acknowledge_needs_a_ticket(world: World) -> None:
    response = api_client(world.x_key).post(
        f"/api/v1/notices/{world.notice.pk}/acknowledge/", {"ticket_id": "  "}, content_type="application/json"
    )
    assert response.status_code == 400
    assert Notice.objects.get(pk=world.notice.pk).status == NoticeStatus.SENT


def test_bad_input_is_a_clear_error_not_a_500(world: World) -> None:
    client = api_client(world.x_key)
    url = f"/api/v1/notices/{world.notice.pk}/acknowledge/"
    assert client.post(url, "{not json", content_type="application/json").status_code == 400
    assert client.post(url, "[]", content_type="application/json").status_code == 400
    assert client.get("/api/v1/notices/99999999999999999999999/").status_code == 404
    assert client.get("/api/v1/notices/?status=nope").status_code == 400
    assert client.get("/api/v1/notices/?cursor=garbage").status_code == 404
    assert client.get("/api/v1/nowhere/").json()["error"]["code"] == "not_found"
    assert client.post("/api/v1/lookup/", {"hashes": "x"}, content_type="application/json").status_code == 400
    assert client.get("/api/v1/feed/?cursor=-1").status_code == 400


def test_rate_limit_per_key(world: World) -> None:
    world.x.rate_limit_per_minute = 3
    world.x.save(update_fields=["rate_limit_per_minute"])
    client = api_client(world.x_key)
    statuses = [client.get("/api/v1/notices/").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert client.get("/api/v1/notices/").json()["error"]["code"] == "rate_limited"
    # Another key of the same platform has its own budget.
    assert api_client(key_for(world.x, ["notices"])).get("/api/v1/notices/").status_code == 200


def test_rotation_keeps_the_old_key_for_the_grace_period_and_records_use(world: World) -> None:
    old = ApiKey.objects.get(prefix=world.x_key.split(".")[0])
    issued = services.api_key_rotate(actor=Actor.system(), key=old, grace_seconds=3600)
    assert issued.secret.startswith("tdk_live_") and issued.key.scopes == old.scopes
    assert api_client(world.x_key).get("/api/v1/notices/").status_code == 200
    assert api_client(issued.secret).get("/api/v1/notices/").status_code == 200
    old.refresh_from_db()
    assert old.expires_at is not None and old.replaced_by_id == issued.key.pk and old.last_used_at is not None
    services.api_key_revoke(actor=Actor.system(), key=old)
    assert api_client(world.x_key).get("/api/v1/notices/").status_code == 401
    assert api_client(issued.secret).get("/api/v1/notices/").status_code == 200


def test_keys_are_stored_hashed(world: World) -> None:
    key = ApiKey.objects.get(prefix=world.x_key.split(".")[0])
    secret = world.x_key.split(".")[1]
    assert secret not in key.secret_hash and len(key.secret_hash) == 64
    assert not AuditEvent.objects.filter(data__icontains=secret).exists()
