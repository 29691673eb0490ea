"""The notices issue's "Done when", end to end on real components.

A survivor reports three links; the real matching pipeline fetches each page from a local web
site and finds a recompressed copy of the registered photo on every one. From those matches:

(a) a TAKE IT DOWN notice goes by email to a platform with an email channel, through Django's SMTP
    backend to a local aiosmtpd server, whose message carries the Act's four elements;
(b) an EU DSA notice goes as a signed webhook to a local HTTP endpoint, which checks the
    HMAC-SHA256 signature against the shared secret and keeps the idempotency key;
(c) a form packet is made for a web-form-only platform (a value for each of its fields) and marked
    submitted with the platform's ticket number.

Then the 48-hour deadline passes (time is moved by setting `due_at` in the past), the beat task
re-checks the links against the same site and proposes the next step for the one still up, and
records the one taken down as gone.

Why three test platforms: the site runs on this machine, and the platform registry maps hosts,
not ports, to platforms, so one host could reach only one platform. Linux routes all of
127.0.0.0/8 to the loopback interface, so the site is served on 127.0.0.1, 127.0.0.2 and
127.0.0.3, and each address is a PlatformDomain of one platform made for this test (an email
platform, the webhook platform of the delivery tests, and a web-form platform). The fetcher
reaches them only because FETCH_ALLOW_LOOPBACK is on, as in the matching tests. Delivery runs in
process (Celery eager); tests/notices/test_delivery_worker.py covers a real worker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from pytest_django import Settings

from takedown.cases.models import Case, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.matching.models import CheckTrigger, Verdict
from takedown.notices.models import (
    DeliveryAttempt,
    DeliveryOutcome,
    Escalation,
    EscalationReason,
    EscalationRung,
    Notice,
    NoticeChannel,
    NoticeStatus,
)
from takedown.notices.packets import form_packet
from takedown.notices.services import (
    delivery_key,
    notice_approve,
    notice_draft,
    notice_mark_submitted,
    notice_send,
)
from takedown.notices.tasks import deadlines_due
from takedown.organizations.models import Organization
from takedown.registry import bases as b
from takedown.registry.models import ChannelKind, Intake, Platform, PlatformChannel, PlatformDomain
from tests.cases.conftest import bundle_text
from tests.matching.conftest import Site, page_with, photo, recompressed
from tests.notices.conftest import ORG_NOTICE_EMAIL, open_case, webhook_platform
from tests.notices.servers import WEBHOOK_SECRET, Receiver, SmtpServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)
MAIL_PLATFORM_ADDRESS = "abuse@mail-platform.test"
FORM_URL = "https://forms.form-platform.test/report"


@contextmanager
def serve_site(address: str) -> Iterator[Site]:
    """The matching tests' local site (tests/matching/conftest.py), on a loopback address of our choice."""
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            status, content_type, body = state.routes.get(self.path, (404, "text/html", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((address, 0), Handler)
    state.base = f"http://{address}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site, Site]]:
    with serve_site("127.0.0.1") as one, serve_site("127.0.0.2") as two, serve_site("127.0.0.3") as three:
        yield one, two, three


@pytest.fixture
def real_components(settings: Settings, smtp_server: SmtpServer) -> SmtpServer:
    settings.CHECK_ON_REPORT = True
    settings.FETCH_ALLOW_LOOPBACK = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.NOTICES_FROM_EMAIL = "Helpline notices <send@helpline.example.org>"
    return smtp_server


def make_platforms(receiver_url: str) -> tuple[Platform, Platform, Platform]:
    mail = Platform.objects.create(
        slug="mail-platform", name="Mail Platform", serves=["US"], supported_bases=[b.US_TAKE_IT_DOWN]
    )
    PlatformDomain.objects.create(platform=mail, domain="127.0.0.1")
    # This platform designated its email address as its TAKE IT DOWN process: the Act's 48 hours run.
    PlatformChannel.objects.create(
        platform=mail, kind=ChannelKind.EMAIL, address=MAIL_PLATFORM_ADDRESS, intake=Intake.TIDA_PROCESS
    )
    hook = webhook_platform(receiver_url, WEBHOOK_SECRET)  # EU DSA only, signed webhooks
    PlatformDomain.objects.create(platform=hook, domain="127.0.0.2")
    form = Platform.objects.create(
        slug="form-platform", name="Form Platform", serves=["US"], supported_bases=[b.US_TAKE_IT_DOWN]
    )
    PlatformDomain.objects.create(platform=form, domain="127.0.0.3")
    PlatformChannel.objects.create(
        platform=form,
        kind=ChannelKind.WEB_FORM,
        address=FORM_URL,
        fields=["your full name", "URLs of the content", "your signature", "your email address"],
    )
    return mail, hook, form


def text_body(message: Any) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))
    raise AssertionError("no text part")


