"""Rendering a notice: plain text, HTML, a JSON notice for partner APIs, and PDF.

Until it is sent, a notice is rendered from its case as it is now, so validation and preview see
current data. `notice_mark_sent` stores the rendering (`Notice.content_*`) and from then on this
module returns the stored copy: what the platform received is never re-rendered.

Every notice is short and built the same way, because that is what reviewers act on at first read
(../shared/reference/notices-review.md, "What reviewers need"): it opens with "non-consensual
intimate image of an adult, real or AI-generated: please remove globally"; it is dated and carries
a reference that reveals nothing; it asks first under the platform's own rules (which reach every
country) and then states the law that applies to this survivor as a backstop; it lists, for each
link, the direct URL of each image or video (and a time in a video); and it always states that the
person depicted did not consent. Perceptual hashes never appear in the text or HTML (they can be
inverted into a likeness, and email is read by people): they travel only in the JSON, to a partner
API or a channel an administrator vetted for them, and only with the survivor's consent.

Templates: `notices/platforms/<platform slug>/<basis>.<ext>` overrides
`notices/<basis>/<channel>.<ext>`, which overrides `notices/<basis>/default.<ext>`. Every template
receives the element values (`elements`) that validation requires to appear in the text.

Notices are rendered in `NOTICES_LANGUAGE` (English by default: the language platforms' trust and
safety teams read), whatever language the advocate's page is in, except bases that name their own
language (Brazil's notices are in Portuguese: `portuguese.py`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.template.loader import select_template
from django.utils import timezone, translation
from django.utils.translation import gettext

from takedown.cases.digests import keyed_digest
from takedown.cases.models import Case, ContactPreference, OpenedBy
from takedown.matching.models import Verdict
from takedown.notices import portuguese
from takedown.notices.models import ContactKind, Notice, NoticeChannel
from takedown.notices.selectors import latest_checks, matched_registered_hashes
from takedown.registry import bases as b
from takedown.registry.models import ChannelKind, ContentKind, Intake, PlatformChannel, PlatformKind

JSON_FORMAT = "takedown-notice"
JSON_VERSION = 2


@dataclass(frozen=True)
class Contact:
    kind: str
    email: str
    relay_token: str = ""


def relay_token(case: Case) -> str:
    """A stable, unguessable local part for the case's relay address (never the case reference)."""
    return keyed_digest("notice-relay", case.reference)[:20]


def survivor_email(case: Case) -> str:
    """The survivor's own email, when they chose to be contacted by email (else "")."""
    details = case.contact_details if isinstance(case.contact_details, dict) else {}
    if case.contact_preference == ContactPreference.EMAIL and details.get("email"):
        return str(details["email"])
    return ""


def resolve_contact(case: Case, notice: Notice | None = None) -> Contact | None:
    """The contact a notice gives the platform.

    The survivor's own email only when the survivor chose, for this notice, to give it (after a
    plain warning: `notice_contact_choose`) and it is still their contact; never on a copyright
    notice, which is filed by the organisation as agent. Otherwise the organisation's notice
    address, else the case relay address when a relay domain is configured (not for copyright
    notices: the statute asks for the agent's own contact).
    """
    dmca = notice is not None and notice.basis == b.US_DMCA
    email = survivor_email(case)
    if notice is not None and notice.use_survivor_contact and email and not dmca:
        return Contact(kind=ContactKind.SURVIVOR, email=email)
    if case.organization is not None and case.organization.notice_contact_email:
        return Contact(kind=ContactKind.ORGANIZATION, email=case.organization.notice_contact_email)
    if settings.NOTICES_RELAY_DOMAIN and not dmca:
        token = relay_token(case)
        return Contact(
            kind=ContactKind.RELAY, email=f"case-{token}@relay.{settings.NOTICES_RELAY_DOMAIN}", relay_token=token
        )
    return None


@dataclass(frozen=True)
class MediaLink:
    """A direct link to an image or video, with a time when it is a moment in a video."""

    url: str
    kind: str = ""  # image, video, or "" when not known
    time: str = ""


@dataclass(frozen=True)
class ItemSummary:
    """A reported link, the media found on it, and what the latest finished check found there."""

    url: str
    media: tuple[MediaLink, ...] = ()
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
    notice_date: date
    extra_media: list[MediaLink] = field(default_factory=list)
    hashes: list[dict[str, str]] = field(default_factory=list)
    backstop: list[str] = field(default_factory=list)
    legal_clock: bool = False
    trusted_flagger: str = ""
    stopncii: bool = False


