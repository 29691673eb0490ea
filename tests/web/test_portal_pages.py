"""The platform portal: each notice as sent (links, text, law by name, deadline) and the same
acknowledge and resolve as the API, with its rules; refused answers change nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.matching.models import CheckTrigger, ItemCheck
from takedown.notices.models import Notice, NoticeStatus
from takedown.platforms import services
from takedown.platforms.models import ApiKey
from tests.cases.conftest import staff_client
from tests.platforms.conftest import (  # noqa: F401 - fixtures
    World,
    helpline,
    key_for,
    org_a,
    org_b,
    registry,
    world,
)

pytestmark = pytest.mark.django_db


def portal(key: str) -> Client:
    client = Client()
    assert client.post("/platform/sign-in/", {"api_key": key}).status_code == 302
    return client


def test_the_queue_and_a_notice_show_what_was_sent(world: World) -> None:  # noqa: F811 - the world fixture
    client = portal(world.x_key)
    queue = client.get("/platform/").content.decode()
    notice = world.notice
    assert notice.reference in queue and f"/platform/notices/{notice.pk}/" in queue
    assert "TAKE IT DOWN Act" in queue and "us_take_it_down" not in queue
    assert "/api/v1/docs/" in queue
    page = client.get(f"/platform/notices/{notice.pk}/").content.decode()
    assert "https://x.com/someone/status/1" in page
    assert notice.content_text and notice.content_text.splitlines()[0] in page
    assert "TAKE IT DOWN Act" in page and "/api/v1/docs/" in page
    assert notice.due_at is not None and notice.due_at.strftime("%Y-%m-%d %H:%M") in page
    assert "Acknowledge" in page and "Record the decision" in page


def test_acknowledge_then_resolve_removed_through_the_portal(world: World) -> None:  # noqa: F811 - the world fixture
    client = portal(world.x_key)
    url = f"/platform/notices/{world.notice.pk}/"
    refused = client.post(url, {"action": "acknowledge", "ticket_id": ""})
    assert refused.status_code == 400
    assert Notice.objects.get(pk=world.notice.pk).status == NoticeStatus.SENT
    assert client.post(url, {"action": "acknowledge", "ticket_id": "X-123"}).status_code == 302
    notice = Notice.objects.get(pk=world.notice.pk)
    assert (notice.status, notice.platform_ticket) == (NoticeStatus.ACKNOWLEDGED, "X-123")
    # A question reaches the advocate: on the notice, and as an urgent need on the caseload.
    asked = client.post(url, {"action": "resolve", "outcome": "needs_info", "text": "Which image is it?"})
    assert asked.status_code == 302
    advocate = staff_client(world.case.organization, "adv@helpline.example")
    page = advocate.get(f"/staff/cases/{world.case.pk}/notices/{world.notice.pk}/").content.decode()
    assert "Which image is it?" in section_after(page, "platform-answer")
    assert "A platform asks for more information" in advocate.get("/staff/cases/").content.decode()
    # Rejecting needs the reason, as in the API; nothing changes without it.
    no_reason = client.post(url, {"action": "resolve", "outcome": "rejected", "text": " "})
    assert no_reason.status_code == 400 and "reason" in no_reason.content.decode()
    assert Notice.objects.get(pk=world.notice.pk).status == NoticeStatus.NEEDS_INFO
    assert client.post(url, {"action": "resolve", "outcome": "removed"}).status_code == 302
    assert Notice.objects.get(pk=world.notice.pk).status == NoticeStatus.REMOVED
    # Not taken on the platform's word: the links are re-checked, as for an API answer.
    assert ItemCheck.objects.filter(item__case=world.case, trigger=CheckTrigger.RECHECK).exists()
    reply = AuditEvent.objects.filter(action="notice.reply_recorded", subject_id=str(world.case.pk)).last()
    assert reply is not None and reply.actor_kind == "platform"
    # An answered notice cannot be answered again.
    again = client.post(url, {"action": "resolve", "outcome": "rejected", "text": "changed our mind"})
    assert again.status_code == 409
    assert Notice.objects.get(pk=world.notice.pk).status == NoticeStatus.REMOVED


def test_another_platform_and_a_revoked_key_reach_nothing(world: World) -> None:  # noqa: F811 - the world fixture
    url = f"/platform/notices/{world.notice.pk}/"
    other = portal(world.y_key)
    assert other.get(url).status_code == 404
    assert other.post(url, {"action": "acknowledge", "ticket_id": "Y-1"}).status_code == 404
    assert Notice.objects.get(pk=world.notice.pk).status == NoticeStatus.SENT
    assert Client().get(url).status_code == 302  # not signed in: to the sign-in page
    client = portal(world.x_key)
    services.api_key_revoke(actor=Actor.system(), key=ApiKey.objects.get(prefix=world.x_key.split(".")[0]))
    response = client.post(url, {"action": "acknowledge", "ticket_id": "X-1"})
    assert response.status_code == 302 and response["Location"] == "/platform/sign-in/"
    assert Notice.objects.get(pk=world.notice.pk).status == NoticeStatus.SENT
    # A key without the notices scope cannot use the portal at all.
    feed_only = key_for(world.x, ["feed"])
    assert Client().post("/platform/sign-in/", {"api_key": feed_only}).status_code == 400


def section_after(page: str, testid: str) -> str:
    """The text after the element marked data-testid, up to the end of its definition list."""
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</dl>", start)]
