"""Case services: references, PINs, bundles, links, transitions, withdrawal."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection

from takedown.cases import services
from takedown.cases.models import Case, CaseStatus, RegisteredHash, ReportedItem
from takedown.core.access import Actor
from takedown.core.errors import Conflict, InvalidInput
from takedown.core.models import AuditEvent
from tests.cases.conftest import bundle_text, shared_photo

pytestmark = pytest.mark.django_db
SURVIVOR = Actor(kind="survivor")


def test_reference_is_readable_and_has_80_random_bits() -> None:
    refs = {services.generate_reference() for _ in range(2000)}
    assert len(refs) == 2000
    assert all(re.fullmatch(r"TD-([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", r) for r in refs)
    # 16 symbols of a 32-letter alphabet: 80 bits.
    assert services.REFERENCE_GROUPS * 4 * 5 == 80


def test_reference_normalisation_accepts_what_people_type() -> None:
    assert services.normalize_reference("td 7kq2 m9xh 3rta pv4c") == "TD-7KQ2-M9XH-3RTA-PV4C"
    assert services.normalize_reference("TD-OOOO-IIII-LLLL-0000") == "TD-0000-1111-1111-0000"
    assert services.normalize_reference("TD-123") == ""


def test_open_case_with_real_bundle_and_links() -> None:
    bundle = services.parse_bundle(bundle_text(shared_photo(1), shared_photo(2)))
    opened = services.case_open(
        actor=SURVIVOR,
        signature_name="Alex",
        jurisdictions=["US", "UK"],
        bundle=bundle,
        urls=["https://Example.com/a?utm_source=x#frag", "example.com/a", "http://other.example.org:8080/v"],
        consent_share_hashes=True,
        contact_preference="email",
        contact_email="alex@example.org",
    )
    case = opened.case
    assert re.fullmatch(r"\d{8}", opened.pin)
    assert check_password(opened.pin, case.pin_hash) and opened.pin not in case.pin_hash
    assert RegisteredHash.objects.filter(case=case).values("item_id").distinct().count() == 2
    assert RegisteredHash.objects.filter(case=case, signal="pdq").count() >= 2
    # Two spellings of the same link are one item; the other host is a second item.
    assert sorted(ReportedItem.objects.filter(case=case).values_list("host", flat=True)) == [
        "example.com",
        "other.example.org",
    ]
    assert case.organization is None  # no intake organisation configured in tests
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM cases_registeredhash WHERE case_id = %s LIMIT 1", [case.pk])
        (raw,) = cursor.fetchone()
        cursor.execute("SELECT contact_details, signature_name FROM cases_case WHERE id = %s", [case.pk])
        contact, signature = cursor.fetchone()
    assert raw.startswith("gAAAA") and "alex@example.org" not in contact and "Alex" not in signature
    actions = list(
        AuditEvent.objects.filter(subject_type="case", subject_id=str(case.pk)).values_list("action", flat=True)
    )
    assert actions == ["case.opened", "case.hashes_added", "case.items_reported"]
    # No audit event carries a URL, a hash or a contact detail.
    for event in AuditEvent.objects.filter(subject_id=str(case.pk)):
        assert "example.com/a" not in str(event.data) and "alex@" not in str(event.data)


def test_adding_the_same_bundle_twice_adds_nothing() -> None:
    text = bundle_text(shared_photo(3))
    opened = services.case_open(actor=SURVIVOR, signature_name="A", bundle=services.parse_bundle(text))
    before = RegisteredHash.objects.filter(case=opened.case).count()
    assert services.case_add_bundle(actor=SURVIVOR, case=opened.case, bundle=services.parse_bundle(text)) == 0
    assert RegisteredHash.objects.filter(case=opened.case).count() == before


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        ("not json", "could not be read"),
        (
            '{"format": "takedown-hash-bundle", "version": 9, '
            '"tool": {"name": "takedown-cli", "version": "1"}, "items": []}',
            "version",
        ),
    ],
)
def test_bad_bundle_is_a_clear_error(bundle: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        services.parse_bundle(bundle)


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "ftp://example.com/x", "https://user:pw@example.com/", "https://", "x" * 3000, "localhost"],
)
def test_bad_links_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(InvalidInput):
        services.case_open(actor=SURVIVOR, signature_name="A", urls=[url])
    assert Case.objects.count() == 0  # nothing half-created


def test_transitions_are_checked() -> None:
    case = services.case_open(actor=SURVIVOR, signature_name="A", urls=["https://example.com/x"]).case
    services.case_set_status(actor=Actor.system(), case=case, status=CaseStatus.CLOSED)
    with pytest.raises(Conflict):
        services.case_add_urls(actor=SURVIVOR, case=case, urls=["https://example.com/y"])
    with pytest.raises(Conflict):
        services.case_set_status(actor=Actor.system(), case=case, status=CaseStatus.RESOLVED)
    services.case_set_status(actor=Actor.system(), case=case, status=CaseStatus.OPEN)


def test_withdraw_deletes_hashes_links_and_contact_but_keeps_a_clean_trail() -> None:
    opened = services.case_open(
        actor=SURVIVOR,
        signature_name="A",
        bundle=services.parse_bundle(bundle_text(shared_photo(4))),
        urls=["https://example.com/x"],
        contact_preference="email",
        contact_email="a@example.org",
    )
    case_id = opened.case.pk
    services.case_withdraw_and_delete(actor=SURVIVOR, case=opened.case)
    # At once: withdrawn, its own sensitive fields cleared; the rows go in the task after commit.
    withdrawn_case = Case.objects.get(pk=case_id)
    assert withdrawn_case.status == "withdrawn" and withdrawn_case.contact_details is None
    assert withdrawn_case.signature_name is None
    assert services.case_erase_withdrawn(case_id=case_id)  # what the task runs
    assert not Case.objects.filter(pk=case_id).exists()
    assert not RegisteredHash.objects.filter(case_id=case_id).exists()
    assert not ReportedItem.objects.filter(case_id=case_id).exists()
    assert AuditEvent.objects.filter(subject_type="case", subject_id=str(case_id), action="case.withdrawn").exists()
    erased = AuditEvent.objects.get(subject_type="case", subject_id=str(case_id), action="case.erased")
    assert erased.data["hashes_deleted"] > 0 and erased.data["items_deleted"] == 1
