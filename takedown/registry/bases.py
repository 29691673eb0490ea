"""Legal bases for removal notices, as data: what each requires, whether a deadline runs, and why.

The facts come from `../shared/reference/legal.md`, `legal.yaml` and `notices-review.md` (archived
sources up to about July 2026, reviewed December 2026); each basis and each provision cites the
section it was taken from. Nothing here is presented as in force unless the reference says it is:
the UK's 48-hour duty (commencement unconfirmed) and India's reported 2-hour rule (secondary
sources only) are tracked and explained, never asserted in a notice.

Element codes are stable: templates, validation and the JSON notice use them, so renaming one is a
format change. Required elements are checked by `notices.validation` before a notice can be
approved or sent. A basis's `deadline_hours` is a legal deadline only for a notice sent through one
of its `clock_intakes` (the TAKE IT DOWN Act's 48 hours run from a request made through the
platform's designated process, Sec. 3(a)(1)(A)); every other notice gets the platform's follow-up
window instead.

This module is data plus pure functions; it knows no case model: anything with the survivor's
`jurisdictions` and `content_kind` will do (a `cases.Case` does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from takedown.registry.models import ContentKind, Intake, Jurisdiction, MemberState, Platform


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
REQUESTER_VERIFICATION = "requester_verification"

ELEMENTS: dict[str, Element] = {
    e.code: e
    for e in (
        Element(
            SIGNATURE,
            _("a signature"),
            _(
                "The survivor's typed name, or the name of the authorised representative with how they were "
                "authorised. Copyright notices are signed by the organisation, as agent."
            ),
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
                "An address the platform can reply to: the organisation's notice address or a case relay address "
                "(the survivor's own email only if they chose it for this notice)."
            ),
        ),
        Element(
            GOOD_FAITH_NONCONSENT,
            _("a statement that the person depicted did not consent"),
            _("Made by the survivor when they signed, or by the representative they authorised."),
        ),
        Element(
            LEGAL_EXPLANATION,
            _("an explanation of why the content is illegal, naming the Member State and its offence"),
            _(
                "Choose the EU Member State whose law applies (where the survivor lives). For a Member State "
                "without a listed offence, enter the national provision."
            ),
        ),
        Element(
            NOTIFIER_NAME_EMAIL,
            _("the name and email address of whoever sends the notice"),
            _("The organisation's name and notice address, or the survivor's name and a relay address."),
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
        Element(
            REQUESTER_VERIFICATION,
            _("how the platform can verify who is asking (Brazil)"),
            _(
                "Marco Civil Art. 21: a notice that does not let the platform verify the requester's legitimacy is "
                "void. Say how: for example an identity document offered through the contact address, or the "
                "power of attorney (procuração) a representative holds."
            ),
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

    `jurisdictions` use the codes of `registry.models.Jurisdiction`; an empty tuple means the basis
    does not depend on where anyone is (platform policy). `statutory` bases are preferred over
    policy. `opt_in` bases are never chosen automatically (DMCA). `deadline_hours` is tracked as a
    legal deadline only for notices sent through one of `clock_intakes`; `deadline_confirmed` says
    whether the reference confirms the number from a primary source. `intakes` are the platform
    intakes this basis prefers, best first. `language` is the language the notice is written in.
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
    clock_intakes: tuple[str, ...] = ()
    deadline_confirmed: bool = True
    intakes: tuple[str, ...] = ()
    language: str = "en"


US_TAKE_IT_DOWN = "us_take_it_down"
EU_DSA = "eu_dsa"
UK_OSA = "uk_osa"
AU_OSA = "au_osa"
IN_IT_RULES = "in_it_rules"
BR_MARCO_CIVIL = "br_marco_civil"
PLATFORM_POLICY = "platform_policy"
US_DMCA = "us_dmca_512"

_GENERAL_INTAKES = (
    Intake.PARTNER_API,
    Intake.POLICY_FORM,
    Intake.LEGAL_FORM,
    Intake.SEARCH_REMOVAL,
    Intake.ABUSE_EMAIL,
)

BASES: dict[str, LegalBasis] = {
    b.code: b
    for b in (
        # legal.md section 1; notices-review "US TAKE IT DOWN Act". Sec. 3(a)(1)(B) lists four elements
        # and nothing more (no perjury wording, no ID); Sec. 3(a)(3): remove within 48 hours of a valid
        # request made through the platform's designated process (Sec. 3(a)(1)(A)) - a copy sent to a
        # general abuse address does not start the clock; identical copies: "reasonable efforts"
        # (3(a)(3)(B)), not 48 hours. Covered platforms (Sec. 4(3)) exclude search engines.
        LegalBasis(
            code=US_TAKE_IT_DOWN,
            title=_("US TAKE IT DOWN Act, Section 3 (notice and removal)"),
            short_title=_("TAKE IT DOWN Act"),
            jurisdictions=("US",),
            required_elements=(SIGNATURE, LOCATION, GOOD_FAITH_NONCONSENT, CONTACT),
            deadline_hours=48,
            clock_intakes=(Intake.TIDA_PROCESS,),
            intakes=(Intake.TIDA_PROCESS, *_GENERAL_INTAKES),
            explanation=_(
                "A US federal law. A platform that hosts content from users must remove a non-consensual intimate "
                "image within 48 hours of a valid request made through its designated TAKE IT DOWN process, and make "
                "reasonable efforts to remove known identical copies. A request sent anywhere else (a general abuse "
                "address) does not start the 48 hours. It covers real images and digital forgeries (deepfakes); "
                "search engines are not covered platforms."
            ),
            source_url="https://www.congress.gov/bill/119th-congress/senate-bill/146/text",
        ),
        # legal.md section 3a; notices-review "EU". Art. 16(2)(a)-(d); no fixed hours (16(6)). 16(2)(a)
        # needs the reasons the content is illegal: the Member State and its national offence (the
        # notice names them; Directive 2024/1385 need not be transposed before 14 June 2027 and is not
        # cited). Art. 16(2)(c)'s exception to naming the notifier covers only child sexual abuse
        # offences, which this service routes to NCMEC and never handles, so name and email are required.
        LegalBasis(
            code=EU_DSA,
            title=_("EU Digital Services Act, Article 16 (notice and action)"),
            short_title=_("Digital Services Act"),
            jurisdictions=("EU",),
            required_elements=(
                LEGAL_EXPLANATION,
                LOCATION,
                NOTIFIER_NAME_EMAIL,
                GOOD_FAITH_ACCURACY,
                GOOD_FAITH_NONCONSENT,
            ),
            deadline_hours=None,
            intakes=(Intake.DSA_FORM, *_GENERAL_INTAKES),
            explanation=_(
                "An EU law. Hosting services must act on a notice in a timely, diligent and objective way, confirm "
                "receipt, and tell you their decision and how to appeal; you can use their internal complaint system "
                "for at least six months after a decision (Art. 20). There is no fixed number of hours. The notice "
                "must say why the content is illegal: it names the Member State and its national offence. Removals on "
                "a legal ground are often limited to one country, so the notice also asks for global removal under "
                "the platform's own rules."
            ),
            source_url="https://eur-lex.europa.eu/legal-content/EN/TXT/HTML/?uri=CELEX:32022R2065",
        ),
        # legal.md section 4; notices-review "UK". In force: Sexual Offences Act 2003 s.66B (sharing an
        # image that shows or appears to show a person in an intimate state without consent; a priority
        # offence under the OSA) and OSA s.10(3)(b) (swift takedown once aware) for user-to-user
        # services, s.27 for search services. The 48-hour duty (OSA s.10(3A), Crime and Policing Act
        # 2026) has no confirmed commencement and is a duty to have systems, not a per-notice deadline:
        # no legal deadline is tracked, and notices never present it as in force. The report still
        # carries its four elements (DSIT ECHR memorandum, 20 March 2026) so it qualifies once it starts.
        LegalBasis(
            code=UK_OSA,
            title=_("UK Sexual Offences Act 2003 s.66B and Online Safety Act 2023"),
            short_title=_("UK law (s.66B, Online Safety Act)"),
            jurisdictions=("UK",),
            required_elements=(
                INTIMATE_CONTENT_DECLARATION,
                SUBJECT_DECLARATION,
                LOCATION,
                CONTACT,
                GOOD_FAITH_NONCONSENT,
            ),
            deadline_hours=None,
            intakes=_GENERAL_INTAKES,
            explanation=_(
                "UK law. Sharing an image that shows, or appears to show, someone in an intimate state without their "
                "consent is a criminal offence (Sexual Offences Act 2003 s.66B), and a priority offence under the "
                "Online Safety Act 2023, which requires services to take such content down swiftly once aware of it. "
                "A 48-hour duty was legislated in 2026 but its start date is not confirmed, so no legal deadline is "
                "tracked: the platform's follow-up window applies."
            ),
            source_url=(
                "https://www.gov.uk/government/publications/crime-and-policing-bill-2025-delegated-powers-"
                "supplementary-memoranda/delegated-powers-memorandum-20-march-2026"
            ),
        ),
        # legal.md section 5; notices-review "Regulators". eSafety acts where the person depicted, the
        # poster or the host is in Australia; for Australians it is the first step. A platform's 24 hours
        # (s.77) run from eSafety's removal notice, never from the survivor's own notice: no deadline here.
        LegalBasis(
            code=AU_OSA,
            title=_("Australia Online Safety Act 2021 (image-based abuse scheme)"),
            short_title=_("Online Safety Act (Australia)"),
            jurisdictions=("AU",),
            required_elements=(SUBJECT_DECLARATION, LOCATION, GOOD_FAITH_NONCONSENT, CONTACT),
            deadline_hours=None,
            intakes=_GENERAL_INTAKES,
            explanation=_(
                "Australian law. Posting an intimate image of someone without their consent is prohibited, and the "
                "eSafety Commissioner can order a service to remove it within 24 hours of eSafety's removal notice "
                "(s.77). The 24 hours start with eSafety's notice, not with ours: report to eSafety first; this notice "
                "to the platform goes alongside it."
            ),
            source_url="http://www.austlii.edu.au/au/legis/cth/consol_act/osa2021154/s77.html",
        ),
        # legal.md section 6 (India); legal.yaml jurisdictions[in_it_rules]; notices-review "India".
        # Complaints go to the platform's Grievance Officer (r.3(2)(a),(c)); appeal to the Grievance
        # Appellate Committee (r.3A). The original r.3(2)(b) text (primary) gives 24 hours; the IT
        # Amendment Rules 2026 (G.S.R. 120(E), in force 20 Feb 2026) are REPORTED (secondary only) to
        # cut it to 2 hours. The shorter time is tracked (so a late platform is followed up early) and
        # marked unconfirmed; notices cite the rule "as amended" and state no number of hours.
        LegalBasis(
            code=IN_IT_RULES,
            title=_("India IT (Intermediary Guidelines) Rules 2021, rule 3(2)(b)"),
            short_title=_("IT Rules (India)"),
            jurisdictions=("IN",),
            required_elements=(SUBJECT_DECLARATION, LOCATION, CONTENT_NATURE, CONTACT, GOOD_FAITH_NONCONSENT),
            deadline_hours=2,
            deadline_confirmed=False,
            clock_intakes=(Intake.GRIEVANCE_OFFICER,),
            intakes=(Intake.GRIEVANCE_OFFICER, *_GENERAL_INTAKES),
            explanation=_(
                "An Indian rule. On a complaint to its Grievance Officer from the person shown or someone on their "
                "behalf, a platform must remove content that shows nudity or a sexual act, or artificially morphed "
                "images of them. The original rule gave 24 hours; a 2026 amendment is reported (not yet confirmed "
                "from the Gazette) to shorten this to 2 hours, so the 2 hours are tracked for complaints sent to the "
                "Grievance Officer. Notices do not state a number of hours."
            ),
            source_url="https://itlaw.in/rule-3-2-grievance-redressal-mechanism-of-intermediary",
        ),
        # legal.md section 6 (Brazil); notices-review "Brazil". Art. 21: the notice is void ("sob pena de
        # nulidade") unless it identifies the material specifically (courts require the URL) and lets the
        # requester's legitimacy be verified; a helpline acts as representative only with a procuração. No
        # hour limit ("diligently"). Deepfakes: CP art. 216-B sole paragraph and art. 218-C; STF Tema 987.
        # STJ REsp 1.930.256: not for commercially produced nudes. Written in Portuguese.
        LegalBasis(
            code=BR_MARCO_CIVIL,
            title=_("Brazil Marco Civil da Internet (Law 12.965/2014), Article 21"),
            short_title=_("Marco Civil (Brazil)"),
            jurisdictions=("BR",),
            required_elements=(
                LOCATION,
                SUBJECT_DECLARATION,
                REQUESTER_VERIFICATION,
                SIGNATURE,
                CONTACT,
                GOOD_FAITH_NONCONSENT,
            ),
            deadline_hours=None,
            intakes=_GENERAL_INTAKES,
            language="pt-br",
            explanation=_(
                "A Brazilian law. After a notice from the person shown or their legal representative, a provider that "
                "does not diligently remove private nude or sexual content becomes liable. There is no fixed number "
                "of hours. The notice is void unless it gives the exact links and lets the platform verify who is "
                "asking; a helpline needs a power of attorney (procuração) to act as representative. It does not "
                "cover commercially produced content. The notice is written in Portuguese."
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
            required_elements=(LOCATION, SUBJECT_DECLARATION, CONTACT, GOOD_FAITH_NONCONSENT),
            deadline_hours=None,
            statutory=False,
            intakes=(
                Intake.POLICY_FORM,
                Intake.PARTNER_API,
                Intake.SEARCH_REMOVAL,
                Intake.LEGAL_FORM,
                Intake.ABUSE_EMAIL,
            ),
            explanation=_(
                "Every major platform's rules forbid sharing intimate images without consent, real or fake. A report "
                "under the platform's policy works wherever you are, but no law sets a deadline for it: the "
                "platform's follow-up window applies."
            ),
        ),
        # legal.md section 2; notices-review "DMCA". 512(c)(3)(A)(i)-(vi). Only for images the survivor
        # took; notices are routinely forwarded to the uploader or published (Lumen): filed as the
        # organisation (agent), with the organisation's address and telephone (512(c)(3)(A)(iv)).
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
            intakes=(Intake.COPYRIGHT, *_GENERAL_INTAKES),
            explanation=_(
                "US copyright law. It works only for photos or videos the survivor took themselves, because it relies "
                "on owning the copyright. The platform must act 'expeditiously'; there is no fixed number of hours. "
                "It is filed in the organisation's name, as agent, with the organisation's contact details."
            ),
            warning=_(
                "Use a copyright notice only if the survivor took the images and understands the risks. The uploader "
                "can send a counter-notice, and the platform then puts the content back after 10 to 14 business days "
                "unless the survivor sues in a US court, which first needs copyright registration. Platforms often "
                "forward copyright notices, with the sender's name and contact details, to the uploader, and some "
                "publish them in the public Lumen database: this notice is filed in the organisation's name, as "
                "agent, never with the survivor's name or personal email."
            ),
            source_url="https://www.law.cornell.edu/uscode/text/17/512",
        ),
    )
}

# Order of preference among statutory bases that apply: a fixed deadline first (shorter first),
# then the others, then platform policy. Ties keep this order.
_ORDER = [US_TAKE_IT_DOWN, UK_OSA, AU_OSA, IN_IT_RULES, EU_DSA, BR_MARCO_CIVIL, PLATFORM_POLICY, US_DMCA]

# Bases a hosting provider or a site the registry does not list may be sent under. The EU DSA's
# notice-and-action duty (Art. 16) is written for hosting services; India's IT Rules bind every
# intermediary; Brazil's Art. 21 binds providers of applications that show third-party content;
# eSafety's scheme reaches hosting services (s.79); every host has an acceptable-use policy. The
# TAKE IT DOWN Act and the UK OSA duties reach services that publish user content (a "covered
# platform", a user-to-user service), which a plain web host usually is not.
HOSTING_BASES = (EU_DSA, AU_OSA, IN_IT_RULES, BR_MARCO_CIVIL, PLATFORM_POLICY)


def basis_get(code: str) -> LegalBasis:
    """The basis with this code; KeyError for an unknown code (callers validate input first)."""
    return BASES[code]


def starts_legal_clock(basis: LegalBasis, intake: str) -> bool:
    """Whether a notice on `basis` sent through a channel of this intake starts a legal deadline."""
    return basis.deadline_hours is not None and intake in basis.clock_intakes


# ---------------------------------------------------------------------------------------------------
# Provisions: the law as backstop, by where the survivor is.


@dataclass(frozen=True)
class Offence:
    """A national provision that makes sharing intimate images without consent an offence."""

    member_state: str
    provision: str
    source: str


# notices-review "EU": the national offences a DSA notice names (Art. 16(2)(a)).
EU_OFFENCES: dict[str, Offence] = {
    o.member_state: o
    for o in (
        Offence("DE", "section 201a of the German Criminal Code (StGB)", "notices-review.md EU"),
        Offence("FR", "articles 226-2-1 and 226-8-1 of the French Penal Code", "notices-review.md EU"),
        Offence("IT", "article 612-ter of the Italian Penal Code", "notices-review.md EU"),
        Offence("ES", "article 197.7 of the Spanish Criminal Code", "notices-review.md EU"),
        Offence("NL", "article 139h of the Dutch Criminal Code (Wetboek van Strafrecht)", "notices-review.md EU"),
        Offence(
            "IE",
            "section 3 of the Harassment, Harmful Communications and Related Offences Act 2020 (Ireland)",
            "notices-review.md EU",
        ),
    )
}


def eu_offence(member_state: str, national_offence: str = "") -> str:
    """The national provision a DSA notice names: the listed one, or the one the advocate entered."""
    if national_offence.strip():
        return national_offence.strip()
    known = EU_OFFENCES.get(member_state)
    return known.provision if known else ""


def member_state_name(code: str) -> str:
    try:
        return str(MemberState(code).label)
    except ValueError:
        return ""


def backstop_provisions(
    jurisdictions: Iterable[str],
    *,
    skip: Iterable[str] = (),
    member_state: str = "",
    national_offence: str = "",
    forgery: bool = False,
) -> list[str]:
    """One sentence per place the survivor chose, naming the law that makes the sharing unlawful there.

    These follow the policy request in every notice ("policy first, law as backstop"); the basis's
    own provision is stated by its template, so its jurisdictions are `skip`ped. Each sentence is a
    statement the reference supports (the comments name the section).
    """
    skipped = set(skip)
    lines: list[str] = []
    for code in jurisdictions:
        if code in skipped:
            continue
        if code == Jurisdiction.US:
            # legal.md section 1, "Criminal part": TAKE IT DOWN Act Sec. 2, 47 U.S.C. 223(h).
            lines.append(
                gettext(
                    "United States: knowingly publishing an intimate image of a person without their consent, or a "
                    "digital forgery of one, is a federal crime (47 U.S.C. 223(h), TAKE IT DOWN Act Sec. 2)."
                )
            )
        elif code == Jurisdiction.UK:
            # legal.md section 4; notices-review "UK".
            lines.append(
                gettext(
                    "United Kingdom: sharing an image that shows, or appears to show, a person in an intimate state "
                    "without their consent is an offence under section 66B of the Sexual Offences Act 2003, a priority "
                    "offence under the Online Safety Act 2023."
                )
            )
        elif code == Jurisdiction.EU:
            provision = eu_offence(member_state, national_offence)
            state = member_state_name(member_state)
            if provision and state:
                # notices-review "EU": name the Member State and the national offence.
                lines.append(
                    gettext(
                        "European Union: sharing intimate images of a person without their consent is a criminal "
                        "offence in %(state)s under %(provision)s."
                    )
                    % {"state": state, "provision": provision}
                )
        elif code == Jurisdiction.AU:
            # legal.md section 5 and section 11 (ss.75/80 civil penalties); s.77 removal notices.
            lines.append(
                gettext(
                    "Australia: posting an intimate image of a person without their consent is prohibited by the "
                    "Online Safety Act 2021 (s.75), and the eSafety Commissioner can require its removal (s.77)."
                )
            )
        elif code == Jurisdiction.IN:
            # legal.md section 6 (India): r.3(2)(b), including "artificially morphed images".
            lines.append(
                gettext(
                    "India: rule 3(2)(b) of the IT (Intermediary Guidelines and Digital Media Ethics Code) Rules, 2021 "
                    "requires intermediaries to remove such content, including artificially morphed images, on a "
                    "complaint by the person shown or on their behalf."
                )
            )
        elif code == Jurisdiction.BR:
            # notices-review "Brazil": CP art. 218-C; art. 216-B sole paragraph for montages (deepfakes).
            lines.append(
                gettext(
                    "Brazil: sharing nude or sexual images of a person without their consent is a crime under article "
                    "218-C of the Brazilian Penal Code%(montage)s."
                )
                % {"montage": gettext(" (and article 216-B, sole paragraph, for montages)") if forgery else ""}
            )
    return lines


# ---------------------------------------------------------------------------------------------------
# Choosing a basis


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
            if basis.deadline_hours and basis.clock_intakes:
                deadline = gettext(
                    "it must act within %(hours)d hours of a request sent through its %(intake)s%(unconfirmed)s."
                ) % {
                    "hours": basis.deadline_hours,
                    "intake": ", ".join(str(Intake(i).label) for i in basis.clock_intakes),
                    "unconfirmed": "" if basis.deadline_confirmed else gettext(" (reported, not yet confirmed)"),
                }
            else:
                deadline = gettext("no law sets a fixed number of hours for this notice.")
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
