from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedules(**kwargs) -> None:
    from django.apps import apps

    from .schedules import schedules_register

    schedules_register(apps)


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = "Threat reports"

    def ready(self) -> None:
        from . import dispatch, tasks

        dispatch.build_sender_install(tasks.build_report_send)
        # After every migrate, and after a flush, which empties the tables the data migration filled.
        post_migrate.connect(_schedules, sender=self, dispatch_uid="reports-beat-schedules")
