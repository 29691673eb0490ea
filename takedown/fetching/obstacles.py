"""Tell a page that could not be read from a page that has nothing on it.

When a check finds no matching medium, the survivor is told "nothing matching found". That is a
false reassurance if the page was really a login form, an "are you 18?" gate, a bot challenge or a
paywall standing in front of the content. This module recognises those, conservatively, from what
the fetcher already has: the status code and selected headers of a refusal (with the first bytes
of its body, see ``HttpStatusError.body_excerpt``), and the signals ``extract`` collected from a
page that was served (title, visible text, class names, forms, scripts).

Conservative means: a marker that also appears on ordinary pages (a "log in" link in a header, an
"18+ only" line in a footer, a reCAPTCHA on a comment form) only counts when the page gave no
medium at all; markers that only interstitials carry (Cloudflare's challenge platform, an element
named ``age-gate``, schema.org's ``isAccessibleForFree: false``) count on their own. The reason codes
are stable (stored with the evidence); the detail is plain language for staff.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from takedown.fetching.errors import FetchError, HttpStatusError
from takedown.fetching.extract import PageSignals, decode_html, scan_page

#: Obstacles in front of the content, in the order they are reported when several apply.
OBSTACLES: tuple[str, ...] = ("bot_challenge", "login_wall", "age_gate", "paywall", "legal_block")


@dataclass(frozen=True)
class Obstacle:
    """Something that kept the fetcher from the content: ``reason`` is one of ``OBSTACLES``,
    ``evidence`` says what gave it away."""

    reason: str
    evidence: str


_CHALLENGE_MARKERS = (
    ("/cdn-cgi/challenge-platform/", "Cloudflare challenge"),
    ("window._cf_chl_opt", "Cloudflare challenge"),
    ("cf-chl-", "Cloudflare challenge"),
    ("challenges.cloudflare.com", "Cloudflare Turnstile"),
    ("captcha-delivery.com", "DataDome captcha"),
    ("_incapsula_resource", "Imperva/Incapsula challenge"),
    ("px-captcha", "HUMAN/PerimeterX captcha"),
    ("/_px", "HUMAN/PerimeterX challenge"),
    ("ddos-guard", "DDoS-Guard check"),
    ("sucuri_cloudproxy", "Sucuri firewall"),
    ("awswaf", "AWS WAF challenge"),
    ("_sec/cp_challenge", "Akamai challenge"),
)
_CHALLENGE_TEXT = re.compile(
    r"just a moment\.\.\.|attention required!|checking (?:your|if the site connection is) (?:browser|secure)|"
    r"verify(?:ing)? (?:you are|that you are) (?:a )?human|are you a robot|"
    r"please enable (?:javascript and )?cookies to continue|"
    r"access denied.{0,40}(?:bot|automated)|unusual traffic from your (?:computer|network)",
    re.IGNORECASE,
)
_CAPTCHA_WIDGETS = ("g-recaptcha", "h-captcha", "hcaptcha.com", "recaptcha/api", "cf-turnstile", "frc-captcha")
_AGE_TEXT = re.compile(
    r"\b(?:are you (?:at least |over )?(?:18|21)|i am (?:at least |over )?(?:18|21)|"
    r"(?:18|21) (?:years|yrs)(?: of age)? or (?:older|over)|over (?:18|21)\b|age verification|verify your age|"
    r"confirm (?:that )?you are (?:(?:at least )?(?:18|21)|of legal age|an adult)|"
    r"enter your (?:date of birth|birthday|birth date)|must be (?:at least )?(?:18|21)|adults? only|"
    r"adult content warning|this (?:site|website|page) contains (?:adult|age-restricted|sexually explicit)|"
    r"age-restricted)",
    re.IGNORECASE,
)
_AGE_TOKENS = re.compile(
    r"age[-_]?gate|age[-_]?verif|age[-_]?check|age[-_]?confirm|age[-_]?modal|age[-_]?popup|age[-_]?wall|"
    r"agegate|ageverif|disclaimer[-_]?modal|adult[-_]?warning|over18|over-18",
    re.IGNORECASE,
)
_LOGIN_TEXT = re.compile(
    r"\b(?:log ?in|sign ?in|log on)\b.{0,80}\b(?:to (?:continue|view|see|access)|required)|"
    r"\b(?:you (?:must|need to) (?:be )?(?:log(?:ged)? ?in|sign(?:ed)? ?in))|"
    r"\b(?:members only|this content is (?:only )?available to (?:members|subscribers|registered users))|"
    r"\bcreate (?:an|your) account to (?:continue|view|see)",
    re.IGNORECASE,
)
_LOGIN_PATH = re.compile(
    r"/(?:login|log-in|signin|sign-in|sign_in|logon|auth|authenticate|session/new|accounts/login|users/sign_in|"
    r"user/login|member/login|i/flow/login)(?:[/?.]|$)",
    re.IGNORECASE,
)
_AGE_PATH = re.compile(
    r"/(?:age[-_]?(?:gate|verification|verify|check|confirm)|verify[-_]?age|over18)(?:[/?.]|$)", re.I
)
_PAYWALL_TOKENS = re.compile(r"paywall|subscriber[-_]?only|premium[-_]?lock|locked[-_]?content|piano-offer", re.I)
_PAYWALL_TEXT = re.compile(
    r"\b(?:subscribe|become a (?:member|subscriber)|unlock|purchase|buy)\b.{0,60}"
    r"\b(?:to (?:view|watch|see|unlock|continue|access)|this (?:video|content|post|gallery))",
    re.IGNORECASE,
)


def obstacle_for_error(error: FetchError) -> Obstacle | None:
    """The obstacle behind a refusal of the reported URL itself (401, 402, 403, 451, challenge
    pages served as 403/429/503), or None when the error is an ordinary failure."""
    if not isinstance(error, HttpStatusError):
        return None
    status = error.status
    headers = {k.lower(): v for k, v in error.headers.items()}
    if headers.get("cf-mitigated", "").strip().lower() == "challenge":
        return Obstacle("bot_challenge", f"HTTP {status} with cf-mitigated: challenge (Cloudflare)")
    excerpt = error.body_excerpt
    signals: PageSignals | None = None
    lowered = ""
    if excerpt:
        html = decode_html(excerpt, headers.get("content-type"))
        lowered = html.lower()
        signals = scan_page(html, error.url or "http://invalid/").signals
    challenge = _challenge(lowered, signals)
    if challenge is not None and status in (403, 429, 503):
        return Obstacle("bot_challenge", f"HTTP {status}: {challenge}")
    if status == 401:
        realm = headers.get("www-authenticate", "")
        return Obstacle("login_wall", f"HTTP 401 (authentication required){f': {realm[:80]}' if realm else ''}")
    if status == 402:
        return Obstacle("paywall", "HTTP 402 (payment required)")
    if status == 451:
        return Obstacle("legal_block", "HTTP 451 (unavailable for legal reasons, e.g. blocked in this country)")
    if status == 403 and signals is not None:
        if signals.has_password or _LOGIN_TEXT.search(signals.text):
            return Obstacle("login_wall", "HTTP 403 with a login form")
        age = _age_evidence(signals)
        if age is not None:
            return Obstacle("age_gate", f"HTTP 403: {age}")
    return None


def page_obstacles(
    signals: PageSignals,
    *,
    html: str,
    final_url: str,
    redirected: bool,
    has_media: bool,
) -> list[Obstacle]:
    """Obstacles on a page that was served (2xx), strongest evidence first.

    ``has_media`` is whether the page gave any medium: weak markers only count when it did not.
    """
    found: list[Obstacle] = []
    lowered = html.lower()
    challenge = _challenge(lowered, signals)
    if challenge is not None:
        found.append(Obstacle("bot_challenge", challenge))
    elif not has_media and any(marker in lowered for marker in _CAPTCHA_WIDGETS):
        found.append(Obstacle("bot_challenge", "a captcha and no medium on the page"))
    path = urlsplit(final_url).path + ("?" + urlsplit(final_url).query if urlsplit(final_url).query else "")
    if redirected and _LOGIN_PATH.search(path):
        found.append(Obstacle("login_wall", f"redirected to a login page ({final_url[:200]})"))
    elif not has_media and signals.has_password:
        found.append(Obstacle("login_wall", "a password field and no medium on the page"))
    elif not has_media and _LOGIN_TEXT.search(signals.text):
        found.append(Obstacle("login_wall", "the page asks to log in and shows no medium"))
    if redirected and _AGE_PATH.search(path):
        found.append(Obstacle("age_gate", f"redirected to an age check ({final_url[:200]})"))
    else:
        tokens = _matching_tokens(signals.tokens, _AGE_TOKENS)
        age = _age_evidence(signals)
        if tokens and (age is not None or not has_media):
            found.append(Obstacle("age_gate", f"an age-check element ({', '.join(tokens[:3])})"))
        elif age is not None and not has_media:
            found.append(Obstacle("age_gate", f"{age} and no medium on the page"))
    if signals.not_free:
        found.append(Obstacle("paywall", 'structured data says "isAccessibleForFree": false'))
    elif not has_media and (_matching_tokens(signals.tokens, _PAYWALL_TOKENS) or _PAYWALL_TEXT.search(signals.text)):
        found.append(Obstacle("paywall", "a subscription prompt and no medium on the page"))
    return _ordered(found)


def _challenge(lowered_html: str, signals: PageSignals | None) -> str | None:
    for marker, label in _CHALLENGE_MARKERS:
        if marker in lowered_html:
            return label
    if signals is not None:
        for src in [*signals.script_srcs, *signals.iframe_srcs]:
            for marker, label in _CHALLENGE_MARKERS:
                if marker in src.lower():
                    return label
        heading = f"{signals.title} {signals.text[:400]}"
        match = _CHALLENGE_TEXT.search(heading)
        if match is not None and len(signals.text) < 3000:
            return f'a bot check ("{match.group(0)[:60]}")'
    return None


def _age_evidence(signals: PageSignals) -> str | None:
    match = _AGE_TEXT.search(f"{signals.title} {signals.text}")
    return f'age-check wording ("{match.group(0)[:60]}")' if match else None


def _matching_tokens(tokens: Iterable[str], pattern: re.Pattern[str]) -> list[str]:
    return sorted(token for token in tokens if pattern.search(token))


def _ordered(found: list[Obstacle]) -> list[Obstacle]:
    seen: set[str] = set()
    distinct: list[Obstacle] = []
    for obstacle in sorted(found, key=lambda o: OBSTACLES.index(o.reason)):
        if obstacle.reason not in seen:
            seen.add(obstacle.reason)
            distinct.append(obstacle)
    return distinct
