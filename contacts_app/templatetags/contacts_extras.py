from __future__ import annotations

import datetime as dt

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import get_script_prefix, reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


def _day_label(raw) -> str:
    try:
        day = dt.date.fromisoformat(str(raw)[:10])
    except ValueError:
        return ""
    return f"{day:%b} {day.day}"


@register.simple_tag
def sparkline(daily, width: int = 300, height: int = 60):
    """A server-rendered SVG line of the 30-day daily score, with its dates and scale.

    Every day is a point with a <title> (its date and score: a tooltip, and what a screen reader reads); below the
    line, the first and last dates and the highest score give the axes."""
    days = [d for d in daily or [] if isinstance(d, dict)]
    points = [d.get("score") if isinstance(d.get("score"), (int, float)) else 0 for d in days]
    if len(points) < 2:
        return mark_safe('<p class="muted">No daily activity yet.</p>')  # noqa: S308 - a constant
    top = max(points) or 1
    step = width / (len(points) - 1)
    last = len(points) - 1
    labels = [_day_label(d.get("date")) for d in days]
    # Built as one string (the same markup format_html would give): this runs on every contact page.
    coords = []
    dots = []
    for i, p in enumerate(points):
        x = f"{i * step:.1f}"
        y = f"{height - 4 - (p / top) * (height - 8):.1f}"
        coords.append(f"{x},{y}")
        dots.append(f'<circle cx="{x}" cy="{y}" r="{3 if i == last else 2}" fill="currentColor"><title>'
                    f'{escape(labels[i] or f"Day {i + 1}")}: score {escape(p)}</title></circle>')
    first_day = escape(labels[0] or "30 days ago")
    last_day = escape(labels[-1] or "today")
    highest = escape(max(points))
    return mark_safe(  # noqa: S308 - every value above is a number or escaped
        f'<figure class="spark"><svg class="sparkline" viewBox="0 0 {width} {height}" width="100%" height="{height}" '
        f'role="img" aria-label="Daily score over the last {len(points)} days ({first_day} to {last_day}), highest '
        f'{highest}"><line x1="0" y1="{height - 4}" x2="{width}" y2="{height - 4}" class="spark-base"/>'
        f'<polyline fill="none" stroke="currentColor" stroke-width="2" points="{" ".join(coords)}"/>{"".join(dots)}'
        f'</svg><figcaption class="spark-axis"><span>{first_day}</span><span>daily score, highest {highest}</span>'
        f'<span>{last_day}</span></figcaption></figure>'
    )


@register.filter
def percent(value) -> int:
    try:
        return max(0, min(100, round(float(value) * 100)))
    except (TypeError, ValueError):
        return 0


@register.simple_tag
def tag_chips(contact) -> list[dict]:
    """The contact's tags, each with where its latest change stands with flexmls (pending, failed or settled).

    A tag whose removal is pending or was refused is still listed (struck through or red) so the agent sees it."""
    from crm.outbox.models import SparkWrite

    latest: dict[str, SparkWrite] = {}
    writes = getattr(contact, "tag_writes", None)  # [] when the contact's query found it has no writes at all
    if writes is None:
        writes = (contact.writes.filter(kind__in=[SparkWrite.Kind.TAG_ADD, SparkWrite.Kind.TAG_REMOVE])
                  .exclude(status__in=[SparkWrite.Status.DISCARDED, SparkWrite.Status.CANCELLED]).order_by("id"))
    for write in writes:
        latest[write.payload.get("tag", "")] = write
    chips = []
    for tag in contact.tags:
        write = latest.get(tag)
        chips.append({"tag": tag, "write": write, "state": _chip_state(write), "removing": False,
                      "status": write.status if write else ""})
    for tag, write in latest.items():
        if tag not in contact.tags and write.kind == SparkWrite.Kind.TAG_REMOVE and _chip_state(write):
            chips.append({"tag": tag, "write": write, "state": _chip_state(write), "removing": True})
    return chips


def _chip_state(write) -> str:
    if write is None:
        return ""
    if write.status in write.OPEN:
        return "pending"
    if write.status == write.Status.FAILED:
        return "failed"
    return ""


