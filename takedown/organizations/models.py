"""Organisations (helplines, NGOs, law firms) and the staff who work a caseload for them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from takedown.core.models import TimestampedModel


class OrganizationKind(models.TextChoices):
    HELPLINE = "helpline", _("Helpline")
    NGO = "ngo", _("Non-governmental organisation")
    LAW_FIRM = "law_firm", _("Law firm")


class Organization(TimestampedModel):
    """An organisation whose advocates handle cases. Cases and access are scoped to it."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=OrganizationKind.choices)
    # The address notices use as the notifier's contact when a survivor chooses not to share
    # their own (DESIGN section 7, "privacy of the notifier").
    notice_contact_email = models.EmailField(_("contact email for notices"), blank=True)
    # Copyright (DMCA) notices are filed in the organisation's name, as agent, and 17 U.S.C.
    # 512(c)(3)(A)(iv) asks for an address and telephone number: the organisation's, never the
    # survivor's (notices-review "DMCA").
    notice_postal_address = models.TextField(_("postal address for notices"), blank=True)
    notice_phone = models.CharField(_("telephone for notices"), max_length=40, blank=True)
    # EU DSA Art. 22: a Digital Services Coordinator may award an organisation established in its
    # Member State the status of trusted flagger. Notices state it, platforms' trusted-flagger
    # channels are used, and the Art. 22(3) annual report is exported from the notices sent.
    trusted_flagger = models.BooleanField(_("DSA trusted flagger"), default=False)
    trusted_flagger_coordinator = models.CharField(
        _("designating Digital Services Coordinator"), max_length=200, blank=True
    )
    trusted_flagger_member_state = models.CharField(_("Member State of establishment"), max_length=2, blank=True)
    trusted_flagger_since = models.DateField(_("trusted flagger since"), null=True, blank=True)
    # Whether this organisation's advocates may vouch for a case's photo fingerprints, which puts
    # them in the feed vetted platforms use to block uploads (docs/threat-model.md, "Feed
    # integrity"). Set only for vetted organisations, by the operator; off by default.
    can_vouch_hashes = models.BooleanField(_("may vouch for hashes shared with platforms"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADVOCATE = "advocate", _("Advocate")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")


class Membership(TimestampedModel):
    """A staff user's role in one organisation. One row per (user, organisation)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.ADVOCATE)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique_user_org"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"
