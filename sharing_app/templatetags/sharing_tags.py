from django import template

from sharing_app.selectors import shared_link_list

register = template.Library()

CONTACT_LINKS_SHOWN = 10


@register.inclusion_tag("sharing_app/_contact_links.html", takes_context=True)
def contact_links(context, contact):
    """Shared links sent to the contact, for the contact page (the contact page has already checked ownership)."""
    links = shared_link_list(account=contact.owner, contact=contact)
    return {"contact": contact, "request": context.get("request"), "links": links[:CONTACT_LINKS_SHOWN],
            "more": links.count() > CONTACT_LINKS_SHOWN}
