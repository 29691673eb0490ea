"""Writes for platform accounts, keys, webhooks, the consented hash feed, feedback and lookups.

Every change writes its audit event in the same transaction. Case-related events (feedback, holds)
are case events, so they appear on the case's timeline; key and webhook events are about the
platform account.
"""

from __future__ import annotations

import functools
import json
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from takedown.cases.digests import keyed_digest
from takedown.cases.models import Case, CaseStatus, RegisteredHash
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict, InvalidInput
from takedown.hashing.errors import InvalidHashError
from takedown.hashing.signals import PDQ_MIN_QUALITY, get_signal_type
from takedown.matching.bank import BankChange, DeltaBank
from takedown.notices.models import Platform
from takedown.platforms import keys
from takedown.platforms.access import PlatformCaller
from takedown.platforms.models import (
    VETTED_SCOPES,
    ApiKey,
    FeedbackVerdict,
    FeedCounter,
    FeedEntry,
    FeedStatus,
    HashFeedback,
    PlatformAccount,
    Scope,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

# Signals shared with platforms. dHash is not: no platform exchanges it.
FEED_SIGNALS = ("pdq", "phash", "md5", "sha256")
PERCEPTUAL_SIGNALS = ("pdq", "phash")
SHARED_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED)
MAX_LOOKUP_HASHES = 1000
MAX_HASH_TEXT = 128
MAX_WEBHOOKS_PER_ACCOUNT = 5
FALSE_POSITIVE_HOLD_PLATFORMS = 2


def _account_audit(actor: Actor, account: PlatformAccount, action: str, data: dict[str, Any] | None = None) -> None:
    audit_record(actor=actor, action=action, subject_type="platform_account", subject_id=account.pk, data=data)


def _case_audit(actor: Actor, case_id: int, action: str, data: dict[str, Any]) -> None:
    organization_id = Case.objects.filter(pk=case_id).values_list("organization_id", flat=True).first()
    audit_record(
        actor=actor, action=action, subject_type="case", subject_id=case_id, organization_id=organization_id, data=data
    )


# ---------------------------------------------------------------------------------------------------
# Accounts and keys


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `secret` is the full key text, shown once and never stored."""

    key: ApiKey
    secret: str


@transaction.atomic
def platform_account_create(*, actor: Actor, platform: Platform, is_vetted: bool = False) -> PlatformAccount:
    account, created = PlatformAccount.objects.get_or_create(platform=platform, defaults={"is_vetted": is_vetted})
    if not created:
        raise Conflict(_("This platform already has an API account."))
    _account_audit(actor, account, "platform_account.created", {"platform_id": platform.pk, "vetted": is_vetted})
    return account


@transaction.atomic
def platform_account_set_vetted(*, actor: Actor, account: PlatformAccount, is_vetted: bool) -> PlatformAccount:
    account = PlatformAccount.objects.select_for_update().get(pk=account.pk)
    account.is_vetted = is_vetted
    account.save(update_fields=["is_vetted", "updated_at"])
    _account_audit(actor, account, "platform_account.vetting_changed", {"vetted": is_vetted})
    return account


def _check_scopes(account: PlatformAccount, scopes: Sequence[str]) -> list[str]:
    cleaned = sorted(set(scopes))
    unknown = [s for s in cleaned if s not in Scope.values]
    if unknown or not cleaned:
        raise InvalidInput(_("Choose scopes among: %(known)s.") % {"known": ", ".join(Scope.values)})
    if not account.is_vetted and VETTED_SCOPES.intersection(cleaned):
        raise InvalidInput(_("Only vetted platforms may have the feed and lookup scopes."), code="not_vetted")
    return cleaned


@transaction.atomic
def api_key_create(*, actor: Actor, account: PlatformAccount, scopes: Sequence[str], name: str = "") -> IssuedKey:
    account = PlatformAccount.objects.get(pk=account.pk)  # vetting as it is now, not as the caller loaded it
    cleaned = _check_scopes(account, scopes)
    text, prefix, stored = keys.new_key()
    key = ApiKey.objects.create(
        account=account, name=name.strip()[:100], prefix=prefix, secret_hash=stored, scopes=cleaned
    )
    _account_audit(actor, account, "api_key.created", {"prefix": prefix, "scopes": cleaned})
    return IssuedKey(key=key, secret=text)


def _usable(key: ApiKey) -> bool:
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > timezone.now())


@transaction.atomic
def api_key_rotate(*, actor: Actor, key: ApiKey, grace_seconds: int | None = None) -> IssuedKey:
    """A new key with the same scopes; the old one keeps working for the grace period (0: revoked now)."""
    key = ApiKey.objects.select_for_update().select_related("account").get(pk=key.pk)
    if not _usable(key):
        raise Conflict(_("This key is revoked or expired; create a new one instead."))
    grace = settings.PLATFORM_API_KEY_ROTATION_GRACE_SECONDS if grace_seconds is None else grace_seconds
    if grace < 0:
        raise InvalidInput(_("The grace period cannot be negative."))
    issued = api_key_create(actor=actor, account=key.account, scopes=key.scopes, name=key.name)
    now = timezone.now()
    key.replaced_by = issued.key
    if grace == 0:
        key.revoked_at = now
    else:
        key.expires_at = (
            now + timedelta(seconds=grace)
            if key.expires_at is None
            else min(key.expires_at, now + timedelta(seconds=grace))
        )
    key.save(update_fields=["replaced_by", "revoked_at", "expires_at", "updated_at"])
    _account_audit(
        actor, key.account, "api_key.rotated", {"prefix": key.prefix, "new_prefix": issued.key.prefix, "grace": grace}
    )
    return issued


@transaction.atomic
def api_key_revoke(*, actor: Actor, key: ApiKey) -> ApiKey:
    key = ApiKey.objects.select_for_update().select_related("account").get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
        _account_audit(actor, key.account, "api_key.revoked", {"prefix": key.prefix})
    return key


def api_call_record(*, caller: PlatformCaller, method: str, route: str, status: int) -> None:
    """The audit record of one API call (refused ones included), written by the API's base view."""
    audit_record(
        actor=caller.actor,
        action="api.called",
        subject_type="api_key",
        subject_id=caller.key_id,
        data={"prefix": caller.key_prefix, "method": method, "route": route, "status": status},
    )