def _signature(case: Case, basis: b.LegalBasis) -> tuple[str, bool]:
    name = (case.signature_name or "").strip()
    if basis.code == b.US_DMCA:
        # Filed in the organisation's name, as agent: copyright notices are forwarded to uploaders
        # and published on Lumen (notices-review "DMCA"). No organisation, no copyright notice.
        if case.organization is None:
            return "", case.opened_by == OpenedBy.REPRESENTATIVE
        return (
            gettext("%(org)s, as agent authorised to act for the copyright owner") % {"org": case.organization.name},
            case.opened_by == OpenedBy.REPRESENTATIVE,
        )
    if case.opened_by != OpenedBy.REPRESENTATIVE:
        return name, False
    rep = case.representative if isinstance(case.representative, dict) else {}
    authorisation = str(rep.get("authorisation", "")).strip()
    if not name or not authorisation:
        return "", True
    if basis.language == "pt-br":
        return portuguese.representative_signature(name, authorisation), True
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


def _statements(case: Case, representative: bool, notice: Notice, basis: b.LegalBasis) -> dict[str, str]:
    """The statements the signed declaration supports, worded for this basis."""
    forgery = case.content_kind == ContentKind.DIGITAL_FORGERY
    authentic = case.content_kind == ContentKind.AUTHENTIC
    if basis.language == "pt-br":
        return portuguese.statements(forgery=forgery, representative=representative)
    nonconsent = gettext(
        "We have a good-faith belief that this intimate visual depiction is not consensual: the person depicted did "
        "not consent to its publication or sharing."
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
        b.GOOD_FAITH_ACCURACY: gettext(
            "We confirm a bona fide belief that the information and allegations in this notice are accurate and "
            "complete."
        ),
        b.INTIMATE_CONTENT_DECLARATION: gettext(
            "Intimate image content is present on your service at the locations listed: the images show, or "
            "appear to show, the person depicted in an intimate state."
        ),
        b.SUBJECT_DECLARATION: (
            gettext("This report is made on behalf of the person depicted, by someone they authorised to act for them.")
            if representative
            else gettext("This report is made by the person depicted.")
        ),
        b.CONTENT_NATURE: nature,
    }
    provision = b.eu_offence(notice.member_state, notice.national_offence)
    state = b.member_state_name(notice.member_state)
    if provision and state:
        # DSA Art. 16(2)(a): the reasons, naming the Member State and its national offence
        # (notices-review "EU"); Directive 2024/1385 is not cited (not transposed before June 2027).
        statements[b.LEGAL_EXPLANATION] = gettext(
            "This content is illegal in %(state)s. %(what)s, and it was made public without their consent, which is a "
            "criminal offence there under %(provision)s."
        ) % {"state": state, "what": what, "provision": provision}
    if notice.dmca_acknowledged:
        statements[b.GOOD_FAITH_UNAUTHORISED] = gettext(
            "We have a good-faith belief that use of the material in the manner complained of is not authorised by "
            "the copyright owner, its agent, or the law."
        )
        statements[b.ACCURACY_PERJURY] = gettext(
            "The information in this notice is accurate, and under penalty of perjury, we are authorised to act on "
            "behalf of the owner of the exclusive right that is allegedly infringed."
        )
    return statements


def _media_of(check: Any) -> tuple[MediaLink, ...]:
    """The direct links of the media a check matched, or else those it flagged as possibly the survivor."""
    media = list(check.media.all())
    matched = [m for m in media if m.matched]
    flagged = [
        m for m in media if m.kind in {"image", "video"} and m.assessment and m.assessment not in {Verdict.NO_MATCH, ""}
    ]
    chosen = matched or flagged
    return tuple(MediaLink(url=m.url, kind=m.kind) for m in chosen)


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
        media = _media_of(check)
        if not media and check.sniffed_type.startswith(("image/", "video/")):
            media = (MediaLink(url=check.final_url or item.url, kind=check.sniffed_type.split("/", 1)[0]),)
        summaries.append(
            ItemSummary(
                url=item.url,
                media=media,
                checked_at=check.fetched_at or check.finished_at,
                verdict=str(Verdict(check.verdict).label) if check.verdict else "",
                verdict_text=check.verdict_text,
                page_sha256=check.sha256,
                matched_media_sha256=tuple(m.sha256 for m in matched if m.sha256),
                matched_files=files,
            )
        )
    return summaries, matched_files


