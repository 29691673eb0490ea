"""The escalation ladder, as data: the steps after a notice, and the real routes each country has.

Every route here exists and acts for the people it is offered to (../shared/reference/
notices-review.md "Regulators and who they can act for", legal.md sections 1, 3a, 4, 5 and 6):
eSafety acts only for Australia (the person depicted, the poster or the host is there), so a UK,
Indian, Brazilian or "somewhere else" case never reaches it, and for Australians it is the first
step, proposed the day the first notice goes; Ofcom takes no individual complaints, so UK cases go
to the Revenge Porn Helpline and the police; the FTC takes complaints about platforms that fail
the TAKE IT DOWN Act, which only a request through the designated process can show; the Grievance
Appellate Committee hears appeals from a Grievance Officer's decision; DSA cases go to the
platform's internal complaint system (Art. 20), a certified out-of-court dispute settlement body
(Art. 21) and the Digital Services Coordinator.

The steps (services/escalation.py applies them; docs/notices/escalation/<country>.txt shows them):

- when a notice is sent (day 0): search de-indexing (Google, Bing) in parallel, for links not
  already proposed; eSafety for Australians.
- when its time passes with the content still up: a follow-up to the platform; then the hosting
  provider (skipped for first-party platforms, which host their own content); then the country's
  routes. A missed legal deadline under the TAKE IT DOWN Act (designated process) or the IT Rules
  (Grievance Officer) also proposes the FTC or the Grievance Appellate Committee at once.
- when it is rejected: an appeal (the DSA internal complaint for DSA notices), a re-filed notice
  with what was missing, and the country's routes for a refusal.
- when the platform says removed but a re-check still finds the content: flagged, a follow-up
  saying so, and the country's routes.

This module is data and pure functions: it writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from takedown.notices.models import EscalationReason, EscalationRung
from takedown.registry.models import Jurisdiction

# When a route is proposed.
DAY0 = "day0"  # with the first notice
AFTER_PLATFORM = "after_platform"  # the platform (and host) did not act in time, or said removed wrongly
ON_REJECTION = "on_rejection"  # the platform refused
AFTER_LEGAL_DEADLINE = "after_legal_deadline"  # a statutory deadline passed (designated intake)


@dataclass(frozen=True)
class Route:
    """A regulator, dispute body, helpline or police route, with what it needs from us."""

    code: str
    rung: str  # EscalationRung
    jurisdiction: str
    name: Promise
    link: str
    when: tuple[str, ...]
    needs: Promise  # what the route asks for, in plain words (the packet's checklist)
    phone: str = ""
    # The route is about a specific legal basis (the FTC about TAKE IT DOWN requests, the GAC
    # about Grievance Officer complaints): proposed only when the case sent a notice on it.
    basis: str = ""
    source: str = ""  # where in the reference this route is supported


ROUTES: tuple[Route, ...] = (
    # --- United States
    Route(
        code="ftc_take_it_down",
        rung=EscalationRung.REGULATOR,
        jurisdiction=Jurisdiction.US,
        name=_("US Federal Trade Commission: TAKE IT DOWN Act complaint"),
        link="https://takeitdown.ftc.gov/",
        when=(AFTER_LEGAL_DEADLINE, AFTER_PLATFORM, ON_REJECTION),
        basis="us_take_it_down",
        needs=_(
            "For a platform that did not remove the content within 48 hours of a valid request through its "
            "designated TAKE IT DOWN process, or refused it: the platform, the date of the request, its ticket "
            "number, the links, and what the platform answered. The FTC enforces the Act; it does not remove "
            "content itself."
        ),
        source="legal.md section 1 (FTC actions, 19 May 2026); notices-review.md US TAKE IT DOWN Act",
    ),
    # --- Australia: eSafety is the first step (its removal notice starts the platform's 24 hours).
    Route(
        code="esafety",
        rung=EscalationRung.REGULATOR,
        jurisdiction=Jurisdiction.AU,
        name=_("eSafety Commissioner (Australia): image-based abuse report"),
        link="https://www.esafety.gov.au/report/image-based-abuse",
        when=(DAY0, AFTER_PLATFORM, ON_REJECTION),
        needs=_(
            "What happened, where and when (the links and platforms), the evidence you have (screenshots, "
            "usernames, dates and times), any reports already made to the platforms or the police, and an email "
            "contact (it can be anonymous). eSafety can give the service a removal notice that requires removal "
            "within 24 hours (Online Safety Act 2021, s.77). It acts where the person shown, the poster or the host "
            "is in Australia."
        ),
        source="legal.md section 5; notices-review.md Regulators",
    ),
    # --- United Kingdom: Ofcom takes no individual complaints.
    Route(
        code="uk_rph",
        rung=EscalationRung.HELPLINE,
        jurisdiction=Jurisdiction.UK,
        name=_("Revenge Porn Helpline (UK, adults)"),
        link="https://revengepornhelpline.org.uk/",
        phone="0345 6000 459",
        when=(AFTER_PLATFORM, ON_REJECTION),
        needs=_(
            "The links, the platforms already reported to with their reference numbers, and dates. Open Monday to "
            "Friday, 10:00 to 16:00, except bank holidays. It works within UK law's definition of intimate images, "
            "for adults, and runs StopNCII.org."
        ),
        source="legal.md section 4 (Revenge Porn Helpline); notices-review.md UK",
    ),
    Route(
        code="uk_police",
        rung=EscalationRung.POLICE,
        jurisdiction=Jurisdiction.UK,
        name=_("Police (UK): sharing intimate images without consent is an offence (Sexual Offences Act 2003 s.66B)"),
        link="https://www.police.uk/",
        phone="101",
        when=(AFTER_PLATFORM, ON_REJECTION),
        needs=_(
            "The case report (links, checks, notices and answers, without images). If the survivor may want legal "
            "action, the Revenge Porn Helpline advises contacting the police before content is reported, because "
            "removal can destroy evidence. In an emergency, call 999."
        ),
        source="legal.md section 4 and section 8 (Order of actions); notices-review.md UK",
    ),
    # --- European Union
    Route(
        code="eu_ods",
        rung=EscalationRung.REGULATOR,
        jurisdiction=Jurisdiction.EU,
        name=_("Out-of-court dispute settlement body (DSA Article 21)"),
        # The Commission's list of certified bodies (address not verified from here: check it).
        link="https://digital-strategy.ec.europa.eu/en/policies/dsa-out-court-dispute-settlement",
        when=(ON_REJECTION,),
        needs=_(
            "The platform's decision and its statement of reasons, the notice and its date, and the internal "
            "complaint made (DSA Art. 20). Choose a body certified by a Digital Services Coordinator."
        ),
        source="legal.md section 3a (Art. 21); notices-review.md EU",
    ),
    Route(
        code="eu_dsc",
        rung=EscalationRung.REGULATOR,
        jurisdiction=Jurisdiction.EU,
        name=_("Digital Services Coordinator of the Member State"),
        link="https://digital-strategy.ec.europa.eu/en/policies/dsa-dscs",
        when=(AFTER_PLATFORM, ON_REJECTION),
        needs=_(
            "The platform, the notice with its date and reference, the Member State and national offence it cited, "
            "and what the platform did: no confirmation of receipt, no decision, or a decision without redress "
            "information (DSA Art. 16(4)-(5))."
        ),
        source="legal.md section 3a; notices-review.md EU",
    ),
    # --- India
    Route(
        code="in_gac",
        rung=EscalationRung.REGULATOR,
        jurisdiction=Jurisdiction.IN,
        name=_("Grievance Appellate Committee (India, IT Rules rule 3A)"),
        link="https://gac.gov.in/",
        when=(AFTER_LEGAL_DEADLINE, AFTER_PLATFORM, ON_REJECTION),
        basis="in_it_rules",
        needs=_(
            "An appeal against the Grievance Officer's decision, or lack of one: the complaint, its date and "
            "reference, the links, and the platform's answer."
        ),
        source="notices-review.md India (r.3A)",
    ),
    Route(
        code="in_ncrp",
        rung=EscalationRung.POLICE,
        jurisdiction=Jurisdiction.IN,
        name=_("National Cybercrime Reporting Portal (India)"),
        link="https://cybercrime.gov.in/",
        phone="1930",
        when=(AFTER_PLATFORM, ON_REJECTION),
        needs=_("The links, the platforms, dates and times, and the complaints already made with their references."),
        source="legal.md section 6 (MeitY NCII SOP); notices-review.md India",
    ),
    # --- Brazil
    Route(
        code="br_safernet",
        rung=EscalationRung.HELPLINE,
        jurisdiction=Jurisdiction.BR,
        name=_("SaferNet Brasil"),
        link="https://new.safernet.org.br/",
        when=(AFTER_PLATFORM, ON_REJECTION),
        needs=_(
            "The links and the notices already sent. A helpline acts as the survivor's representative before a "
            "platform only with a power of attorney (procuração)."
        ),
        source="notices-review.md Brazil",
    ),
    Route(
        code="br_police",
        rung=EscalationRung.POLICE,
        jurisdiction=Jurisdiction.BR,
        name=_("Police (Brazil): a police report (boletim de ocorrência); the crime is Penal Code art. 218-C"),
        link="",  # a police station (delegacia) or the state's online delegacia: no single national address
        when=(AFTER_PLATFORM, ON_REJECTION),
        needs=_(
            "The case report (links, checks, notices and answers, without images). Many states take reports online "
            "(delegacia eletrônica); women's police stations (DEAM) handle these crimes."
        ),
        source="notices-review.md Brazil",
    ),
)

ROUTES_BY_CODE = {route.code: route for route in ROUTES}


def routes_for(
    jurisdictions: Iterable[str], when: str, *, bases_sent: Iterable[str] = (), exclude: Iterable[str] = ()
) -> list[Route]:
    """The routes proposed at `when` for a case in these jurisdictions.

    A route tied to a basis (the FTC, the Grievance Appellate Committee) is proposed only when the
    case sent a notice on that basis through the intake that starts its legal deadline (`bases_sent`).
    Cases "somewhere else" have no regulator route here.
    """
    chosen = set(jurisdictions)
    sent = set(bases_sent)
    skip = set(exclude)
    return [
        r
        for r in ROUTES
        if r.jurisdiction in chosen and when in r.when and r.code not in skip and (not r.basis or r.basis in sent)
    ]


@dataclass(frozen=True)
class LadderStep:
    """One step of a country's ladder, for the escalation documents and the advocate's page."""

    reason: str  # EscalationReason
    rung: str  # EscalationRung
    what: str


def ladder(jurisdiction: str) -> list[LadderStep]:
    """The ladder for a case in one jurisdiction, in the order steps are proposed (for docs)."""
    every_basis = [r.basis for r in ROUTES]
    steps: list[LadderStep] = [
        LadderStep(EscalationReason.SENT, EscalationRung.SEARCH_DEINDEX, "Google Search and Bing, in parallel"),
    ]
    steps += [LadderStep(EscalationReason.SENT, r.rung, str(r.name)) for r in routes_for([jurisdiction], DAY0)]
    steps += [
        LadderStep(
            EscalationReason.OVERDUE,
            r.rung,
            f"{r.name} (at once, when the legal deadline of a notice through the designated intake passes)",
        )
        for r in routes_for([jurisdiction], AFTER_LEGAL_DEADLINE, bases_sent=every_basis)
    ]
    steps += [
        LadderStep(EscalationReason.OVERDUE, EscalationRung.FOLLOW_UP, "first: the platform, citing the notice"),
        LadderStep(
            EscalationReason.OVERDUE,
            EscalationRung.HOSTING_PROVIDER,
            "then, if the follow-up's time passes too: Cloudflare or the RDAP-found host (skipped for platforms "
            "that host their own content)",
        ),
    ]
    steps += [
        LadderStep(EscalationReason.OVERDUE, r.rung, f"then: {r.name}")
        for r in routes_for([jurisdiction], AFTER_PLATFORM, bases_sent=every_basis)
        if AFTER_LEGAL_DEADLINE not in r.when and DAY0 not in r.when
    ]
    steps += [
        LadderStep(EscalationReason.REJECTED, EscalationRung.APPEAL, "the platform's appeal or internal complaint"),
        LadderStep(EscalationReason.REJECTED, EscalationRung.REFILE, "the notice again, with what was missing"),
    ]
    steps += [
        LadderStep(EscalationReason.REJECTED, r.rung, str(r.name))
        for r in routes_for([jurisdiction], ON_REJECTION, bases_sent=every_basis)
    ]
    steps += [
        LadderStep(
            EscalationReason.DISPUTED,
            EscalationRung.FOLLOW_UP,
            "the platform: our re-check still finds it (each link flagged on the case)",
        ),
    ]
    steps += [
        LadderStep(EscalationReason.DISPUTED, r.rung, str(r.name))
        for r in routes_for([jurisdiction], AFTER_PLATFORM, bases_sent=every_basis)
        if DAY0 not in r.when
    ]
    return steps
