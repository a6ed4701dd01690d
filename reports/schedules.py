"""The beat schedules of the reports (editable afterwards in the admin, under Periodic tasks)."""

import json

SCHEDULES = [
    {
        "name": "Weekly election threat reports",
        "task": "reports.build_weekly_election_reports",
        "crontab": {"minute": "0", "hour": "6", "day_of_week": "1", "day_of_month": "*", "month_of_year": "*"},
        "description": "Mondays 06:00 UTC: the past week's report of each election in its campaign or counting phase.",
    },
    {
        "name": "Monthly global threat report",
        "task": "reports.build_monthly_global_report",
        "crontab": {"minute": "0", "hour": "6", "day_of_week": "*", "day_of_month": "1", "month_of_year": "*"},
        "description": "The 1st of each month, 06:00 UTC: the global report of the previous month.",
    },
]


def schedules_register(apps) -> None:
    """Create the schedules that are missing; one a researcher edited or disabled is left as it is."""
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for spec in SCHEDULES:
        if task_model.objects.filter(name=spec["name"]).exists():
            continue
        crontab, _ = crontab_model.objects.get_or_create(timezone="UTC", **spec["crontab"])
        task_model.objects.create(
            name=spec["name"],
            task=spec["task"],
            crontab=crontab,
            kwargs=json.dumps({"audiences": ["GREEN", "AMBER"]}),
            description=spec["description"],
            enabled=True,
        )
