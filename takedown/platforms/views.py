"""API v1 views: parse, call one service or selector, shape the answer. Rules live elsewhere."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from takedown.core.errors import InvalidInput
from takedown.notices import services as notice_services
from takedown.platforms import access, selectors, services
from takedown.platforms.api import PlainTextRenderer, PlatformAPIView, errors
from takedown.platforms.models import Scope
from takedown.platforms.serializers import (
    PLATFORM_STATUSES,
    AcknowledgeSerializer,
    FeedbackResultSerializer,
    FeedbackSerializer,
    FeedPageSerializer,
    FeedQuerySerializer,
    LookupRequestSerializer,
    LookupResponseSerializer,
    NoticeSerializer,
    ResolveSerializer,
    WebhookCreatedSerializer,
    WebhookCreateSerializer,
    WebhookSerializer,
)


def _valid(serializer_class: type[Any], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    validated: dict[str, Any] = serializer.validated_data
    return validated


NOTICE_ID = OpenApiParameter("notice_id", OpenApiTypes.INT, OpenApiParameter.PATH)
WEBHOOK_ID = OpenApiParameter("webhook_id", OpenApiTypes.INT, OpenApiParameter.PATH)
HASH_ID = OpenApiParameter("hash_id", OpenApiTypes.STR, OpenApiParameter.PATH)


class NoticePagination(CursorPagination):
    page_size = 50
    ordering = "-id"


class NoticeListView(PlatformAPIView):
    scope = Scope.NOTICES
    serializer_class = NoticeSerializer
    pagination_class = NoticePagination
    query_parameters = frozenset({"status", "cursor"})

    @extend_schema(
        operation_id="notices_list",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=[s.value for s in PLATFORM_STATUSES])],
        responses={200: NoticeSerializer(many=True), **errors(400, 404)},
    )
    def get(self, request: Request) -> Response:
        notices = access.notices_for(self.caller)
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in PLATFORM_STATUSES:
                raise InvalidInput(_("Unknown status."), code="invalid_status")
            notices = notices.filter(status=wanted)
        page = self.paginate_queryset(notices)
        return self.get_paginated_response(NoticeSerializer(page, many=True).data)


class NoticeDetailView(PlatformAPIView):
    scope = Scope.NOTICES
    serializer_class = NoticeSerializer

    @extend_schema(
        operation_id="notices_read", parameters=[NOTICE_ID], responses={200: NoticeSerializer, **errors(404)}
    )
    def get(self, request: Request, notice_id: str) -> Response:
        return Response(NoticeSerializer(access.access_notice(self.caller, notice_id)).data)


class NoticeAcknowledgeView(PlatformAPIView):
    scope = Scope.NOTICES

    @extend_schema(
        operation_id="notices_acknowledge",
        parameters=[NOTICE_ID],
        request=AcknowledgeSerializer,
        responses={200: NoticeSerializer, **errors(400, 404, 409, 415)},
    )
    def post(self, request: Request, notice_id: str) -> Response:
        notice = access.access_notice(self.caller, notice_id)
        data = _valid(AcknowledgeSerializer, request.data)
        notice = notice_services.notice_acknowledge(
            actor=self.caller.actor, notice=notice, platform_ticket=data["ticket_id"]
        )
        return Response(NoticeSerializer(notice).data)


class NoticeResolveView(PlatformAPIView):
    scope = Scope.NOTICES

    @extend_schema(
        operation_id="notices_resolve",
        parameters=[NOTICE_ID],
        request=ResolveSerializer,
        responses={200: NoticeSerializer, **errors(400, 404, 409, 415)},
    )
    def post(self, request: Request, notice_id: str) -> Response:
        notice = access.access_notice(self.caller, notice_id)
        data = _valid(ResolveSerializer, request.data)
        text = data.get("question", "") if data["outcome"] == "needs_info" else data.get("reason", "")
        notice = notice_services.notice_resolve(
            actor=self.caller.actor, notice=notice, outcome=data["outcome"], reason=text
        )
        return Response(NoticeSerializer(notice).data)


class LookupView(PlatformAPIView):
    scope = Scope.LOOKUP

    @extend_schema(
        operation_id="hashes_lookup",
        request=LookupRequestSerializer,
        responses={200: LookupResponseSerializer, **errors(400, 415)},
    )
    def post(self, request: Request) -> Response:
        # The shape is checked here cheaply; each hash's text is checked by the service (a DRF
        # serializer over 1,000 nested items would cost more than the lookup itself).
        body = request.data
        hashes = body.get("hashes") if isinstance(body, dict) else None
        if not isinstance(hashes, list) or not all(isinstance(h, dict) for h in hashes):
            raise InvalidInput(_('Send {"hashes": [{"signal": ..., "value": ...}, ...]}.'), code="invalid")
        answers = services.hashes_lookup(caller=self.caller, hashes=hashes)
        return Response(
            {
                "results": [
                    {
                        "signal": a.signal,
                        "value": a.value,
                        "matches": [
                            {"hash_id": m.hash_id, "distance": m.distance, "case_token": m.case_token}
                            for m in a.matches
                        ],
                        "error": a.error,
                    }
                    for a in answers
                ]
            }
        )


class FeedView(PlatformAPIView):
    scope = Scope.FEED
    query_parameters = frozenset({"cursor", "limit"})

    @extend_schema(
        operation_id="feed_read",
        parameters=[FeedQuerySerializer],
        responses={200: FeedPageSerializer, **errors(400)},
    )
    def get(self, request: Request) -> Response:
        query = _valid(FeedQuerySerializer, request.query_params)
        page = selectors.feed_page(after=query["cursor"], limit=query["limit"])
        return Response(FeedPageSerializer(page).data)


class FeedExportView(PlatformAPIView):
    scope = Scope.FEED
    renderer_classes = [PlainTextRenderer]

    @extend_schema(
        operation_id="feed_export_pdq",
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="One PDQ hash (64 hex digits) per line."
            ),
            **errors(),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        lines = (f"{value}\n" for value in selectors.pdq_export_lines())
        response = StreamingHttpResponse(lines, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="takedown-pdq.txt"'
        return response


class FeedbackView(PlatformAPIView):
    scope = Scope.FEED

    @extend_schema(
        operation_id="hashes_feedback",
        parameters=[HASH_ID],
        request=FeedbackSerializer,
        responses={200: FeedbackResultSerializer, **errors(400, 404, 415)},
    )
    def post(self, request: Request, hash_id: str) -> Response:
        entry = access.access_feed_entry(self.caller, hash_id)
        data = _valid(FeedbackSerializer, request.data)
        feedback = services.hash_feedback_record(caller=self.caller, entry=entry, verdict=data["verdict"])
        return Response({"hash_id": entry.public_id, "verdict": feedback.verdict})


class WebhookListView(PlatformAPIView):
    scope = Scope.NOTICES

    @extend_schema(operation_id="webhooks_list", responses={200: WebhookSerializer(many=True), **errors()})
    def get(self, request: Request) -> Response:
        return Response(WebhookSerializer(access.webhooks_of(self.caller), many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer, **errors(400, 409, 415)},
    )
    def post(self, request: Request) -> Response:
        data = _valid(WebhookCreateSerializer, request.data)
        hook, secret = services.webhook_subscribe(caller=self.caller, url=data["url"], events=data["events"])
        return Response({**WebhookSerializer(hook).data, "secret": secret}, status=status.HTTP_201_CREATED)


class WebhookDetailView(PlatformAPIView):
    scope = Scope.NOTICES

    @extend_schema(operation_id="webhooks_delete", parameters=[WEBHOOK_ID], responses={204: None, **errors(404)})
    def delete(self, request: Request, webhook_id: str) -> Response:
        services.webhook_unsubscribe(caller=self.caller, webhook=access.access_webhook(self.caller, webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookPingView(PlatformAPIView):
    scope = Scope.NOTICES

    @extend_schema(
        operation_id="webhooks_ping", request=None, parameters=[WEBHOOK_ID], responses={202: None, **errors(404)}
    )
    def post(self, request: Request, webhook_id: str) -> Response:
        services.webhook_ping(caller=self.caller, webhook=access.access_webhook(self.caller, webhook_id))
        return Response(status=status.HTTP_202_ACCEPTED)


def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown paths under /api/ answer in the API's error shape, not with an HTML page."""
    return JsonResponse({"error": {"code": "not_found", "message": _("No such API endpoint.")}}, status=404)
