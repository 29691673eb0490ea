"""Legal bases for removal notices, as data: what each requires, how long the platform has, and why.

The facts come from `../shared/reference/legal.md` and `legal.yaml` (archived sources up to about
July 2026); each basis cites the source it was taken from. Element codes are stable: they are
stored nowhere yet, but templates, validation and the JSON notice use them, so renaming one is a
format change. Required elements are checked by `validation.notice_validate` before a notice can
be approved or sent; a basis with `deadline_hours=None` gives the platform no fixed time.

This module is data plus one pure function (`select_bases`); it reads the facts of the case and
the platform it is given and writes nothing. It knows no case model: anything with the survivor's
`jurisdictions` and `content_kind` will do (a `cases.Case` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from takedown.registry.models import ContentKind, Jurisdiction, Platform


class CaseFacts(Protocol):
    """What basis selection needs to know of a case: where the survivor is, and what the content is."""

    @property
    def jurisdictions(self) -> Sequence[str]: ...

    @property
    def content_kind(self) -> str: ...


@dataclass(frozen=True)
class Element:
    """One thing a notice must contain, named in plain words for the advocate who fixes it."""

    code: str
    name: Promise
    help: Promise


# Stable element codes. The same code means the same thing under every basis that requires it.
SIGNATURE = "signature"
LOCATION = "location"
CONTACT = "contact"
GOOD_FAITH_NONCONSENT = "good_faith_nonconsent"
LEGAL_EXPLANATION = "legal_explanation"
NOTIFIER_NAME_EMAIL = "notifier_name_email"
GOOD_FAITH_ACCURACY = "good_faith_accuracy"
INTIMATE_CONTENT_DECLARATION = "intimate_content_declaration"
SUBJECT_DECLARATION = "subject_declaration"
CONTENT_NATURE = "content_nature"
COPYRIGHTED_WORK = "copyrighted_work"
GOOD_FAITH_UNAUTHORISED = "good_faith_unauthorised"
ACCURACY_PERJURY = "accuracy_perjury"

ELEMENTS: dict[str, Element] = {
    e.code: e
    for e in (
        Element(
            SIGNATURE,
            _("a signature"),
            _("The survivor's typed name, or the name of the authorised representative with how they were authorised."),
        ),
        Element(
            LOCATION,
            _("the links where the content appears"),
            _("At least one reported link (URL) on this platform."),
        ),
        Element(
            CONTACT,
            _("contact details"),
            _(
                "An email address the platform can reply to: the survivor's (only if they chose email), the "
                "organisation's notice address, or a case relay address."
            ),
        ),
        Element(
            GOOD_FAITH_NONCONSENT,
            _("a good-faith statement that the images were shared without consent"),
            _("Made by the survivor when they signed, or by the representative they authorised."),
        ),
        Element(
            LEGAL_EXPLANATION,
            _("an explanation of why the content is illegal"),
            _("Made by the survivor when they signed, or by the representative they authorised."),
        ),
        Element(
            NOTIFIER_NAME_EMAIL,
            _("the name and email address of whoever sends the notice"),
            _("A signature name and a contact email address."),
        ),
        Element(
            GOOD_FAITH_ACCURACY,
            _("a statement that the notice is accurate and complete"),
            _("Made by the survivor when they signed, or by the representative they authorised."),
        ),
        Element(
            INTIMATE_CONTENT_DECLARATION,
            _("a declaration that intimate image content is on the service"),
            _("Made by the survivor when they signed, or by the representative they authorised."),
        ),
        Element(
            SUBJECT_DECLARATION,
            _("a declaration that the survivor, or someone acting for them, makes the report"),
            _("Made by the survivor when they signed, or by the representative they authorised."),
        ),
        Element(
            CONTENT_NATURE,
            _("a description of what the content shows"),
            _("Made by the survivor when they signed, or by the representative they authorised."),
        ),
        Element(
            COPYRIGHTED_WORK,
            _("a description of the photo or video the survivor took (the copyrighted work)"),
            _("Only for copyright notices: describe the original, for example 'a photo I took of myself in 2024'."),
        ),
        Element(
            GOOD_FAITH_UNAUTHORISED,
            _("a good-faith statement that the use is not authorised"),
            _("Only for copyright notices; given once the survivor accepted the copyright warning."),
        ),
        Element(
            ACCURACY_PERJURY,
            _("a statement under penalty of perjury that the notice is accurate"),
            _("Only for copyright notices; the survivor must accept the copyright warning first."),
        ),
    )
}

# Elements that are statements the signer makes. They are present when the case carries the
# survivor's signed declaration (or a representative's authorisation): the service never makes a
# statement on someone's behalf that they did not sign.
DECLARATIONS = frozenset(
    {
        GOOD_FAITH_NONCONSENT,
        LEGAL_EXPLANATION,
        GOOD_FAITH_ACCURACY,
        INTIMATE_CONTENT_DECLARATION,
        SUBJECT_DECLARATION,
        CONTENT_NATURE,
    }
)


@dataclass(frozen=True)
class LegalBasis:
    """A legal basis for a removal request.

    `jurisdictions` use the codes of `cases.models.Jurisdiction`; an empty tuple means the basis
    does not depend on where anyone is (platform policy). `statutory` bases are preferred over
    policy. `opt_in` bases are never chosen automatically (DMCA).
    """

    code: str
    title: Promise
    short_title: Promise
    jurisdictions: tuple[str, ...]
    required_elements: tuple[str, ...]
    deadline_hours: int | None
    explanation: Promise
    statutory: bool = True
    opt_in: bool = False
    covers_digital_forgeries: bool = True
    warning: Promise | None = None
    source_url: str = ""


US_TAKE_IT_DOWN = "us_take_it_down"
EU_DSA = "eu_dsa"
UK_OSA = "uk_osa"
IN_IT_RULES = "in_it_rules"
BR_MARCO_CIVIL = "br_marco_civil"
PLATFORM_POLICY = "platform_policy"
US_DMCA = "us_dmca_512"

BASES: dict[str, LegalBasis] = {
    b.code: b
    for b in (
        # legal.md section 1; legal.yaml jurisdictions[us_take_it_down]. Sec. 3(a)(1)(B) lists four
        # elements and nothing more (no perjury wording, no ID); Sec. 3(a)(3): remove within 48 hours of
        # a valid request and make reasonable efforts on known identical copies; Sec. 4 covers digital
        # forgeries. Source: https://www.congress.gov/bill/119th-congress/senate-bill/146/text
        LegalBasis(
            code=US_TAKE_IT_DOWN,
            title=_("US TAKE IT DOWN Act, Section 3 (notice and removal)"),
            short_title=_("TAKE IT DOWN Act"),
            jurisdictions=("US",),
            required_elements=(SIGNATURE, LOCATION, GOOD_FAITH_NONCONSENT, CONTACT),
            deadline_hours=48,
            explanation=_(
                "A US federal law. Platforms that host content from users must remove a non-consensual intimate "
                "image, and known identical copies, within 48 hours of a valid request. It covers real images and "
                "digital forgeries (deepfakes). A request needs only a signature, the links, a good-faith statement "
                "and contact details: no ID and no sworn statement."
            ),
            source_url="https://www.congress.gov/bill/119th-congress/senate-bill/146/text",
        ),
        # legal.md section 3a; legal.yaml jurisdictions[eu_dsa]. Art. 16(2)(a)-(d); no fixed hours
        # (16(6): timely, diligent, non-arbitrary, objective). Art. 16(2)(c)'s exception to naming the
        # notifier covers only the child sexual abuse offences of Directive 2011/93/EU, which this service
        # routes to NCMEC and never handles, so the name and email are always required here.
        # Source: https://eur-lex.europa.eu/legal-content/EN/TXT/HTML/?uri=CELEX:32022R2065
        LegalBasis(
            code=EU_DSA,
            title=_("EU Digital Services Act, Article 16 (notice and action)"),
            short_title=_("Digital Services Act"),
            jurisdictions=("EU",),
            required_elements=(LEGAL_EXPLANATION, LOCATION, NOTIFIER_NAME_EMAIL, GOOD_FAITH_ACCURACY),
            deadline_hours=None,
            explanation=_(
                "An EU law. Hosting services must act on a notice in a timely, diligent and objective way, confirm "
                "receipt, and tell you their decision and how to appeal. There is no fixed number of hours. The "
                "platform should reveal who sent the notice to the uploader only where strictly necessary."
            ),
            source_url="https://eur-lex.europa.eu/legal-content/EN/TXT/HTML/?uri=CELEX:32022R2065",
        ),
        # legal.md section 4; legal.yaml jurisdictions[uk_osa]. New OSA s.10(3A) (Crime and Policing Act
        # 2026): remove within 48 hours of an "intimate image content report"; its four elements are from
        # the DSIT ECHR memorandum of 20 March 2026. The commencement date was NOT confirmed when legal.md
        # was compiled: the 48 hours are tracked, and the explanation says so.
        LegalBasis(
            code=UK_OSA,
            title=_("UK Online Safety Act 2023, section 10(3A) (intimate image content report)"),
            short_title=_("Online Safety Act (UK)"),
            jurisdictions=("UK",),
            required_elements=(INTIMATE_CONTENT_DECLARATION, SUBJECT_DECLARATION, LOCATION, CONTACT),
            deadline_hours=48,
            explanation=_(
                "A UK law. A service must remove intimate image content named in a report from the person shown (or "
                "someone acting for them), and the same content elsewhere on the service, within 48 hours. This "
                "duty was added in 2026; its start date was not confirmed when this was written."
            ),
            source_url=(
                "https://www.gov.uk/government/publications/crime-and-policing-bill-2025-echr-supplementary-"
                "memoranda/crime-and-policing-bill-echr-supplementary-memorandum-20-march-2026"
            ),
        ),
        # legal.md section 6 (India); legal.yaml jurisdictions[in_it_rules]. The original r.3(2)(b) text
        # (primary source) gives 24 hours. The 2026 amendment is REPORTED (secondary sources only) to cut it
        # to 2 hours from 20 Feb 2026; until the Gazette wording is checked we track the confirmed 24 hours.
        # Source: https://itlaw.in/rule-3-2-grievance-redressal-mechanism-of-intermediary
        LegalBasis(
            code=IN_IT_RULES,
            title=_("India IT (Intermediary Guidelines) Rules 2021, rule 3(2)(b)"),
            short_title=_("IT Rules (India)"),
            jurisdictions=("IN",),
            required_elements=(SUBJECT_DECLARATION, LOCATION, CONTENT_NATURE, CONTACT),
            deadline_hours=24,
            explanation=_(
                "An Indian rule. On a complaint from the person shown or someone on their behalf, a platform must "
                "remove content that shows nudity or a sexual act, or artificially morphed images of them, within "
                "24 hours. A 2026 amendment is reported to shorten this to 2 hours."
            ),
            source_url="https://itlaw.in/rule-3-2-grievance-redressal-mechanism-of-intermediary",
        ),
        # legal.md section 6 (Brazil); legal.yaml jurisdictions[br_marco_civil]. Art. 21: the notice is void
        # unless it identifies the material specifically (courts require the URL) and lets the requester's
        # legitimacy be verified; no hour limit ("diligently"). STJ REsp 1.930.256: not for commercially
        # produced nudes. Source: https://anotacoesdeprocessocivil.blogspot.com/search/label/nudez
        LegalBasis(
            code=BR_MARCO_CIVIL,
            title=_("Brazil Marco Civil da Internet (Law 12.965/2014), Article 21"),
            short_title=_("Marco Civil (Brazil)"),
            jurisdictions=("BR",),
            required_elements=(LOCATION, SUBJECT_DECLARATION, SIGNATURE, CONTACT),
            deadline_hours=None,
            explanation=_(
                "A Brazilian law. After a notice from the person shown or their legal representative, a provider that "
                "does not diligently remove private nude or sexual content becomes liable. There is no fixed number "
                "of hours. The notice must give the exact links. It does not cover commercially produced content."
            ),
            source_url="https://anotacoesdeprocessocivil.blogspot.com/search/label/nudez",
        ),
        # Every platform in legal.md section 7 forbids non-consensual intimate imagery in its own rules;
        # this basis is the fallback where no law applies and a companion where one does.
        LegalBasis(
            code=PLATFORM_POLICY,
            title=_("The platform's own policy on non-consensual intimate images"),
            short_title=_("Platform policy"),
            jurisdictions=(),
            required_elements=(LOCATION, SUBJECT_DECLARATION, CONTACT),
            deadline_hours=None,
            statutory=False,
            explanation=_(
                "Every major platform's rules forbid sharing intimate images without consent, real or fake. A report "
                "under the platform's policy works wherever you are, but no law sets a deadline for it."
            ),
        ),
        # legal.md section 2; legal.yaml jurisdictions[us_dmca_512]. 512(c)(3)(A)(i)-(vi). Only for images
        # the survivor took (they hold the copyright); counter-notices restore content in 10-14 business
        # days unless they sue, and notices are often forwarded to the uploader or published on Lumen.
        # Source: https://www.law.cornell.edu/uscode/text/17/512
        LegalBasis(
            code=US_DMCA,
            title=_("US copyright notice, 17 U.S.C. 512(c)(3) (DMCA)"),
            short_title=_("Copyright (DMCA)"),
            jurisdictions=("US",),
            required_elements=(
                SIGNATURE,
                COPYRIGHTED_WORK,
                LOCATION,
                CONTACT,
                GOOD_FAITH_UNAUTHORISED,
                ACCURACY_PERJURY,
            ),
            deadline_hours=None,
            opt_in=True,
            covers_digital_forgeries=False,
            explanation=_(
                "US copyright law. It works only for photos or videos the survivor took themselves, because it relies "
                "on owning the copyright. The platform must act 'expeditiously'; there is no fixed number of hours."
            ),
            warning=_(
                "Use a copyright notice only if the survivor took the images and understands the risks. The uploader "
                "can send a counter-notice, and the platform then puts the content back after 10 to 14 business days "
                "unless the survivor sues in a US court, which first needs copyright registration. Platforms often "
                "forward copyright notices, with the sender's name and contact details, to the uploader, and some "
                "publish them in the public Lumen database. File as the organisation, not in the survivor's name, "
                "wherever possible."
            ),
            source_url="https://www.law.cornell.edu/uscode/text/17/512",
        ),
    )
}

# Order of preference among statutory bases that apply: a fixed deadline first (shorter first),
# then the others, then platform policy. Ties keep this order.
_ORDER = [US_TAKE_IT_DOWN, UK_OSA, IN_IT_RULES, EU_DSA, BR_MARCO_CIVIL, PLATFORM_POLICY, US_DMCA]


def basis_get(code: str) -> LegalBasis:
    """The basis with this code; KeyError for an unknown code (callers validate input first)."""
    return BASES[code]


@dataclass(frozen=True)
class BasisChoice:
    """A basis that applies to a case and platform, with the reason in plain words."""

    basis: LegalBasis
    reason: str
    recommended: bool = False
    warning: str = ""


def _sort_key(basis: LegalBasis) -> tuple[int, int, int]:
    hours = basis.deadline_hours if basis.deadline_hours is not None else 10_000
    return (0 if basis.statutory and not basis.opt_in else 1, hours, _ORDER.index(basis.code))


def select_bases(case: CaseFacts, platform: Platform, *, include_opt_in: bool = False) -> list[BasisChoice]:
    """The bases that apply to a notice from `case` to `platform`, best first, each with its reason.

    A statutory basis applies when the survivor chose its jurisdiction, the platform serves users
    there, and the platform's registry entry lists the basis (some laws do not reach some services:
    a search engine is not a TAKE IT DOWN "covered platform"). Platform policy always applies.
    DMCA is offered only with `include_opt_in`, never for digital forgeries, and always with its
    warning. The first choice is marked recommended.
    """
    chosen = set(case.jurisdictions or [])
    served = set(platform.serves or [])
    supported = set(platform.supported_bases or [])
    choices: list[BasisChoice] = []
    for basis in sorted(BASES.values(), key=_sort_key):
        if basis.opt_in and not include_opt_in:
            continue
        if basis.code not in supported and basis.code != PLATFORM_POLICY:
            continue
        if not basis.covers_digital_forgeries and case.content_kind == ContentKind.DIGITAL_FORGERY:
            continue
        if basis.jurisdictions:
            where = [j for j in basis.jurisdictions if j in chosen and j in served]
            if not where:
                continue
            region = ", ".join(str(Jurisdiction(j).label) for j in where)
            deadline = (
                gettext("it must act within %(hours)d hours of a valid request.") % {"hours": basis.deadline_hours}
                if basis.deadline_hours
                else gettext("no law sets a fixed number of hours.")
            )
            reason = gettext("%(basis)s: you chose %(region)s and %(platform)s serves users there; %(deadline)s") % {
                "basis": basis.short_title,
                "region": region,
                "platform": platform.name,
                "deadline": deadline,
            }
        else:
            reason = gettext(
                "%(basis)s: %(platform)s's own rules forbid sharing intimate images without consent; this works "
                "wherever you are, without a legal deadline."
            ) % {"basis": basis.short_title, "platform": platform.name}
        choices.append(
            BasisChoice(basis=basis, reason=reason, warning=str(basis.warning) if basis.warning is not None else "")
        )
    if choices:
        first = choices[0]
        choices[0] = BasisChoice(basis=first.basis, reason=first.reason, recommended=True, warning=first.warning)
    return choices
