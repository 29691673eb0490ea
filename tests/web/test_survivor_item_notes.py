"""The survivor's list of links says why a check could not read a page fully, in plain words
(matching's `item_check_notes`), instead of a bare "could not be checked"."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from takedown.cases import services
from takedown.cases.models import ItemStatus
from takedown.core.access import Actor
from takedown.matching.models import CheckState, CheckTrigger, ItemCheck, Verdict
from tests.cases.conftest import survivor_case_open

pytestmark = pytest.mark.django_db


def test_a_page_behind_an_age_gate_is_explained_on_the_survivor_s_page(client: Client) -> None:
    opened = survivor_case_open(["https://adult.example/video/5", "https://news.example/a"])
    gated, _plain = opened.case.items.order_by("id")
    now = timezone.now()
    # What a finished check of an age-gated page leaves (tests/matching/test_pages.py runs one for real).
    ItemCheck.objects.create(
        item=gated,
        case=opened.case,
        trigger=CheckTrigger.REPORT,
        state=CheckState.DONE,
        finished_at=now,
        verdict=Verdict.PARTIAL,
        partial_reason="age_gate",
    )
    services.item_check_recorded(
        actor=Actor.system(), item=gated, found=ItemStatus.UNREACHABLE, checked_at=now, platform="", check_id=1
    )
    assert client.post("/case/sign-in/", {"reference": opened.case.reference, "pin": opened.pin}).status_code == 302
    page = client.get("/case/").content.decode()
    # Each row starts with the link as host and path (tests/cases/test_link_status.py).
    rows = {
        where: page.split(f'<td class="link-where">{where}</td>')[1].split("</tr>")[0]
        for where in ("adult.example/video/5", "news.example/a")
    }
    assert (
        "We could only read part of this page: the page asks visitors to confirm their age"
        in rows["adult.example/video/5"]
    )
    assert "We could only read part" not in rows["news.example/a"]