# ---------------------------------------------------------------------------------------------------
# The feed: kept in step with the cases app, which calls `feed_sync_case` after every change that
# can move a hash in or out of the consented bank.


def _take_change_ids(count: int) -> list[int]:
    """Reserve `count` consecutive change ids; the counter row stays locked until commit."""
    FeedCounter.objects.bulk_create([FeedCounter(pk=1)], ignore_conflicts=True)
    counter = FeedCounter.objects.select_for_update().get(pk=1)
    first = counter.last_change_id + 1
    counter.last_change_id += count
    counter.save(update_fields=["last_change_id"])
    return list(range(first, first + count))


def _shared(rh: RegisteredHash) -> bool:
    if rh.signal not in FEED_SIGNALS:
        return False
    return rh.signal != "pdq" or (rh.quality or 0) >= PDQ_MIN_QUALITY


def _new_public_id() -> str:
    return "h_" + secrets.token_hex(16)


@transaction.atomic
def feed_sync_case(*, case_id: int) -> int:
    """Bring the feed in line with one case's hashes, consent and status; returns entries changed.

    Shared: hashes of the feed's signals (PDQ only when trusted) of a case whose survivor consented
    to sharing and which is open, in progress or resolved. An entry that stops being shared becomes
    a tombstone (value and digest cleared); if its hash was deleted (withdrawal) the link to the
    case is cleared too. Idempotent: calling it twice changes nothing the second time.
    """
    case = Case.objects.filter(pk=case_id).first()
    sharing = case is not None and case.consent_share_hashes and case.status in SHARED_CASE_STATUSES
    hashes = list(RegisteredHash.objects.filter(case_id=case_id, signal__in=FEED_SIGNALS)) if case else []
    wanted = {rh.pk: rh for rh in hashes if sharing and _shared(rh)}
    existing = list(FeedEntry.objects.select_for_update().filter(case_id=case_id))
    known = {e.registered_hash_id for e in existing if e.registered_hash_id is not None}
    present = {rh.pk for rh in hashes}
    now = timezone.now()
    changed: list[FeedEntry] = []
    for entry in existing:
        rh = wanted.get(entry.registered_hash_id) if entry.registered_hash_id is not None else None
        if rh is not None:
            if entry.status != FeedStatus.ACTIVE:
                entry.status, entry.value, entry.value_digest = FeedStatus.ACTIVE, rh.value, rh.value_digest
                changed.append(entry)
            continue
        gone = entry.registered_hash_id is None or entry.registered_hash_id not in present
        if entry.status == FeedStatus.ACTIVE or entry.value is not None or (gone and entry.case_id is not None):
            entry.status, entry.value, entry.value_digest = FeedStatus.WITHDRAWN, None, ""
            if gone:
                entry.case_id, entry.registered_hash_id, entry.held_at = None, None, None
            changed.append(entry)
    created = [
        FeedEntry(
            public_id=_new_public_id(),
            signal=rh.signal,
            status=FeedStatus.ACTIVE,
            registered_hash_id=rh.pk,
            case_id=case_id,
            value=rh.value,
            value_digest=rh.value_digest,
        )
        for pk, rh in wanted.items()
        if pk not in known
    ]
    if not changed and not created:
        return 0
    ids = iter(_take_change_ids(len(changed) + len(created)))
    for entry in [*changed, *created]:
        entry.change_id, entry.updated_at = next(ids), now
    if changed:
        FeedEntry.objects.bulk_update(
            changed,
            ["change_id", "status", "value", "value_digest", "case_id", "registered_hash", "held_at", "updated_at"],
        )
        # Platforms' verdicts on hashes that no longer exist go too: a withdrawal leaves no residue.
        HashFeedback.objects.filter(entry__in=[e.pk for e in changed if e.case_id is None]).delete()
    FeedEntry.objects.bulk_create(created, batch_size=1000)
    return len(changed) + len(created)


