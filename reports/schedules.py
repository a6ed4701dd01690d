"""The reports' beat schedules, declared in settings.REPORT_BEAT_SCHEDULES, as periodic tasks researchers edit in
the admin."""

import json

from django.conf import settings


def schedules_register(apps) -> None:
    """Create the schedules that are missing; one a researcher edited or disabled is left as it is."""
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for spec in settings.REPORT_BEAT_SCHEDULES:
        if task_model.objects.filter(name=spec["name"]).exists():
            continue
        crontab, _ = crontab_model.objects.get_or_create(timezone="UTC", **spec["crontab"])
        task_model.objects.create(
            name=spec["name"],
            task=spec["task"],
            crontab=crontab,
            kwargs=json.dumps(spec["kwargs"]),
            description=spec["description"],
            enabled=True,
        )
