"""Platform accounts and keys in the admin. Keys are created and rotated by the services.

The admin shows key prefixes, scopes and times, never secrets (only their hashes are stored).
Creating or rotating a key from the admin shows the new secret once, in the success message.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext as _

from takedown.core.admin_actor import admin_actor as _actor
from takedown.core.errors import Conflict, InvalidInput
from takedown.platforms import services
from takedown.platforms.models import ApiKey, PlatformAccount, WebhookSubscription


class ApiKeyInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ApiKey
    extra = 0
    can_delete = False
    fields = ("prefix", "name", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class WebhookInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WebhookSubscription
    extra = 0
    can_delete = False
    fields = ("url", "events", "is_active", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PlatformAccount)
class PlatformAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Vetting is a decision with consequences (feed and lookup scopes): only through its actions."""

    list_display = ["platform", "is_vetted", "is_active", "rate_limit_per_minute", "created_at"]
    list_filter = ["is_vetted", "is_active"]
    search_fields = ["platform__name", "platform__slug"]
    inlines = [ApiKeyInline, WebhookInline]
    fields = ["platform", "rate_limit_per_minute", "is_vetted", "is_active"]
    actions = ["vet", "unvet", "create_notices_key", "create_full_key"]

    def get_readonly_fields(self, request: HttpRequest, obj: PlatformAccount | None = None) -> list[str]:
        return ["platform", "is_vetted", "is_active"] if obj is not None else ["is_vetted", "is_active"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # keys and feedback refer to it

    def save_model(
        self, request: HttpRequest, obj: PlatformAccount, form: ModelForm[PlatformAccount], change: bool
    ) -> None:
        rate = form.cleaned_data.get("rate_limit_per_minute") or 0
        if change:
            services.platform_account_set_rate_limit(actor=_actor(request), account=obj, per_minute=rate)
        else:
            created = services.platform_account_create(actor=_actor(request), platform=form.cleaned_data["platform"])
            services.platform_account_set_rate_limit(actor=_actor(request), account=created, per_minute=rate)
            obj.pk = created.pk

    def save_related(self, request: HttpRequest, form: object, formsets: object, change: bool) -> None:
        """Nothing to save: keys and webhooks are read-only here."""

    @admin.action(description=_("Vet (allows the hash feed and lookup scopes)"))
    def vet(self, request: HttpRequest, queryset: QuerySet[PlatformAccount]) -> None:
        for account in queryset:
            services.platform_account_set_vetted(actor=_actor(request), account=account, is_vetted=True)

    @admin.action(description=_("Remove vetting"))
    def unvet(self, request: HttpRequest, queryset: QuerySet[PlatformAccount]) -> None:
        for account in queryset:
            services.platform_account_set_vetted(actor=_actor(request), account=account, is_vetted=False)

    @admin.action(description=_("Create a key with the notices scope"))
    def create_notices_key(self, request: HttpRequest, queryset: QuerySet[PlatformAccount]) -> None:
        self._create(request, queryset, ["notices"])

    @admin.action(description=_("Create a key with every scope (vetted platforms only)"))
    def create_full_key(self, request: HttpRequest, queryset: QuerySet[PlatformAccount]) -> None:
        self._create(request, queryset, ["notices", "lookup", "feed"])

    def _create(self, request: HttpRequest, queryset: QuerySet[PlatformAccount], scopes: list[str]) -> None:
        for account in queryset:
            try:
                issued = services.api_key_create(actor=_actor(request), account=account, scopes=scopes)
            except InvalidInput as exc:
                self.message_user(request, f"{account}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                _("New key for %(account)s (shown once, copy it now): %(key)s")
                % {"account": account, "key": issued.secret},
                messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["prefix", "account", "scopes", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["account"]
    search_fields = ["prefix", "name"]
    readonly_fields = [
        "account",
        "prefix",
        "name",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "replaced_by",
    ]
    exclude = ["secret_hash"]
    actions = ["rotate", "revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are made by the account's actions or `manage.py platform_key create`

    @admin.action(description=_("Rotate (the old key keeps working for the grace period)"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            try:
                issued = services.api_key_rotate(actor=_actor(request), key=key)
            except Conflict as exc:
                self.message_user(request, f"{key}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                _("%(old)s rotated; new key (shown once): %(key)s") % {"old": key, "key": issued.secret},
                messages.WARNING,
            )

    @admin.action(description=_("Revoke now"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            services.api_key_revoke(actor=_actor(request), key=key)
        self.message_user(request, _("Revoked."))
