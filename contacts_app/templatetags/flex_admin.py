"""The admin's line of help per page (crm.admin_site.PAGE_HELP), shown above every changelist."""

from __future__ import annotations

from django import template

from crm.admin_site import PAGE_HELP, SECTIONS

register = template.Library()


@register.simple_tag
def page_help(opts) -> str:
    return PAGE_HELP.get(opts.label_lower, "") if opts is not None else ""


@register.simple_tag
def admin_section(opts) -> str:
    """The index section a model's pages belong to ("People", "Contacts"...), for the breadcrumbs."""
    if opts is None:
        return ""
    return next((name for name, _, models in SECTIONS for label, object_name, _ in models
                 if (label, object_name) == (opts.app_label, opts.object_name)), "")
