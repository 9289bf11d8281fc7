from django import template

from contacts_app.selectors import agent_overview
from newsfeeds_app import selectors
from newsfeeds_app.sync import newsfeeds_refresh_if_stale
from newsfeeds_app.views import feed_form

register = template.Library()


@register.inclusion_tag("newsfeeds_app/_contact_feeds.html", takes_context=True)
def contact_feeds(context, contact):
    """The contact's news feeds and their schedules, for the contact page (read from the store)."""
    # The contact page read whether the contact has any feed with the contact (has_newsfeeds): no query if not.
    feeds = selectors.contact_newsfeeds(contact=contact) if getattr(contact, "has_newsfeeds", True) else []
    for fv in feeds:
        fv.form = feed_form(fv)
    # When the feeds were last read comes with the page's overview of the agent (no query of its own).
    newsfeeds_refresh_if_stale(account=contact.owner,
                               last_success_at=agent_overview(account=contact.owner).newsfeeds_synced_at)
    request = context.get("request")
    return {"contact": contact, "feeds": feeds, "request": request,
            "next": request.get_full_path() if request else "", "csrf_token": context.get("csrf_token")}