def draft_and_approve(case: Case, item: ReportedItem) -> Notice:
    notice = notice_draft(actor=STAFF, case=case, items=[item], member_state="DE")
    return notice_approve(actor=STAFF, notice=notice)


def test_matched_item_to_email_webhook_and_form_then_the_deadline_proposes_escalation(
    org_a: Organization,
    sites: tuple[Site, Site, Site],
    real_components: SmtpServer,
    receiver: Receiver,
) -> None:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    mail_platform, hook_platform, form_platform = make_platforms(receiver.url)
    urls = []
    for site in sites:
        site.put("/img/copy.jpg", recompressed(photo(1)), "image/jpeg")
        urls.append(site.put("/post/1", page_with("/img/copy.jpg")))

    # The survivor reports the links with the photo registered; the checks run on commit.
    case = open_case(
        organization=org_a,
        jurisdictions=["US", "EU"],
        urls=urls,
        bundle=bundle_text(photo(1)),
        consent_share_hashes=True,
    )
    items = {item.url: item for item in ReportedItem.objects.filter(case=case)}
    on_mail, on_hook, on_form = (items[u] for u in urls)
    for item in (on_mail, on_hook, on_form):
        check = item.checks.get()
        assert check.verdict == Verdict.MATCH, check.verdict_text
        assert item.status == ItemStatus.LIVE
    assert on_hook.checks.get().pinned_ip == "127.0.0.2"

    # (a) TAKE IT DOWN by email, received by the local SMTP server.
    email_notice = draft_and_approve(case, on_mail)
    assert email_notice.platform_id == mail_platform.pk
    assert email_notice.basis == b.US_TAKE_IT_DOWN and email_notice.channel == NoticeChannel.EMAIL
    notice_send(actor=STAFF, notice=email_notice)  # queued; delivered on commit (eager)
    email_notice.refresh_from_db()
    assert email_notice.status == NoticeStatus.SENT
    assert (email_notice.due_at - email_notice.sent_at) == timedelta(hours=48)
    inbox = real_components.inbox
    assert len(inbox.messages) == 1 and inbox.messages[0][1] == [MAIL_PLATFORM_ADDRESS]
    body = text_body(inbox.parsed()).replace("\r\n", "\n")
    assert body == email_notice.content_text
    # The Act's four elements (Sec. 3(a)(1)(B)): signature, location, good-faith statement, contact.
    elements = email_notice.content_json["elements"]
    assert {b.SIGNATURE, b.LOCATION, b.GOOD_FAITH_NONCONSENT, b.CONTACT} <= set(
        b.BASES[b.US_TAKE_IT_DOWN].required_elements
    )
    assert "Alex Example" in body  # signature
    assert on_mail.url in body  # identification and location
    assert elements[b.GOOD_FAITH_NONCONSENT].split("\n")[0] in body  # good-faith statement
    assert ORG_NOTICE_EMAIL in body  # contact
    assert "Alex Example" in elements[b.SIGNATURE] and elements[b.CONTACT] == ORG_NOTICE_EMAIL

    # (b) EU DSA by signed webhook, verified by the local endpoint.
    dsa_notice = draft_and_approve(case, on_hook)
    assert dsa_notice.platform_id == hook_platform.pk
    assert dsa_notice.basis == b.EU_DSA and dsa_notice.channel == NoticeChannel.WEBHOOK
    notice_send(actor=STAFF, notice=dsa_notice)
    dsa_notice.refresh_from_db()
    assert dsa_notice.status == NoticeStatus.SENT
    (request,) = receiver.requests
    assert request["signed"] and request["status"] == 200  # HMAC-SHA256 over "<timestamp>.<body>" matched
    assert request["key"] == delivery_key(dsa_notice.pk)  # the idempotency key
    received = receiver.accepted[request["key"]]
    assert received == dsa_notice.content_json and received["basis"]["code"] == b.EU_DSA
    assert on_hook.url in str(received) and received["hashes"]  # the matched photo's PDQ/pHash
    (attempt,) = DeliveryAttempt.objects.filter(notice=dsa_notice)
    assert attempt.outcome == DeliveryOutcome.DELIVERED and attempt.http_status == 200

    # (c) A form packet for the web-form platform, marked submitted with the platform's ticket.
    form_notice = draft_and_approve(case, on_form)
    assert form_notice.platform_id == form_platform.pk and form_notice.channel == NoticeChannel.FORM
    packet = form_packet(form_notice)
    assert packet.link == FORM_URL
    values = {field.label: field.value for field in packet.fields}
    assert set(values) == {"your full name", "URLs of the content", "your signature", "your email address"}
    assert all(values.values()), values
    assert on_form.url in values["URLs of the content"] and "Alex Example" in values["your signature"]
    form_notice = notice_mark_submitted(actor=STAFF, notice=form_notice, platform_ticket="FP-2026-0042")
    assert form_notice.status == NoticeStatus.SENT and form_notice.platform_ticket == "FP-2026-0042"

    # The 48 hours pass. The form platform took its copy down; the mail platform did not.
    sites[2].take_down("/post/1")
    past = timezone.now() - timedelta(minutes=1)
    Notice.objects.filter(pk__in=[email_notice.pk, form_notice.pk]).update(due_at=past)
    # One beat run: the re-checks it requests run on commit (in process, against the sites), so
    # its second pass already finds them done and reviews both notices.
    assert deadlines_due.apply().get() == 2
    rechecks = {item.pk: item.checks.order_by("-id").first() for item in (on_mail, on_form)}
    assert all(c is not None and c.trigger == CheckTrigger.RECHECK for c in rechecks.values())
    assert rechecks[on_mail.pk].verdict == Verdict.MATCH  # type: ignore[union-attr]
    assert rechecks[on_form.pk].verdict == Verdict.REMOVED  # type: ignore[union-attr]
    assert deadlines_due.apply().get() == 0  # reviewed once, proposed once

    overdue = Escalation.objects.filter(notice__case=case, reason=EscalationReason.OVERDUE)
    # The designated process's 48 hours passed: the FTC route is proposed beside the follow-up.
    assert sorted(overdue.values_list("rung", "target")) == [
        (EscalationRung.FOLLOW_UP, "mail-platform"),
        (EscalationRung.REGULATOR, "ftc_take_it_down"),
    ]
    escalation = overdue.get(rung=EscalationRung.FOLLOW_UP)
    assert escalation.notice_id == email_notice.pk and escalation.rung == EscalationRung.FOLLOW_UP
    draft = escalation.draft_notice
    assert draft is not None and draft.status == NoticeStatus.DRAFT and draft.platform_id == mail_platform.pk
    assert list(draft.items.all()) == [on_mail]
    assert (
        AuditEvent.objects.filter(
            action="notice.escalation_proposed", subject_id=str(case.pk), data__reason="overdue"
        ).count()
        == 1
    )
    assert AuditEvent.objects.filter(action="notice.deadline_content_gone", subject_id=str(case.pk)).count() == 1
    # The DSA sets no hours: its notice is followed up after the platform's window, not yet due.
    assert Notice.objects.get(pk=dsa_notice.pk).deadline_recheck_at is None
