"""Tamper-evident evidence: each sealed check is chained to the previous one of its case.

`digest = HMAC-SHA256(key, prev_digest || canonical JSON of the check and its media)`. The key is
derived from SECRET_KEY, so nobody without it can forge a consistent chain, and anyone holding an
export can have the service re-verify it. Changing, inserting or deleting a sealed record makes
`evidence_verify` report the first record whose digest no longer follows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import Prefetch

from takedown.matching.models import FoundMedium, ItemCheck


def _key() -> bytes:
    return hashlib.sha256(f"takedown-evidence:{settings.SECRET_KEY}".encode()).digest()


def evidence_payload(check: ItemCheck) -> dict[str, Any]:
    """Everything the digest covers, in a stable shape (also the export format).

    Fields added later appear only on records that have them (a check's `reading`, a medium's
    `how`, `source`, `page`, `frames` and `stream`), so a record sealed before they existed gives
    the same bytes, and its digest still verifies.
    """
    payload = {
        "check_id": check.pk,
        "item_id": check.item_id,
        "case_id": check.case_id,
        "trigger": check.trigger,
        "requested_url": check.requested_url,
        "final_url": check.final_url,
        "redirect_chain": check.redirect_chain or [],
        "status_code": check.status_code,
        "headers": check.headers,
        "fetched_at": check.fetched_at.isoformat() if check.fetched_at else None,
        "elapsed_ms": check.elapsed_ms,
        "size": check.size,
        "sha256": check.sha256,
        "sniffed_type": check.sniffed_type,
        "pinned_ip": check.pinned_ip,
        "error_reason": check.error_reason,
        "error_message": check.error_message,
        "verdict": check.verdict,
        "verdict_text": check.verdict_text,
        "finished_at": check.finished_at.isoformat() if check.finished_at else None,
        "media": [
            {
                "url": m.url,
                "status_code": m.status_code,
                "size": m.size,
                "sha256": m.sha256,
                "sniffed_type": m.sniffed_type,
                "kind": m.kind,
                "error_reason": m.error_reason,
                "matched": m.matched,
                "signal": m.signal,
                "distance": m.distance,
                "registered_variant": m.registered_variant,
                "found_variant": m.found_variant,
                "detail": m.detail,
                **_how_found(m),
            }
            for m in _media(check)
        ],
    }
    reading = _reading(check)
    if reading is not None:
        payload["reading"] = reading
    return payload


#: Fields of a medium the digest does not cover: large encrypted JSON, not loaded to seal or verify.
_NOT_COVERED = ("hashes", "findings", "reasons")


def _media(check: ItemCheck) -> Iterable[FoundMedium]:
    """The check's media in id order: the ones `evidence_chain` prefetched, else a query that
    leaves out what the digest does not cover (decrypting every hash would cost most of a seal)."""
    if "media" in getattr(check, "_prefetched_objects_cache", {}):
        return check.media.all()
    return check.media.defer(*_NOT_COVERED).order_by("id")


def _reading(check: ItemCheck) -> dict[str, Any] | None:
    """How the page was read: bytes and requests, rendering, the pages of a thread, and why it
    was not read fully. None for checks sealed before this was recorded."""
    if check.bytes_fetched is None and check.partial is None and check.rendered is None:
        return None
    return {
        "bytes_fetched": check.bytes_fetched,
        "requests": check.requests_made,
        "rendered": check.rendered,
        "render": check.render_stats,
        "pages": check.pages or [],
        "read_fully": not check.partial,
        "partial": check.partial or [],
        "partial_reason": check.partial_reason,
    }


def _how_found(medium: FoundMedium) -> dict[str, Any]:
    if not medium.how:
        return {}
    return {
        "how": medium.how,
        "source": medium.source,
        "page": medium.page_number,
        "frames": medium.frames,
        "stream": medium.stream,
    }


def evidence_digest(prev_digest: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(_key(), (prev_digest + canonical).encode(), hashlib.sha256).hexdigest()


def evidence_chain(case_id: int) -> list[ItemCheck]:
    return list(
        ItemCheck.objects.filter(case_id=case_id)
        .exclude(digest="")
        .order_by("finished_at", "id")
        .prefetch_related(Prefetch("media", queryset=FoundMedium.objects.defer(*_NOT_COVERED).order_by("id")))
    )


def evidence_verify(case_id: int) -> list[str]:
    """Problems found walking the case's chain; an empty list means intact."""
    problems: list[str] = []
    prev = ""
    for check in evidence_chain(case_id):
        if check.prev_digest != prev:
            problems.append(f"check {check.pk}: the previous record is missing or was changed")
        expected = evidence_digest(check.prev_digest, evidence_payload(check))
        if not hmac.compare_digest(expected, check.digest):
            problems.append(f"check {check.pk}: its content was changed after it was sealed")
        prev = check.digest
    return problems


def evidence_export(case_id: int) -> dict[str, Any]:
    records = [
        {**evidence_payload(check), "prev_digest": check.prev_digest, "digest": check.digest}
        for check in evidence_chain(case_id)
    ]
    return {"format": "takedown-evidence", "version": 1, "records": records, "intact": not evidence_verify(case_id)}
