"""URL map. Survivor pages at the root, staff under /staff/, sign-in under /accounts/."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from takedown.core import views as core_views

handler400 = "takedown.core.views.bad_request"
handler403 = "takedown.core.views.permission_denied"
handler404 = "takedown.core.views.page_not_found"
handler500 = "takedown.core.views.server_error"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("what-we-keep/", TemplateView.as_view(template_name="privacy.html"), name="privacy"),
    path("healthz", core_views.healthz, name="healthz"),
    path("staff/cases/", include("takedown.web.staff.urls_cases")),
    path("staff/", include("takedown.web.staff.urls_home")),
    path("staff/", include("takedown.web.staff.urls_hashes")),
    path("", include("takedown.web.survivor.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("takedown.platforms.urls")),
    path("platform/", include("takedown.web.portal.urls")),
]
