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

    HTML pages are `no-store`: a survivor who used the quick-exit control must not be able to
    bring the page back from the browser's cache or back/forward cache, and nobody sharing the
    device should find it there either.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
        )
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith(("text/html", "application/json")):
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
