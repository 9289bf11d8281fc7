from django.contrib import admin

from .models import Contact, SparkAccount, SyncState


@admin.register(SparkAccount)
class SparkAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "spark_user_id", "office_name", "mls_admin", "auth_mode", "link_status")
    list_filter = ("link_status", "auth_mode", "mls_admin", "office_name")
    search_fields = ("name", "email", "spark_user_id", "user__username")
    exclude = ("api_secret_encrypted", "access_token_encrypted", "refresh_token_encrypted")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("display_name", "primary_email", "owner", "record_status", "score", "write_state", "synced_at")
    list_filter = ("record_status", "write_state", "owner__office_name")
    search_fields = ("display_name", "primary_email", "spark_id")
    list_select_related = ("owner",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = ("account", "resource", "status", "last_success_at", "progress_done", "progress_total")
