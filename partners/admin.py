from axes import admin as axes_admin
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.utils import timezone
from unfold.admin import ModelAdmin, StackedInline, TabularInline

from . import services
from .forms import ApiKeyForm, OrganisationForm, PersonalTokenForm
from .models import ApiKey, AuditEvent, Clearance, Membership, Organisation, PersonalToken, Share


class MembershipInline(TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ClearanceInline(StackedInline):
    model = Clearance
    extra = 0
    fields = ["ceiling", "note"]


@admin.register(Organisation)
class OrganisationAdmin(ModelAdmin):
    form = OrganisationForm
    list_display = ["name", "kind", "country", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ClearanceInline, MembershipInline]


@admin.register(Membership)
class MembershipAdmin(ModelAdmin):
    list_display = ["user", "organisation", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active", "organisation"]
    search_fields = ["user__username", "user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]


@admin.register(Clearance)
class ClearanceAdmin(ModelAdmin):
    list_display = ["organisation", "ceiling", "granted_by", "updated_at"]
    list_filter = ["ceiling"]
    search_fields = ["organisation__name"]
    readonly_fields = ["granted_by"]

    def save_model(self, request, obj, form, change):
        obj.granted_by = request.user
        super().save_model(request, obj, form, change)


class CredentialAdmin(ModelAdmin):
    """Keys are created here and shown once; only their SHA-256 digest is stored."""

    readonly_fields = [
        "prefix",
        "created_at",
        "created_by",
        "revoked_at",
        "last_used_at",
        "last_used_from",
        "seen_address_list",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]

    @admin.display(description="Seen from")
    def seen_address_list(self, obj) -> str:
        return ", ".join(obj.seen_addresses) or "-"

    def status(self, obj) -> str:
        if obj.revoked_at:
            return "revoked"
        if obj.expires_at and obj.expires_at <= timezone.now():
            return "expired"
        return "active"

    def get_readonly_fields(self, request, obj=None):
        owner = ["organisation"] if obj is not None else []
        return [*self.readonly_fields, *owner, *(["user"] if obj is not None and hasattr(obj, "user_id") else [])]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, raw = self.create(request, form.cleaned_data)
        obj.pk = created.pk
        obj.prefix = created.prefix
        messages.warning(request, f"The new key, shown only this once; copy it now: {raw}")

    @admin.action(description="Revoke the selected keys (refused from the next request)", permissions=["change"])
    def revoke(self, request, queryset):
        for credential in queryset:
            services.credential_revoke(credential=credential, revoked_by=request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(CredentialAdmin):
    form = ApiKeyForm
    list_display = ["name", "organisation", "prefix", "status", "expires_at", "last_used_at", "last_used_from"]
    fields = ["organisation", "name", "expires_at", "allowed_networks", *CredentialAdmin.readonly_fields]
    autocomplete_fields = ["organisation"]

    def create(self, request, data):
        return services.api_key_create(
            organisation=data["organisation"],
            name=data["name"],
            created_by=request.user,
            expires_at=data.get("expires_at"),
            allowed_networks=data.get("allowed_networks") or [],
        )


@admin.register(PersonalToken)
class PersonalTokenAdmin(CredentialAdmin):
    form = PersonalTokenForm
    list_display = ["name", "user", "organisation", "prefix", "status", "expires_at", "last_used_at"]
    fields = ["user", "organisation", "name", "expires_at", "allowed_networks", *CredentialAdmin.readonly_fields]
    autocomplete_fields = ["user", "organisation"]

    def create(self, request, data):
        return services.personal_token_create(
            user=data["user"],
            organisation=data.get("organisation"),
            name=data["name"],
            created_by=request.user,
            expires_at=data.get("expires_at"),
            allowed_networks=data.get("allowed_networks") or [],
        )


@admin.register(Share)
class ShareAdmin(ModelAdmin):
    list_display = ["content_type", "object_id", "organisation", "user", "created_by", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["organisation__name", "user__username"]
    autocomplete_fields = ["organisation", "user"]
    readonly_fields = ["created_by"]

    def save_model(self, request, obj, form, change):
        obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(AuditEvent)
class AuditEventAdmin(ModelAdmin):
    """Read-only: the audit log is append-only for the application."""

    list_display = [
        "at",
        "action",
        "count",
        "organisation",
        "user",
        "credential",
        "address",
        "object_type",
        "tlp",
        "path",
    ]
    list_filter = ["action", "tlp", "organisation"]
    search_fields = ["credential", "path", "object_type", "address"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin, ModelAdmin):
    """django-axes' admin of failed logins, whose clean-up action deletes attempts and so needs that permission
    (and, outside a login, the request attributes axes' own handler would have set)."""

    @admin.action(
        description=axes_admin.AccessAttemptAdmin.cleanup_expired_attempts.short_description, permissions=["delete"]
    )
    def cleanup_expired_attempts(self, request, queryset):
        AxesProxyHandler.update_request(request)  # sets the attempt time axes reads its cool-off threshold from
        super().cleanup_expired_attempts(request, queryset)