def _bump(entry: FeedEntry) -> None:
    (entry.change_id,) = _take_change_ids(1)
    entry.updated_at = timezone.now()


# ---------------------------------------------------------------------------------------------------
# Feedback and holds


@transaction.atomic
def hash_feedback_record(*, caller: PlatformCaller, entry: FeedEntry, verdict: str) -> HashFeedback:
    """A platform's verdict on one hash; its second platform's false positive holds the hash.

    A held hash leaves the feed (it is announced like a withdrawal, with a new change id) and
    lookups until an advocate clears it. Only false positives reported after the last clearing count.
    """
    if verdict not in FeedbackVerdict.values:
        raise InvalidInput(
            _("Choose a verdict among: %(known)s.") % {"known": ", ".join(FeedbackVerdict.values)},
            code="invalid_verdict",
        )
    entry = FeedEntry.objects.select_for_update().get(pk=entry.pk)
    feedback, _created = HashFeedback.objects.update_or_create(
        entry=entry, account_id=caller.account_id, defaults={"verdict": verdict}
    )
    if entry.case_id is not None:
        _case_audit(
            caller.actor,
            entry.case_id,
            "hash.feedback_received",
            {"hash_id": entry.public_id, "verdict": verdict, "platform_id": caller.platform_id},
        )
    false_positives = HashFeedback.objects.filter(entry=entry, verdict=FeedbackVerdict.FALSE_POSITIVE)
    if entry.hold_cleared_at is not None:
        false_positives = false_positives.filter(updated_at__gt=entry.hold_cleared_at)
    platforms = false_positives.values("account_id").distinct().count()
    if entry.held_at is None and platforms >= FALSE_POSITIVE_HOLD_PLATFORMS:
        entry.held_at = timezone.now()
        _bump(entry)
        entry.save(update_fields=["held_at", "change_id", "updated_at"])
        if entry.case_id is not None:
            _case_audit(
                Actor.system(), entry.case_id, "hash.held", {"hash_id": entry.public_id, "platforms": platforms}
            )
    return feedback


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
    _case_audit(actor, case.pk, "hash.hold_cleared", {"hash_id": entry.public_id})
    return entry


# ---------------------------------------------------------------------------------------------------
# Batch lookup


def _load_changes(signal: str) -> Callable[[int], Iterator[BankChange]]:
    """The bank's only read: feed entries of one signal changed after a change id, in order."""

    def load(after: int) -> Iterator[BankChange]:
        # Tuples, not model instances: loading a million rows is dominated by per-row overhead
        # (decrypting each value, about 25 us, is the part that must stay).
        rows = (
            FeedEntry.objects.filter(signal=signal, change_id__gt=after)
            .order_by("change_id")
            .values_list("id", "change_id", "status", "held_at", "case_id", "value")
        )
        for entry_id, change_id, status, held_at, case_id, value in rows.iterator(chunk_size=10_000):
            shared = status == FeedStatus.ACTIVE and held_at is None
            yield BankChange(change_id, entry_id, value if shared else None, case_id)

    return load


_BANKS: dict[str, DeltaBank] = {}


def lookup_bank(signal: str) -> DeltaBank:
    """The process's in-memory bank for a perceptual signal (made on first use, then kept current)."""
    bank = _BANKS.get(signal)
    if bank is None:
        kind = get_signal_type(signal)
        bank = DeltaBank(
            bits=kind.hex_length * 4,
            threshold=kind.default_threshold,
            load_changes=_load_changes(signal),
            refresh_seconds=settings.PLATFORM_LOOKUP_REFRESH_SECONDS,
        )
        _BANKS[signal] = bank
    return bank


