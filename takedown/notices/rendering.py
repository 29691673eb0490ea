"""Rendering a notice: plain text, HTML, a JSON hash-match notice, and PDF.

Until it is sent, a notice is rendered from its case as it is now, so validation and preview see
current data. `notice_mark_sent` stores the rendering (`Notice.content_*`) and from then on this
module returns the stored copy: what the platform received is never re-rendered.

Templates: `notices/platforms/<platform slug>/<basis>.<ext>` overrides
`notices/<basis>/<channel>.<ext>`, which overrides `notices/<basis>/default.<ext>`. Every template
receives the element values (`elements`) that validation requires to appear in the text.

Notices are rendered in `NOTICES_LANGUAGE` (English by default: the language platforms' trust
and safety teams read), whatever language the advocate's page is in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.template.loader import select_template
from django.utils import translation
from django.utils.translation import gettext

from takedown.cases.digests import keyed_digest
from takedown.cases.models import Case, ContactPreference, OpenedBy
from takedown.matching.models import Verdict
from takedown.notices.models import ContactKind, Notice
from takedown.notices.selectors import latest_checks, matched_registered_hashes
from takedown.registry import bases as b
from takedown.registry.models import ContentKind

JSON_FORMAT = "takedown-notice"
JSON_VERSION = 1


@dataclass(frozen=True)
class Contact:
    kind: str
    email: str
    relay_token: str = ""


def relay_token(case: Case) -> str:
    """A stable, unguessable local part for the case's relay address (never the case reference)."""
    return keyed_digest("notice-relay", case.reference)[:20]


def resolve_contact(case: Case) -> Contact | None:
    """The contact a notice gives: the survivor's email only if they chose email contact; else the
    organisation's notice address; else the case relay address when a relay domain is configured.
    """
    details = case.contact_details if isinstance(case.contact_details, dict) else {}
    if case.contact_preference == ContactPreference.EMAIL and details.get("email"):
        return Contact(kind=ContactKind.SURVIVOR, email=str(details["email"]))
    if case.organization is not None and case.organization.notice_contact_email:
        return Contact(kind=ContactKind.ORGANIZATION, email=case.organization.notice_contact_email)
    if settings.NOTICES_RELAY_DOMAIN:
        token = relay_token(case)
        return Contact(
            kind=ContactKind.RELAY, email=f"case-{token}@relay.{settings.NOTICES_RELAY_DOMAIN}", relay_token=token
        )
    return None


@dataclass(frozen=True)
class ItemSummary:
    """A reported link and what the latest finished check found there."""

    url: str
    checked_at: datetime | None = None
    verdict: str = ""
    verdict_text: str = ""
    page_sha256: str = ""
    matched_media_sha256: tuple[str, ...] = ()
    matched_files: tuple[str, ...] = ()


@dataclass
class NoticeContext:
    notice: Notice
    case: Case
    basis: b.LegalBasis
    items: list[ItemSummary]
    signature: str
    representative: bool
    contact: Contact | None
    notifier_name: str
    elements: dict[str, str]
    hashes: list[dict[str, str]] = field(default_factory=list)


def _signature(case: Case) -> tuple[str, bool]:
    name = (case.signature_name or "").strip()
    if case.opened_by != OpenedBy.REPRESENTATIVE:
        return name, False
    rep = case.representative if isinstance(case.representative, dict) else {}
    authorisation = str(rep.get("authorisation", "")).strip()
    if not name or not authorisation:
        return "", True
    return (
        gettext("%(name)s, authorised person acting on behalf of the person depicted (authorisation: %(how)s)")
        % {"name": name, "how": authorisation},
        True,
    )


def _declared(case: Case) -> bool:
    """Whether the case carries a signed declaration the notice's statements rest on."""
    if case.opened_by == OpenedBy.REPRESENTATIVE:
        rep = case.representative if isinstance(case.representative, dict) else {}
        return bool(str(rep.get("authorisation", "")).strip()) and case.signed_at is not None
    return case.signed_at is not None