def _merge_media(items: list[ItemSummary], notice: Notice) -> tuple[list[ItemSummary], list[MediaLink]]:
    """The advocate's direct links: a time for a medium a check found goes on that medium's line;
    the other links are listed on their own."""
    links = notice.media_links if isinstance(notice.media_links, list) else []
    extra = [
        MediaLink(url=str(link.get("url", "")), time=str(link.get("time", "")), kind=str(link.get("kind", "")))
        for link in links
        if isinstance(link, dict) and link.get("url")
    ]
    times = {link.url: link.time for link in extra}
    merged = []
    for item in items:
        media = tuple(
            MediaLink(url=m.url, kind=m.kind, time=times.get(m.url) or m.time) if m.url in times else m
            for m in item.media
        )
        merged.append(dataclasses.replace(item, media=media))
    found = {m.url for item in items for m in item.media}
    return merged, [link for link in extra if link.url not in found]


def notice_channel_row(notice: Notice) -> PlatformChannel | None:
    """The registry channel the notice goes through (by its recipient), if the registry still lists it."""
    kind = {
        NoticeChannel.WEBHOOK: ChannelKind.API,
        NoticeChannel.EMAIL: ChannelKind.EMAIL,
        NoticeChannel.FORM: ChannelKind.WEB_FORM,
    }[NoticeChannel(notice.channel)]
    rows = PlatformChannel.objects.filter(platform_id=notice.platform_id, address=notice.recipient)
    return rows.filter(kind=kind).first() or rows.first()


def hashes_allowed(notice: Notice) -> bool:
    """Perceptual hashes only through a partner API or a channel vetted for them; never plain email."""
    if notice.channel == NoticeChannel.WEBHOOK:
        return True
    channel = notice_channel_row(notice)
    return channel is not None and channel.hashes_vetted and notice.channel != NoticeChannel.EMAIL


def notice_context(notice: Notice) -> NoticeContext:
    """Everything a template needs, computed from the case as it is now, in the notices' language
    (never the language of the page that asks)."""
    with translation.override(settings.NOTICES_LANGUAGE):
        return _notice_context(notice)


def _notice_context(notice: Notice) -> NoticeContext:
    case = notice.case
    basis = b.basis_get(notice.basis)
    items, matched_files = _items(notice)
    items, extra_media = _merge_media(items, notice)
    signature, representative = _signature(case, basis)
    contact = resolve_contact(case, notice)
    organization = case.organization
    if contact is not None and contact.kind == ContactKind.SURVIVOR:
        notifier_name = (case.signature_name or "").strip()
    elif organization is not None:
        notifier_name = organization.name
    else:
        notifier_name = (case.signature_name or "").strip()
    contact_value = contact.email if contact else ""
    if contact and basis.code == b.US_DMCA and organization is not None:
        # 512(c)(3)(A)(iv): address, telephone and email, if available: the organisation's.
        extra = [organization.notice_postal_address.replace("\n", ", ").strip(), organization.notice_phone.strip()]
        contact_value = "; ".join([contact.email, *[e for e in extra if e]])
    elements: dict[str, str] = {
        b.SIGNATURE: signature,
        b.LOCATION: "\n".join(i.url for i in items),
        b.CONTACT: contact_value,
        b.NOTIFIER_NAME_EMAIL: f"{notifier_name} <{contact.email}>" if contact and notifier_name else "",
        b.COPYRIGHTED_WORK: notice.dmca_work.strip(),
        b.REQUESTER_VERIFICATION: notice.requester_verification.strip(),
    }
    if _declared(case):
        elements.update(_statements(case, representative, notice, basis))
    hashes: list[dict[str, str]] = []
    if case.consent_share_hashes and matched_files and hashes_allowed(notice):
        hashes = [
            {"signal": h.signal, "value": h.value, "file": h.item_id}
            for h in matched_registered_hashes(case=case, item_ids=matched_files)
        ]
    forgery = case.content_kind == ContentKind.DIGITAL_FORGERY
    backstop = (
        []
        if basis.language != "en"
        else b.backstop_provisions(
            case.jurisdictions or [],
            skip=basis.jurisdictions,
            member_state=notice.member_state,
            national_offence=notice.national_offence,
            forgery=forgery,
        )
    )
    trusted_flagger = ""
    if organization is not None and organization.trusted_flagger and basis.code == b.EU_DSA:
        trusted_flagger = organization.trusted_flagger_coordinator
    when = notice.sent_at or timezone.now()
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
        notice_date=when.astimezone(UTC).date(),
        extra_media=extra_media,
        hashes=hashes,
        backstop=backstop,
        legal_clock=b.starts_legal_clock(basis, notice.intake),
        trusted_flagger=trusted_flagger,
        stopncii=bool(case.hash_service_reference) and bool(notice.platform.stopncii_partner),
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
    platform = ctx.notice.platform
    # The statements the basis requires, in the order it lists them; non-consent has its own line.
    declarations = [
        ctx.elements[c]
        for c in basis.required_elements
        if c in b.DECLARATIONS and c not in {b.GOOD_FAITH_NONCONSENT, b.LEGAL_EXPLANATION} and ctx.elements.get(c)
    ]
    intake = Intake(ctx.notice.intake).label if ctx.notice.intake in Intake.values else ""
    return {
        "notice": ctx.notice,
        "platform": platform,
        "basis": basis,
        "items": ctx.items,
        "extra_media": ctx.extra_media,
        "elements": ctx.elements,
        "declarations": declarations,
        "nonconsent": ctx.elements.get(b.GOOD_FAITH_NONCONSENT, ""),
        "signature": ctx.signature,
        "contact_email": ctx.elements.get(b.CONTACT, ""),
        "notifier_name": ctx.notifier_name,
        "details": ctx.notice.details.strip(),
        "digital_forgery": ctx.case.content_kind == ContentKind.DIGITAL_FORGERY,
        "notice_date": ctx.notice_date,
        "notice_date_pt": portuguese.date_pt(ctx.notice_date),
        "show_law": basis.statutory or bool(ctx.backstop),
        "intake": intake,
        "backstop": ctx.backstop,
        "legal_clock": ctx.legal_clock,
        "search_engine": platform.kind == PlatformKind.SEARCH,
        "hosting": platform.kind in {PlatformKind.HOSTING, PlatformKind.CDN},
        "site": platform.kind == PlatformKind.SITE,
        "trusted_flagger": ctx.trusted_flagger,
        "organization": ctx.case.organization,
        "stopncii": ctx.stopncii,
        "member_state": b.member_state_name(ctx.notice.member_state),
        "fragment": fragment,
    }


