from django.apps import AppConfig


class DetectionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "detection"
    verbose_name = "Detection"

    def ready(self):
        from . import dispatch, tasks

        dispatch.workers_install(tasks.CeleryWorkers())
