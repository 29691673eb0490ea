"""Validating and normalising reported URLs (the same content reported twice is one item)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils.translation import gettext as _

from takedown.core.errors import InvalidInput

MAX_URL_LENGTH = 2048
# Parameters that only track who clicked; they never change which content a URL shows.
_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "igshid", "mc_cid", "mc_eid", "ref_src", "si"})


def normalize_url(raw: str) -> tuple[str, str]:
    """Return (url as given but trimmed, normalised url) or raise InvalidInput with a plain reason."""
    url = raw.strip()
    if not url:
        raise InvalidInput(_("The link is empty."))
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(_("The link is too long (more than 2,048 characters)."))
    scheme_like = re.match(r"([A-Za-z][A-Za-z0-9+\-]*):", url)
    if "://" not in url and scheme_like and scheme_like.group(1).lower() not in {"http", "https"}:
        # javascript:, data:, mailto: ... (a host with a port, example.com:8080, has a dot first)
        raise InvalidInput(_("Only web links (http or https) can be checked: %(url)s") % {"url": raw[:100]})
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(_("This does not look like a web address: %(url)s") % {"url": raw[:100]}) from exc
    if parts.scheme.lower() not in {"http", "https"}:
        raise InvalidInput(_("Only web links (http or https) can be checked: %(url)s") % {"url": raw[:100]})
    host = (parts.hostname or "").rstrip(".")
    if not host or ("." not in host and ":" not in host):
        raise InvalidInput(_("This link has no website name: %(url)s") % {"url": raw[:100]})
    if parts.username or parts.password:
        raise InvalidInput(_("Links with a user name or password in them cannot be checked."))
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidInput(_("This website name is not valid: %(url)s") % {"url": raw[:100]}) from exc
    scheme = parts.scheme.lower()
    default_port = {"http": 80, "https": 443}[scheme]
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != default_port:
        netloc = f"{netloc}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in _TRACKING_PARAMS and not k.lower().startswith("utm_")
        ]
    )
    normalized = urlunsplit((scheme, netloc, parts.path or "/", query, ""))
    return url, normalized


def url_host(normalized_url: str) -> str:
    return (urlsplit(normalized_url).hostname or "").lower()
