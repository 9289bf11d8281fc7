"""What every admin page of the broker shares: read-only pages, permissions by app, small helpers."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.text import capfirst

from crm.admin_credentials import CredentialSafeAdmin

from .. import people


class ReadOnlyAdmin(CredentialSafeAdmin):
    """Viewable and filterable (never on credentials); rows change only through the services. `office_field`: the
    lookup to the row's office id, so a broker sees only their office's rows (by URL too: others are not found)."""

    office_field: str | None = None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.office_field is None:
            return queryset
        return queryset.filter(people.office_scope_for(request.user).q(self.office_field))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # "Audit log", not Django's "Select audit event to view"
        return super().changelist_view(request, {"title": capfirst(self.opts.verbose_name_plural),
                                                 **(extra_context or {})})


# The app whose model each permission is on (its app label): the agents, the outbox, or contacts_app.
_PERM_APP = {
    "view_agent": "agents", "add_agent": "agents", "disable_agent": "agents", "reset_agent_password": "agents",
    "resync_sparkaccount": "agents", "offboard_sparkaccount": "agents", "view_agentdirectoryentry": "agents",
    "transfer_contact": "contacts_app", "retry_sparkwrite": "outbox", "discard_sparkwrite": "outbox",
}


def _perm(request, codename: str) -> bool:
    return request.user.has_perm(f"{_PERM_APP[codename]}.{codename}")


def _selected_ids(request) -> list[str]:
    return request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)


def _badge(css: str, text: str):
    return format_html('<span class="badge {}">{}</span>', css, text)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


# -- people ---------------------------------------------------------------------------------------------------------
