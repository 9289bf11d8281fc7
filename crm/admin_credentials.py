"""Credentials never reach the admin's query string: no lookup, filter, search or ordering on them, for anyone.

A lookup such as `?api_key__startswith=a` changes the row count with each guessed character, so a viewer of the
changelist could read a key one character at a time. Every ModelAdmin registered on the site must use
CredentialSafeAdmin (a system check refuses to start otherwise), so a new admin is safe by default.
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.core import checks
from django.db import models

# A field is a credential if its name says so: API keys, secrets, passwords, tokens, anything kept encrypted.
_CREDENTIAL_NAME = re.compile(r"(^|_)(api_?key|password|passwd|secret|token|private_key)s?($|_)|encrypted|^key$", re.IGNORECASE)


def is_credential_name(name: str) -> bool:
    return bool(_CREDENTIAL_NAME.search(name))


def touches_credential(path: str) -> bool:
    """True if any part of a lookup, ordering or search path (`user__password__startswith`, `-api_key`,
    `^api_key`) names a credential."""
    return any(is_credential_name(part) for part in path.lstrip("-^=@").split("__"))


def credential_fields(model: type[models.Model]) -> set[str]:
    return {f.name for f in model._meta.get_fields() if is_credential_name(f.name)}


def masked(value: str, *, shown: int = 4) -> str:
    """At most the last `shown` characters, and only of a value long enough that they give little away."""
    if not value:
        return "—"
    if len(value) <= shown * 3:
        return "••••"
    return "••••" + value[-shown:]


def _name(entry) -> str | None:
    """The field path of a list_filter / ordering / list_display entry, if it is one."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, (tuple, list)) and entry and isinstance(entry[0], str):
        return entry[0]
    return None


class CredentialSafeAdmin(admin.ModelAdmin):
    """Mixin for every ModelAdmin: credential fields are never looked up, filtered, searched, ordered by, listed
    or put in a form. An admin that must show one (masked) does so through a display method of its own;
    `credential_fields_in_form` lists any a form needs on purpose (Django's user form shows a password hash summary).
    """

    credential_fields_in_form: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None):
        if touches_credential(lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        return [f for f in super().get_search_fields(request) if not touches_credential(f)]

    def get_ordering(self, request):
        return [o for o in (super().get_ordering(request) or ()) if not (isinstance(o, str) and touches_credential(o))]

    def get_sortable_by(self, request):
        return [f for f in super().get_sortable_by(request) if not (isinstance(f, str) and touches_credential(f))]

    def get_list_filter(self, request):
        return [f for f in super().get_list_filter(request) if not ((n := _name(f)) and touches_credential(n))]

    def get_list_display(self, request):
        return [f for f in super().get_list_display(request) if not (isinstance(f, str) and touches_credential(f))]

    def get_exclude(self, request, obj=None):
        hidden = credential_fields(self.model) - set(self.credential_fields_in_form)
        return [*(super().get_exclude(request, obj) or ()), *sorted(hidden)] or None

    def get_fields(self, request, obj=None):
        hidden = credential_fields(self.model) - set(self.credential_fields_in_form)
        return [f for f in super().get_fields(request, obj) if not (isinstance(f, str) and f in hidden)]

    def get_readonly_fields(self, request, obj=None):
        hidden = credential_fields(self.model) - set(self.credential_fields_in_form)
        return [f for f in super().get_readonly_fields(request, obj) if not (isinstance(f, str) and f in hidden)]


@checks.register(checks.Tags.admin)
def check_admins_are_credential_safe(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, CredentialSafeAdmin):
            errors.append(checks.Error(
                f"{type(model_admin).__name__} (admin of {model._meta.label}) does not use CredentialSafeAdmin, "
                "so its changelist would accept lookups on credential fields.",
                hint="Derive it from crm.admin_credentials.CredentialSafeAdmin, or re-register a subclass that does.",
                obj=type(model_admin), id="crm.E001"))
    return errors
