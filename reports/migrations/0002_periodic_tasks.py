"""Register the beat schedules of the reports (editable afterwards in the admin, under Periodic tasks)."""

from django.conf import settings
from django.db import migrations

from reports.schedules import schedules_register


def register(apps, schema_editor):
    schedules_register(apps)


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[spec["name"] for spec in settings.REPORT_BEAT_SCHEDULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
