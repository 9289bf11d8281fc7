"""Celery task of the activity refresher (contacts_app/activity.py); beat runs it every ACTIVITY_TICK_S."""

from __future__ import annotations

from celery import shared_task

from . import activity


@shared_task(ignore_result=True)
def refresh_activity_tick() -> dict:
    # Not acks_late: a tick lost with its worker is simply the next tick's work, never worth running twice.
    result = activity.activity_refresh_tick()
    return {"ran": result.ran, "read": result.read, "unavailable": result.unavailable, "failed": result.failed,
            "stopped": result.stopped}
