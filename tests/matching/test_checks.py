"""Checking reported links against a local site: verdicts, evidence, removal, re-appearance, refusals.

Tasks run in process here (eager); tests/matching/test_end_to_end.py runs the same through a real
Celery worker and the real browser hasher.
"""

from __future__ import annotations

import pytest
from django.db import connection
from pytest_django import Settings

from takedown.cases import services as case_services
from takedown.cases.models import Case, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.matching.evidence import evidence_export, evidence_verify
from takedown.matching.models import CheckTrigger, ItemCheck, Verdict
from takedown.matching.services import item_check_request, recheck_due
from tests.cases.conftest import bundle_text
from tests.cases.vouching import vouch_for
from tests.matching.conftest import Site, center_cropped, padded, page_with, photo, recompressed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _check_locally(settings: Settings) -> None:
    settings.CHECK_ON_REPORT = True
    settings.FETCH_ALLOW_LOOPBACK = True


def open_case(urls: list[str], *photos: int) -> Case:
    bundle = case_services.parse_bundle(bundle_text(*(photo(n) for n in photos)))
    return case_services.case_open(actor=Actor(kind="survivor"), signature_name="S", bundle=bundle, urls=urls).case


def latest(item: ReportedItem) -> ItemCheck:
    return item.checks.order_by("-id").first()  # type: ignore[return-value]


def test_reported_links_get_verdicts_with_reasons_and_evidence(site: Site) -> None:
    site.put("/img/recompressed.jpg", recompressed(photo(1)), "image/jpeg")
    site.put("/img/cropped.jpg", center_cropped(photo(2), 10), "image/jpeg")
    site.put("/img/padded.jpg", padded(photo(1), 20), "image/jpeg")
    site.put("/img/unrelated.jpg", recompressed(photo(20)), "image/jpeg")
    urls = [
        site.put("/post/1", page_with("/img/recompressed.jpg")),
        site.put("/post/2", page_with("/img/unrelated.jpg", "/img/cropped.jpg")),
        site.base + "/img/padded.jpg",  # a direct media link
        site.put("/post/3", page_with("/img/unrelated.jpg")),
    ]
    case = open_case(urls, 1, 2)
    items = {item.url: item for item in ReportedItem.objects.filter(case=case)}
    verdicts = {url: latest(items[url]).verdict for url in urls}
    assert [verdicts[u] for u in urls] == [Verdict.MATCH, Verdict.MATCH, Verdict.MATCH, Verdict.NO_MATCH]
    assert {ReportedItem.objects.get(pk=items[u].pk).status for u in urls[:3]} == {ItemStatus.LIVE}
    assert ReportedItem.objects.get(pk=items[urls[3]].pk).status == ItemStatus.NO_MATCH

    check = latest(items[urls[1]])
    assert "distance" in check.verdict_text and "registered file 2" in check.verdict_text
    assert check.status_code == 200 and check.sha256 and check.pinned_ip == "127.0.0.1"
    assert check.headers["content-type"] == "text/html"
    matched = [m for m in check.media.all() if m.matched]
    assert len(matched) == 1 and matched[0].url.endswith("/img/cropped.jpg")
    assert latest(items[urls[3]]).verdict_text.startswith("Nothing matching among 1 image")

    assert evidence_verify(case.pk) == []
    export = evidence_export(case.pk)
    assert export["intact"] and len(export["records"]) == 4
    assert ReportedItem.objects.get(pk=items[urls[0]].pk).platform == "127.0.0.1"
    # Nothing of the media is stored: only sizes, digests and hashes (encrypted).
    with connection.cursor() as cursor:
        cursor.execute("SELECT hashes FROM matching_foundmedium LIMIT 1")
        assert cursor.fetchone()[0].startswith("gAAAA")


def test_take_down_is_verified_and_reappearance_flagged(site: Site) -> None:
    site.put("/img/a.jpg", recompressed(photo(3)), "image/jpeg")
    url = site.put("/post/a", page_with("/img/a.jpg"))
    case = open_case([url], 3)
    item = ReportedItem.objects.get(case=case)
    assert item.status == ItemStatus.LIVE

    site.take_down("/post/a", 410)
    item_check_request(actor=Actor.system(), item=item, trigger=CheckTrigger.RECHECK)
    item.refresh_from_db()
    assert item.status == ItemStatus.REMOVED and item.removed_at is not None
    assert latest(item).verdict == Verdict.REMOVED and "410" in latest(item).verdict_text

    site.put("/post/a", page_with("/img/a.jpg"))
    item_check_request(actor=Actor.system(), item=item, trigger=CheckTrigger.RECHECK)
    item.refresh_from_db()
    assert item.status == ItemStatus.LIVE
    assert AuditEvent.objects.filter(action="item.reappeared", subject_id=str(case.pk)).exists()
    assert evidence_verify(case.pk) == []


def test_page_up_but_image_gone_counts_as_removed(site: Site) -> None:
    site.put("/img/b.jpg", recompressed(photo(4)), "image/jpeg")
    site.put("/img/other.jpg", recompressed(photo(21)), "image/jpeg")
    url = site.put("/post/b", page_with("/img/b.jpg"))
    case = open_case([url], 4)
    item = ReportedItem.objects.get(case=case)
    site.put("/post/b", page_with("/img/other.jpg"))
    item_check_request(actor=Actor.system(), item=item, trigger=CheckTrigger.RECHECK)
    item.refresh_from_db()
    assert item.status == ItemStatus.REMOVED
    assert latest(item).verdict_text.startswith("Removed: the page is up but the matching image is gone")


