"""The admin's line of help per page (crm.admin_site.PAGE_HELP), shown above every changelist."""

from __future__ import annotations

from django import template

from crm.admin_site import PAGE_HELP

register = template.Library()


@register.simple_tag
def page_help(opts) -> str:
    return PAGE_HELP.get(opts.label_lower, "") if opts is not None else ""
