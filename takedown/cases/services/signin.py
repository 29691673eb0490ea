"""Survivor sign-in with reference and PIN, and the limits that keep both from being guessed.

Failures are counted per reference (whether or not it exists, so a lockout reveals nothing) and
per network address; case opening is counted per address.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.utils.translation import gettext as _

from takedown.cases.digests import keyed_digest
from takedown.cases.models import Case, CaseStatus
from takedown.cases.services._base import case_audit
from takedown.cases.services.hashes import parse_bundle
from takedown.cases.services.lifecycle import OpenedCase, case_open, generate_pin, normalize_reference
from takedown.core.access import Actor
from takedown.core.errors import NotFound, RateLimited
from takedown.core.models import ActorKind
from takedown.core.ratelimit import attempt_record, attempts_exceeded, attempts_reset

PIN_FAILURES_PER_REFERENCE = 5

PIN_FAILURES_PER_IP = 30

PIN_LOCKOUT_SECONDS = 15 * 60


def case_open_allowed(*, client_ip: str) -> None:
    """Refuse a network address that opened many cases in the last hour (scripted abuse).

    Counted per keyed digest of the address (the address itself is not kept). Called by the
    report view before `case_open`; opening counts only when the case was really opened.
    """
    if attempts_exceeded(_open_key(client_ip), limit=settings.CASES_OPENED_PER_ADDRESS_PER_HOUR, window_seconds=3600):
        raise RateLimited(
            _("Many cases were opened from this network in the last hour. Please try again later, or call a helpline.")
        )


def case_open_counted(*, client_ip: str) -> None:
    attempt_record(_open_key(client_ip), window_seconds=3600)


def case_open_for_survivor(*, client_ip: str, bundle_text: str, **fields: Any) -> OpenedCase:
    """A survivor opens a case from the report form: within the per-address limit, with the
    bundle their browser made (if any), counted only when the case was really opened."""
    case_open_allowed(client_ip=client_ip)
    bundle = parse_bundle(bundle_text) if bundle_text.strip() else None
    opened = case_open(actor=Actor(kind=ActorKind.SURVIVOR), bundle=bundle, **fields)
    case_open_counted(client_ip=client_ip)
    return opened


def _open_key(client_ip: str) -> str:
    return "open:" + keyed_digest("ip", client_ip)[:32]


@lru_cache(maxsize=4)
def _dummy_pin_hash(hashers: tuple[str, ...]) -> str:
    """A hash of a random PIN with the default hasher of `hashers` (cached per configuration, so a
    change of hasher or work factor gets a new one, unlike a hash made once at import)."""
    return make_password(generate_pin())


def case_authenticate(*, reference: str, pin: str, client_ip: str) -> Case:
    """Sign a survivor in with reference and PIN.

    Wrong reference and wrong PIN give the same answer and take about as long. Failures are
    counted per reference (whether or not it exists, so lockout reveals nothing) and per IP.
    """
    normalized = normalize_reference(reference)
    ref_key = f"pin:ref:{normalized or reference.strip().upper()[:40]}"
    ip_key = f"pin:ip:{client_ip}"
    if attempts_exceeded(
        ref_key, limit=PIN_FAILURES_PER_REFERENCE, window_seconds=PIN_LOCKOUT_SECONDS
    ) or attempts_exceeded(ip_key, limit=PIN_FAILURES_PER_IP, window_seconds=PIN_LOCKOUT_SECONDS):
        raise RateLimited(_("Too many attempts. For your safety, please wait 15 minutes and try again."))
    # Only the two values the check needs, as a tuple: loading the case would decrypt its contact
    # and signature, work a missing reference never does (bench/timing_oracle.py measures it).
    found = Case.objects.filter(reference=normalized).values_list("pk", "pin_hash", "status")
    row = found.first() if normalized else None
    digits = "".join(ch for ch in pin if ch.isdigit())
    # An unknown reference checks the PIN against a dummy hash made with the hashers configured
    # now: the same call, hasher and work factor as a real case's wrong PIN (bench/timing_oracle.py).
    pin_ok = check_password(digits, row[1] if row else _dummy_pin_hash(tuple(settings.PASSWORD_HASHERS)))
    if row is None or not pin_ok or row[2] == CaseStatus.WITHDRAWN:
        attempt_record(ref_key, window_seconds=PIN_LOCKOUT_SECONDS)
        attempt_record(ip_key, window_seconds=PIN_LOCKOUT_SECONDS)
        raise NotFound(_("That reference and PIN do not match a case. Check them and try again."))
    attempts_reset(ref_key)
    case = Case.objects.get(pk=row[0])
    case_audit(Actor(kind="survivor", case_id=case.pk), case, "case.survivor_signed_in")
    return case
