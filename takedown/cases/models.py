"""Cases: a survivor's request for help, the hashes they registered, and the URLs they reported.

Sensitive values (contact details, signature, representative data, police and StopNCII
references, hash values, URLs) are encrypted at rest. Where a value must be looked up or kept
unique, a keyed digest (HMAC-SHA256 with a key derived from SECRET_KEY, see `digests.py`) is stored
beside it: it answers "have we seen this exact value?" without revealing the value.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from takedown.core.fields import EncryptedJSONField, EncryptedTextField
from takedown.core.models import TimestampedModel
from takedown.registry.models import ContentKind


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


#: A case still being worked on: its links are checked, its hashes shared (with consent), and
#: things can be added to it. The one definition; everything else reads it.
ACTIVE_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED)


class ContactPreference(models.TextChoices):
    NONE = "none", _("Do not contact me")
    EMAIL = "email", _("By email")
    ADVOCATE = "advocate", _("Through an advocate")


class OpenedBy(models.TextChoices):
    SURVIVOR = "survivor", _("The survivor")
    REPRESENTATIVE = "representative", _("An authorised representative")


class Case(TimestampedModel):
    """One survivor's case. Identified publicly only by `reference`, guarded by a PIN."""

    reference = models.CharField(max_length=32, unique=True)
    pin_hash = models.CharField(max_length=256)
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN, db_index=True)
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    opened_by = models.CharField(max_length=16, choices=OpenedBy.choices, default=OpenedBy.SURVIVOR)
    jurisdictions = models.JSONField(default=list, blank=True)
    content_kind = models.CharField(max_length=16, choices=ContentKind.choices, default=ContentKind.UNKNOWN)

    consent_share_hashes = models.BooleanField(default=False)
    consent_face_matching = models.BooleanField(default=False)
    consent_contact = models.BooleanField(default=False)
    contact_preference = models.CharField(
        max_length=16, choices=ContactPreference.choices, default=ContactPreference.NONE
    )
    contact_details = EncryptedJSONField(null=True, blank=True)
    representative = EncryptedJSONField(null=True, blank=True)

    signature_name = EncryptedTextField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)

    risk_sextortion = models.BooleanField(default=False)
    risk_doxxing = models.BooleanField(default=False)
    risk_physical_danger = models.BooleanField(default=False)
    police_reference = EncryptedTextField(null=True, blank=True)
    hash_service_reference = EncryptedTextField(null=True, blank=True)  # StopNCII / Take It Down

    # The earliest open deadline among the case's notices (denormalised for the caseload filters;
    # maintained by the notices app).
    next_deadline_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # More files in one day than a survivor plausibly has (SHARING_HOLD_FILES_PER_DAY): nothing of
    # the case goes to platforms until an advocate has looked at the volume and vouched again.
    sharing_held_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "status", "-created_at"])]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class VouchKind(models.TextChoices):
    ADVOCATE = "advocate", _("An advocate reviewed the case")
    MATCH = "match", _("An advocate confirmed a match on a reported link")


class SharingVouch(models.Model):
    """Someone answerable says a case's hashes may go to platforms (docs/threat-model.md).

    The service cannot know that a bundle's hashes come from the survivor's own pictures: anyone
    can open a case and post hashes of lawful pictures. So no hash reaches the feed on the
    survivor's word alone. An advocate of a vetted organisation (`can_vouch_hashes`) reviews
    the request, the matches found and the volume (never the pictures) and vouches for every
    hash registered so far (`ADVOCATE`), or confirms one match on a reported link and vouches for
    that one picture's hashes (`MATCH`). Each shared hash points at its vouch, and each vouch at
    the person and organisation, so every hash a platform holds is traceable to who let it out.
    Hashes registered later are not covered: they wait for the next vouch.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="vouches")
    kind = models.CharField(max_length=16, choices=VouchKind.choices)
    # A person answers for every vouch; their account cannot be deleted while the vouch exists.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, related_name="+")
    # For a MATCH vouch: the link and the check (matching's ItemCheck id; a plain id because
    # the matching app is a floor above) whose match the advocate confirmed.
    item = models.ForeignKey("ReportedItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    check_id = models.BigIntegerField(null=True, blank=True)
    # What the advocate saw and what the vouch covered, at the time.
    files = models.PositiveIntegerField(default=0)
    hashes = models.PositiveIntegerField(default=0)
    links = models.PositiveIntegerField(default=0)
    links_matched = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"vouch {self.pk} ({self.kind}) on case {self.case_id}"


class RegisteredHash(models.Model):
    """One hash from a survivor's bundle.

    `value` is encrypted: published work inverts perceptual hashes into recognisable pictures.
    Matching decrypts a case's hashes in memory (and the bank index is rebuilt in memory from
    decrypted rows), so no plaintext hash column is needed; `value_digest` is the keyed digest
    that keeps a case from registering the same hash twice and lets exact (sha256/md5) lookups
    work without decrypting anything.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="registered_hashes")
    item_id = models.CharField(max_length=32)  # the bundle's opaque per-file id
    item_kind = models.CharField(max_length=8)  # image or video
    signal = models.CharField(max_length=16)
    variant = models.CharField(max_length=32)
    quality = models.PositiveSmallIntegerField(null=True, blank=True)
    value = EncryptedTextField()
    value_digest = models.CharField(max_length=64, db_index=True)
    # Who let this hash go to platforms; null: not shared (whatever the survivor's consent).
    vouch = models.ForeignKey(
        SharingVouch, null=True, blank=True, on_delete=models.SET_NULL, related_name="registered_hashes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "signal", "variant", "value_digest"], name="registeredhash_unique_per_case"
            )
        ]
        indexes = [models.Index(fields=["case", "created_at"], name="registeredhash_case_created")]

    def __str__(self) -> str:
        return f"{self.signal}/{self.variant} of case {self.case_id}"


