"""DRF glue shared by every API: domain errors become JSON with a stable shape."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from takedown.core.errors import TakedownError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer `{"error": {"code", "message"}}` for domain errors; DRF's handler for the rest."""
    if isinstance(exc, TakedownError):
        return Response({"error": {"code": exc.code, "message": exc.message}}, status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(response.data, dict) or "error" in response.data:
        return response
    detail = response.data.get("detail")
    if detail is not None:
        response.data = {"error": {"code": str(getattr(detail, "code", "error")), "message": str(detail)}}
    else:
        # Field validation errors: keep DRF's per-field messages under "fields".
        response.data = {"error": {"code": "invalid", "message": "Invalid input.", "fields": response.data}}
    return response
