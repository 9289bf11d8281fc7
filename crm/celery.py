import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Background work (the activity refresher's ticks) goes to a queue of its own, `<CELERY_QUEUE>-background`, taken by
# a worker of its own (the Procfile's `background`, niced, one process): agents' clicks and writes on the default
# queue never wait behind it for a worker process.
BACKGROUND_TASKS = frozenset({"contacts_app.activity_tasks.refresh_activity_tick"})


def background_queue() -> str:
    return f"{app.conf.task_default_queue}-background"


def route_task(name, args, kwargs, options, task=None, **kw):
    if name in BACKGROUND_TASKS:
        return {"queue": background_queue()}
    return None


app.conf.task_routes = (route_task,)
