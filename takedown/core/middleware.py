"""Response hardening and the translation of domain errors into plain pages."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from takedown.core.errors import TakedownError

logger = logging.getLogger(__name__)


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set.

    Every response Django makes is `no-store`, whatever its type: a survivor who used the
    quick-exit control must not be able to bring a page back from the browser's cache or
    back/forward cache, nobody sharing the device should find it there, and a notice PDF, a CSV
    export, an evidence file or the feed export must not sit in a browser's or a proxy's cache
    either (issue 14). Static files never reach this middleware (WhiteNoise answers them first),
    so they stay cacheable; a view that really wants caching would have to be exempted here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
        )
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers["Cache-Control"] = "no-store"
        return response


class DomainErrorMiddleware:
    """Render a `TakedownError` escaping a view as a plain page with its status, never a traceback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, TakedownError):
            return None
        logger.info("domain error %s on %s", exception.code, request.path)
        return render(
            request,
            "error.html",
            {"message": exception.message, "status": exception.status_code},
            status=exception.status_code,
        )
