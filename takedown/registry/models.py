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
    """Where the survivor is: the laws that can back a notice, and the regulators and police they can turn to."""

    US = "US", _("United States")
    EU = "EU", _("European Union")
    UK = "UK", _("United Kingdom")
    AU = "AU", _("Australia")
    IN = "IN", _("India")
    BR = "BR", _("Brazil")
    OTHER = "other", _("Somewhere else")


class MemberState(models.TextChoices):
    """EU Member States: a DSA notice names the national offence of one of them (Art. 16(2)(a))."""

    AT = "AT", _("Austria")
    BE = "BE", _("Belgium")
    BG = "BG", _("Bulgaria")
    HR = "HR", _("Croatia")
    CY = "CY", _("Cyprus")
    CZ = "CZ", _("Czechia")
    DK = "DK", _("Denmark")
    EE = "EE", _("Estonia")
    FI = "FI", _("Finland")
    FR = "FR", _("France")
    DE = "DE", _("Germany")
    GR = "GR", _("Greece")
    HU = "HU", _("Hungary")
    IE = "IE", _("Ireland")
    IT = "IT", _("Italy")
    LV = "LV", _("Latvia")
    LT = "LT", _("Lithuania")
    LU = "LU", _("Luxembourg")
    MT = "MT", _("Malta")
    NL = "NL", _("Netherlands")
    PL = "PL", _("Poland")
    PT = "PT", _("Portugal")
    RO = "RO", _("Romania")
    SK = "SK", _("Slovakia")
    SI = "SI", _("Slovenia")
    ES = "ES", _("Spain")
    SE = "SE", _("Sweden")


class PlatformKind(models.TextChoices):
    """What a platform is: decides which laws reach it and which escalation steps make sense."""

    SOCIAL = "social", _("Social network or video platform")
    ADULT = "adult", _("Adult site")
    MESSAGING = "messaging", _("Messaging service")
    DATING = "dating", _("Dating service")
    STORAGE = "storage", _("File or photo storage")
    SEARCH = "search", _("Search engine")
    HOSTING = "hosting", _("Hosting provider")
    CDN = "cdn", _("Proxy or CDN (forwards to the host)")
    SITE = "site", _("A website (contact entered by an advocate)")


class Platform(TimestampedModel):
    """A service that receives notices. `serves` and `supported_bases` drive basis selection."""

    slug = models.SlugField(_("short name"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    serves = models.JSONField(_("jurisdictions served"), default=list, blank=True)
    supported_bases = models.JSONField(_("legal bases"), default=list, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=PlatformKind.choices, default=PlatformKind.SOCIAL)
    # The platform runs the servers its content is on (X, Meta, TikTok...): a notice to "its hosting
    # provider" would go back to itself, so the escalation ladder skips that step.
    first_party = models.BooleanField(_("hosts its own content"), default=False)
    # Notices without a legal deadline (or sent through an intake that does not start one) are
    # followed up after this many days if the content is still up.
    follow_up_days = models.PositiveSmallIntegerField(_("follow up after (days)"), default=7)
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


class Intake(models.TextChoices):
    """What a channel is, in law: a legal deadline runs only for a notice sent through the intake
    that starts it (the TAKE IT DOWN Act's 48 hours run from a request made through the platform's
    designated process, Sec. 3(a)(1)(A); a copy to a general abuse address does not start them)."""

    TIDA_PROCESS = "tida_process", _("Designated TAKE IT DOWN Act process")
    DSA_FORM = "dsa_form", _("EU Digital Services Act notice form")
    GRIEVANCE_OFFICER = "grievance_officer", _("Grievance Officer (India IT Rules)")
    POLICY_FORM = "policy_form", _("Report form under the platform's own policy")
    LEGAL_FORM = "legal_form", _("Legal removal form")
    SEARCH_REMOVAL = "search_removal", _("Search removal form")
    ABUSE_EMAIL = "abuse_email", _("Abuse address")
    PARTNER_API = "partner_api", _("Partner API")
    COPYRIGHT = "copyright", _("Copyright (DMCA) agent")
    IN_APP = "in_app", _("In-app report")


class PlatformChannel(models.Model):
    """One way to reach a platform. `bases` limits it to some legal bases (empty: all)."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(_("kind"), max_length=16, choices=ChannelKind.choices)
    address = models.CharField(_("email address or URL"), max_length=500)
    bases = models.JSONField(_("legal bases"), default=list, blank=True)
    fields = models.JSONField(_("form fields"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(_("preference"), default=0)
    intake = models.CharField(_("intake"), max_length=20, choices=Intake.choices, blank=True)
    # When someone last checked that this channel works as described (the data file's `verified`);
    # empty: never verified here (taken from a secondary source or background knowledge).
    verified_on = models.DateField(_("last verified"), null=True, blank=True)
    # Perceptual hashes can be inverted into a likeness: they go only through the partner API,
    # StopNCII, or a channel an administrator marked as vetted for them, never in plain email.
    hashes_vetted = models.BooleanField(_("vetted to receive hashes"), default=False)
    # A channel the platform reserves for DSA trusted flaggers (Art. 22): used only by an
    # organisation that records that status, and preferred for its DSA notices.
    trusted_flagger_only = models.BooleanField(_("for trusted flaggers only"), default=False)
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


class RdapBootstrapFile(models.Model):
    """One of IANA's RDAP bootstrap files (RFC 9224): which registry's RDAP server holds which
    addresses. Fetched through the SSRF-safe fetcher and kept here, so every worker shares one copy
    and a lookup costs one request; `manage.py rdap_bootstrap` refreshes them."""

    name = models.CharField(max_length=16, unique=True)  # asn, dns, ipv4, ipv6, object
    data = models.JSONField()
    source_url = models.URLField(max_length=500)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"RDAP bootstrap {self.name} ({self.fetched_at:%Y-%m-%d})"
