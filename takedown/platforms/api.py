"""DRF glue for the platform API: key authentication, the base view, and the documented error shape.

Every view derives from `PlatformAPIView`, which authenticates the key (`Authorization: Bearer
tdk_live_...`), counts the call against the key's rate limit, checks the view's scope (and
vetting) through `platforms.access`, and writes one audit event per call, refused ones included.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from takedown.core.api import BoundedJSONParser
from takedown.core.errors import InvalidInput
from takedown.platforms import access, services
from takedown.platforms.access import PlatformCaller


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`. No header: anonymous (then refused with 401 by the permission)."""

    def authenticate(self, request: Request) -> tuple[Any, PlatformCaller] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer":
            raise access.Unauthenticated(_("Use `Authorization: Bearer <API key>`."))
        caller = access.caller_for_key(token)
        return (None, caller)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="takedown"'


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "takedown.platforms.api.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API key: tdk_live_xxxxxxxx.<secret>"}


class HasApiKey(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, PlatformCaller)


class PlainTextRenderer(BaseRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data if isinstance(data, bytes) else str(data).encode()


class PlatformAPIView(GenericAPIView):  # type: ignore[type-arg]
    """Base of every platform API view; `scope` names the scope the view needs."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    renderer_classes = [JSONRenderer]
    metadata_class = None  # OPTIONS answers 405: the schema is the description
    parser_classes = [BoundedJSONParser]
    scope: ClassVar[str]

    @property
    def caller(self) -> PlatformCaller:
        auth = self.request.auth
        assert isinstance(auth, PlatformCaller)  # HasApiKey ran
        return auth

    #: The query parameters the view documents; any other is refused (a typo must not be ignored).
    query_parameters: ClassVar[frozenset[str]] = frozenset()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        access.rate_limit_count(self.caller)
        access.require_scope(self.caller, self.scope)
        unknown = sorted(set(request.query_params) - self.query_parameters)
        if unknown:
            raise InvalidInput(
                _("Unknown query parameter: %(name)s.") % {"name": unknown[0][:40]}, code="unknown_parameter"
            )
        # DRF reads an empty query value as "not given" (an HTML form habit); an API caller who
        # sent `?limit=` made a mistake, and must hear so rather than get the default.
        blank = sorted(name for name, values in request.query_params.lists() if any(v == "" for v in values))
        if blank:
            raise InvalidInput(
                _("Query parameter %(name)s is empty.") % {"name": blank[0][:40]}, code="empty_parameter"
            )

    def handle_exception(self, exc: Exception) -> Response:
        """Errors are JSON in the one shape, whatever the endpoint's success media type."""
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        caller = getattr(request, "_auth", None)
        if isinstance(caller, PlatformCaller):
            match = request.resolver_match
            services.api_call_record(
                caller=caller,
                method=request.method or "",
                route=match.view_name if match else "",
                status=response.status_code,
            )
        return response


# ---------------------------------------------------------------------------------------------------
# The error shape, for the schema.


class ErrorBodySerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    message = serializers.CharField()
    # The metaclass moves declared fields out of the class, so this does not shadow `Serializer.fields`.
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False, help_text="Per-field messages for invalid input."
    )


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    error = ErrorBodySerializer()


_ERROR_TEXT = {
    400: "Invalid input.",
    401: "No API key, or an unknown, revoked or expired one.",
    403: "The key lacks the scope, or the platform is not vetted for it.",
    404: "Not found (or not addressed to you).",
    405: "Method not allowed.",
    406: "Not acceptable.",
    409: "Not allowed in the current state.",
    415: "Unsupported media type.",
    429: "Rate limit exceeded.",
}


def errors(*codes: int) -> dict[Any, OpenApiResponse]:
    """Documented error answers (always JSON): every endpoint can answer 401, 403, 405, 406 and 429."""
    wanted = sorted({401, 403, 405, 406, 429, *codes})
    return {
        (code, JSONRenderer.media_type): OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[code])
        for code in wanted
    }
