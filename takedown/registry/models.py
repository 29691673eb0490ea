"""The platform registry: who receives notices, at which domains, through which channels.

A platform is a service that receives removal notices (a social network, a search engine, a
hosting provider found by RDAP). The registry is loaded from the versioned data file
`data/platforms.yaml` (rows carry the file's version) and editable in the admin through
`services`. Notices, checks (which platform runs a host) and the platform API read it; it reads
no app above it. The tables keep their original names (`notices_platform`...): the models moved
here from the notices app without touching the data (migration 0001 is state-only).

Jurisdictions live here too: they are facts of law (where a basis applies, where a platform
serves users), which cases refer to when a survivor says where they are.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from takedown.core.fields import EncryptedTextField
from takedown.core.models import TimestampedModel


class ContentKind(models.TextChoices):
    """What the survivor says the content is: laws differ on digital forgeries (deepfakes)."""

    AUTHENTIC = "authentic", _("Real images of me")
    DIGITAL_FORGERY = "digital_forgery", _("Fake images made to look like me (deepfakes)")
    BOTH = "both", _("Both")
    UNKNOWN = "unknown", _("I am not sure")


class Jurisdiction(models.TextChoices):
    US = "US", _("United States")
    EU = "EU", _("European Union")
    UK = "UK", _("United Kingdom")
    IN = "IN", _("India")
    BR = "BR", _("Brazil")
    OTHER = "other", _("Somewhere else")


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
        db_table = "notices_platform"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PlatformDomain(models.Model):
    """A domain (or host) of a platform. A host maps to the platform of its longest listed suffix."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("domain"), max_length=255, unique=True)

    class Meta:
        db_table = "notices_platformdomain"
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
    # Partner API channels only: the shared secret webhooks are signed with (HMAC-SHA256). It lives
    # on the channel, not the platform, because the channel's `address` is the webhook URL and a
    # platform may run several endpoints (one per legal basis, or a staging one) with their own
    # secrets. Set in the admin; the registry loader never touches it (secrets are not in the repo).
    webhook_secret = EncryptedTextField(_("webhook signing secret"), blank=True, default="")

    class Meta:
        db_table = "notices_platformchannel"
        ordering = ["platform", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "kind", "address"], name="platformchannel_unique_address")
        ]

    def __str__(self) -> str:
        return f"{self.platform}: {self.get_kind_display()} {self.address}"

    def serves_basis(self, code: str) -> bool:
        return not self.bases or code in self.bases