@dataclass(frozen=True)
class LookupMatch:
    hash_id: str
    distance: int
    case_token: str


@dataclass(frozen=True)
class LookupAnswer:
    signal: str
    value: str
    matches: list[LookupMatch]
    error: str | None = None


def _parse_lookup(hashes: Sequence[Mapping[str, Any]]) -> list[tuple[str, str] | str]:
    """Each item as (signal, normalised value), or the message saying what is wrong with it.

    A malformed request (an unknown signal, a value that is not text) is refused whole; a value
    of the wrong length or with non-hex digits does not spoil a batch of a thousand: that hash is
    answered with its error.
    """
    if not hashes:
        raise InvalidInput(_("Send at least one hash."), code="empty")
    if len(hashes) > MAX_LOOKUP_HASHES:
        raise InvalidInput(_("Send at most %(n)d hashes at a time.") % {"n": MAX_LOOKUP_HASHES}, code="too_many")
    parsed: list[tuple[str, str] | str] = []
    for position, item in enumerate(hashes):
        signal, value = item.get("signal"), item.get("value")
        if signal not in FEED_SIGNALS:
            raise InvalidInput(
                _("hashes[%(i)d]: the signal must be one of %(known)s.")
                % {"i": position, "known": ", ".join(FEED_SIGNALS)},
                code="invalid_signal",
            )
        if not isinstance(value, str) or not value or len(value) > MAX_HASH_TEXT:
            raise InvalidInput(
                _("hashes[%(i)d]: the value must be a text of hex digits.") % {"i": position}, code="invalid_hash"
            )
        try:
            parsed.append((signal, get_signal_type(signal).normalize(value)))
        except InvalidHashError as exc:
            parsed.append(str(exc))
    return parsed


def hashes_lookup(*, caller: PlatformCaller, hashes: Sequence[Mapping[str, Any]]) -> list[LookupAnswer]:
    """Matches in the consented bank for each of the platform's hashes, with per-platform case tokens.

    Perceptual signals go through the in-memory bank (distance within the signal's threshold);
    exact ones through the keyed digest column, without decrypting anything. A match names the
    opaque feed id of the hash, never the case or anything about the survivor.
    """
    parsed = _parse_lookup(hashes)
    valid = {i: p for i, p in enumerate(parsed) if isinstance(p, tuple)}
    hits: dict[int, list[tuple[int, int, int]]] = {}  # position -> (entry id, case id, distance)
    for signal in PERCEPTUAL_SIGNALS:
        positions = [i for i, (s, _v) in valid.items() if s == signal]
        if positions:
            per_value = lookup_bank(signal).query_many([valid[i][1] for i in positions])
            for i, found in zip(positions, per_value, strict=True):
                hits[i] = [(h.entry_id, h.case_id, h.distance) for h in found]
    exact = {i: keyed_digest(f"hash:{s}", v) for i, (s, v) in valid.items() if s not in PERCEPTUAL_SIGNALS}
    if exact:
        rows = FeedEntry.objects.filter(
            value_digest__in=set(exact.values()), status=FeedStatus.ACTIVE, held_at__isnull=True
        ).values_list("id", "case_id", "signal", "value_digest")
        by_digest: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
        for entry_id, case_id, signal, digest in rows:
            if case_id is not None:
                by_digest.setdefault((signal, digest), []).append((entry_id, case_id, 0))
        for i, digest in exact.items():
            hits[i] = by_digest.get((valid[i][0], digest), [])
    ids = {h[0] for found in hits.values() for h in found}
    public = dict(FeedEntry.objects.filter(pk__in=ids).values_list("id", "public_id")) if ids else {}
    answers: list[LookupAnswer] = []
    for i, item in enumerate(parsed):
        if isinstance(item, str):
            raw = hashes[i]
            answers.append(LookupAnswer(str(raw.get("signal", ""))[:16], str(raw.get("value", ""))[:128], [], item))
            continue
        matches = [
            LookupMatch(public[e], d, keys.case_token(platform_id=caller.platform_id, case_id=c))
            for e, c, d in sorted(hits.get(i, []), key=lambda h: (h[2], h[0]))
            if e in public
        ]
        answers.append(LookupAnswer(item[0], item[1], matches))
    return answers


# ---------------------------------------------------------------------------------------------------
# Webhooks


