"""Celery tasks: thin, take ids, safe to run twice. The services hold the logic and the ledger."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import narratives, scoring
from .ingest import jobs

RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(**RETRY)
def sample_import_task(import_id: int) -> None:
    """Import (or resume importing) one file into its sample."""
    jobs.sample_import_run(import_id=import_id)


@shared_task(**RETRY)
def score_prepare(run_id: int) -> None:
    """Plan a run's prepare (its accounts, and where each part of its posts starts) and enqueue its parts."""
    scoring.scoring_run_prepare(run_id=run_id)


@shared_task(**RETRY)
def score_part(run_id: int, part: int) -> None:
    """Turn one range of a run's posts into columns and per-shard fragments."""
    scoring.scoring_part_run(run_id=run_id, part=part)


@shared_task(**RETRY)
def score_shard(run_id: int, shard: int) -> None:
    """Compute the partial co-action edges of one shard of a run."""
    scoring.scoring_shard_run(run_id=run_id, shard=shard)


@shared_task(**RETRY)
def score_reduce(run_id: int) -> None:
    """Merge a run's shards into groups and scores."""
    scoring.scoring_run_reduce(run_id=run_id)


@shared_task(**RETRY)
def narratives_cluster_task(run_id: int) -> None:
    """Cluster the narratives of a finished run's flagged groups and suggest their catalogue narratives."""
    narratives.run_narratives_cluster(run_id=run_id)


@shared_task(acks_late=True)
def score_runs_watchdog() -> list[int]:
    """Re-enqueue the steps of runs whose worker vanished (scheduled by beat)."""
    return scoring.scoring_runs_resume_stalled()


@shared_task(acks_late=True)
def classifier_retrain() -> int | None:
    """Train a new version of the classifier of groups if enough verdicts came in (scheduled by beat, hourly)."""
    from .learning import services as learning_services  # scikit-learn loads in seconds: only this task pays

    model = learning_services.classifier_retrain_if_due()
    return model.version if model else None


class CeleryWorkers:
    """The detection.dispatch workers that send each step to Celery (run in-process in eager mode)."""

    def sample_import(self, import_id: int) -> None:
        sample_import_task.delay(import_id)

    def score_prepare(self, run_id: int) -> None:
        score_prepare.delay(run_id)

    def score_parts(self, run_id: int, parts: list[int]) -> None:
        for part in parts:
            score_part.delay(run_id, part)

    def score_shards(self, run_id: int, shards: list[int]) -> None:
        for shard in shards:
            score_shard.delay(run_id, shard)

    def score_reduce(self, run_id: int) -> None:
        score_reduce.delay(run_id)

    def narratives_cluster(self, run_id: int) -> None:
        narratives_cluster_task.delay(run_id)
