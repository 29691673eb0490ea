"""Keeping the consented hash feed in step with a case, inside the case's own transactions.

The feed (`FeedEntry`) is what vetted platforms copy and what the lookup bank indexes. Whether a
registered hash is in it depends on the hash and its case: someone answerable vouched for it
(`RegisteredHash.vouch`, docs/threat-model.md "Feed integrity"), the survivor consents to share,
the case is active and not held for review, and the hash is of a shared signal and trusted
quality. Each entry carries the vouch that let it out. Every service that
changes one of those calls `feed_sync_case` in the same transaction, so a withdrawal's tombstones
commit with the withdrawal itself. Higher layers (the platform API, the bank in matching) only
read the feed; platforms' feedback on withdrawn entries is cleared by the platforms app when it
reads the `feed.entries_withdrawn` event.

Lock order: the case row first (the caller holds it), then feed entries, then the feed counter.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from takedown.cases.models import Case, FeedCounter, FeedEntry, FeedStatus, RegisteredHash
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict
from takedown.core.outbox import outbox_emit
from takedown.hashing.pairing import is_window_only
from takedown.hashing.signals import hash_trusted

# Signals shared with platforms. dHash is not: no platform exchanges it.
FEED_SIGNALS = ("pdq", "phash", "md5", "sha256")

#: Feed entries per UPDATE statement when many change at once (sharing stopped, a case closed).
FEED_UPDATE_BATCH = 500


def _take_change_ids(count: int) -> list[int]:
    """Reserve `count` consecutive change ids; the counter row stays locked until commit.

    With a plain sequence a transaction that took id 7 could commit after a reader already
    passed id 8, and that reader would never see 7; holding the row lock until commit keeps the
    cursor safe. Feed writes are rare enough to serialise.
    """
    FeedCounter.objects.bulk_create([FeedCounter(pk=1)], ignore_conflicts=True)
    counter = FeedCounter.objects.select_for_update().get(pk=1)
    first = counter.last_change_id + 1
    counter.last_change_id += count
    counter.save(update_fields=["last_change_id"])
    return list(range(first, first + count))


def _shareable(rh: RegisteredHash) -> bool:
    # Variants registered only for the checking side's search windows (parts of the picture,
    # off-centre crops, the central 40%) are not shared: platforms compare whole pictures with
    # what they receive, and a part of a picture would only add chances of a false match there.
    return (
        rh.vouch_id is not None
        and rh.signal in FEED_SIGNALS
        and hash_trusted(rh.signal, rh.quality)
        and not is_window_only(rh.variant)
    )


def case_shares_hashes(case: Case | None) -> bool:
    """Whether this case's vouched hashes may be in the feed (consent, active, not held for review)."""
    return case is not None and case.consent_share_hashes and case.is_active and case.sharing_held_at is None


def _new_public_id() -> str:
    return "h_" + secrets.token_hex(16)


@transaction.atomic
def feed_sync_case(*, case_id: int) -> int:
    """Bring the feed in line with one case's hashes, consent and status; returns entries changed.

    An entry that stops being shared becomes a tombstone (value and digest cleared); if its hash
    was deleted (withdrawal) the link to the case is cleared too. Idempotent: calling it twice
    changes nothing the second time. Linear in the case's size: values are decrypted only for the
    entries that become active, and tombstones are written in one statement.
    """
    case = Case.objects.filter(pk=case_id).first()
    sharing = case_shares_hashes(case)
    hashes = (
        list(RegisteredHash.objects.filter(case_id=case_id, signal__in=FEED_SIGNALS).defer("value")) if case else []
    )
    wanted = {rh.pk: rh for rh in hashes if sharing and _shareable(rh)}
    # A value is present exactly when its digest is (both are set and cleared together).
    existing = list(FeedEntry.objects.select_for_update().filter(case_id=case_id).defer("value"))
    known = {e.registered_hash_id for e in existing if e.registered_hash_id is not None}
    present = {rh.pk for rh in hashes}
    now = timezone.now()
    activated: list[FeedEntry] = []
    tombstones: list[FeedEntry] = []
    for entry in existing:
        rh = wanted.get(entry.registered_hash_id) if entry.registered_hash_id is not None else None
        if rh is not None:
            if entry.status != FeedStatus.ACTIVE:
                activated.append(entry)
            continue
        gone = entry.registered_hash_id is None or entry.registered_hash_id not in present
        if entry.status == FeedStatus.ACTIVE or entry.value_digest or (gone and entry.case_id is not None):
            if gone:
                entry.case_id, entry.registered_hash_id, entry.held_at = None, None, None
            tombstones.append(entry)
    new_pks = [pk for pk in wanted if pk not in known]
    needed = [*new_pks, *(e.registered_hash_id for e in activated if e.registered_hash_id is not None)]
    values = dict(RegisteredHash.objects.filter(pk__in=needed).values_list("pk", "value")) if needed else {}
    for entry in activated:
        rh = wanted[entry.registered_hash_id or 0]  # activated entries all have their hash
        entry.status, entry.value, entry.value_digest = FeedStatus.ACTIVE, values[rh.pk], rh.value_digest
        entry.vouch_id = rh.vouch_id
    created = [
        FeedEntry(
            public_id=_new_public_id(),
            signal=wanted[pk].signal,
            status=FeedStatus.ACTIVE,
            registered_hash_id=pk,
            case_id=case_id,
            value=values[pk],
            value_digest=wanted[pk].value_digest,
            vouch_id=wanted[pk].vouch_id,
        )
        for pk in new_pks
    ]
    if not activated and not tombstones and not created:
        return 0
    ids = iter(_take_change_ids(len(tombstones) + len(activated) + len(created)))
    for entry in [*tombstones, *activated, *created]:
        entry.change_id, entry.updated_at = next(ids), now
    if tombstones:
        _write_tombstones(tombstones, now)
        orphaned = [e.pk for e in tombstones if e.case_id is None]
        if orphaned:
            # Platforms' verdicts on hashes that no longer exist go too (a withdrawal leaves no
            # residue); they belong to the platforms app, which reads this event.
            outbox_emit("feed.entries_withdrawn", {"entry_ids": orphaned})
    if activated:
        FeedEntry.objects.bulk_update(
            activated,
            ["change_id", "status", "value", "value_digest", "vouch", "updated_at"],
            # bulk_update writes one CASE expression per column over the rows it is given, so its
            # cost grows with the square of a batch: batches keep it linear.
            batch_size=FEED_UPDATE_BATCH,
        )
    FeedEntry.objects.bulk_create(created, batch_size=1000)
    return len(tombstones) + len(activated) + len(created)


