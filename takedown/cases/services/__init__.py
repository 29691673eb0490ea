"""Writes for cases, by concern; import them from here (`from takedown.cases import services`).

- `lifecycle`: opening, contact and details, assignment, status, deadlines, withdrawal, retention
- `hashes`: photo fingerprints (within caps), face templates, the survivor's consent to share
- `sharing`: vouching, the only way hashes reach platforms (docs/threat-model.md)
- `items`: reported links and their status (the one owner of `ReportedItem.status`)
- `signin`: reference + PIN sign-in and the limits on guessing and on opening cases
"""

from takedown.cases.feed import feed_entry_clear_hold
from takedown.cases.services.hashes import (
    MAX_FACE_TEMPLATES_PER_CASE,
    HashesRefused,
    case_add_bundle,
    case_add_face_templates,
    case_face_matching_enable,
    case_face_matching_set,
    case_sharing_set,
    parse_bundle,
)
from takedown.cases.services.items import (
    MAX_URLS_PER_REQUEST,
    case_add_urls,
    item_check_recorded,
    item_check_started,
    item_review_decide,
)
from takedown.cases.services.lifecycle import (
    PIN_DIGITS,
    REFERENCE_GROUPS,
    OpenedCase,
    case_assign,
    case_erase_withdrawn,
    case_next_deadline_set,
    case_note_add,
    case_open,
    case_set_status,
    case_update_contact,
    case_update_details,
    case_withdraw_and_delete,
    cases_erase_withdrawn,
    cases_purge_expired,
    generate_pin,
    generate_reference,
    normalize_reference,
)
from takedown.cases.services.sharing import case_sharing_vouch, case_sharing_vouch_match, cases_feed_resync
from takedown.cases.services.signin import (
    PIN_FAILURES_PER_IP,
    PIN_FAILURES_PER_REFERENCE,
    PIN_LOCKOUT_SECONDS,
    case_authenticate,
    case_open_allowed,
    case_open_for_survivor,
)

__all__ = [
    "MAX_FACE_TEMPLATES_PER_CASE",
    "MAX_URLS_PER_REQUEST",
    "PIN_DIGITS",
    "PIN_FAILURES_PER_IP",
    "PIN_FAILURES_PER_REFERENCE",
    "PIN_LOCKOUT_SECONDS",
    "REFERENCE_GROUPS",
    "HashesRefused",
    "OpenedCase",
    "case_add_bundle",
    "case_add_face_templates",
    "case_add_urls",
    "case_assign",
    "case_authenticate",
    "case_erase_withdrawn",
    "case_face_matching_enable",
    "case_face_matching_set",
    "case_next_deadline_set",
    "case_note_add",
    "case_open",
    "case_open_allowed",
    "case_open_for_survivor",
    "case_set_status",
    "case_sharing_set",
    "case_sharing_vouch",
    "case_sharing_vouch_match",
    "case_update_contact",
    "case_update_details",
    "case_withdraw_and_delete",
    "cases_erase_withdrawn",
    "cases_feed_resync",
    "cases_purge_expired",
    "feed_entry_clear_hold",
    "generate_pin",
    "generate_reference",
    "item_check_recorded",
    "item_check_started",
    "item_review_decide",
    "normalize_reference",
    "parse_bundle",
]