@register.simple_tag
def latest_refusal(contact):
    """The contact's most recent write that flexmls refused (for a failed row); None if there is none."""
    from crm.outbox.models import SparkWrite

    states = getattr(contact, "row_states", None)  # read for the whole page (selectors.contact_rows_with_states)
    if states is not None and "refusal" in states:
        return states["refusal"]
    return contact.writes.filter(status=SparkWrite.Status.FAILED).order_by("-id").first()


@register.filter
def tel(value: str) -> str:
    """A phone number as a tel: URI wants it: digits and a leading +."""
    value = str(value or "")
    digits = "".join(ch for ch in value if ch.isdigit())
    return ("+" if value.strip().startswith("+") else "") + digits


@register.simple_tag
def waiting_on_flexmls(contact) -> bool:
    """Does a change to this contact still wait for flexmls? (A contact with a refused change may have others.)"""
    from contacts_app.models import Contact
    from crm.outbox.models import SparkWrite

    if contact.write_state == Contact.WriteState.PENDING:
        return True
    if contact.write_state == Contact.WriteState.FAILED:
        states = getattr(contact, "row_states", None)
        if states is None:  # asked by the row and again by the contact page's parts: read once per contact object
            states = contact.row_states = {"waiting": contact.writes.filter(status__in=SparkWrite.OPEN).exists()}
        elif "waiting" not in states:
            states["waiting"] = contact.writes.filter(status__in=SparkWrite.OPEN).exists()
        return states["waiting"]
    return False


_URL_PK = 987654321  # reversed once per URL name and script prefix; every contact's URL is then prefix + pk + suffix
_url_parts: dict[tuple[str, str], tuple[str, str]] = {}


@register.simple_tag
def contact_url(name: str, pk: int) -> str:
    """`{% url 'contacts:<name>' pk %}` for a URL of one contact, without reversing it for every row of a list."""
    key = (get_script_prefix(), name)
    parts = _url_parts.get(key)
    if parts is None:
        url = reverse(f"contacts:{name}", args=[_URL_PK])
        head, _, tail = url.partition(str(_URL_PK))
        parts = _url_parts[key] = (head, tail)
    return f"{parts[0]}{int(pk)}{parts[1]}"


ROW_TEMPLATE = "contacts_app/_row.html"
_ROW_HTML_MAX = 10_000  # rows remembered per process (about 1 kB each); all forgotten when full
_row_html: dict[tuple, str] = {}


def _row_key(contact) -> tuple | None:
    """Everything `_row.html` shows of a contact: its list columns (selectors.ROW_FIELDS, the only ones the list
    loads, so a row that showed another field would cost a query per row, which the query-count tests catch), what
    depends on the clock (the trend's age in words, whether it is stale) and whether a change waits or was refused.
    None when the refused row's states were not read for the page (then the row is rendered, not remembered)."""
    from contacts_app.models import Contact
    from contacts_app.selectors import ROW_FIELDS

    if contact.write_state == Contact.WriteState.FAILED:
        states = getattr(contact, "row_states", None)
        if not states or "waiting" not in states or "refusal" not in states:
            return None
        refusal = states["refusal"]
        waiting = (states["waiting"], refusal.pk, refusal.spark_message, refusal.describe()) if refusal else \
            (states["waiting"],)
    else:
        waiting = contact.write_state == Contact.WriteState.PENDING
    loaded = contact.__dict__
    if any(f not in loaded for f in ROW_FIELDS):
        return None
    return (get_script_prefix(), *(tuple(v) if isinstance(v, list) else v for v in (loaded[f] for f in ROW_FIELDS)),
            naturaltime(contact.activity_fetched_at) if contact.activity_fetched_at else None, contact.trend_stale,
            waiting)


@register.simple_tag(takes_context=True)
def contact_row(context, contact):
    """`{% include "contacts_app/_row.html" %}` for a row of the list (`c`), remembered by what it shows: the row
    poll and the tag forms render the same template directly, so `_row.html` stays the only source of a row."""
    key = _row_key(contact)
    html = _row_html.get(key) if key is not None else None
    if html is None:
        with context.push(c=contact):
            html = context.template.engine.get_template(ROW_TEMPLATE).render(context)
        if key is not None:
            if len(_row_html) >= _ROW_HTML_MAX:
                _row_html.clear()
            _row_html[key] = html
    return mark_safe(html)  # noqa: S308 - rendered by the template engine, escaped there
