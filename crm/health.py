"""/healthz, for a load balancer or a process supervisor: 200 "ok" when PostgreSQL and Redis answer, else 503 naming
which did not (nothing more: the page is public)."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    down = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        log.warning("healthz: the database did not answer", exc_info=True)
        down.append("database")
    try:
        cache.set("healthz", 1, 5)
    except Exception:
        log.warning("healthz: Redis did not answer", exc_info=True)
        down.append("redis")
    if down:
        return HttpResponse(f"down: {', '.join(down)}", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
