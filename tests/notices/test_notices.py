"""Drafting, rendering, validating, approving and sending notices; the frozen copy; deadlines."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from pytest_django import Settings

from takedown.cases import services as case_services
from takedown.cases.models import Case, ContactPreference, RegisteredHash, ReportedItem
from takedown.core.access import Actor
from takedown.core.errors import Conflict, InvalidInput
from takedown.core.models import AuditEvent
from takedown.matching.models import CheckState, CheckTrigger, FoundMedium, ItemCheck, Verdict
from takedown.notices.models import ContactKind, Notice, NoticeStatus
from takedown.notices.rendering import notice_pdf, relay_token, render_notice
from takedown.notices.services import (
    notice_approve,
    notice_contact_choose,
    notice_draft,
    notice_edit,
    notice_mark_ready,
    notice_mark_sent,
    notice_record_reply,
)
from takedown.notices.validation import notice_validate
from takedown.organizations.models import Organization
from takedown.registry import bases as b
from takedown.registry.models import ContentKind
from tests.cases.conftest import bundle_text, shared_photo
from tests.notices.conftest import BR_VERIFICATION, open_case, webhook_platform

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", user_id=None, organization_ids=frozenset(), mfa_verified=True)
ORG_EMAIL = "notices@helpline.example.org"


@pytest.fixture
def org(org_a: Organization) -> Organization:
    org_a.notice_contact_email = ORG_EMAIL
    org_a.save()
    return org_a


def draft(case: Case, basis: str | None = None) -> Notice:
    return notice_draft(actor=STAFF, case=case, items=list(case.items.all()), basis_code=basis)


def complete_dmca(notice: Notice) -> Notice:
    return notice_edit(
        actor=STAFF, notice=notice, details="", dmca_work="A photo Alex Example took in 2024", dmca_acknowledged=True
    )


def lines(value: str) -> list[str]:
    return [line for line in value.splitlines() if line.strip()]


@pytest.mark.parametrize("code", list(b.BASES))
def test_every_basis_renders_every_required_element_in_text_html_and_json(org: Organization, code: str) -> None:
    case = open_case(
        organization=org,
        jurisdictions=["US", "EU", "UK", "AU", "IN", "BR"],
        urls=["https://x.com/someone/status/1", "https://x.com/someone/status/2"],
    )
    notice = notice_draft(actor=STAFF, case=case, items=list(case.items.all()), basis_code=code, member_state="DE")
    if code == b.US_DMCA:
        notice = complete_dmca(notice)
    if code == b.BR_MARCO_CIVIL:
        notice = notice_edit(actor=STAFF, notice=notice, details="", requester_verification=BR_VERIFICATION)
    assert notice.basis == code and notice.platform.slug == "x"
    assert notice_validate(notice) == []
    rendered = render_notice(notice)
    assert rendered.json["format"] == "takedown-notice" and rendered.json["basis"]["code"] == code
    for element in b.BASES[code].required_elements:
        value = rendered.json["elements"][element]
        assert value, element
        for line in lines(value):
            assert line in rendered.text, (element, line)
            assert html.escape(line) in rendered.html, (element, line)
    assert "https://x.com/someone/status/2" in rendered.text
    assert rendered.html.startswith("<!doctype html>")
    # What every notice carries (notices-review.md "What reviewers need"), and what none does.
    text = rendered.text
    opening = (
        "Imagem íntima não consensual de pessoa adulta, real ou gerada por IA"
        if code == b.BR_MARCO_CIVIL
        else "Non-consensual intimate image of an adult, real or AI-generated: please remove globally"
    )
    assert text.startswith(opening)
    assert notice.reference in text and re.search(r"(Date|Data): \d{1,2} ", text)
    assert ("Declaração de não consentimento" if code == b.BR_MARCO_CIVIL else "Statement of non-consent") in text
    assert re.search(r"Direct link|Link direto", text)
    assert case.reference not in rendered.text + rendered.html + str(rendered.json)
    assert not re.search(r"notice \d", text)  # no sequence number


def test_the_notice_language_does_not_follow_the_page(org: Organization, settings: Settings) -> None:
    from django.utils import translation

    notice = draft(open_case(organization=org))
    with translation.override("es"):
        text = render_notice(notice).text
    assert "This is a removal request under Section 3 of the TAKE IT DOWN Act" in text


def test_digital_forgery_is_named_as_such(org: Organization) -> None:
    notice = draft(open_case(organization=org, content_kind=ContentKind.DIGITAL_FORGERY))
    text = render_notice(notice).text
    assert "It is a digital forgery within the meaning of the Act" in text


def _record_match(case: Case, item: ReportedItem | None = None) -> str:
    """A finished check of an item (the case's first) with a matching medium; returns the matched file id."""
    item = item or case.items.first()
    assert item is not None
    file_id = RegisteredHash.objects.filter(case=case).values_list("item_id", flat=True).first()
    assert file_id is not None
    now = timezone.now()
    check = ItemCheck.objects.create(
        item=item,
        case=case,
        trigger=CheckTrigger.REPORT,
        state=CheckState.DONE,
        requested_url=item.url,
        fetched_at=now,
        finished_at=now,
        status_code=200,
        sha256="a" * 64,
        verdict=Verdict.MATCH,
        verdict_text="near-identical copy: PDQ distance 8 to registered file 1",
    )
    FoundMedium.objects.create(
        item_check=check,
        url=item.url + "/img.jpg",
        sha256="b" * 64,
        kind="image",
        matched=True,
        matched_item_id=file_id,
    )
    return file_id


@pytest.mark.parametrize("consent", [True, False])
def test_hashes_go_only_through_the_api_with_consent_and_never_in_text(
    org: Organization, consent: bool, settings: Settings
) -> None:
    settings.FETCH_ALLOW_LOOPBACK = True
    webhook_platform("http://127.0.0.1:9/hook", "secret")
    case = open_case(
        organization=org,
        jurisdictions=["EU"],
        consent_share_hashes=consent,
        bundle=bundle_text(shared_photo(1)),
        urls=["https://hashmatch.example/v/1", "https://x.com/a/status/1"],
    )
    api_item, x_item = case.items.get(host="hashmatch.example"), case.items.get(host="x.com")
    file_id = _record_match(case, api_item)
    _record_match(case, x_item)
    pdq = RegisteredHash.objects.get(case=case, item_id=file_id, signal="pdq", variant="original").value
    api = render_notice(notice_draft(actor=STAFF, case=case, items=[api_item], member_state="DE"))
    evidence = api.json["items"][0]["evidence"]
    assert evidence["verdict_text"] == "near-identical copy: PDQ distance 8 to registered file 1"
    assert evidence["page_sha256"] == "a" * 64 and evidence["matched_media_sha256"] == ["b" * 64]
    assert evidence["checked_at"] and evidence["verdict"] == str(Verdict.MATCH.label)
    assert api.json["items"][0]["media"] == [{"url": api_item.url + "/img.jpg", "kind": "image", "time": ""}]
    # The direct link of the matched image, for the reviewer; never a hash value in the text.
    assert f"Image, direct link: {api_item.url}/img.jpg" in api.text and "near-identical copy" in api.text
    assert pdq not in api.text + api.html
    if consent:
        assert {"signal": "pdq", "value": pdq, "file": file_id} in api.json["hashes"]
        assert {h["signal"] for h in api.json["hashes"]} == {"pdq", "phash"}
    else:
        assert api.json["hashes"] == []
        assert pdq not in str(api.json)
    # A web form (a person reads it) never carries them, whatever the consent.
    form = render_notice(notice_draft(actor=STAFF, case=case, items=[x_item], member_state="DE"))
    assert form.json["hashes"] == [] and pdq not in form.text + form.html + str(form.json)


def _missing(notice: Notice) -> set[str]:
    return {m.code for m in notice_validate(notice)}


def test_validation_names_each_missing_element_and_blocks_approval(org_a: Organization, settings: Settings) -> None:
    settings.NOTICES_RELAY_DOMAIN = ""
    case = open_case(organization=org_a, jurisdictions=["US", "EU", "UK", "IN", "BR"])  # org has no notice address
    assert draft(case).basis == "in_it_rules"  # the shortest statutory deadline comes first
    tida = draft(case, "us_take_it_down")
    assert _missing(tida) == {"contact"}
    names = [m.name for m in notice_validate(tida)]
    assert names == ["contact details"]
    with pytest.raises(InvalidInput) as refused:
        notice_approve(actor=STAFF, notice=tida)
    assert "contact details" in refused.value.message
    with pytest.raises(InvalidInput):
        notice_mark_ready(actor=STAFF, notice=tida)
    assert Notice.objects.get(pk=tida.pk).status == NoticeStatus.DRAFT
    assert _missing(draft(case, "eu_dsa")) == {"notifier_name_email", "legal_explanation"}  # no Member State

    settings.NOTICES_RELAY_DOMAIN = "helpline.example.org"
    assert _missing(tida) == set()

    Case.objects.filter(pk=case.pk).update(signature_name="")
    assert _missing(Notice.objects.get(pk=tida.pk)) == {"signature"}

    Case.objects.filter(pk=case.pk).update(signature_name="Alex Example", signed_at=None)
    assert _missing(Notice.objects.get(pk=tida.pk)) == {"good_faith_nonconsent"}
    eu = notice_draft(actor=STAFF, case=case, items=list(case.items.all()), basis_code="eu_dsa", member_state="DE")
    assert _missing(eu) == {"legal_explanation", "good_faith_accuracy", "good_faith_nonconsent"}
    assert _missing(draft(case, "uk_osa")) == {
        "intimate_content_declaration",
        "subject_declaration",
        "good_faith_nonconsent",
    }
    assert _missing(draft(case, "in_it_rules")) == {"subject_declaration", "content_nature", "good_faith_nonconsent"}

    Case.objects.filter(pk=case.pk).update(signed_at=timezone.now())
    tida.items.clear()
    assert _missing(Notice.objects.get(pk=tida.pk)) == {"location"}

    dmca = draft(case, "us_dmca_512")
    # A copyright notice gives the organisation's own contact, never a relay (it files as agent).
    assert _missing(dmca) == {"copyrighted_work", "good_faith_unauthorised", "accuracy_perjury", "contact"}
    Organization.objects.filter(pk=org_a.pk).update(notice_contact_email=ORG_EMAIL)
    assert _missing(complete_dmca(Notice.objects.get(pk=dmca.pk))) == set()


def test_a_platform_template_that_drops_an_element_fails_validation(
    org: Organization, settings: Settings, tmp_path: Path
) -> None:
    override = tmp_path / "notices" / "platforms" / "x"
    override.mkdir(parents=True)
    (override / "us_take_it_down.txt").write_text("Please remove {% for i in items %}{{ i.url }} {% endfor %}")
    (override / "us_take_it_down.html").write_text("<p>Please remove</p>")
    templates = [dict(t) for t in settings.TEMPLATES]
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    notice = draft(open_case(organization=org))
    assert render_notice(notice).text.startswith("Please remove https://x.com/")
    assert _missing(notice) == {"signature", "good_faith_nonconsent", "contact"}


def test_the_survivor_s_contact_never_appears_by_default_only_after_the_per_notice_choice(
    org: Organization, settings: Settings
) -> None:
    settings.NOTICES_RELAY_DOMAIN = "helpline.example.org"
    email = "alex@example.com"
    case = open_case(organization=org, contact_preference=ContactPreference.EMAIL, contact_email=email)
    notice = draft(case)
    # The survivor chose to be contacted by email: that is not a choice to give it to X.
    rendered = render_notice(notice)
    assert email not in rendered.text + rendered.html + str(rendered.json)
    assert ORG_EMAIL in rendered.text and rendered.json["contact"] == {"email": ORG_EMAIL, "kind": "organization"}

    # Only the survivor can choose, for this notice, after the page warned them.
    with pytest.raises(Conflict):
        notice_contact_choose(actor=STAFF, notice=notice, use_own_email=True)
    survivor = Actor(kind="survivor", case_id=case.pk)
    notice = notice_contact_choose(actor=survivor, notice=notice, use_own_email=True)
    assert notice.use_survivor_contact and notice.survivor_contact_chosen_at is not None
    assert AuditEvent.objects.filter(action="notice.contact_chosen", data__own_email=True).count() == 1
    chosen = render_notice(notice)
    assert email in chosen.text and chosen.json["contact"] == {"email": email, "kind": "survivor"}
    notice_approve(actor=STAFF, notice=notice)
    sent = notice_mark_sent(actor=STAFF, notice=notice)
    assert sent.contact_kind == ContactKind.SURVIVOR and sent.contact_email == email

    # The choice is per notice: the next one gives the organisation's address again.
    Notice.objects.filter(pk=notice.pk).update(status=NoticeStatus.REJECTED)
    other = draft(Case.objects.get(pk=case.pk))
    assert email not in str(render_notice(other).json)
    # If the survivor stops email contact, their email cannot be chosen.
    case_services.case_update_contact(actor=survivor, case=case, contact_preference="none")
    with pytest.raises(InvalidInput):
        notice_contact_choose(actor=survivor, notice=Notice.objects.get(pk=other.pk), use_own_email=True)

    Organization.objects.filter(pk=org.pk).update(notice_contact_email="")
    relay = render_notice(Notice.objects.get(pk=other.pk))
    address = f"case-{relay_token(case)}@relay.helpline.example.org"
    assert address in relay.text and email not in relay.text and ORG_EMAIL not in relay.text
    assert case.reference not in relay.text and case.reference.lower() not in relay.text


def test_copyright_notices_are_filed_by_the_organisation_as_agent(org: Organization) -> None:
    Organization.objects.filter(pk=org.pk).update(
        notice_postal_address="1 Example Street\nExample City", notice_phone="+1 555 0100"
    )
    email = "alex@example.com"
    case = open_case(organization=org, contact_preference=ContactPreference.EMAIL, contact_email=email)
    notice = notice_edit(
        actor=STAFF,
        notice=draft(case, "us_dmca_512"),
        details="",
        dmca_work="A photo the person depicted took of themself in 2024",
        dmca_acknowledged=True,
    )
    with pytest.raises(Conflict):
        notice_contact_choose(actor=Actor(kind="survivor", case_id=case.pk), notice=notice, use_own_email=True)
    rendered = render_notice(notice)
    assert "Alex Example" not in rendered.text and email not in rendered.text + str(rendered.json)
    assert f"Signature: {org.name}, as agent authorised to act for the copyright owner" in rendered.text
    assert f"Contact: {ORG_EMAIL}; 1 Example Street, Example City; +1 555 0100" in rendered.text
    no_org = open_case(organization=None)
    assert {m.code for m in notice_validate(draft(no_org, "us_dmca_512"))} >= {"signature", "contact"}


def test_representative_signature_states_the_authorisation(org: Organization) -> None:
    case = open_case(
        organization=org,
        signature_name="Sam Advocate",
        representative={"advocate_user_id": None, "authorisation": "signed form of 3 May", "survivor_name": "Alex"},
    )
    text = render_notice(draft(case)).text
    assert "Sam Advocate, authorised person acting on behalf of the person depicted" in text
    assert "signed form of 3 May" in text
    assert "Alex Example" not in text


def test_sent_content_is_frozen_and_deadlines_follow(org: Organization) -> None:
    case = open_case(organization=org, urls=["https://x.com/a/status/1", "https://www.reddit.com/r/x/1"])
    x_item = case.items.get(host="x.com")
    notice = notice_draft(actor=STAFF, case=case, items=[x_item])
    policy = notice_draft(
        actor=STAFF, case=case, items=[case.items.get(host="www.reddit.com")], basis_code="platform_policy"
    )
    notice_approve(actor=STAFF, notice=notice)
    sent_at = timezone.now().replace(microsecond=0)
    sent = notice_mark_sent(actor=STAFF, notice=notice, sent_at=sent_at, platform_ticket="X-123")
    assert sent.status == NoticeStatus.SENT and sent.due_at == sent_at + timedelta(hours=48)
    frozen = render_notice(sent)
    case.refresh_from_db()
    assert case.next_deadline_at == sent.due_at and case.status == "in_progress"

    # The case changes afterwards: the sent notice does not.
    Case.objects.filter(pk=case.pk).update(signature_name="Someone Else", content_kind=ContentKind.DIGITAL_FORGERY)
    Organization.objects.filter(pk=org.pk).update(notice_contact_email="changed@example.org")
    again = Notice.objects.get(pk=notice.pk)
    assert render_notice(again) == frozen
    assert "Alex Example" in again.content_text and "Someone Else" not in again.content_text  # type: ignore[operator]
    with pytest.raises(Conflict):
        notice_edit(actor=STAFF, notice=again, details="more")

    # Approval vouches for the elements: a change before sending needs approval again.
    notice_approve(actor=STAFF, notice=policy)
    Organization.objects.filter(pk=org.pk).update(notice_contact_email="other@example.org")
    with pytest.raises(Conflict):
        notice_mark_sent(actor=STAFF, notice=policy)
    assert Notice.objects.get(pk=policy.pk).status == NoticeStatus.APPROVED

    with pytest.raises(InvalidInput):
        notice_record_reply(actor=STAFF, notice=again, outcome=NoticeStatus.REJECTED)
    notice_record_reply(actor=STAFF, notice=again, outcome=NoticeStatus.ACKNOWLEDGED, platform_ticket="X-124")
    case.refresh_from_db()
    assert case.next_deadline_at == sent.due_at
    done = notice_record_reply(actor=STAFF, notice=again, outcome=NoticeStatus.REMOVED)
    assert done.acknowledged_at is not None and done.platform_ticket == "X-124"
    case.refresh_from_db()
    assert case.next_deadline_at is None
    with pytest.raises(Conflict):
        notice_record_reply(actor=STAFF, notice=done, outcome=NoticeStatus.REJECTED, reason="no")


def test_drafting_refuses_mixed_and_unknown_platforms(org: Organization) -> None:
    case = open_case(organization=org, urls=["https://x.com/a/status/1", "https://www.reddit.com/r/x/1"])
    with pytest.raises(InvalidInput, match="one platform only"):
        draft(case)
    unknown = open_case(organization=org, urls=["https://unknown.example.net/p/1"])
    with pytest.raises(InvalidInput, match=r"unknown\.example\.net"):
        draft(unknown)
    with pytest.raises(InvalidInput, match="does not apply"):
        draft(open_case(organization=org, jurisdictions=["UK"]), "us_take_it_down")
    assert not Notice.objects.exists()


def test_pdf_renders() -> None:
    pdf = notice_pdf("<!doctype html><html><body><h1>Notice</h1><p>Alex Example</p></body></html>")
    assert pdf is not None and pdf.startswith(b"%PDF")
