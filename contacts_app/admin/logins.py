"""Logins and groups, and the login lockouts (axes), with credentials kept out of sight."""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from crm.admin_credentials import CredentialSafeAdmin

from .. import admin_export
from .agents import AgentAdmin

# -- logins and Django's own admins ---------------------------------------------------------------------------------
# Every admin on the site derives from CredentialSafeAdmin (a system check insists), so the third-party ones are
# registered again with it.


admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.unregister(AccessAttempt)
admin.site.unregister(AccessLog)
admin.site.unregister(AccessFailureLog)


@admin.register(User)
class SafeUserAdmin(CredentialSafeAdmin, UserAdmin):
    credential_fields_in_form = ("password",)  # Django's form shows only the hash's algorithm, never the hash


@admin.register(Group)
class SafeGroupAdmin(CredentialSafeAdmin, GroupAdmin):
    pass


@admin.register(AccessAttempt)
class LoginLockoutAdmin(CredentialSafeAdmin, AccessAttemptAdmin):
    """Failed logins per username and address; a broker unlocks one by deleting it (the Broker group has the
    delete permission, migration 0006)."""

    actions = ["unlock", "cleanup_expired_attempts"]

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Unlock: forget the failed logins of the selected", permissions=["delete"])
    def unlock(self, request, queryset):
        who = sorted({a.username or "?" for a in queryset})
        queryset.delete()
        self.message_user(request, f"Unlocked {', '.join(who)}: they can log in again.", messages.SUCCESS)


@admin.register(AccessLog)
class SafeAccessLogAdmin(CredentialSafeAdmin, AccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class SafeAccessFailureLogAdmin(CredentialSafeAdmin, AccessFailureLogAdmin):
    pass


admin_export.hook(AgentAdmin)  # the broker's CSV export of agents' books (admin_export.py)