def _write_tombstones(entries: list[FeedEntry], now: datetime) -> None:
    """One UPDATE for any number of tombstones (each with its own change id; links cleared for the
    entries whose hash is gone)."""
    table = FeedEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS entry
            SET change_id = v.change_id, status = %s, value = NULL, value_digest = '', vouch_id = NULL,
                case_id = CASE WHEN v.orphan THEN NULL ELSE entry.case_id END,
                registered_hash_id = CASE WHEN v.orphan THEN NULL ELSE entry.registered_hash_id END,
                held_at = CASE WHEN v.orphan THEN NULL ELSE entry.held_at END,
                updated_at = %s
            FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::bigint[]) AS change_id,
                         unnest(%s::boolean[]) AS orphan) AS v
            WHERE entry.id = v.id
            """,  # noqa: S608 - the table name is the model's own; every value is a parameter
            [
                FeedStatus.WITHDRAWN,
                now,
                [e.pk for e in entries],
                [e.change_id for e in entries],
                [e.case_id is None for e in entries],
            ],
        )
    for entry in entries:
        entry.status, entry.value, entry.value_digest, entry.vouch_id = FeedStatus.WITHDRAWN, None, "", None


@transaction.atomic
def feed_withdraw_case(*, case_id: int) -> int:
    """Every entry of a case becomes a tombstone at once; returns how many changed.

    Withdrawal's fast path: one UPDATE whatever the case's size (10,000 hashes or more), so the
    survivor's request ends quickly and no platform or lookup sees the hashes after it commits.
    Value and digest are cleared and each entry takes a new change id (consecutive, in entry
    order, under the counter's lock), as `feed_sync_case` would give it. Only the columns
    platforms see change here: the internal links to the case, its hashes and vouch (nothing a
    platform reads) are cleared by `feed_orphan_case` when the case's rows are erased, which
    keeps this statement's index work small.
    """
    count = FeedEntry.objects.filter(case_id=case_id).count()
    if not count:
        return 0
    first = _take_change_ids(count)[0]
    table = FeedEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH numbered AS (
                SELECT id, row_number() OVER (ORDER BY id) AS n FROM {table} WHERE case_id = %s
            )
            UPDATE {table} AS entry
            SET change_id = %s + numbered.n - 1, status = %s, value = NULL, value_digest = '', held_at = NULL,
                updated_at = %s
            FROM numbered WHERE entry.id = numbered.id
            RETURNING entry.id
            """,  # noqa: S608 - the table name is the model's own; every value is a parameter
            [case_id, first, FeedStatus.WITHDRAWN, timezone.now()],
        )
        withdrawn = [row[0] for row in cursor.fetchall()]
    # Platforms' verdicts on these hashes go too (the platforms app reads this event).
    outbox_emit("feed.entries_withdrawn", {"entry_ids": withdrawn})
    return len(withdrawn)


def feed_orphan_case(*, case_id: int) -> int:
    """Cut a withdrawn case's tombstones loose from it before its rows are deleted (no new change
    id: platforms already saw the tombstones). Afterwards nothing in the feed points at the case."""
    return FeedEntry.objects.filter(case_id=case_id, status=FeedStatus.WITHDRAWN, value_digest="").update(
        case_id=None, registered_hash=None, vouch=None
    )


def _bump(entry: FeedEntry) -> None:
    (entry.change_id,) = _take_change_ids(1)
    entry.updated_at = timezone.now()


@transaction.atomic
def feed_entry_hold(*, entry_id: int) -> FeedEntry | None:
    """Take a hash out of the feed and lookups for review (two platforms reported a false positive).

    A hold is announced like a withdrawal, with a new change id. Returns the entry when it was
    held now, None when it was already held.
    """
    entry = FeedEntry.objects.select_for_update().get(pk=entry_id)
    if entry.held_at is not None:
        return None
    entry.held_at = timezone.now()
    _bump(entry)
    entry.save(update_fields=["held_at", "change_id", "updated_at"])
    return entry


@transaction.atomic
def feed_entry_clear_hold(*, actor: Actor, case: Case, public_id: str) -> FeedEntry:
    """An advocate reviewed a held hash and puts it back into the feed and lookups."""
    entry = FeedEntry.objects.select_for_update().filter(case_id=case.pk, public_id=public_id).first()
    if entry is None or entry.held_at is None:
        raise Conflict(_("This hash is not held for review."))
    entry.held_at = None
    entry.hold_cleared_at = timezone.now()
    _bump(entry)
    entry.save(update_fields=["held_at", "hold_cleared_at", "change_id", "updated_at"])
    audit_record(
        actor=actor,
        action="hash.hold_cleared",
        subject_type="case",
        subject_id=case.pk,
        organization_id=case.organization_id,
        data={"hash_id": entry.public_id},
    )
    return entry
