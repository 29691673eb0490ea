"""Notices: what is sent to a platform (registry app), on which legal basis, and what came back.

A notice is rendered live from its case while it is a draft, and its content
is frozen when it is sent: what the platform received never changes afterwards, whatever happens
to the case. Frozen content holds contact details and a signature, so it is encrypted.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from takedown.core.fields import EncryptedJSONField, EncryptedTextField
from takedown.core.models import TimestampedModel
from takedown.registry.models import MemberState, Platform, PlatformChannel

# Crockford's base32 without look-alikes: read aloud or typed from a printout without mistakes.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_notice_reference() -> str:
    """A notice's reference: random, so it reveals nothing (not how many notices exist, not the case).

    Notices are forwarded to uploaders and published; "notice 1" would tell them this is the first,
    and a case reference would let them try PINs. 40 random bits: unique in practice, and the
    database's unique constraint catches the rest.
    """
    token = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"TDN-{token[:4]}-{token[4:]}"


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    READY = "ready", _("Ready for approval")
    APPROVED = "approved", _("Approved")
    QUEUED = "queued", _("Queued for delivery")
    DELIVERY_FAILED = "delivery_failed", _("Delivery failed")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged by the platform")
    REMOVED = "removed", _("Removed")
    REJECTED = "rejected", _("Rejected")
    NEEDS_INFO = "needs_info", _("Platform asks for more information")


# Statuses whose deadline still runs (Case.next_deadline_at is the earliest of these).
OPEN_STATUSES = (NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED, NoticeStatus.NEEDS_INFO)


class SurvivorAnswer(models.TextChoices):
    """The second-person approval loop with the survivor: asked, then approved or declined."""

    ASKED = "asked", _("Waiting for the survivor's answer")
    APPROVED = "approved", _("Approved by the survivor")
    DECLINED = "declined", _("Declined by the survivor")


class NoticeChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Signed webhook")
    FORM = "form", _("Form packet (pasted into the platform's web form)")


class ContactKind(models.TextChoices):
    SURVIVOR = "survivor", _("The survivor's own email (they chose email contact)")
    ORGANIZATION = "organization", _("The organisation's notice address")
    RELAY = "relay", _("The case relay address")


class Notice(TimestampedModel):
    """A removal request to one platform, covering one or more reported items of a case."""

    reference = models.CharField(_("reference"), max_length=16, unique=True, default=new_notice_reference)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="notices")
    items = models.ManyToManyField("cases.ReportedItem", related_name="notices")
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="notices")
    basis = models.CharField(_("legal basis"), max_length=32)
    basis_reason = models.TextField(_("why this basis"), blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=NoticeChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=500, blank=True)  # email address or form URL
    # What the channel is in law (registry Intake): a legal deadline runs only for a notice sent
    # through the intake that starts it; every other notice gets the platform's follow-up window.
    intake = models.CharField(_("intake"), max_length=20, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # What the advocate adds: further facts for the statement (encrypted: survivors' details).
    details = EncryptedTextField(_("additional facts"), blank=True, default="")
    # Copyright notices only: the original work, and that the survivor accepted the warning.
    dmca_work = EncryptedTextField(_("the original work"), blank=True, default="")
    dmca_acknowledged = models.BooleanField(_("copyright warning accepted"), default=False)
    # EU DSA notices name the Member State whose offence the content breaks (Art. 16(2)(a)); for a
    # Member State without a listed offence the advocate enters the national provision.
    member_state = models.CharField(_("EU Member State"), max_length=2, choices=MemberState.choices, blank=True)
    national_offence = models.CharField(_("national provision"), max_length=300, blank=True)
    # Brazil (Marco Civil Art. 21): how the platform can verify who is asking (void without it).
    requester_verification = EncryptedTextField(_("how the requester can be verified"), blank=True, default="")
    # Direct links to the images or videos (and a time in a video), added by the advocate to the
    # media the checks found: [{"url": ..., "time": "01:23"}]. Encrypted: they are the content's URLs.
    media_links = EncryptedJSONField(_("direct media links"), default=list, blank=True)
    # The survivor's own email goes to the platform only if the survivor chose it for this notice,
    # after a plain warning (`notice_contact_choose`); otherwise the organisation's or a relay address.
    use_survivor_contact = models.BooleanField(_("survivor chose to give their own email"), default=False)
    survivor_contact_chosen_at = models.DateTimeField(null=True, blank=True)
    # The survivor as the second person: an advocate marks the notice ready, which asks the
    # survivor on their case page; their answer (and what they said when declining) is kept for
    # the advocate until the notice is asked again (`notice_mark_ready`, `notice_decline`).
    survivor_answer = models.CharField(
        _("the survivor's answer"), max_length=12, choices=SurvivorAnswer.choices, blank=True
    )
    survivor_answer_at = models.DateTimeField(null=True, blank=True)
    survivor_comment = EncryptedTextField(_("what the survivor said"), blank=True, default="")

    # Approval fixes the elements: a digest of them, so sending re-checks nothing changed since.
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_digest = models.CharField(max_length=64, blank=True)

    # Frozen at sending.
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the content is re-checked and the next step proposed: the legal deadline when the notice
    # went through the intake that starts one (`legal_deadline`), else the platform's follow-up window.
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    legal_deadline = models.BooleanField(_("the due time is a legal deadline"), default=False)
    signature = EncryptedTextField(null=True, blank=True)
    contact_kind = models.CharField(max_length=16, choices=ContactKind.choices, blank=True)
    contact_email = EncryptedTextField(null=True, blank=True)
    # The local part of a relay address, so replies to it can be matched to the case later. It is
    # derived with a keyed digest, not the case reference: notices are often forwarded to the
    # uploader, and a reference would let them lock the survivor out by failing PIN attempts.
    relay_token = models.CharField(max_length=32, blank=True, db_index=True)
    content_text = EncryptedTextField(null=True, blank=True)
    content_html = EncryptedTextField(null=True, blank=True)
    content_json = EncryptedJSONField(null=True, blank=True)

    # The platform's answers.
    platform_ticket = models.CharField(_("platform ticket number"), max_length=200, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    reply_reason = EncryptedTextField(_("reason given"), blank=True, default="")

    # Delivery: when a worker claimed the queued notice (cleared for a retry), so a redelivered
    # task message finds it claimed or sent and does nothing.
    delivery_claimed_at = models.DateTimeField(null=True, blank=True)
    # Deadline: when the re-check of the items was requested after the due time passed, and when
    # the outcome was decided (escalation proposed, or the content found gone).
    deadline_recheck_at = models.DateTimeField(null=True, blank=True)
    deadline_reviewed_at = models.DateTimeField(null=True, blank=True)
    # A platform's "removed" is verified by a re-check: confirmed, or disputed when the check still
    # finds the content (then flagged and escalated).
    removal_verified_at = models.DateTimeField(null=True, blank=True)
    removal_disputed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "status", "due_at"])]

    def __str__(self) -> str:
        return f"notice {self.reference} of case {self.case_id} to {self.platform_id} ({self.basis}, {self.status})"

    @property
    def is_frozen(self) -> bool:
        return self.content_text is not None


class DeliveryOutcome(models.TextChoices):
    DELIVERED = "delivered", _("Delivered")
    TRANSIENT_FAILURE = "transient_failure", _("Failed, will be retried")
    PERMANENT_FAILURE = "permanent_failure", _("Failed")


class DeliveryAttempt(models.Model):
    """One try at delivering a notice, whatever came of it: the record of what was sent when.

    `idempotency_key` is the same for every attempt of a notice (it is sent to webhooks as
    `Idempotency-Key` and to mail servers in the Message-ID), so a receiver can recognise a retry
    after a lost answer. `detail` and `response_excerpt` hold what the other side said (never the
    notice's content).
    """

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="delivery_attempts")
    channel = models.CharField(_("channel"), max_length=16, choices=NoticeChannel.choices)
    platform_channel = models.ForeignKey(
        PlatformChannel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=DeliveryOutcome.choices)
    detail = models.TextField(_("detail"), blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=64)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of notice {self.notice_id}: {self.outcome}"


class EscalationRung(models.TextChoices):
    """What a proposed next step is. Which steps are proposed, and when, is `notices.ladder`."""

    FOLLOW_UP = "follow_up", _("Follow-up notice to the platform")
    APPEAL = "appeal", _("Appeal or internal complaint to the platform")
    REFILE = "refile", _("Notice filed again with what was missing")
    HOSTING_PROVIDER = "hosting_provider", _("Notice to the hosting provider")
    SEARCH_DEINDEX = "search_deindex", _("Removal from search results")
    REGULATOR = "regulator", _("Complaint to a regulator or dispute body")
    HELPLINE = "helpline", _("Report to a helpline")
    POLICE = "police", _("Report to the police")


class EscalationReason(models.TextChoices):
    """Why a step was proposed."""

    SENT = "sent", _("Proposed when the notice was sent")
    OVERDUE = "overdue", _("The time passed with the content still online")
    REJECTED = "rejected", _("The platform rejected the notice")
    DISPUTED = "disputed", _("The platform said removed, but a check still finds the content")


class EscalationStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    DISMISSED = "dismissed", _("Dismissed")


class Escalation(TimestampedModel):
    """A next step proposed for a notice: when it was sent (search de-indexing, eSafety for
    Australians), when its time passed with the content still up, when it was rejected, or when the
    platform said removed but a check still finds the content.

    Nothing is sent by proposing: a step either comes with a draft notice (which the advocate
    completes, approves and sends as usual) or, for regulators, helplines and the police, a text
    packet to file by hand. `target` names the addressee within the rung (a platform slug, or a
    route code), so one notice can propose Google and Bing de-indexing side by side.
    """

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="escalations")
    rung = models.CharField(_("step"), max_length=20, choices=EscalationRung.choices)
    reason = models.CharField(
        _("why"), max_length=16, choices=EscalationReason.choices, default=EscalationReason.OVERDUE
    )
    target = models.CharField(_("addressed to"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=EscalationStatus.choices, default=EscalationStatus.PROPOSED
    )
    draft_notice = models.OneToOneField(
        Notice, null=True, blank=True, on_delete=models.SET_NULL, related_name="escalated_from"
    )
    # Regulator packets: the case's facts and the notices sent (encrypted: it holds URLs).
    packet = EncryptedTextField(_("complaint packet"), blank=True, default="")
    link = models.URLField(_("where to file it"), max_length=500, blank=True)
    note = models.TextField(_("what to know"), blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "rung", "target"], name="escalation_unique_per_notice_rung")
        ]

    def __str__(self) -> str:
        return f"escalation {self.pk} of notice {self.notice_id}: {self.rung} {self.target} ({self.status})"
