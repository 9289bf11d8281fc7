from django import template

from sharing_app.selectors import shared_link_list

register = template.Library()

CONTACT_LINKS_SHOWN = 10


@register.inclusion_tag("sharing_app/_contact_links.html", takes_context=True)
def contact_links(context, contact):
    """Shared links sent to the contact, for the contact page (the contact page has already checked ownership)."""
    # One query (none when the contact page read that there is no link, `has_shared_links`): one link more than
    # shown says whether there are more (no count); the links' contacts are not shown.
    links = list(shared_link_list(account=contact.owner, contact=contact).prefetch_related(None)
                 [:CONTACT_LINKS_SHOWN + 1]) if getattr(contact, "has_shared_links", True) else []
    return {"contact": contact, "request": context.get("request"), "links": links[:CONTACT_LINKS_SHOWN],
            "more": len(links) > CONTACT_LINKS_SHOWN}
