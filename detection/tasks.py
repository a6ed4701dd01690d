from celery import shared_task
from django.db import OperationalError


@shared_task(
    acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def sample_import_task(import_id: int) -> None:
    """Import (or resume importing) one file into its sample."""
    from . import services

    services.sample_import_run(import_id=import_id)
