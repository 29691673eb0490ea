"""Evidence of every check of a reported URL, and what was found there.

A check is one fetch of one reported item: the request and what the server answered (URLs,
redirects, status, selected headers, size, SHA-256), the media found on the page with their
hashes, and the verdict. The media themselves are never kept. Checks of a case form a chain:
each record's `digest` is an HMAC over its content and the previous record's digest, so a
record changed or removed afterwards breaks the chain (see `evidence.py`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from takedown.core.fields import EncryptedJSONField, EncryptedTextField


class CheckState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    # The static read found a page a script builds: waiting for the browser (the render queue).
    RENDER = "render", _("Waiting for the browser")
    FETCHED = "fetched", _("Fetched, matching")
    DONE = "done", _("Done")


#: A check in one of these states is still running: an item has at most one.
OPEN_CHECK_STATES = (CheckState.PENDING, CheckState.RENDER, CheckState.FETCHED)


class CheckTrigger(models.TextChoices):
    REPORT = "report", _("Reported")
    MANUAL = "manual", _("Checked on request")
    RECHECK = "recheck", _("Scheduled re-check")


class Verdict(models.TextChoices):
    """The fused verdict of one check (see takedown/detectors/fusion.py for how it is reached).

    Only MATCH (an identical or near-identical copy by hash) is grounds for a notice by itself.
    PROBABLE_FORGERY and POSSIBLE_MATCH come from detector scores alone and send the link to
    review by a person first.
    """

    MATCH = "match", _("A copy of a registered image is there")
    PROBABLE_FORGERY = "probable_forgery", _("Probably a fake image made to look like the survivor: needs review")
    POSSIBLE_MATCH = "possible_match", _("Possible match: needs review")
    NO_MATCH = "no_match", _("Nothing matching was found")
    # Nothing matched among what could be read, but the page was not read fully (an age gate, a
    # login wall, a bot check, a page only a browser builds, limits): never "nothing matching".
    PARTIAL = "partial", _("Could not be read fully")
    UNREACHABLE = "unreachable", _("Could not be checked")
    REMOVED = "removed", _("Removed")


#: Why a page was not read fully, in a few plain words ("Could not be read fully (age gate)").
#: The codes are the fetching library's (`takedown.fetching.PARTIAL_REASONS`) plus
#: `media_unreadable`, which the check adds when media it found could not be fetched or decoded.
PARTIAL_LABELS = {
    "bot_challenge": _("bot check"),
    "login_wall": _("login wall"),
    "age_gate": _("age gate"),
    "paywall": _("paywall"),
    "legal_block": _("blocked for legal reasons"),
    "needs_rendering": _("built by scripts, not rendered"),
    "render_failed": _("the browser could not render it"),
    "candidate_limit": _("more images than the limit"),
    "stream_limit": _("more videos than the limit"),
    "page_limit": _("more pages than the limit"),
    "page_unreadable": _("a further page could not be fetched"),
    "media_unreadable": _("some images or videos could not be read"),
}


def partial_label(reason: str) -> str:
    return str(PARTIAL_LABELS.get(reason, reason.replace("_", " ")))


class ItemCheck(models.Model):
    item = models.ForeignKey("cases.ReportedItem", on_delete=models.CASCADE, related_name="checks")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="checks")
    trigger = models.CharField(max_length=16, choices=CheckTrigger.choices)
    state = models.CharField(max_length=16, choices=CheckState.choices, default=CheckState.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    requested_url = EncryptedTextField()
    final_url = EncryptedTextField(null=True, blank=True)
    redirect_chain = EncryptedJSONField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    sniffed_type = models.CharField(max_length=64, blank=True)
    pinned_ip = models.GenericIPAddressField(null=True, blank=True)
    error_reason = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)

    # How the page was read (issue 20). Null on checks sealed before these were kept, so their
    # evidence payload (and digest) stays exactly what it was.
    bytes_fetched = models.PositiveBigIntegerField(null=True, blank=True)
    requests_made = models.PositiveIntegerField(null=True, blank=True)
    rendered = models.BooleanField(null=True, blank=True)
    # Why the page was not read fully: [{"reason", "detail", "url"}], empty when it was. Encrypted:
    # details and URLs name what was reported.
    partial = EncryptedJSONField(null=True, blank=True)
    # The reason the verdict names (the first obstacle, else the first limit); plain, for lists.
    partial_reason = models.CharField(max_length=32, blank=True)
    # Further pages of a thread or gallery that were read (URLs, encrypted).
    pages = EncryptedJSONField(null=True, blank=True)
    # What the browser did when the page was rendered: requests made, refused, blocked, and
    # connections that escaped the fetcher (always 0); counts only.
    render_stats = models.JSONField(null=True, blank=True)

    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    verdict_text = models.TextField(blank=True)
    prev_digest = models.CharField(max_length=64, blank=True)
    digest = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "state", "finished_at"])]

    def __str__(self) -> str:
        return f"check {self.pk} of item {self.item_id}: {self.verdict or self.state}"

    @property
    def partial_reads(self) -> list[dict[str, str]]:
        """Why the page was not read fully, each with its plain label (for the evidence page)."""
        return [{**p, "label": partial_label(str(p.get("reason", "")))} for p in self.partial or []]


class FoundMedium(models.Model):
    """One medium fetched from a checked page: its evidence and hashes, never its bytes."""

    item_check = models.ForeignKey(ItemCheck, on_delete=models.CASCADE, related_name="media")
    url = EncryptedTextField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    sniffed_type = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=8, blank=True)
    # How it was found (issue 20): `how` is og, json-ld, static, inline-json, noscript, rendered,
    # direct or playlist (a streamed video); `source` the exact spot (og:image,
    # json-ld:VideoObject.contentUrl, script:hls ...); `page_number` the page of a thread (1 = the
    # reported page). Blank on media recorded before these were kept.
    how = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=100, blank=True)
    page_number = models.PositiveSmallIntegerField(null=True, blank=True)
    # Distinct frames hashed, for a video or a sampled stream.
    frames = models.PositiveIntegerField(null=True, blank=True)
    # A streamed video: the playlist, the rendition chosen, and each sampled segment (URL, start
    # time, size and SHA-256 or the error). Digests only, never the segments. Encrypted (URLs).
    stream = EncryptedJSONField(null=True, blank=True)
    # Hashes of the found copy (image or video frames). Encrypted like registered hashes: they
    # are derived from intimate content and could be inverted into a likeness. Deflated first:
    # an image's search windows are 10,000+ hashes (~1.2 MB of JSON, ~0.4 MB deflated).
    hashes = EncryptedJSONField(default=list, compress=True)
    error_reason = models.CharField(max_length=32, blank=True)

    matched = models.BooleanField(default=False)
    matched_item_id = models.CharField(max_length=32, blank=True)  # the bundle's item id
    signal = models.CharField(max_length=16, blank=True)
    distance = models.PositiveSmallIntegerField(null=True, blank=True)
    registered_variant = models.CharField(max_length=32, blank=True)
    found_variant = models.CharField(max_length=32, blank=True)
    detail = models.TextField(blank=True)
    # Detector findings (explicit content, face similarity to the case's templates, provenance,
    # plug-ins) as JSON, and the fused assessment of this medium with its reasons in words.
    # Encrypted: face distances and labels describe the content.
    findings = EncryptedJSONField(default=list, blank=True)
    assessment = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    reasons = EncryptedJSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"medium {self.pk} of check {self.item_check_id}"

    @property
    def segments_fetched(self) -> int:
        """Sampled segments of a stream that were fetched (the evidence page shows n of m)."""
        return sum(1 for s in (self.stream or {}).get("segments", []) if not s.get("error"))