def _check_webhook_url(url: str) -> str:
    from takedown.fetching import FetchError
    from takedown.notices.delivery import _check_url

    url = url.strip()
    if not url.startswith(("https://", "http://")) or len(url) > 500:
        raise InvalidInput(_("The webhook URL must be an http(s) URL of at most 500 characters."), code="invalid_url")
    try:
        _check_url(url)
    except FetchError as exc:
        raise InvalidInput(
            _("This webhook URL cannot be used: %(why)s") % {"why": exc.reason}, code="invalid_url"
        ) from None
    return url


@transaction.atomic
def webhook_subscribe(*, caller: PlatformCaller, url: str, events: Sequence[str]) -> tuple[WebhookSubscription, str]:
    """A new subscription with a fresh secret (returned once, stored encrypted for signing)."""
    cleaned = sorted(set(events))
    if not cleaned or any(e not in WebhookEvent.values for e in cleaned):
        raise InvalidInput(
            _("Choose events among: %(known)s.") % {"known": ", ".join(WebhookEvent.values)}, code="invalid_events"
        )
    account = PlatformAccount.objects.select_for_update().get(pk=caller.account_id)
    if account.webhooks.filter(is_active=True).count() >= MAX_WEBHOOKS_PER_ACCOUNT:
        raise Conflict(_("A platform may have at most %(n)d webhooks.") % {"n": MAX_WEBHOOKS_PER_ACCOUNT})
    checked = _check_webhook_url(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = WebhookSubscription.objects.create(account=account, url=checked, secret=secret, events=cleaned)
    _account_audit(caller.actor, account, "webhook.subscribed", {"webhook_id": hook.pk, "events": cleaned})
    return hook, secret


@transaction.atomic
def webhook_unsubscribe(*, caller: PlatformCaller, webhook: WebhookSubscription) -> None:
    WebhookSubscription.objects.filter(pk=webhook.pk).update(is_active=False, updated_at=timezone.now())
    account = PlatformAccount.objects.get(pk=caller.account_id)
    _account_audit(caller.actor, account, "webhook.unsubscribed", {"webhook_id": webhook.pk})


def webhook_send(*, webhook_id: int, event: str, data: dict[str, Any]) -> WebhookDelivery | None:
    """Deliver one event (the task's body): a new delivery id, signed like notices' webhooks.

    The payload carries its own `id` (the delivery id, also sent as `X-Takedown-Delivery` and
    `Idempotency-Key`) and the signature covers it, so a receiver that remembers ids and checks the
    timestamp's age rejects a replay. No transaction is held while sending.
    """
    from takedown.notices.delivery import webhook_post

    hook = WebhookSubscription.objects.filter(pk=webhook_id, is_active=True).first()
    if hook is None:
        return None
    delivery_id = "wd_" + uuid.uuid4().hex
    payload = {"id": delivery_id, "event": event, "created_at": timezone.now().isoformat(), "data": data}
    record = WebhookDelivery.objects.create(subscription=hook, delivery_id=delivery_id, event=event)
    result = webhook_post(
        url=hook.url,
        secret=hook.secret,
        payload=payload,
        idempotency_key=delivery_id,
        extra_headers={"X-Takedown-Delivery": delivery_id, "X-Takedown-Event": event},
    )
    record.delivered, record.http_status, record.detail = result.delivered, result.http_status, result.detail[:1000]
    record.save(update_fields=["delivered", "http_status", "detail"])
    return record


def webhook_ping(*, caller: PlatformCaller, webhook: WebhookSubscription) -> None:
    """Queue a test delivery to the subscription (after commit)."""
    from takedown.platforms.tasks import deliver_platform_event

    hook_id = webhook.pk
    data = {"message": "ping"}
    transaction.on_commit(lambda: deliver_platform_event.delay(hook_id, WebhookEvent.PING, json.dumps(data)))


def notice_sent_announce(*, notice_id: int, platform_id: int) -> None:
    """Called when a notice is sent: queue `notice.sent` to the platform's subscriptions (after commit)."""
    from takedown.platforms.tasks import deliver_platform_event

    hooks = list(
        WebhookSubscription.objects.filter(
            account__platform_id=platform_id, account__is_active=True, is_active=True
        ).values_list("pk", "events")
    )
    data = json.dumps({"notice_id": notice_id, "url": f"/api/v1/notices/{notice_id}/"})
    for hook_id, events in hooks:
        if WebhookEvent.NOTICE_SENT in events:
            # robust: a broker that is down must not undo the sending already committed.
            transaction.on_commit(
                functools.partial(deliver_platform_event.delay, hook_id, WebhookEvent.NOTICE_SENT.value, data),
                robust=True,
            )
