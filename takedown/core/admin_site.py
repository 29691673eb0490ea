"""The Django admin, reachable only by staff who signed in through allauth with MFA.

allauth is imported inside the methods: this module is loaded while the app registry is still
being populated (it names the admin's AppConfig), before allauth's models can be imported.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class MfaAdminSite(admin.AdminSite):
    site_header = "Takedown administration"
    site_title = "Takedown admin"

    def has_permission(self, request: HttpRequest) -> bool:
        # allauth's MFA helpers import its models; this module loads with the app registry (as the
        # admin's AppConfig), before models can be imported.
        from allauth.mfa.utils import is_mfa_enabled  # noqa: PLC0415

        return super().has_permission(request) and is_mfa_enabled(request.user)


class TakedownAdminConfig(AdminConfig):
    default_site = "takedown.core.admin_site.MfaAdminSite"

    def ready(self) -> None:
        from allauth.account.decorators import secure_admin_login  # noqa: PLC0415 - as above

        super().ready()
        # Admin sign-in goes through allauth, so the second factor is asked for there too.
        admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
