"""DRF glue shared by every API: domain errors become JSON with a stable shape."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
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


#: Deeper JSON than any request of the API needs (the deepest documented body nests 3 levels).
JSON_MAX_DEPTH = 32


def _json_depth_exceeded(value: Any, limit: int) -> bool:
    """Whether `value` nests lists or objects deeper than `limit` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with a nesting limit.

    Python's decoder raises RecursionError on about a thousand nested brackets, which DRF does not
    turn into a ParseError: a few kilobytes of `[[[[...` answered 500. Too deep is now a plain
    400 `parse_error` in the API's error shape, whether the decoder gave up or not.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        too_deep = ParseError(_("JSON parse error: nested deeper than %(n)d levels.") % {"n": JSON_MAX_DEPTH})
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _json_depth_exceeded(data, JSON_MAX_DEPTH):
            raise too_deep
        return data