def _statements(case: Case, representative: bool, notice: Notice) -> dict[str, str]:
    forgery = case.content_kind == ContentKind.DIGITAL_FORGERY
    authentic = case.content_kind == ContentKind.AUTHENTIC
    nonconsent = gettext(
        "The signatory has a good-faith belief that the intimate visual depiction identified above is not "
        "consensual: the person depicted did not consent to its publication."
    )
    if forgery:
        nonconsent += " " + gettext(
            "It is a digital forgery: it was made with software to look like the person depicted, and a reasonable "
            "person could not tell it from a real image of them."
        )
    if forgery:
        nature = gettext(
            "The content is an artificially morphed (synthetic) image of the person depicted showing them nude or in "
            "a sexual act."
        )
    elif authentic:
        nature = gettext(
            "The content exposes the private area of the person depicted, shows them fully or partly nude, or shows "
            "them in a sexual act."
        )
    else:
        nature = gettext(
            "The content exposes the private area of the person depicted, shows them fully or partly nude or in a "
            "sexual act, or is an artificially morphed image of them doing so."
        )
    what = (
        gettext("It is a sexual deepfake of the person depicted")
        if forgery
        else gettext("It shows the person depicted in an intimate or sexual way")
    )
    statements = {
        b.GOOD_FAITH_NONCONSENT: nonconsent,
        b.LEGAL_EXPLANATION: gettext(
            "This content is illegal. %(what)s, and it was made public without their consent. Sharing intimate "
            "images without consent, including manipulated ones, is a criminal offence in the Member States where "
            "this content is accessible, and Directive (EU) 2024/1385 requires every Member State to make it one."
        )
        % {"what": what},
        b.GOOD_FAITH_ACCURACY: gettext(
            "The signatory confirms a bona fide belief that the information and allegations in this notice are "
            "accurate and complete."
        ),
        b.INTIMATE_CONTENT_DECLARATION: gettext(
            "This is an intimate image content report: intimate image content is present on your service at the "
            "locations listed."
        ),
        b.SUBJECT_DECLARATION: (
            gettext("This report is made on behalf of the person depicted, by someone they authorised to act for them.")
            if representative
            else gettext("This report is made by the person depicted.")
        ),
        b.CONTENT_NATURE: nature,
    }
    if notice.dmca_acknowledged:
        statements[b.GOOD_FAITH_UNAUTHORISED] = gettext(
            "The signatory has a good-faith belief that use of the material in the manner complained of is not "
            "authorised by the copyright owner, its agent, or the law."
        )
        statements[b.ACCURACY_PERJURY] = gettext(
            "The information in this notice is accurate, and under penalty of perjury, the signatory is the owner, "
            "or is authorised to act on behalf of the owner, of the exclusive right that is allegedly infringed."
        )
    return statements


def _items(notice: Notice) -> tuple[list[ItemSummary], set[str]]:
    items = list(notice.items.order_by("id")) if notice.pk else []
    checks = latest_checks(items=items)
    summaries: list[ItemSummary] = []
    matched_files: set[str] = set()
    for item in items:
        check = checks.get(item.pk)
        if check is None:
            summaries.append(ItemSummary(url=item.url))
            continue
        matched = [m for m in check.media.all() if m.matched]
        files = tuple(sorted({m.matched_item_id for m in matched if m.matched_item_id}))
        matched_files.update(files)
        summaries.append(
            ItemSummary(
                url=item.url,
                checked_at=check.fetched_at or check.finished_at,
                verdict=str(Verdict(check.verdict).label) if check.verdict else "",
                verdict_text=check.verdict_text,
                page_sha256=check.sha256,
                matched_media_sha256=tuple(m.sha256 for m in matched if m.sha256),
                matched_files=files,
            )
        )
    return summaries, matched_files


def notice_context(notice: Notice) -> NoticeContext:
    """Everything a template needs, computed from the case as it is now."""
    case = notice.case
    basis = b.basis_get(notice.basis)
    items, matched_files = _items(notice)
    signature, representative = _signature(case)
    contact = resolve_contact(case)
    if contact is not None and contact.kind == ContactKind.SURVIVOR:
        notifier_name = (case.signature_name or "").strip()
    elif case.organization is not None:
        notifier_name = case.organization.name
    else:
        notifier_name = (case.signature_name or "").strip()
    elements: dict[str, str] = {
        b.SIGNATURE: signature,
        b.LOCATION: "\n".join(i.url for i in items),
        b.CONTACT: contact.email if contact else "",
        b.NOTIFIER_NAME_EMAIL: f"{notifier_name} <{contact.email}>" if contact and notifier_name else "",
        b.COPYRIGHTED_WORK: notice.dmca_work.strip(),
    }
    if _declared(case):
        elements.update(_statements(case, representative, notice))
    hashes: list[dict[str, str]] = []
    if case.consent_share_hashes and matched_files:
        hashes = [
            {"signal": h.signal, "value": h.value, "file": h.item_id}
            for h in matched_registered_hashes(case=case, item_ids=matched_files)
        ]
    return NoticeContext(
        notice=notice,
        case=case,
        basis=basis,
        items=items,
        signature=signature,
        representative=representative,
        contact=contact,
        notifier_name=notifier_name,
        elements=elements,
        hashes=hashes,
    )


