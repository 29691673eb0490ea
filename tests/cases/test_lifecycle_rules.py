"""The rules that live in the cases app: who may withdraw, which transitions exist, item status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from takedown.cases import services
from takedown.cases.models import Case, CaseStatus, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.core.errors import Conflict
from takedown.core.models import AuditEvent

pytestmark = pytest.mark.django_db

STAFF = Actor(kind="staff", user_id=None, mfa_verified=True)


def open_case(urls: tuple[str, ...] = ()) -> Case:
    return services.case_open(actor=Actor(kind="survivor"), signature_name="S", urls=list(urls)).case


def test_staff_can_never_make_a_case_withdrawn() -> None:
    case = open_case()
    with pytest.raises(Conflict):
        services.case_set_status(actor=STAFF, case=case, status=CaseStatus.WITHDRAWN)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN


def test_withdrawal_is_the_survivors_or_on_their_recorded_instruction() -> None:
    case = open_case()
    for actor in (STAFF, Actor.system(), Actor(kind="platform")):
        with pytest.raises(Conflict):
            services.case_withdraw_and_delete(actor=actor, case=case)
    assert Case.objects.filter(pk=case.pk).exists()
    services.case_withdraw_and_delete(actor=STAFF, case=case, survivor_instructed=True)
    assert Case.objects.get(pk=case.pk).status == "withdrawn"
    services.case_erase_withdrawn(case_id=case.pk)  # the task started on commit
    assert not Case.objects.filter(pk=case.pk).exists()
    event = AuditEvent.objects.get(action="case.withdrawn", subject_id=str(case.pk))
    assert event.data["by"] == "advocate_on_instruction"


def test_item_status_moves_only_through_its_table() -> None:
    case = open_case(("https://example.com/a",))
    item = ReportedItem.objects.get(case=case)
    item = services.item_check_started(item=item)
    assert item.status == ItemStatus.CHECKING
    now = timezone.now()
    item = services.item_check_recorded(
        actor=Actor.system(), item=item, found=ItemStatus.LIVE, checked_at=now, platform="example.com", check_id=1
    )
    assert item.status == ItemStatus.LIVE and item.platform == "example.com" and item.removed_at is None
    item = services.item_check_recorded(
        actor=Actor.system(), item=item, found=ItemStatus.REMOVED, checked_at=now, platform="", check_id=2
    )
    assert item.status == ItemStatus.REMOVED and item.removed_at == now
    # A removed link whose page is now unreachable stays removed, with its removal date.
    later = now + timedelta(hours=1)
    item = services.item_check_recorded(
        actor=Actor.system(), item=item, found=ItemStatus.UNREACHABLE, checked_at=later, platform="", check_id=3
    )
    assert item.status == ItemStatus.REMOVED and item.removed_at == now
    # Nothing goes back to "reported" or "being checked" once checked.
    with pytest.raises(Conflict):
        services.item_check_recorded(
            actor=Actor.system(), item=item, found=ItemStatus.CHECKING, checked_at=later, platform="", check_id=4
        )
    actions = list(
        AuditEvent.objects.filter(subject_id=str(case.pk), action__startswith="item.").values_list("action", flat=True)
    )
    assert actions == ["item.removed"]


def test_a_confirmed_link_stays_live_when_detectors_flag_it_again() -> None:
    case = open_case(("https://example.com/fake",))
    item = ReportedItem.objects.get(case=case)
    now = timezone.now()
    item = services.item_check_recorded(
        actor=Actor.system(), item=item, found=ItemStatus.NEEDS_REVIEW, checked_at=now, platform="", check_id=1
    )
    assert item.status == ItemStatus.NEEDS_REVIEW
    item = services.item_review_decide(actor=STAFF, item=item, confirm=True)
    assert item.status == ItemStatus.LIVE and item.confirmed_at is not None
    item = services.item_check_recorded(
        actor=Actor.system(), item=item, found=ItemStatus.NEEDS_REVIEW, checked_at=now, platform="", check_id=2
    )
    assert item.status == ItemStatus.LIVE
    with pytest.raises(Conflict):
        services.item_review_decide(actor=STAFF, item=item, confirm=False)
