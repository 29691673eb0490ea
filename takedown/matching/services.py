"""Checking reported items: fetch safely, hash what is there, match, record evidence and verdict.

A check runs in two tasks on their own queues: `check_fetch` (network and hashing, queue
"fetch") and `check_match` (comparison with the case's registered hashes, queue "match"). Both
are idempotent: each first claims the check in the state it expects, so a redelivered message
finds the work done (or claimable again after a crash) and never records a check twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from takedown.cases.models import ACTIVE_STATUSES, Case, FaceTemplate, ItemStatus, RegisteredHash, ReportedItem
from takedown.cases.services import case_add_urls, case_sharing_vouch_match, item_check_recorded, item_check_started
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict
from takedown.core.queue import task_on_commit, task_send
from takedown.core.transport import fetch_policy
from takedown.detectors.base import DetectorContext
from takedown.detectors.base import FaceTemplate as DetectorFaceTemplate
from takedown.detectors.fusion import Fused, HashEvidence, finding_from_dict, fuse, strongest
from takedown.fetching import (
    FetchError,
    FetchResult,
    HttpStatusError,
    PageRenderer,
    PageResult,
    fetch_media,
    obstacle_reading,
    registrable_domain,
)
from takedown.hashing.hashes import Hash
from takedown.hashing.matcher import Match, best_matches
from takedown.matching.bank import bank_lookup
from takedown.matching.evidence import evidence_digest, evidence_payload
from takedown.matching.models import (
    OPEN_CHECK_STATES,
    CheckState,
    CheckTrigger,
    FoundMedium,
    ItemCheck,
    Verdict,
    partial_label,
)
from takedown.matching.reading import PageReading, page_reading, partial_entry
from takedown.registry.models import ContentKind
from takedown.registry.selectors import platform_for_host

logger = logging.getLogger(__name__)

#: Headers kept as evidence (what a platform or court may ask about); nothing else is stored.
EVIDENCE_HEADERS = (
    "content-type",
    "content-length",
    "last-modified",
    "etag",
    "server",
    "date",
    "location",
    "x-robots-tag",
)
GONE_STATUSES = frozenset({404, 410})
#: Verdicts reached from detector scores without a hash match: a person reviews them first.
REVIEW_VERDICTS = frozenset({Verdict.PROBABLE_FORGERY, Verdict.POSSIBLE_MATCH})
_HEADLINES = {
    "probable_forgery": "Probable digital forgery depicting the survivor. ",
    "possible_match": "Possible match. ",
}

FetchOutcome = Literal["retry", "fetched", "render", "done", "skipped"]


def _audit_item(actor: Actor, item: ReportedItem, case: Case, action: str, data: dict[str, object]) -> None:
    audit_record(
        actor=actor,
        action=action,
        subject_type="case",
        subject_id=case.pk,
        organization_id=case.organization_id,
        data={"item_id": item.pk, **data},
    )


FETCH_TASK = "takedown.matching.tasks.fetch_check"
RENDER_TASK = "takedown.matching.tasks.render_check"
MATCH_TASK = "takedown.matching.tasks.match_check"


@transaction.atomic
def item_check_request(*, actor: Actor, item: ReportedItem, trigger: str = CheckTrigger.MANUAL) -> ItemCheck:
    """Queue a check of `item` (started when the transaction commits). One open check per item.

    Locks: the case and the item (through `item_check_started`, the cases app's service), then
    the open checks.
    """
    item = item_check_started(item=item)
    open_check = ItemCheck.objects.filter(item=item, state__in=OPEN_CHECK_STATES).first()
    if open_check is not None:
        return open_check
    case = Case.objects.get(pk=item.case_id)
    check = ItemCheck.objects.create(item=item, case=case, trigger=trigger, requested_url=item.url)
    _audit_item(actor, item, case, "item.check_requested", {"trigger": trigger, "check_id": check.pk})
    # A broker that is down must not fail the report already committed; `checks_resume`
    # publishes the check again later.
    task_on_commit(FETCH_TASK, check.pk)
    return check


def items_check_reported(*, case_id: int, item_ids: list[int]) -> int:
    """The `case.items_reported` event: check newly reported links (when CHECK_ON_REPORT is on).

    Links deleted meanwhile (the case withdrawn) are skipped; a link with an open check keeps it,
    so handling the event twice queues nothing twice. Returns how many checks were requested.
    """
    if not settings.CHECK_ON_REPORT:
        return 0
    items = list(ReportedItem.objects.filter(pk__in=item_ids, case_id=case_id, case__status__in=ACTIVE_STATUSES))
    for item in items:
        item_check_request(actor=Actor.system(), item=item, trigger=CheckTrigger.REPORT)
    return len(items)


def _claim(check_id: int, state: CheckState) -> bool:
    """Take a check waiting in `state`; a check started longer ago than a task may run was abandoned."""
    stale = timezone.now() - timedelta(seconds=settings.TASK_CLAIM_STALE_SECONDS)
    return (
        ItemCheck.objects.filter(pk=check_id, state=state)
        .filter(Q(started_at__isnull=True) | Q(started_at__lt=stale))
        .update(started_at=timezone.now())
        == 1
    )


def check_fetch(*, check_id: int, final_attempt: bool = False) -> FetchOutcome:
    """Fetch the item's URL and its media and hash them (no database transaction held meanwhile).

    The static read (no browser on the fetch queue) follows streams and a thread's pages. A page
    that only a browser can read (`needs_rendering`) goes to the render queue when rendering is
    on ("render": the task queues `render_check`); off, it is recorded as not read fully.
    """
    if not _claim(check_id, CheckState.PENDING):
        return "skipped"
    check = ItemCheck.objects.filter(pk=check_id).first()
    if check is None:  # the case was withdrawn and deleted meanwhile
        return "skipped"
    try:
        page = fetch_media(check.requested_url, fetch_policy(), render="never")
    except FetchError as error:
        return _fetch_failed(check, error, final_attempt=final_attempt)
    if settings.RENDER_PAGES and any(p.reason == "needs_rendering" for p in page.partial):
        moved = ItemCheck.objects.filter(pk=check_id, state=CheckState.PENDING).update(
            state=CheckState.RENDER, started_at=None
        )
        return "render" if moved else "skipped"
    reading = page_reading(page, detection_context(check.case_id))
    _record_fetched(check_id=check_id, page=page, reading=reading, expected=CheckState.PENDING)
    return "fetched"


def check_render(*, check_id: int, renderer: PageRenderer | None, final_attempt: bool = False) -> FetchOutcome:
    """Read the page again in the browser (`renderer`, this worker process's), on the render queue.

    The page is read from the start with rendering: static candidates, streams and pages as
    before, plus what the page's scripts built and requested. Without a renderer (Chromium or
    Playwright missing on this worker) the static reading is recorded and says so.
    """
    if not _claim(check_id, CheckState.RENDER):
        return "skipped"
    check = ItemCheck.objects.filter(pk=check_id).first()
    if check is None:
        return "skipped"
    extra: list[dict[str, Any]] = []
    try:
        if renderer is None:
            page = fetch_media(check.requested_url, fetch_policy(), render="never")
            extra.append(
                partial_entry(
                    "render_failed",
                    "No browser is available on the render worker (Chromium or Playwright is missing).",
                )
            )
        else:
            page = fetch_media(check.requested_url, fetch_policy(), renderer=renderer, render="always")
    except FetchError as error:
        return _fetch_failed(check, error, final_attempt=final_attempt)
    reading = page_reading(page, detection_context(check.case_id), extra_partial=extra)
    _record_fetched(check_id=check_id, page=page, reading=reading, expected=CheckState.RENDER)
    return "fetched"


@transaction.atomic
def check_render_timed_out(*, check_id: int, limit: float) -> Verdict | None:
    """The render task ran out of time (its soft limit): seal the check as not read fully, so a
    page that always overruns is not rendered again and again."""
    locked = _lock_check(check_id)
    if locked is None or locked[2].state != CheckState.RENDER:
        return None
    _case, item, check = locked
    check.partial = [
        partial_entry("render_failed", f"Reading and rendering the page took longer than the limit ({limit:g} s).")
    ]
    check.partial_reason = "render_failed"
    check.rendered = False
    text = _partial_text(check.partial, hashed=0, closest=None)
    _seal(check, item, Verdict.PARTIAL, text)
    return Verdict.PARTIAL


def _fetch_failed(check: ItemCheck, error: FetchError, *, final_attempt: bool) -> FetchOutcome:
    """The reported URL itself failed: retry later when it can heal, else record the failure."""
    if error.transient and not final_attempt:
        ItemCheck.objects.filter(pk=check.pk).update(started_at=None, attempts=check.attempts + 1)
        return "retry"
    _record_failure(check_id=check.pk, error=error)
    return "done"


def detection_context(case_id: int) -> DetectorContext | None:
    """What the detectors are told about a case, or None when they should not run for it.

    Detectors run when the survivor said the content is (or may be) fake, or gave face templates
    with their consent: for a case of real images only, the hash match is the whole answer and
    the detectors would only cost time. Face templates are decrypted here, in memory, for the
    duration of one fetch task.
    """
    if not settings.DETECTORS_ENABLED:
        return None
    case = Case.objects.filter(pk=case_id).only("content_kind", "consent_face_matching").first()
    if case is None:
        return None
    templates: tuple[DetectorFaceTemplate, ...] = ()
    if case.consent_face_matching:
        templates = tuple(
            DetectorFaceTemplate(id=t.template_id, vector=tuple(t.vector), model=t.model)
            for t in FaceTemplate.objects.filter(case_id=case_id).order_by("id")
        )
    if case.content_kind == ContentKind.AUTHENTIC and not templates:
        return None
    return DetectorContext(face_templates=templates)


def _evidence_fields(check: ItemCheck, result: FetchResult) -> None:
    check.final_url = result.final_url
    check.redirect_chain = [[hop.url, hop.status, hop.location] for hop in result.redirect_chain]
    check.status_code = result.status
    check.headers = {k: v for k, v in result.headers.items() if k.lower() in EVIDENCE_HEADERS}
    check.fetched_at = result.fetched_at
    check.elapsed_ms = int(result.elapsed * 1000)
    check.size = result.size
    check.sha256 = result.sha256
    check.sniffed_type = result.sniffed_type
    check.pinned_ip = result.pinned_ip


@transaction.atomic
def _record_fetched(*, check_id: int, page: PageResult, reading: PageReading, expected: CheckState) -> None:
    check = ItemCheck.objects.select_for_update().filter(pk=check_id).first()
    if check is None or check.state != expected:
        return
    _evidence_fields(check, page.page)
    check.bytes_fetched = reading.bytes_fetched
    check.requests_made = reading.requests
    check.rendered = reading.rendered
    check.partial = reading.partial
    check.partial_reason = reading.partial_reason
    check.pages = reading.pages
    check.render_stats = reading.render_stats
    check.state = CheckState.FETCHED
    check.save()
    for medium in reading.media:
        medium.item_check = check
    FoundMedium.objects.bulk_create(reading.media)


def _lock_check(check_id: int) -> tuple[Case, ReportedItem, ItemCheck] | None:
    """Lock a check's case, item and check, in the project's lock order; None if it is gone."""
    ids = ItemCheck.objects.filter(pk=check_id).values_list("case_id", "item_id").first()
    if ids is None:
        return None
    case = Case.objects.select_for_update(of=("self",)).filter(pk=ids[0]).first()
    item = ReportedItem.objects.select_for_update().filter(pk=ids[1]).first()
    check = ItemCheck.objects.select_for_update().filter(pk=check_id).first()
    if case is None or item is None or check is None:
        return None
    return case, item, check


@transaction.atomic
def _record_failure(*, check_id: int, error: FetchError) -> None:
    locked = _lock_check(check_id)
    if locked is None or locked[2].state not in {CheckState.PENDING, CheckState.RENDER}:
        return
    _case, item, check = locked
    check.error_reason = error.reason
    check.error_message = str(error)[:1000]
    check.redirect_chain = [[hop.url, hop.status, hop.location] for hop in error.redirect_chain]
    check.fetched_at = timezone.now()
    status = getattr(error, "status", None)
    if isinstance(error, HttpStatusError):
        check.status_code = status
    # A refusal that is really a wall (a login form, an age check, a bot check) says so.
    obstacle = obstacle_reading(error)
    if obstacle is not None:
        check.partial = [partial_entry(obstacle.reason, obstacle.detail, obstacle.url)]
        check.partial_reason = obstacle.reason
    was_seen = item.status in {ItemStatus.LIVE} or item.checks.filter(verdict=Verdict.MATCH).exists()
    if status in GONE_STATUSES and was_seen:
        verdict, text = Verdict.REMOVED, f"Removed: the page now answers {status}."
    elif status in GONE_STATUSES:
        verdict, text = Verdict.UNREACHABLE, f"The page does not exist (HTTP {status})."
    elif obstacle is not None:
        verdict = Verdict.UNREACHABLE
        text = f"Could not be read ({partial_label(obstacle.reason)}): {obstacle.detail} ({error})"
    else:
        verdict, text = Verdict.UNREACHABLE, f"Could not be checked ({error.reason}): {error}"
    _seal(check, item, verdict, text)


def _registered_by_item(case_id: int) -> dict[str, list[Hash]]:
    grouped: dict[str, list[Hash]] = {}
    # Ordered by id, so files are numbered in the order the survivor registered them.
    rows = RegisteredHash.objects.filter(case_id=case_id).order_by("id")
    for rh in rows.only("item_id", "signal", "value", "quality", "variant"):
        grouped.setdefault(rh.item_id, []).append(Hash(rh.signal, rh.value, rh.quality, rh.variant))
    return grouped


def _better(a: Match | None, b: Match) -> bool:
    if a is None:
        return True
    return (b.matched, -b.distance) > (a.matched, -a.distance)


def _hash_text(match: Match, item_number: int) -> str:
    kind = "Identical copy" if match.distance == 0 else "Near-identical copy"
    return (
        f"{kind}: {match.signal.upper()} distance {match.distance} to registered file {item_number}"
        + (
            f" (registered variant {match.registered_variant})"
            if match.registered_variant not in {"original", "file"}
            else ""
        )
        + (f"; {match.detail}" if match.detail else "")
        + "."
    )


_MATCH_FIELDS = [
    "matched",
    "matched_item_id",
    "signal",
    "distance",
    "registered_variant",
    "found_variant",
    "detail",
    "assessment",
    "reasons",
]


@transaction.atomic
def check_match(*, check_id: int) -> Verdict | None:
    """Compare what a check found with the case's registered hashes, fuse with the detector
    findings recorded at fetch time, and record the verdict with its reasons."""
    locked = _lock_check(check_id)
    if locked is None or locked[2].state != CheckState.FETCHED:
        return None  # already matched (redelivery) or deleted with its case
    case, item, check = locked
    registered = _registered_by_item(check.case_id)
    item_numbers = {item_id: n for n, item_id in enumerate(registered, start=1)}
    closest: Match | None = None
    fused: list[tuple[FoundMedium, Fused]] = []
    media = list(check.media.all())
    for medium in media:
        if not medium.hashes:
            continue
        found = [Hash(s, v, q, var) for s, v, q, var in medium.hashes]
        best: tuple[Match, str] | None = None
        for item_id, match in zip(registered, best_matches(list(registered.values()), found), strict=True):
            if match is not None and _better(best[0] if best else None, match):
                best = (match, item_id)
        evidence: HashEvidence | None = None
        if best is not None:
            match, item_id = best
            medium.matched = match.matched
            medium.matched_item_id = item_id if match.matched else ""
            medium.signal = match.signal
            medium.distance = match.distance
            medium.registered_variant = match.registered_variant
            medium.found_variant = match.found_variant
            medium.detail = match.detail
            evidence = HashEvidence(
                match.matched, match.signal, match.distance, _hash_text(match, item_numbers[item_id])
            )
            if _better(closest, match):
                closest = match
        verdict_of_medium = fuse(evidence, [finding_from_dict(f) for f in medium.findings or []])
        medium.assessment = verdict_of_medium.verdict
        medium.reasons = list(verdict_of_medium.reasons)
        # Only what matching decided: the hashes and findings (large, encrypted) are not written again.
        medium.save(update_fields=_MATCH_FIELDS)
        fused.append((medium, verdict_of_medium))

    hashed = [m for m in media if m.hashes]
    partial = check.partial or []
    top = strongest([f for _m, f in fused])
    if top is not None and top.verdict != "no_match":
        verdict = Verdict(top.verdict)
        text = _HEADLINES.get(top.verdict, "") + " ".join(top.reasons)
        if top.needs_review:
            text += " Needs review by a person before any notice."
        if partial:
            text += f" The page was not read fully ({_partial_labels(partial)})."
    elif partial:
        # Nothing matched, but something stood in front of the content or was left unread: say
        # so, never "nothing matching found" (and never "removed" for a page now behind a wall).
        verdict = Verdict.PARTIAL
        text = _partial_text(partial, hashed=len(hashed), closest=closest)
    elif item.status == ItemStatus.LIVE:
        verdict = Verdict.REMOVED
        text = "Removed: the page is up but the matching image is gone" + (
            f" (closest distance now {closest.distance})." if closest else "."
        )
    elif not hashed:
        verdict = Verdict.NO_MATCH
        text = f"No image or video could be read on the page ({len(media)} candidate(s))."
    else:
        verdict = Verdict.NO_MATCH
        nearest = f" Closest: {closest.signal.upper()} distance {closest.distance}." if closest else ""
        text = f"Nothing matching among {len(hashed)} image(s) or video(s).{nearest}"
    _seal(check, item, verdict, text)
    if case.consent_share_hashes:
        _share_with_bank(check=check, media=media, url=item.url)
    return verdict


def _share_with_bank(*, check: ItemCheck, media: list[FoundMedium], url: str) -> None:
    """Suggest the link to other consenting cases whose registered images appear on it.

    Both survivors agreed to share their hashes. The other case learns only the public link (and
    that it was found by a check), never anything about this case; its own check then confirms or
    rejects the match with its own evidence. Runs on commit, so a failure here cannot undo the
    verdict just recorded.
    """
    hits: dict[int, int] = {}
    for medium in media:
        if not medium.hashes:
            continue
        found = [Hash(s, v, q, var) for s, v, q, var in medium.hashes]
        for hit in bank_lookup(found, exclude_case_id=check.case_id):
            hits[hit.case_id] = min(hit.distance, hits.get(hit.case_id, 256))

    def suggest() -> None:
        for case_id, distance in sorted(hits.items()):
            other = Case.objects.filter(pk=case_id, consent_share_hashes=True).first()
            if other is None or not other.is_active:
                continue
            added = case_add_urls(actor=Actor.system(), case=other, urls=[url])
            if added:
                _audit_item(
                    Actor.system(), added[0], other, "item.found_by_bank", {"distance": distance, "check_id": check.pk}
                )

    if hits:
        transaction.on_commit(suggest)


def _platform_key(host: str) -> str:
    """The registry's platform slug for a host, else its registrable domain (unknown platform).

    The resolved address of an unknown host is in the check's evidence (`pinned_ip`), for the
    notices app to find the hosting provider.
    """

    platform = platform_for_host(host)
    if platform is not None:
        return platform.slug
    return registrable_domain(host) or host


def _partial_labels(partial: list[dict[str, Any]]) -> str:
    labels: list[str] = []
    for entry in partial:
        label = partial_label(str(entry.get("reason", "")))
        if label not in labels:
            labels.append(label)
    return ", ".join(labels)


def _partial_text(partial: list[dict[str, Any]], *, hashed: int, closest: Match | None) -> str:
    """ "Could not be read fully (age gate): nothing matching among what could be read ..." """
    head = f"Could not be read fully ({_partial_labels(partial)}): "
    if not hashed:
        body = "no image or video could be read."
    else:
        nearest = f" Closest: {closest.signal.upper()} distance {closest.distance}." if closest else ""
        body = f"nothing matching among what could be read ({hashed} image(s) or video(s)).{nearest}"
    details = " ".join(str(entry.get("detail", "")) for entry in partial[:3] if entry.get("detail"))
    return head + body + (f" {details}" if details else "")


#: The item status each verdict points to; the cases app applies the item's own history to it.
#: A page not read fully is "could not be checked" for the item (cases has no status of its own for
#: it yet); the check's verdict and `partial_reason` say which wall or limit it was.
_ITEM_STATUS_OF_VERDICT = {
    Verdict.MATCH: ItemStatus.LIVE,
    Verdict.PROBABLE_FORGERY: ItemStatus.NEEDS_REVIEW,  # detector scores alone never make a link "live"
    Verdict.POSSIBLE_MATCH: ItemStatus.NEEDS_REVIEW,
    Verdict.REMOVED: ItemStatus.REMOVED,
    Verdict.NO_MATCH: ItemStatus.NO_MATCH,
    Verdict.UNREACHABLE: ItemStatus.UNREACHABLE,
    Verdict.PARTIAL: ItemStatus.UNREACHABLE,
}


def _seal(check: ItemCheck, item: ReportedItem, verdict: str, text: str) -> None:
    """Finish a check: verdict, chain digest, item status, timeline. The caller holds case, item and
    check locks (the case lock serialises the case's evidence chain)."""
    chained = ItemCheck.objects.filter(case_id=check.case_id).exclude(digest="")
    previous = chained.order_by("-finished_at", "-id").first()
    now = timezone.now()
    check.verdict = verdict
    check.verdict_text = text
    check.finished_at = now
    check.state = CheckState.DONE
    check.prev_digest = previous.digest if previous else ""
    check.save()
    check.digest = evidence_digest(check.prev_digest, evidence_payload(check))
    check.save(update_fields=["digest"])
    actor = Actor.system()
    case = Case.objects.get(pk=check.case_id)
    _audit_item(actor, item, case, "item.checked", {"check_id": check.pk, "verdict": verdict})
    item_check_recorded(
        actor=actor,
        item=item,
        found=_ITEM_STATUS_OF_VERDICT.get(Verdict(verdict), ItemStatus.UNREACHABLE),
        checked_at=now,
        platform=item.platform or _platform_key(item.host),
        check_id=check.pk,
    )


def recheck_due(*, now: object = None, limit: int = 500) -> int:
    """Queue re-checks of items still online, or removed recently (to catch re-uploads)."""
    moment = timezone.now()
    interval = timedelta(hours=settings.RECHECK_INTERVAL_HOURS)
    watch_removed = moment - timedelta(days=settings.RECHECK_REMOVED_DAYS)
    due = (
        ReportedItem.objects.filter(
            Q(status=ItemStatus.LIVE) | Q(status=ItemStatus.REMOVED, removed_at__gte=watch_removed),
            case__status__in=ACTIVE_STATUSES,
        )
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=moment - interval))
        .exclude(checks__state__in=OPEN_CHECK_STATES)
        .order_by("last_checked_at")[:limit]
    )
    count = 0
    for item in due:
        item_check_request(actor=Actor.system(), item=item, trigger=CheckTrigger.RECHECK)
        count += 1
    return count