@dataclass(frozen=True)
class RenderedNotice:
    text: str
    html: str
    json: dict[str, Any]


def _template_names(notice: Notice, ext: str) -> list[str]:
    return [
        f"notices/platforms/{notice.platform.slug}/{notice.basis}.{ext}",
        f"notices/{notice.basis}/{notice.channel}.{ext}",
        f"notices/{notice.basis}/default.{ext}",
    ]


def _template_context(ctx: NoticeContext, fragment: bool) -> dict[str, Any]:
    basis = ctx.basis
    declarations = [ctx.elements[c] for c in basis.required_elements if c in b.DECLARATIONS and ctx.elements.get(c)]
    return {
        "notice": ctx.notice,
        "platform": ctx.notice.platform,
        "basis": basis,
        "items": ctx.items,
        "elements": ctx.elements,
        "declarations": declarations,
        "signature": ctx.signature,
        "contact_email": ctx.contact.email if ctx.contact else "",
        "notifier_name": ctx.notifier_name,
        "details": ctx.notice.details.strip(),
        "hashes": ctx.hashes,
        "digital_forgery": ctx.case.content_kind == ContentKind.DIGITAL_FORGERY,
        "fragment": fragment,
    }


def notice_json(ctx: NoticeContext) -> dict[str, Any]:
    """The machine-readable hash-match notice (for webhooks and the platform API)."""
    basis = ctx.basis
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "notice_id": ctx.notice.pk,
        "platform": ctx.notice.platform.slug,
        "basis": {
            "code": basis.code,
            "title": str(basis.title),
            "deadline_hours": basis.deadline_hours,
            "source": basis.source_url,
        },
        "content_kind": ctx.case.content_kind,
        "items": [
            {
                "url": item.url,
                "evidence": {
                    "checked_at": item.checked_at.isoformat() if item.checked_at else None,
                    "verdict": item.verdict,
                    "verdict_text": item.verdict_text,
                    "page_sha256": item.page_sha256,
                    "matched_media_sha256": list(item.matched_media_sha256),
                },
            }
            for item in ctx.items
        ],
        # Perceptual hashes of the survivor's registered originals that matched: only with their
        # consent to share hashes (published work inverts PDQ hashes into likenesses).
        "hashes": ctx.hashes,
        "elements": {code: ctx.elements.get(code, "") for code in basis.required_elements},
        "signature": ctx.signature,
        "contact": {"email": ctx.contact.email, "kind": ctx.contact.kind} if ctx.contact else None,
        "details": ctx.notice.details.strip(),
    }


def render_context(ctx: NoticeContext, *, fragment: bool = False) -> RenderedNotice:
    with translation.override(settings.NOTICES_LANGUAGE):
        text = select_template(_template_names(ctx.notice, "txt")).render(_template_context(ctx, fragment))
        html = select_template(_template_names(ctx.notice, "html")).render(_template_context(ctx, fragment))
        data = notice_json(ctx)
    # Template tags leave runs of blank lines in plain text; one blank line separates paragraphs.
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return RenderedNotice(text=text, html=html, json=data)


def render_notice(notice: Notice, *, fragment: bool = False) -> RenderedNotice:
    """The notice as sent (frozen) or, before sending, as it would be sent now.

    `fragment` gives the HTML without the document shell, for preview inside a staff page (only
    for unsent notices; a frozen notice's HTML is the whole document it was sent as).
    """
    if notice.is_frozen:
        return RenderedNotice(text=notice.content_text or "", html=notice.content_html or "", json=notice.content_json)
    return render_context(notice_context(notice), fragment=fragment)


PDF_STYLESHEET = """
@page { size: A4; margin: 2cm; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; line-height: 1.4; }
h1 { font-size: 15pt; } h2 { font-size: 12pt; margin-top: 1.2em; }
.url, code { font-family: "DejaVu Sans Mono", monospace; font-size: 9pt; word-break: break-all; }
"""


def notice_pdf(html: str) -> bytes | None:
    """The HTML as PDF with WeasyPrint, or None when WeasyPrint (or its system libraries) is missing.

    The PDF is for the advocate's records and for platforms that want an attachment; the text and
    HTML are what is sent, so a missing PDF never blocks a notice.
    """
    try:
        # Optional and heavy (Pango via cffi), and it flips Pillow's LOAD_TRUNCATED_IMAGES when
        # imported: loaded only when a PDF is asked for.
        from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # noqa: PLC0415
    except (ImportError, OSError):
        return None
    pdf: bytes = HTML(string=html).write_pdf(stylesheets=[CSS(string=PDF_STYLESHEET)])
    return pdf
