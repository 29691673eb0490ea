"""API v1 under /api/v1/: versioned in the path, so v2 can live beside it."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from takedown.platforms import hma, views

app_name = "api_v1"

urlpatterns = [
    path("notices/", views.NoticeListView.as_view(), name="notices"),
    path("notices/<str:notice_id>/", views.NoticeDetailView.as_view(), name="notice"),
    path("notices/<str:notice_id>/acknowledge/", views.NoticeAcknowledgeView.as_view(), name="notice_acknowledge"),
    path("notices/<str:notice_id>/resolve/", views.NoticeResolveView.as_view(), name="notice_resolve"),
    path("lookup/", views.LookupView.as_view(), name="lookup"),
    path("feed/", views.FeedView.as_view(), name="feed"),
    path("feed/export.txt", views.FeedExportView.as_view(), name="feed_export"),
    path("hashes/<str:hash_id>/feedback/", views.FeedbackView.as_view(), name="feedback"),
    path("m/raw_lookup", hma.RawLookupView.as_view(), name="hma_raw_lookup"),
    path("m/lookup", hma.LookupView.as_view(), name="hma_lookup"),
    path("webhooks/", views.WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<str:webhook_id>/", views.WebhookDetailView.as_view(), name="webhook"),
    path("webhooks/<str:webhook_id>/ping/", views.WebhookPingView.as_view(), name="webhook_ping"),
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api_v1:schema", template_name="platforms/api_docs.html"),
        name="docs",
    ),
    re_path(r"^(?P<path>.*)$", views.api_not_found),
]
