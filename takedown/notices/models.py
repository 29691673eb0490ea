"""Platforms (where notices go) and notices (what is sent, on which legal basis, and what came back).

The platform registry is loaded from the versioned data file `data/platforms.yaml`; rows carry
the file's version. A notice is rendered live from its case while it is a draft, and its content
is frozen when it is sent: what the platform received never changes afterwards, whatever happens
to the case. Frozen content holds contact details and a signature, so it is encrypted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from takedown.core.fields import EncryptedJSONField, EncryptedTextField
from takedown.core.models import TimestampedModel


class Platform(TimestampedModel):
    """A service that receives notices. `serves` and `supported_bases` drive basis selection."""

    slug = models.SlugField(_("short name"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    serves = models.JSONField(_("jurisdictions served"), default=list, blank=True)
    supported_bases = models.JSONField(_("legal bases"), default=list, blank=True)
    stopncii_partner = models.BooleanField(_("StopNCII partner"), null=True, blank=True)
    confidence = models.CharField(_("confidence of the data"), max_length=16, blank=True)
    source_url = models.URLField(_("source"), max_length=500, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # The registry file's version this row was last loaded from; empty for rows made in the admin
    # (the loader never deactivates those).
    data_version = models.CharField(_("data version"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PlatformDomain(models.Model):
    """A domain (or host) of a platform. A host maps to the platform of its longest listed suffix."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("domain"), max_length=255, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB_FORM = "web_form", _("Web form")
    API = "api", _("Partner API")
    IN_APP = "in_app", _("In the app only")


class PlatformChannel(models.Model):
    """One way to reach a platform. `bases` limits it to some legal bases (empty: all)."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(_("kind"), max_length=16, choices=ChannelKind.choices)
    address = models.CharField(_("email address or URL"), max_length=500)
    bases = models.JSONField(_("legal bases"), default=list, blank=True)
    fields = models.JSONField(_("form fields"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(_("preference"), default=0)

    class Meta:
        ordering = ["platform", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "kind", "address"], name="platformchannel_unique_address")
        ]

    def __str__(self) -> str:
        return f"{self.platform}: {self.get_kind_display()} {self.address}"

    def serves_basis(self, code: str) -> bool:
        return not self.bases or code in self.bases


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    READY = "ready", _("Ready for approval")
    APPROVED = "approved", _("Approved")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged by the platform")
    REMOVED = "removed", _("Removed")
    REJECTED = "rejected", _("Rejected")
    NEEDS_INFO = "needs_info", _("Platform asks for more information")


# Statuses whose deadline still runs (Case.next_deadline_at is the earliest of these).
OPEN_STATUSES = (NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED, NoticeStatus.NEEDS_INFO)


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

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="notices")
    items = models.ManyToManyField("cases.ReportedItem", related_name="notices")
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="notices")
    basis = models.CharField(_("legal basis"), max_length=32)
    basis_reason = models.TextField(_("why this basis"), blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=NoticeChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=500, blank=True)  # email address or form URL
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

    # Approval fixes the elements: a digest of them, so sending re-checks nothing changed since.
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_digest = models.CharField(max_length=64, blank=True)

    # Frozen at sending.
    sent_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "status", "due_at"])]

    def __str__(self) -> str:
        return f"notice {self.pk} of case {self.case_id} to {self.platform_id} ({self.basis}, {self.status})"

    @property
    def is_frozen(self) -> bool:
        return self.content_text is not None
