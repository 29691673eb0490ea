"""Short, neutral emails to survivors who chose to be contacted by email: "there is news on your
case; sign in to read it", and nothing else.

An email box can be read by someone else (a partner, a parent, an employer), so the subject and the
body say nothing about the case: no reference, no website, no link to the content, not what
happened. The one link is the sign-in page (`SITE_URL`); the case's details are behind reference
and PIN. What counts as news (a request sent or answered, a link removed or back) is decided by
the floor that sees it (the web app's outbox consumer) and handed here as a reason code.

At most one email per case in `SURVIVOR_NEWS_MIN_INTERVAL_SECONDS`: news inside that window is
sent once the window ends (a task started with a countdown), and covered by that one email. The
last email's time is the case's latest `case.survivor_news_emailed` audit event (durable); an
atomic cache key keeps two workers from sending at once.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from takedown.cases.digests import keyed_digest
from takedown.cases.models import Case, ContactPreference
from takedown.cases.services._base import case_audit
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.core.queue import task_later
from takedown.core.transport import email_send

logger = logging.getLogger(__name__)

#: What may be news, as the outbox consumer names it. Only the code is kept (in the audit event).
NEWS_REASONS = frozenset({"notice_asked", "notice_sent", "notice_replied", "item_removed", "item_back", "deferred"})

SEND_TASK = "takedown.cases.tasks.survivor_news_send"
#: How long the cache key that keeps two workers from sending the same email at once lives: long
#: enough for one SMTP exchange and the commit of its audit event, which then keeps the interval.
SENDING_GUARD_SECONDS = 300


class NewsNotDelivered(Exception):
    """The mail server could not take the email now; the caller retries (the outbox does)."""


def _survivor_email(case: Case) -> str:
    details = case.contact_details if isinstance(case.contact_details, dict) else {}
    if case.contact_preference == ContactPreference.EMAIL and details.get("email"):
        return str(details["email"])
    return ""


def _last_emailed(case: Case) -> datetime | None:
    return (
        AuditEvent.objects.filter(subject_type="case", subject_id=case.pk, action="case.survivor_news_emailed")
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def news_email_text() -> tuple[str, str, str]:
    """Subject, plain text and HTML of the one email: the same for every case and every news."""
    sign_in = f"{settings.SITE_URL}{reverse('cases:sign_in')}" if settings.SITE_URL else ""
    subject = _("News on your case")
    lines = [
        _("There is news on your case. Sign in to read it."),
        sign_in,
        "",
        _(
            "You get this email because you asked to be contacted by email. To stop these emails, sign in "
            "and change how we contact you."
        ),
    ]
    text = "\n".join(lines) + "\n"
    link = f'<p><a href="{escape(sign_in)}">{escape(sign_in)}</a></p>' if sign_in else ""
    html = f"<p>{escape(lines[0])}</p>{link}<p>{escape(lines[3])}</p>"
    return subject, text, html


def case_news_email(*, case_id: int, reason: str, defer: bool = True) -> str:
    """Email the survivor that there is news, if they chose email and none was sent too recently.

    Returns "sent", "deferred" (a task will send once the interval ends), "covered" (an email was
    sent within the interval after this news: nothing more to say) or "skipped" (no email contact,
    or the case is no longer active). Raises `NewsNotDelivered` when the mail server can heal.
    Called outside any lock on the case: it makes a network call.
    """
    if reason not in NEWS_REASONS:
        raise ValueError(f"unknown news reason {reason!r}")
    case = Case.objects.filter(pk=case_id).select_related("organization").first()
    if case is None or not case.is_active:
        return "skipped"
    recipient = _survivor_email(case)
    if not recipient:
        return "skipped"
    interval = timedelta(seconds=settings.SURVIVOR_NEWS_MIN_INTERVAL_SECONDS)
    now = timezone.now()
    last = _last_emailed(case)
    if last is not None and now - last < interval:
        if not defer:
            return "covered"
        countdown = int((last + interval - now).total_seconds()) + 1
        transaction.on_commit(lambda: task_later(SEND_TASK, case.pk, countdown=countdown), robust=True)
        return "deferred"
    guard = "news-sending:" + keyed_digest("survivor-news", str(case.pk))[:32]
    guard_seconds = min(SENDING_GUARD_SECONDS, int(interval.total_seconds()))
    if guard_seconds > 0 and not cache.add(guard, 1, timeout=guard_seconds):
        return "covered"  # another worker is sending this very email
    subject, text, html = news_email_text()
    result = email_send(
        subject=subject,
        text=text,
        html=html,
        recipient=recipient,
        reply_to="",
        idempotency_key=f"news-{secrets.token_hex(12)}",
        pdf=None,
        pdf_name="",
        from_email=settings.DEFAULT_FROM_EMAIL,
        notice_headers=False,
    )
    if not result.delivered:
        cache.delete(guard)
        if result.transient:
            raise NewsNotDelivered(result.detail)
        # A refused address will not heal; the advocate sees it on the timeline.
        case_audit(Actor.system(), case, "case.survivor_news_failed", {"reason": reason})
        return "skipped"
    case_audit(Actor.system(), case, "case.survivor_news_emailed", {"reason": reason})
    return "sent"