def checks_resume(*, limit: int = 500) -> int:
    """Publish again the checks whose task message was lost; returns how many were published.

    PostgreSQL, not the broker, is the record of work to do: a message can be lost when Redis
    restarts without persistence, when it was down as the report was committed, or when a worker
    failed to publish the next step (the database restarting under it). A pending check never
    started (or whose claim went stale) is fetched again, one waiting for the browser rendered again,
    a fetched one matched again.
    """
    now = timezone.now()
    waited = now - timedelta(seconds=settings.TASK_RESUME_AFTER_SECONDS)
    stale = now - timedelta(seconds=settings.TASK_CLAIM_STALE_SECONDS)
    pending = ItemCheck.objects.filter(state=CheckState.PENDING).filter(
        Q(started_at__isnull=True, created_at__lt=waited) | Q(started_at__lt=stale)
    )
    rendering = ItemCheck.objects.filter(state=CheckState.RENDER).filter(
        Q(started_at__isnull=True, created_at__lt=waited) | Q(started_at__lt=stale)
    )
    fetched = ItemCheck.objects.filter(state=CheckState.FETCHED, fetched_at__lt=waited)
    count = 0
    try:
        for check_id in pending.order_by("id").values_list("id", flat=True)[:limit]:
            task_send(FETCH_TASK, check_id)
            count += 1
        for check_id in rendering.order_by("id").values_list("id", flat=True)[:limit]:
            task_send(RENDER_TASK, check_id)
            count += 1
        for check_id in fetched.order_by("id").values_list("id", flat=True)[:limit]:
            task_send(MATCH_TASK, check_id)
            count += 1
    except Exception:  # the broker is down: the next run tries again
        logger.warning("checks_resume: publishing failed after %d check(s)", count, exc_info=True)
    return count


@dataclass(frozen=True)
class ItemEvidence:
    item: ReportedItem
    checks: list[ItemCheck]


def items_request_checks(*, actor: Actor, items: list[ReportedItem], trigger: str) -> None:
    for item in items:
        item_check_request(actor=actor, item=item, trigger=trigger)


def check_match_confirm(*, actor: Actor, item: ReportedItem, check_id: int | str) -> int:
    """An advocate confirms a check's hash match on a reported link: the matched picture's hashes
    go to platforms under the advocate's vouch (`cases.services.case_sharing_vouch_match`, which
    checks the advocate's organisation may vouch). Returns how many hashes were vouched for.

    The caller reached `item` through `access_item`; the check is looked up among the item's own.
    """
    try:
        check = item.checks.filter(pk=int(check_id), verdict=Verdict.MATCH).first()
    except (TypeError, ValueError):
        check = None
    if check is None:
        raise Conflict(_("No match was found on this link, so there is nothing to confirm."))
    matched = sorted(
        set(check.media.filter(matched=True).exclude(matched_item_id="").values_list("matched_item_id", flat=True))
    )
    vouch = case_sharing_vouch_match(actor=actor, item=item, check_id=check.pk, matched_item_ids=matched)
    return vouch.hashes
