from django import template

register = template.Library()


@register.inclusion_tag("sharing_app/_contact_links.html", takes_context=True)
def contact_links(context, contact):
    """Shared links sent to the contact, for the contact page."""
    return {"contact": contact, "request": context.get("request")}