def test_login_wall_is_unreachable_but_the_item_stays_actionable(site: Site) -> None:
    url = site.put("/private", b"<!doctype html>log in", status=403)
    case = open_case([url], 5)
    item = ReportedItem.objects.get(case=case)
    assert item.status == ItemStatus.UNREACHABLE
    assert latest(item).error_reason == "http_status" and latest(item).status_code == 403
    assert case.is_active


def test_in_process_a_server_error_is_recorded_at_once(site: Site) -> None:
    """Without a broker there is nobody to retry later: the error is recorded as it is.

    Retries with backoff run on a real worker: tests/matching/test_end_to_end.py.
    """
    url = site.put("/flaky", b"busy", status=503)
    case = open_case([url], 6)
    check = latest(ReportedItem.objects.get(case=case))
    assert check.verdict == Verdict.UNREACHABLE and check.status_code == 503
    assert site.hits.count("/flaky") == 1


def test_loopback_is_refused_by_default(site: Site, settings: Settings) -> None:
    settings.FETCH_ALLOW_LOOPBACK = False
    url = site.put("/post/x", page_with())
    case = open_case([url], 7)
    check = latest(ReportedItem.objects.get(case=case))
    assert check.verdict == Verdict.UNREACHABLE and check.error_reason in {"forbidden_address", "bad_port"}
    assert site.hits == []  # nothing was ever requested


def test_tampering_with_evidence_is_detected(site: Site) -> None:
    site.put("/img/t.jpg", recompressed(photo(8)), "image/jpeg")
    urls = [site.put("/post/t1", page_with("/img/t.jpg")), site.put("/post/t2", page_with())]
    case = open_case(urls, 8)
    assert evidence_verify(case.pk) == []
    first = ItemCheck.objects.filter(case=case).order_by("finished_at").first()
    assert first is not None
    ItemCheck.objects.filter(pk=first.pk).update(status_code=404)
    problems = evidence_verify(case.pk)
    assert problems and f"check {first.pk}" in problems[0]


def test_recheck_due_queues_only_what_is_due(site: Site, settings: Settings) -> None:
    site.put("/img/r.jpg", recompressed(photo(9)), "image/jpeg")
    url = site.put("/post/r", page_with("/img/r.jpg"))
    case = open_case([url], 9)
    item = ReportedItem.objects.get(case=case)
    assert recheck_due() == 0  # checked just now
    settings.RECHECK_INTERVAL_HOURS = 0
    before = item.checks.count()
    assert recheck_due() == 1
    assert item.checks.count() == before + 1
    assert latest(item).trigger == CheckTrigger.RECHECK


def test_consented_bank_suggests_the_link_to_the_other_survivors_case(site: Site) -> None:
    site.put("/img/x.jpg", recompressed(photo(11)), "image/jpeg")
    url = site.put("/post/x", page_with("/img/x.jpg"))
    bundle_b = case_services.parse_bundle(bundle_text(photo(11)))
    sharing = case_services.case_open(
        actor=Actor(kind="survivor"), signature_name="B", bundle=bundle_b, consent_share_hashes=True
    ).case
    vouch_for(sharing)  # the bank holds only hashes an advocate vouched for (issue 14)
    private = case_services.case_open(
        actor=Actor(kind="survivor"), signature_name="C", bundle=case_services.parse_bundle(bundle_text(photo(11)))
    ).case
    reporter = case_services.case_open(
        actor=Actor(kind="survivor"),
        signature_name="A",
        bundle=case_services.parse_bundle(bundle_text(photo(12))),
        urls=[url],
        consent_share_hashes=True,
    ).case
    assert latest(ReportedItem.objects.get(case=reporter)).verdict == Verdict.NO_MATCH
    suggested = ReportedItem.objects.get(case=sharing)
    assert suggested.url == url and latest(suggested).verdict == Verdict.MATCH
    assert AuditEvent.objects.filter(action="item.found_by_bank", subject_id=str(sharing.pk)).exists()
    assert not ReportedItem.objects.filter(case=private).exists()  # no consent: never looked up


def test_without_the_reporters_consent_nothing_is_shared(site: Site) -> None:
    site.put("/img/y.jpg", recompressed(photo(13)), "image/jpeg")
    url = site.put("/post/y", page_with("/img/y.jpg"))
    sharing = case_services.case_open(
        actor=Actor(kind="survivor"),
        signature_name="B",
        bundle=case_services.parse_bundle(bundle_text(photo(13))),
        consent_share_hashes=True,
    ).case
    vouch_for(sharing)
    open_case([url], 14)  # the reporter did not agree to the bank
    assert not ReportedItem.objects.filter(case=sharing).exists()


def test_items_are_mapped_to_registry_platforms(site: Site) -> None:
    from takedown.matching.services import _platform_key
    from takedown.registry.models import Platform, PlatformDomain

    platform = Platform.objects.create(slug="example-social", name="Example Social")
    PlatformDomain.objects.create(platform=platform, domain="social.example")
    assert _platform_key("media.cdn.social.example") == "example-social"
    assert _platform_key("www.unknown-host.co.uk") == "unknown-host.co.uk"
