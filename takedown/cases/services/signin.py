"""Survivor sign-in with reference and PIN, and the limits that keep both from being guessed.

Failures are counted per reference (whether or not it exists, so a lockout reveals nothing) and
per network address; case opening is counted per address.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from takedown.cases.digests import keyed_digest
from takedown.cases.models import Case, CaseStatus
from takedown.cases.services._base import case_audit, lock_case
from takedown.cases.services.hashes import parse_bundle
from takedown.cases.services.lifecycle import OpenedCase, case_open, generate_pin, normalize_reference
from takedown.core.access import Actor
from takedown.core.errors import InvalidInput, NotFound, RateLimited
from takedown.core.models import ActorKind
from takedown.core.ratelimit import attempt_refund, attempt_take

PIN_FAILURES_PER_REFERENCE = 5

PIN_FAILURES_PER_IP = 30

PIN_LOCKOUT_SECONDS = 15 * 60


def case_open_allowed(*, client_ip: str) -> None:
    """Take one of a network address's case openings for this hour, or refuse (scripted abuse).

    The opening is counted before anything else happens, so openings sent at once cannot all pass
    (issue 14, defect 4); `case_open_for_survivor` gives it back when no case was opened. Counted
    per keyed digest of the address (the address itself is not kept).
    """
    if not attempt_take(_open_key(client_ip), limit=settings.CASES_OPENED_PER_ADDRESS_PER_HOUR, window_seconds=3600):
        raise RateLimited(
            _("Many cases were opened from this network in the last hour. Please try again later, or call a helpline.")
        )


def case_open_for_survivor(*, client_ip: str, bundle_text: str, **fields: Any) -> OpenedCase:
    """A survivor opens a case from the report form: within the per-address limit, with the
    bundle their browser made (if any), counted only when the case was really opened."""
    case_open_allowed(client_ip=client_ip)
    try:
        bundle = parse_bundle(bundle_text) if bundle_text.strip() else None
        return case_open(actor=Actor(kind=ActorKind.SURVIVOR), bundle=bundle, **fields)
    except BaseException:
        attempt_refund(_open_key(client_ip))
        raise


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
    # Counted before the PIN is looked at, so of any number of attempts sent at once at most the
    # limit are checked (issue 14, defect 4). Both counters always count; either can refuse.
    ref_ok = attempt_take(ref_key, limit=PIN_FAILURES_PER_REFERENCE, window_seconds=PIN_LOCKOUT_SECONDS)
    ip_ok = attempt_take(ip_key, limit=PIN_FAILURES_PER_IP, window_seconds=PIN_LOCKOUT_SECONDS)
    if not (ref_ok and ip_ok):
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
        raise NotFound(_("That reference and PIN do not match a case. Check them and try again."))
    # The right PIN gives its own attempt back. Earlier failures stay counted for their window:
    # wiping them (as this did before) would let a sign-in in the middle of a burst reopen it.
    attempt_refund(ref_key)
    attempt_refund(ip_key)
    case = Case.objects.get(pk=row[0])
    case_audit(Actor(kind="survivor", case_id=case.pk), case, "case.survivor_signed_in")
    return case


# ---------------------------------------------------------------------------------------------------
# A lost PIN: back into the case through an advocate
#
# Nobody can read a PIN back (only its hash is kept), so a survivor who lost theirs asks the
# organisation that holds the case. The advocate checks it is really them, in ways that do not
# need the survivor to prove anything they may not have, and records which checks were done
# (docs/survivor-safety.md, "A lost PIN"). A new PIN replaces the old one at once.

#: The identity checks an advocate can record, in the words the staff page shows. Fixed: a check
#: that is not on this list cannot be recorded. At least `IDENTITY_CHECKS_REQUIRED` are needed.
IDENTITY_CHECKS: dict[str, Promise] = {
    "case_reference": gettext_lazy("They gave the case reference (or where they wrote it down)."),
    "case_details": gettext_lazy(
        "They described things only the survivor would know (the websites reported, roughly when the case "
        "was opened, what they asked for), checked against the case without reading any of it out to them."
    ),
    "contact_on_file": gettext_lazy(
        "I reached them through the contact already on the case (not a contact given now), and they answered there."
    ),
    "service_reference": gettext_lazy(
        "They gave the police, StopNCII or Take It Down reference that is recorded on the case."
    ),
    "known_in_person": gettext_lazy(
        "I or a colleague already know them from this case and recognise them (in person, by video or by voice)."
    ),
}
IDENTITY_CHECKS_REQUIRED = 2


@transaction.atomic
def case_access_recover(*, actor: Actor, case: Case, checks: Iterable[str]) -> str:
    """Issue a new PIN for a survivor who lost theirs; returns it, to be shown once to the advocate.

    Only staff (with MFA) of the organisation that holds the case, after at least
    `IDENTITY_CHECKS_REQUIRED` of the `IDENTITY_CHECKS`; the audit event records which checks and
    who did them. The old PIN stops working at once, and so do survivor sessions signed in with it
    (`access.survivor_session_current`). Nothing about the new PIN is kept but its hash.
    """
    if not (actor.kind == ActorKind.STAFF and actor.mfa_verified and case.organization_id in actor.organization_ids):
        raise NotFound(_("We could not find that case."))
    chosen = sorted(set(checks))
    unknown = [check for check in chosen if check not in IDENTITY_CHECKS]
    if unknown:
        raise InvalidInput(_("Choose the identity checks from the list."))
    if len(chosen) < IDENTITY_CHECKS_REQUIRED:
        raise InvalidInput(
            _("Do at least %(n)d of the identity checks before giving a new PIN.") % {"n": IDENTITY_CHECKS_REQUIRED}
        )
    case = lock_case(case.pk)
    if case.status == CaseStatus.WITHDRAWN:
        raise NotFound(_("We could not find that case."))
    pin = generate_pin()
    case.pin_hash = make_password(pin)
    case.save(update_fields=["pin_hash", "updated_at"])
    case_audit(actor, case, "case.access_recovered", {"checks": chosen})
    return pin
