"""Outbound transports: email and signed webhooks, and the fetch policy every outbound call obeys.

They live in the kernel because several floors send: notices (removal requests), the platform
API (webhook events), cases (short notifications to survivors). They send and classify; they
write nothing.

Each returns a `TransportResult` saying whether the notice arrived, and if not whether trying
again can help. The classification is the retry policy: a refused connection, a timeout, an SMTP
4xx, an HTTP 429 or 5xx can heal; an SMTP 5xx, an HTTP 3xx/4xx, or an address the SSRF policy
refuses cannot, and retrying would only hammer the receiver.

Webhook signing (documented for receivers): the body is the JSON hash-match notice; the headers
carry `X-Takedown-Timestamp` (Unix seconds), `X-Takedown-Signature: sha256=<hex>` where hex is
HMAC-SHA256(secret, "<timestamp>.<body>"), and `Idempotency-Key`, stable per notice, so a
receiver that already has the notice answers 2xx to the retry without acting twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import socket
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.module_loading import import_string

from takedown.fetching import FetchError, FetchPolicy, ForbiddenAddress, check_address, system_resolver
from takedown.fetching.addresses import parse_address
from takedown.fetching.errors import DnsFailure
from takedown.fetching.urls import parse_target

EXCERPT_CHARS = 500
TRANSIENT_HTTP = frozenset({408, 425, 429})


def fetch_policy() -> FetchPolicy:
    """The fetch policy from settings. Loopback (and any port) only where settings allow it: tests."""
    allow_loopback = bool(settings.FETCH_ALLOW_LOOPBACK)
    resolver = import_string(settings.FETCH_RESOLVER) if settings.FETCH_RESOLVER else system_resolver
    return FetchPolicy(
        resolver=resolver,
        allow_loopback=allow_loopback,
        allowed_ports=None if allow_loopback else FetchPolicy().allowed_ports,
        user_agent=settings.FETCH_USER_AGENT,
        total_timeout=settings.FETCH_TOTAL_TIMEOUT,
    )


@dataclass(frozen=True)
class TransportResult:
    delivered: bool
    transient: bool = False
    detail: str = ""
    http_status: int | None = None
    response_excerpt: str = ""


# ---------------------------------------------------------------------------------------------------
# Email


def _smtp_code_result(code: int, message: Any) -> TransportResult:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return TransportResult(delivered=False, transient=400 <= code < 500, detail=f"SMTP {code}: {text}"[:1000])


def email_send(
    *,
    subject: str,
    text: str,
    html: str,
    recipient: str,
    reply_to: str,
    idempotency_key: str,
    pdf: bytes | None,
    pdf_name: str,
    from_email: str = "",
    notice_headers: bool = True,
) -> TransportResult:
    """Send one notice by email through Django's mail backend (SMTP in production and tests).

    `notice_headers=False` (survivors' news emails) leaves out the headers that name a notice: the
    mail server makes its own Message-ID, and nothing in the headers says what the email is about.
    """
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email or settings.NOTICES_FROM_EMAIL or settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        reply_to=[reply_to] if reply_to else None,
        # A stable Message-ID: a mail system that already has this message drops a resent copy.
        headers=(
            {"Message-ID": f"<{idempotency_key}@notices.takedown>", "X-Takedown-Notice": idempotency_key}
            if notice_headers
            else {}
        ),
        connection=get_connection(timeout=settings.NOTICES_SMTP_TIMEOUT),
    )
    message.attach_alternative(html, "text/html")
    if pdf:
        message.attach(pdf_name, pdf, "application/pdf")
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (550, b"recipient refused"))
        return _smtp_code_result(int(code), reply)
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth failed ...
        return _smtp_code_result(int(exc.smtp_code), exc.smtp_error)
    except (smtplib.SMTPException, OSError) as exc:  # refused connection, dropped, timeout, DNS
        return TransportResult(delivered=False, transient=True, detail=f"{type(exc).__name__}: {exc}"[:1000])
    return TransportResult(delivered=True, detail=f"accepted by the mail server for {recipient}")


# ---------------------------------------------------------------------------------------------------
# Webhook


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_url_check(url: str) -> None:
    """The webhook URL under the fetcher's SSRF rules: scheme, port, and every resolved address.

    Loopback only where settings allow it (tests). The addresses are checked here and the request
    then resolves the name again: a registered platform endpoint is set by an admin, not by the
    public, so the DNS-rebinding window this leaves is accepted for now (see the report).
    """
    policy = fetch_policy()
    target = parse_target(url, allowed_ports=policy.allowed_ports, allow_loopback=policy.allow_loopback)
    if target.ip is not None:
        addresses = [target.ip]
    else:
        try:
            answer = policy.resolver(target.host)
        except socket.gaierror as exc:
            temporary = exc.errno == socket.EAI_AGAIN
            raise DnsFailure(f"{target.host} could not be resolved: {exc}", temporary=temporary) from exc
        except OSError as exc:
            raise DnsFailure(f"{target.host} could not be resolved: {exc}") from exc
        addresses = [parse_address(str(a)) for a in answer]
    if not addresses:
        raise DnsFailure(f"{target.host} has no addresses.")
    for address in addresses:
        verdict = check_address(address, allow_loopback=policy.allow_loopback)
        if not verdict.allowed:
            raise ForbiddenAddress(
                f"{target.host} resolves to a forbidden address ({verdict.category}).",
                address=str(address),
                category=verdict.category or "forbidden",
            )


def webhook_post(
    *,
    url: str,
    secret: str,
    payload: dict[str, Any],
    idempotency_key: str,
    extra_headers: dict[str, str] | None = None,
) -> TransportResult:
    """POST the signed JSON notice (or platform event). 2xx delivered; 408/425/429/5xx, timeouts and drops transient."""
    if not secret:
        return TransportResult(delivered=False, detail="The platform channel has no webhook secret configured.")
    try:
        webhook_url_check(url)
    except FetchError as exc:
        return TransportResult(delivered=False, transient=exc.transient, detail=f"{exc.reason}: {exc}"[:1000])
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": settings.FETCH_USER_AGENT,
        "X-Takedown-Timestamp": timestamp,
        "X-Takedown-Signature": webhook_signature(secret, timestamp, body),
        "Idempotency-Key": idempotency_key,
        **(extra_headers or {}),
    }
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    try:
        response = session.post(
            url,
            data=body,
            headers=headers,
            timeout=(settings.NOTICES_WEBHOOK_CONNECT_TIMEOUT, settings.NOTICES_WEBHOOK_READ_TIMEOUT),
            allow_redirects=False,  # a redirect could lead anywhere; the endpoint must answer itself
        )
    except requests.RequestException as exc:
        return TransportResult(delivered=False, transient=True, detail=f"{type(exc).__name__}: {exc}"[:1000])
    finally:
        session.close()
    status = response.status_code
    excerpt = response.text[:EXCERPT_CHARS]
    if 200 <= status < 300:
        return TransportResult(delivered=True, detail=f"HTTP {status}", http_status=status, response_excerpt=excerpt)
    transient = status >= 500 or status in TRANSIENT_HTTP
    return TransportResult(
        delivered=False, transient=transient, detail=f"HTTP {status}", http_status=status, response_excerpt=excerpt
    )
