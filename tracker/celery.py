"""The Celery app. Broker and behaviour come from Django settings (CELERY_* names), and so does every periodic
task: CELERY_BEAT_SCHEDULE, and REPORT_BEAT_SCHEDULES beside it."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="tracker.ping")
def ping(payload: str = "pong") -> str:
    """Echo the payload: proves a worker takes tasks from the broker and answers through the result backend."""
    return payload
