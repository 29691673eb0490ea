"""Every audit action, with the plain words the timeline and the court report show for it.

One registry, so an action cannot be written under a new spelling by one service and shown raw
by a page: `audit_record` refuses an action that is not here. The labels are translatable and
read by people who were not there (an advocate taking over a case, a court): they say what
happened in words, never a code. Actions are grouped by the app that records them.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTIONS: dict[str, Promise] = {
    # organisations and staff
    "organization.created": _("Organisation created"),
    "organization.updated": _("Organisation changed"),
    "organization.notifier_changed": _("Organisation's notice details or trusted-flagger status changed"),
    "organization.trusted_flagger_report": _("Trusted-flagger annual report data exported"),
    "organization.vouching_changed": _("Organisation allowed or no longer allowed to vouch for shared hashes"),
    "membership.created": _("Staff member added to the organisation"),
    "membership.updated": _("Staff membership changed"),
    "membership.deactivated": _("Staff member's access removed"),
    "membership.activated": _("Staff member's access restored"),
    # platform registry
    "platforms.loaded": _("Platform registry loaded"),
    "platform.saved": _("Platform registry entry changed"),
    "platform.hosting_created": _("Hosting provider added to the registry"),
    "platform.contact_added": _("Contact for a site added to the registry by an advocate"),
    "platforms.rdap_bootstrap_refreshed": _("List of internet registries (RDAP bootstrap) refreshed"),
    # cases
    "case.opened": _("Case opened"),
    "case.viewed": _("Case viewed by staff"),
    "case.survivor_signed_in": _("Survivor signed in"),
    "case.survivor_signed_out": _("Survivor signed out (quick exit or sign-out)"),
    "case.hashes_added": _("Photo fingerprints added"),
    "case.hashes_refused": _("Photo fingerprints refused (over a limit)"),
    "case.sharing_on": _("Sharing of photo fingerprints with platforms turned on"),
    "case.sharing_off": _("Sharing of photo fingerprints with platforms stopped"),
    "case.sharing_vouched": _("Photo fingerprints vouched for by an advocate"),
    "case.sharing_held": _("Photo fingerprints held for review before sharing"),
    "case.sharing_vouched_by_match": _("Photo fingerprints of one picture vouched for by a confirmed match"),
    "case.face_matching_on": _("Face matching turned on"),
    "case.face_matching_off": _("Face matching turned off and face templates deleted"),
    "case.face_templates_added": _("Face templates added"),
    "case.items_reported": _("Links reported"),
    "case.volume_capped": _("Many links added in one day: held for an advocate"),
    "case.contact_changed": _("Contact preference changed"),
    "case.details_changed": _("Case details changed"),
    "case.note_added": _("Internal note added"),
    "case.assigned": _("Case assigned"),
    "case.status_changed": _("Case status changed"),
    "case.access_recovered": _("New PIN issued by an advocate after identity checks"),
    "case.survivor_news_emailed": _("Survivor emailed that there is news on their case (no details)"),
    "case.survivor_news_failed": _("The survivor's email address refused the news email"),
    "case.withdrawn": _("Case withdrawn by the survivor; everything deleted"),
    "case.erased": _("Withdrawn case's data deleted"),
    "case.purged": _("Closed case deleted at the end of its retention period"),
    "case.report_downloaded": _("Case report downloaded"),
    "item.check_requested": _("Link check requested"),
    "item.checked": _("Link checked"),
    "item.needs_review": _("Possible match: waiting for a person to review it"),
    "item.review_confirmed": _("Reviewed: the link shows the survivor"),
    "item.review_dismissed": _("Reviewed: the link does not show the survivor"),
    "item.removed": _("Content removed (verified by a check)"),
    "item.reappeared": _("Content came back after removal"),
    "item.found_by_bank": _("Link suggested by a match in another consenting case"),
    "item.removal_disputed": _("Platform said removed, but a check still finds the content"),
    # the hash feed
    "hash.feedback_received": _("Platform feedback on a shared fingerprint"),
    "hash.held": _("Shared fingerprint held after false-positive reports"),
    "hash.hold_cleared": _("Shared fingerprint released after review"),
    # notices
    "notice.drafted": _("Removal request drafted"),
    "notice.edited": _("Removal request edited"),
    "notice.ready": _("Removal request ready for approval"),
    "notice.approval_requested": _("Survivor asked to approve a removal request"),
    "notice.approval_declined": _("Survivor declined a removal request"),
    "notice.approved": _("Removal request approved"),
    "notice.queued": _("Removal request queued for sending"),
    "notice.delivery_attempted": _("Removal request delivery attempted"),
    "notice.delivery_failed": _("Removal request could not be delivered"),
    "notice.sent": _("Removal request sent"),
    "notice.reply_recorded": _("Platform's answer recorded"),
    "notice.hosting_looked_up": _("Hosting provider looked up"),
    "notice.overdue": _("Deadline passed: links re-checked"),
    "notice.deadline_content_gone": _("Deadline passed: the content is gone"),
    "notice.escalation_proposed": _("Next step proposed"),
    "notice.escalation_decided": _("Next step decided"),
    "notice.removal_verified": _("Platform's removal confirmed by a check"),
    "notice.removal_disputed": _("Platform said removed, but a check still finds the content: next steps proposed"),
    "notice.contact_chosen": _("Survivor chose which contact details a removal request gives"),
    # platform API
    "platform_account.created": _("Platform account created"),
    "platform_account.vetting_changed": _("Platform vetting changed"),
    "platform_account.rate_limit_changed": _("Platform API rate limit changed"),
    "api_key.created": _("API key created"),
    "api_key.rotated": _("API key rotated"),
    "api_key.revoked": _("API key revoked"),
    "api.called": _("Platform API called"),
    "portal.signed_in": _("Platform signed in to the portal"),
    "webhook.subscribed": _("Webhook subscribed"),
    "webhook.unsubscribed": _("Webhook unsubscribed"),
    # the kernel
    "encryption.rotated": _("Encryption keys rotated"),
}


def action_label(action: str) -> str:
    """The plain words for an action (the code itself only for an action recorded by older code)."""
    label = ACTIONS.get(action)
    return str(label) if label is not None else action
