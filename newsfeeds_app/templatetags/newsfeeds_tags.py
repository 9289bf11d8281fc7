from django import template

register = template.Library()


@register.inclusion_tag("newsfeeds_app/_contact_feeds.html", takes_context=True)
def contact_feeds(context, contact):
    """The contact's news feeds and their schedules, for the contact page."""
    return {"contact": contact, "request": context.get("request")}