class ItemStatus(models.TextChoices):
    REPORTED = "reported", _("Reported, not checked yet")
    CHECKING = "checking", _("Being checked")
    LIVE = "live", _("Still online")
    NO_MATCH = "no_match", _("Checked: nothing matching found")
    UNREACHABLE = "unreachable", _("Could not be checked")
    NEEDS_REVIEW = "needs_review", _("Possible match: waiting for a person to review it")
    REMOVED = "removed", _("Removed")


class ReportedItem(TimestampedModel):
    """A URL where the content appears. The URL is encrypted; `host` stays plain for filtering."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="items")
    url = EncryptedTextField()
    normalized_url = EncryptedTextField()
    url_digest = models.CharField(max_length=64)
    host = models.CharField(max_length=255, db_index=True)
    platform = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.REPORTED, db_index=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    # Set when a person (advocate or survivor) confirmed that a detector-only finding (a face that
    # looks like the survivor's, no hash match) depicts the survivor. Detector scores never make
    # an item "live" on their own; only this confirmation lets later checks treat it as such.
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "url_digest"], name="reporteditem_unique_url_per_case")]

    def __str__(self) -> str:
        return f"item {self.pk} of case {self.case_id} on {self.host}"


class FaceTemplate(models.Model):
    """A face template: 128 numbers describing a face, computed from an ordinary portrait.

    Templates are made on the survivor's or advocate's own machine (`python -m takedown.hashing
    faces`), never from intimate images, and only stored while the case's separate face-matching
    consent is on: withdrawing it deletes them. They are compared only with faces found at the
    case's own reported links; they are never shared with platforms, the bank or the feed. The
    vector is encrypted at rest: it is biometric data.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="face_templates")
    template_id = models.CharField(max_length=32)  # the bundle's opaque random id
    model = models.CharField(max_length=32)
    vector = EncryptedJSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["case", "template_id"], name="facetemplate_unique_per_case")]

    def __str__(self) -> str:
        return f"face template {self.pk} of case {self.case_id}"


class CaseNote(models.Model):
    """An internal note by staff; never shown to the survivor or a platform."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on case {self.case_id}"


# ---------------------------------------------------------------------------------------------------
# The consented hash feed: what platforms may copy, kept in step with consent and withdrawal.
#
# The feed table exists because `RegisteredHash` rows are deleted when a survivor withdraws: a
# platform that copied a hash must still learn to delete it. A `FeedEntry` is one registered hash
# as platforms see it, keyed by an opaque `public_id`; every change takes the next `change_id`
# (the feed's cursor, read by the platform API and by the lookup bank). A withdrawn entry is a
# tombstone: value, digest and case are cleared, so nothing of the withdrawn case remains but the
# opaque id and the signal name. The tables kept their names from the platforms app.


class FeedCounter(models.Model):
    """A single row holding the last change id. Writers lock it, so change ids commit in order.

    With a plain sequence a transaction that took id 7 could commit after a reader already passed
    id 8, and that reader would never see 7. Holding the row lock until commit makes the cursor safe;
    feed writes (hash registration, withdrawal, status change) are rare enough to serialise.
    """

    last_change_id = models.BigIntegerField(default=0)

    class Meta:
        db_table = "platforms_feedcounter"

    def __str__(self) -> str:
        return f"feed counter at {self.last_change_id}"


class FeedStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class FeedEntry(models.Model):
    """One consented hash as platforms see it (or its tombstone)."""

    change_id = models.BigIntegerField(unique=True)
    public_id = models.CharField(max_length=40, unique=True)
    signal = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=FeedStatus.choices, db_index=True)
    # Cleared on tombstones: a withdrawn case leaves no residue.
    registered_hash = models.OneToOneField(
        RegisteredHash, null=True, blank=True, on_delete=models.SET_NULL, related_name="feed_entry"
    )
    case_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # The vouch that let this hash out (cleared on tombstones, with the case).
    vouch = models.ForeignKey(SharingVouch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    value = EncryptedTextField(null=True, blank=True)
    value_digest = models.CharField(max_length=64, blank=True, db_index=True)
    # Two platforms reported a false positive: out of the feed and lookups until an advocate clears it.
    held_at = models.DateTimeField(null=True, blank=True)
    hold_cleared_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "platforms_feedentry"
        ordering = ["change_id"]
        verbose_name_plural = "feed entries"

    def __str__(self) -> str:
        return f"{self.public_id} ({self.signal}, {self.status})"
