"""Where the safety questions send a survivor: emergency numbers, helplines, and services for images
of someone under 18, by the country the survivor chose.

The country is only ever the one the survivor picked (on the first page, or on the under-18 page
itself); it is never guessed from the network address or the browser's language, and nothing here
is saved. Sources and the date they were last checked are in docs/survivor-safety.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Phone:
    """A number shown as a `tel:` link: `dial` is what the phone dials, `shown` what people read."""

    label: Promise
    shown: str
    dial: str


@dataclass(frozen=True)
class Route:
    """A service for images of someone who was under 18 when they were taken."""

    name: str
    url: str
    about: Promise
    phone: Phone | None = None


#: Countries the survivor can choose; "" is "I would rather not say".
COUNTRIES: list[tuple[str, Promise]] = [
    ("US", _("United States")),
    ("UK", _("United Kingdom")),
    ("CA", _("Canada")),
    ("AU", _("Australia")),
    ("EU", _("A country of the European Union")),
    ("IN", _("India")),
    ("BR", _("Brazil")),
    ("other", _("Somewhere else")),
]

EMERGENCY_NUMBERS: list[Phone] = [
    Phone(_("Emergency, United States and Canada"), "911", "911"),
    Phone(_("Emergency, European Union and India"), "112", "112"),
    Phone(_("Emergency, United Kingdom"), "999", "999"),
    Phone(_("Emergency, Australia"), "000", "000"),
    Phone(_("Police, Brazil"), "190", "190"),
]

HELPLINES: list[Phone] = [
    Phone(_("Revenge Porn Helpline (UK, adults)"), "0345 6000 459", "+443456000459"),
    Phone(_("CCRI Image Abuse Helpline (US)"), "844 878 2274", "+18448782274"),
]

TAKE_IT_DOWN = Route(
    name="Take It Down (NCMEC)",
    url="https://takeitdown.ncmec.org/",
    about=_(
        "A free service of the National Center for Missing & Exploited Children. Your images stay on your "
        "device; only their fingerprints are sent to the websites that take part. It can be used from any country."
    ),
)

UNDER_18_ROUTES: dict[str, Route] = {
    "US": Route(
        name="NCMEC CyberTipline",
        url="https://report.cybertip.org/",
        about=_(
            "If someone is threatening you or asking for money or more images, report it to NCMEC's "
            "CyberTipline. You can also call them."
        ),
        phone=Phone(_("NCMEC CyberTipline"), "1-800-843-5678", "+18008435678"),
    ),
    "UK": Route(
        name="Report Remove (Childline and the IWF)",
        url="https://www.childline.org.uk/info-advice/bullying-abuse-safety/online-mobile-safety/remove-nude-image-shared-online/",
        about=_(
            "Childline and the Internet Watch Foundation help young people get nude images of them removed "
            "from the internet. You can also talk to a Childline counsellor for free."
        ),
        phone=Phone(_("Childline"), "0800 1111", "08001111"),
    ),
    "CA": Route(
        name="NeedHelpNow.ca (Canadian Centre for Child Protection)",
        url="https://needhelpnow.ca/",
        about=_(
            "The Canadian Centre for Child Protection helps young people get sexual images of them removed, "
            "and runs Cybertip.ca for reports."
        ),
    ),
    "AU": Route(
        name="eSafety Commissioner",
        url="https://www.esafety.gov.au/report",
        about=_(
            "Australia's eSafety Commissioner can order websites to remove intimate images of you. Kids "
            "Helpline is free and open at any time."
        ),
        phone=Phone(_("Kids Helpline"), "1800 55 1800", "1800551800"),
    ),
    "EU": Route(
        name="INHOPE hotlines",
        url="https://www.inhope.org/EN",
        about=_(
            "Every country of the European Union has a hotline that gets sexual images of children removed. "
            "INHOPE lists them."
        ),
    ),
    "IN": Route(
        name="National Cyber Crime Reporting Portal",
        url="https://cybercrime.gov.in/",
        about=_("India's national portal for reporting cybercrime, including sexual images of children."),
    ),
    "BR": Route(
        name="SaferNet Brasil",
        url="https://new.safernet.org.br/denuncie",
        about=_("SaferNet Brasil takes reports of sexual images of children and young people online."),
    ),
}


def country_choice(value: str | None) -> str:
    """The survivor's own choice of country, or "" when they did not give one."""
    return value if value in dict(COUNTRIES) else ""


def under_18_routes(country: str) -> tuple[Route | None, list[tuple[str, Route]]]:
    """The route for the survivor's chosen country (None when not chosen or none is known), and the
    routes of every other country, in the order of `COUNTRIES`."""
    names = dict(COUNTRIES)
    chosen = UNDER_18_ROUTES.get(country)
    others = [(str(names[code]), route) for code, route in UNDER_18_ROUTES.items() if code != country]
    return chosen, others
