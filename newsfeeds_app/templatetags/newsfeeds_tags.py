from django import template

from newsfeeds_app import selectors
from newsfeeds_app.sync import newsfeeds_refresh_if_stale
from newsfeeds_app.views import feed_form

register = template.Library()


@register.inclusion_tag("newsfeeds_app/_contact_feeds.html", takes_context=True)
def contact_feeds(context, contact):
    """The contact's news feeds and their schedules, for the contact page (read from the store)."""
    feeds = selectors.contact_newsfeeds(contact=contact)
    for fv in feeds:
        fv.form = feed_form(fv)
    newsfeeds_refresh_if_stale(account=contact.owner)
    request = context.get("request")
    return {"contact": contact, "feeds": feeds, "request": request,
            "next": request.get_full_path() if request else "", "csrf_token": context.get("csrf_token")}
