from django.urls import path

from takedown.web.portal import views as views_portal

app_name = "platform_portal"

urlpatterns = [
    path("", views_portal.portal_queue, name="queue"),
    path("notices/<int:notice_id>/", views_portal.portal_notice, name="notice"),
    path("sign-in/", views_portal.portal_sign_in, name="sign_in"),
    path("sign-out/", views_portal.portal_sign_out, name="sign_out"),
]
