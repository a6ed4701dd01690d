"""Leases on scoring steps: a step a live worker holds is not run twice, a worker that lost its step writes
nothing, and the watchdog hands back the steps whose worker is gone."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from detection import leases, scoring, tasks
from detection.models import RunPart, RunShard, ScoringRun
from tests.conftest import require

from .helpers import generated_sample

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def prepared_run(tmp_path, celery_in_process, monkeypatch):
    """A run whose shards have assembled their partitions and whose sweeps were never handed to a worker."""
    sample, _ = generated_sample(tmp_path, 2_000)
    enqueued = []
    monkeypatch.setattr(tasks.CeleryWorkers, "score_shards", lambda self, run_id, shards: enqueued.extend(shards))
    run = scoring.scoring_run_start(sample=sample, n_shards=2)
    run.refresh_from_db()
    assert (run.status, sorted(enqueued)) == ("scoring", [0, 1])
    enqueued.clear()
    for shard in (0, 1):  # the first pass: each shard assembles its partition and counts its pairs
        scoring.scoring_shard_run(run_id=run.pk, shard=shard)
    run.refresh_from_db()
    assert "pairs" in run.files and sorted(enqueued) == [0, 1]
    enqueued.clear()
    run.enqueued = enqueued
    return run


def hold_shard(run: ScoringRun, shard: int, *, expires_in: float) -> None:
    now = timezone.now()
    RunShard.objects.filter(run=run, shard=shard).update(
        status="running", attempts=1, heartbeat_at=now, lease_expires_at=now + timedelta(seconds=expires_in)
    )


def test_a_shard_a_live_worker_holds_is_not_run_again_until_its_session_is_gone(prepared_run):
    require(connection.vendor == "postgresql", "step locks need PostgreSQL (set DATABASE_URL)")
    run = prepared_run
    hold_shard(run, 0, expires_in=120)
    key = leases.lock_key(run.pk, 0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        scoring.scoring_shard_run(run_id=run.pk, shard=0)  # a redelivery while the holder lives
        assert RunShard.objects.get(run=run, shard=0).attempts == 1
        assert scoring.scoring_runs_resume_stalled() == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    # The holder's session is gone: its lease still runs, but the watchdog hands the shard back at once.
    assert scoring.scoring_runs_resume_stalled() == [run.pk]
    assert run.enqueued == [0]
    assert RunShard.objects.get(run=run, shard=0).status == "pending"
    scoring.scoring_shard_run(run_id=run.pk, shard=0)
    shard = RunShard.objects.get(run=run, shard=0)
    assert (shard.status, shard.attempts) == ("done", 2)


def test_the_watchdog_hands_back_a_shard_whose_lease_ran_out(prepared_run):
    run = prepared_run
    hold_shard(run, 1, expires_in=-1)
    assert scoring.scoring_runs_resume_stalled() == [run.pk]
    assert run.enqueued == [1]
    assert RunShard.objects.get(run=run, shard=1).status == "pending"
    # Handed back once: the next pass waits for the run to be idle a whole lease before enqueuing it again.
    assert scoring.scoring_runs_resume_stalled() == []
    later = timezone.now() + leases.lease_duration() + timedelta(seconds=1)
    assert scoring.scoring_runs_resume_stalled(now=later) == [run.pk]
    assert sorted(run.enqueued) == [0, 1, 1]


def test_a_worker_that_lost_its_shard_writes_nothing(prepared_run, monkeypatch):
    run = prepared_run
    compute = scoring.shard_edges_from_partition

    def taken_over_meanwhile(*args):
        RunShard.objects.filter(run=run, shard=0).update(attempts=2)
        return compute(*args)

    monkeypatch.setattr(scoring, "shard_edges_from_partition", taken_over_meanwhile)
    scoring.scoring_shard_run(run_id=run.pk, shard=0)
    shard = RunShard.objects.get(run=run, shard=0)
    assert (shard.status, shard.edges) == ("running", {}), "the ledger names no partial edges of the lost attempt"
    assert ScoringRun.objects.get(pk=run.pk).shards_done == 0


def test_the_watchdog_hands_back_a_shard_finding_pairs_while_the_reduce_lets_go(prepared_run):
    run = prepared_run
    for shard in (0, 1):  # the sweeps; the last one's task runs the reduce's select, which hands the shards back
        scoring.scoring_shard_run(run_id=run.pk, shard=shard)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.lease_expires_at) == ("reducing", 0, None)
    assert "kept" in run.files and sorted(run.enqueued) == [0, 1]
    assert list(RunShard.objects.filter(run=run).values_list("status", "attempts")) == [("pending", 0)] * 2
    run.enqueued.clear()
    hold_shard(run, 1, expires_in=-1)  # its worker died finding its pairs
    assert scoring.scoring_runs_resume_stalled() == [run.pk]
    assert run.enqueued == [1]
    scoring.scoring_shard_run(run_id=run.pk, shard=0)
    run.refresh_from_db()
    assert run.status == "reducing", "the final waits for every shard's pairs"
    scoring.scoring_shard_run(run_id=run.pk, shard=1)  # the last one enqueues the final
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert list(RunShard.objects.filter(run=run).values_list("status", "attempts")) == [("done", 1), ("done", 2)]


def test_a_reduce_that_keeps_killing_its_worker_fails_the_run(prepared_run):
    run = prepared_run
    RunShard.objects.filter(run=run).update(status="done")
    ScoringRun.objects.filter(pk=run.pk).update(status="reducing", attempts=RunShard.MAX_ATTEMPTS)
    scoring.scoring_run_reduce(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert "reduce step was started 3 times" in run.error


@pytest.fixture
def planned_run(tmp_path, celery_in_process, monkeypatch):
    """A run whose plan is written and whose prepare parts were never handed to a worker."""
    sample, _ = generated_sample(tmp_path, 2_000)
    enqueued = []
    monkeypatch.setattr(tasks.CeleryWorkers, "score_parts", lambda self, run_id, parts: enqueued.extend(parts))
    monkeypatch.setattr(tasks.CeleryWorkers, "score_shards", lambda self, run_id, shards: None)
    run = scoring.scoring_run_start(sample=sample, n_shards=2, n_parts=3)
    run.refresh_from_db()
    assert (run.status, run.lease_expires_at, sorted(enqueued)) == ("preparing", None, [0, 1, 2])
    enqueued.clear()
    run.enqueued = enqueued
    return run


def test_the_watchdog_hands_back_a_part_whose_worker_is_gone(planned_run):
    run = planned_run
    now = timezone.now()
    RunPart.objects.filter(run=run, part=1).update(
        status="running", attempts=1, heartbeat_at=now, lease_expires_at=now - timedelta(seconds=1)
    )
    assert scoring.scoring_runs_resume_stalled() == [run.pk]
    assert run.enqueued == [1]
    assert RunPart.objects.get(run=run, part=1).status == "pending"
    for part in range(3):
        scoring.scoring_part_run(run_id=run.pk, part=part)
    run.refresh_from_db()
    assert run.status == "scoring", run.error
    assert RunPart.objects.get(run=run, part=1).attempts == 2


def test_a_part_a_live_worker_holds_is_not_run_again(planned_run):
    require(connection.vendor == "postgresql", "step locks need PostgreSQL (set DATABASE_URL)")
    run = planned_run
    now = timezone.now()
    RunPart.objects.filter(run=run, part=0).update(
        status="running", attempts=1, heartbeat_at=now, lease_expires_at=now + timedelta(seconds=120)
    )
    key = leases.lock_key(run.pk, leases.PART_BASE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        scoring.scoring_part_run(run_id=run.pk, part=0)  # a redelivery while the holder lives
        assert RunPart.objects.get(run=run, part=0).attempts == 1
        assert scoring.scoring_runs_resume_stalled() == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    assert scoring.scoring_runs_resume_stalled() == [run.pk]
    assert run.enqueued == [0]


def test_a_part_that_keeps_killing_its_worker_fails_the_run(planned_run):
    run = planned_run
    RunPart.objects.filter(run=run, part=2).update(status="running", attempts=RunPart.MAX_ATTEMPTS)
    scoring.scoring_part_run(run_id=run.pk, part=2)
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith("Prepare part 2 was quarantined: it was started 3 times")


def test_a_part_claimed_while_the_watchdog_reads_the_locks_is_not_handed_back(planned_run, monkeypatch):
    """A worker takes a part's lock, then claims it, between the watchdog's read of the locks and its read of the
    parts: the watchdog must not take the claim for an orphan (it read the parts first, when this one waited)."""
    require(connection.vendor == "postgresql", "step locks need PostgreSQL (set DATABASE_URL)")
    run = planned_run
    key = leases.lock_key(run.pk, leases.PART_BASE + 1)
    read_locks = leases.held_lock_keys

    def claimed_meanwhile():
        held = read_locks()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        now = timezone.now()
        RunPart.objects.filter(run=run, part=1).update(
            status="running", attempts=1, heartbeat_at=now, lease_expires_at=now + timedelta(seconds=120)
        )
        return held

    monkeypatch.setattr(leases, "held_lock_keys", claimed_meanwhile)
    try:
        assert scoring.scoring_runs_resume_stalled() == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")
    part = RunPart.objects.get(run=run, part=1)
    assert (part.status, part.attempts, run.enqueued) == ("running", 1, [])