def notice_json(ctx: NoticeContext) -> dict[str, Any]:
    """The machine-readable notice (for partner APIs and webhooks)."""
    basis = ctx.basis
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "notice_id": ctx.notice.pk,  # the API's handle for this notice (its URLs use it)
        "reference": ctx.notice.reference,
        "date": ctx.notice_date.isoformat(),
        "platform": ctx.notice.platform.slug,
        "summary": "non-consensual intimate image of an adult, real or AI-generated; please remove globally",
        "basis": {
            "code": basis.code,
            "title": str(basis.title),
            "legal_deadline_hours": basis.deadline_hours if ctx.legal_clock else None,
            "source": basis.source_url,
        },
        "content_kind": ctx.case.content_kind,
        "items": [
            {
                "url": item.url,
                "media": [{"url": m.url, "kind": m.kind, "time": m.time} for m in item.media],
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
        "media": [{"url": m.url, "kind": m.kind, "time": m.time} for m in ctx.extra_media],
        # Perceptual hashes of the survivor's registered originals that matched: only with their
        # consent, and only through a partner API or a vetted channel (they invert into likenesses).
        "hashes": ctx.hashes,
        "elements": {code: ctx.elements.get(code, "") for code in basis.required_elements},
        "signature": ctx.signature,
        "notifier": ctx.notifier_name,
        "contact": {"email": ctx.contact.email, "kind": ctx.contact.kind} if ctx.contact else None,
        "trusted_flagger": {"coordinator": ctx.trusted_flagger} if ctx.trusted_flagger else None,
        "details": ctx.notice.details.strip(),
    }


def render_context(ctx: NoticeContext, *, fragment: bool = False) -> RenderedNotice:
    language = ctx.basis.language if ctx.basis.language != "en" else settings.NOTICES_LANGUAGE
    with translation.override(language):
        text = select_template(_template_names(ctx.notice, "txt")).render(_template_context(ctx, fragment))
        html = select_template(_template_names(ctx.notice, "html")).render(_template_context(ctx, fragment))
    with translation.override(settings.NOTICES_LANGUAGE):
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
h1 { font-size: 14pt; } h2 { font-size: 11.5pt; margin-top: 1.1em; }
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
