from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def sparkline(daily, width: int = 300, height: int = 60):
    """A server-rendered SVG line of the 30-day daily score."""
    points = [d.get("score") for d in daily or [] if isinstance(d, dict)]
    points = [p if isinstance(p, (int, float)) else 0 for p in points]
    if len(points) < 2:
        return format_html('<p class="muted">No daily activity yet.</p>')
    top = max(points) or 1
    step = width / (len(points) - 1)
    coords = " ".join(f"{i * step:.1f},{height - 4 - (p / top) * (height - 8):.1f}" for i, p in enumerate(points))
    last_x, last_y = coords.split()[-1].split(",")
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {w} {h}" width="100%" height="{h}" role="img" '
        'aria-label="Daily score over the last {n} days, from {first} to {last}">'
        '<polyline fill="none" stroke="currentColor" stroke-width="2" points="{pts}"/>'
        '<circle cx="{lx}" cy="{ly}" r="3" fill="currentColor"/></svg>',
        w=width, h=height, n=len(points), first=points[0], last=points[-1], pts=coords, lx=last_x, ly=last_y,
    )


@register.filter
def percent(value) -> int:
    try:
        return max(0, min(100, round(float(value) * 100)))
    except (TypeError, ValueError):
        return 0
