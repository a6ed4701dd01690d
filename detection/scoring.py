"""Writes of scoring runs: the ledger, the shard steps, the reduce, and the watchdog that resumes them.

A run goes queued -> preparing (the sample's posts become engine arrays, written once to storage split by
shard: see run_files) -> scoring (one task per shard reads its own partition and writes its partial edges) ->
reducing (one task merges them, tests significance, finds groups and scores) -> done. Every step is idempotent
and records what it did in the database before the next is enqueued after commit, so a redelivered or repeated
task does nothing twice; the ledger, not the broker, says what is done. Each next step reaches a worker through
`dispatch.workers()`, so this module never imports the tasks.
"""

from __future__ import annotations

import functools
import io
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from detection.engine import (
    ENGINE_VERSION,
    BudgetExceeded,
    EngineParams,
    PartialEdges,
    arrays_from_finalise,
    build_arrays,
    finalise,
    pair_budget_check,
    shard_edges_from_partition,
)

from . import dispatch, leases, run_files, run_results, selectors
from .models import (
    RunShard,
    RunStatus,
    Sample,
    ScoringRun,
    ShardStatus,
)

PARAM_NAMES = {f.name for f in fields(EngineParams)}


def engine_params(values: dict) -> EngineParams:
    """Engine parameters from a run's stored JSON (unknown names are refused)."""
    unknown = set(values) - PARAM_NAMES
    if unknown:
        raise ValueError(f"unknown engine parameter(s): {', '.join(sorted(unknown))}")
    values = dict(values)
    if "behaviours" in values:
        values["behaviours"] = tuple(values["behaviours"])
    return EngineParams(**values)


def _params_json(params: EngineParams) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(params).items()}


def scoring_run_start(
    *, sample: Sample, params: dict | None = None, n_shards: int = 4, requested_by=None
) -> ScoringRun:
    """Record a run in the ledger and enqueue its first step once the transaction commits.

    Raises BudgetExceeded when the sample's posts alone show that the run would build more co-action pairs
    than SCORING_MAX_PAIRS (a lower bound from the database; the prepare step counts them exactly).
    """
    engine = engine_params(params or {})
    if not 1 <= n_shards <= 256:
        raise ValueError("n_shards must be between 1 and 256")
    floor = selectors.sample_pair_floor(sample_id=sample.pk, params=engine)
    if floor is not None and sum(floor.values()) > settings.SCORING_MAX_PAIRS:
        raise BudgetExceeded(floor, settings.SCORING_MAX_PAIRS, engine, "SCORING_MAX_PAIRS", at_least=True)
    with transaction.atomic():
        run = ScoringRun.objects.create(
            sample=sample,
            params=_params_json(engine),
            engine_version=ENGINE_VERSION,
            n_shards=n_shards,
            requested_by=requested_by,
        )
        RunShard.objects.bulk_create([RunShard(run=run, shard=i) for i in range(n_shards)])
        transaction.on_commit(lambda: dispatch.workers().score_prepare(run.pk))
    run.refresh_from_db()
    return run


def _fail(run_id: int, error: str) -> None:
    ScoringRun.objects.filter(pk=run_id).exclude(status=RunStatus.DONE).update(
        status=RunStatus.FAILED, error=error[:5000], finished_at=timezone.now()
    )
    transaction.on_commit(lambda: run_files.run_files_delete(run_id=run_id))


def _fails_run(step):
    """A step that raises marks its run failed with the error (lost database connections are retried instead)."""

    @functools.wraps(step)
    def wrapper(*, run_id: int, **kwargs):
        try:
            return step(run_id=run_id, **kwargs)
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:
            _fail(run_id, f"{step.__name__} failed: {type(exc).__name__}: {exc}")
            raise

    return wrapper


def _timing(run_id: int, step: str, seconds: float) -> None:
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().get(pk=run_id)
        run.timings = {**run.timings, step: round(seconds, 3)}
        run.save(update_fields=["timings"])


def _run_step(run_id: int, step: int, status: str, work: Callable[[ScoringRun, int], None]) -> None:
    """Run the run's prepare or reduce (`work(run, attempt)`) under this worker's lease, unless it needn't or can't."""
    with leases.StepLease(run_id=run_id, step=step, run_status=status) as lease:
        run = _run_step_claim(run_id, lease)
        if run is not None:
            work(run, lease.attempt)


def _run_step_claim(run_id: int, lease: leases.StepLease) -> ScoringRun | None:
    """Take the run's prepare or reduce for this worker; None when it is past that step or a live worker holds it.

    A step started MAX_ATTEMPTS times without finishing fails the run."""
    preparing = lease.run_status == RunStatus.PREPARING
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().filter(pk=run_id).first()
        steps = (RunStatus.QUEUED, RunStatus.PREPARING) if preparing else (RunStatus.REDUCING,)
        if run is None or run.status not in steps or lease.taken(run.lease_expires_at):
            return None
        if run.attempts >= RunShard.MAX_ATTEMPTS:
            _fail(
                run_id,
                f"The {'prepare' if preparing else 'reduce'} step was started {run.attempts} times and its worker "
                "never finished it (killed, out of memory or over the time limit).",
            )
            return None
        run.attempts += 1
        run.status = lease.run_status
        run.started_at = run.started_at or timezone.now()
        run.heartbeat_at, run.lease_expires_at = lease.start(run.attempts)
        run.save(update_fields=["attempts", "status", "started_at", "heartbeat_at", "lease_expires_at"])
    return run


@_fails_run
def scoring_run_prepare(*, run_id: int) -> None:
    """Read the sample once into engine arrays, write them to storage split by shard, and enqueue every shard
    that is not done."""
    _run_step(run_id, leases.PREPARE, RunStatus.PREPARING, _prepare)


def _prepare(run: ScoringRun, attempt: int) -> None:
    run_id = run.pk
    if not run.files:
        started = time.perf_counter()
        contents = selectors.sample_contents(sample_id=run.sample_id)
        if not contents.posts:
            _fail(run_id, "The sample holds no posts: import a file into it first.")
            return
        params = engine_params(run.params)
        arrays = build_arrays(contents.posts, contents.accounts, params)
        try:
            pair_budget_check(arrays, params, settings.SCORING_MAX_PAIRS, "SCORING_MAX_PAIRS")
        except BudgetExceeded as exc:
            _fail(run_id, str(exc))
            return
        database_keys = {
            "post_pk": np.fromiter(map(contents.post_pk.__getitem__, arrays.post_keys), np.int64, arrays.n_posts),
            "account_pk": np.fromiter(
                map(contents.account_pk.__getitem__, arrays.account_keys), np.int64, arrays.n_accounts
            ),
        }
        del contents
        files = run_files.run_files_write(
            run_id=run_id,
            attempt=attempt,
            arrays=arrays,
            params=params,
            n_shards=run.n_shards,
            finalise_extra=database_keys,
        )
        if not ScoringRun.objects.filter(pk=run_id, status=RunStatus.PREPARING, attempts=attempt).update(files=files):
            return  # another worker holds the step now; the run's files all go when it ends
        _timing(run_id, "prepare", time.perf_counter() - started)
    with transaction.atomic():
        if not ScoringRun.objects.filter(pk=run_id, status=RunStatus.PREPARING, attempts=attempt).update(
            status=RunStatus.SCORING
        ):
            return
        pending = list(
            RunShard.objects.filter(run_id=run_id).exclude(status=ShardStatus.DONE).values_list("shard", flat=True)
        )
        transaction.on_commit(lambda: dispatch.workers().score_shards(run_id, pending))
    if not pending:
        _claim_reduce(run_id)


@_fails_run
def scoring_shard_run(*, run_id: int, shard: int) -> None:
    """Compute one shard's partial edges from its own partition. A shard started MAX_ATTEMPTS times without
    finishing is quarantined; a run whose files are missing or changed fails, naming the file."""
    with leases.StepLease(run_id=run_id, step=shard) as lease:
        attempt = _shard_claim(run_id, shard, lease)
        if attempt is None:
            return
        _shard_compute(run_id, shard, attempt)
    _claim_reduce(run_id)


def _shard_claim(run_id: int, shard: int, lease: leases.StepLease) -> int | None:
    """Take the shard for this worker and return its attempt; None when it is finished or a live worker holds it."""
    with transaction.atomic():
        row = RunShard.objects.select_for_update().filter(run_id=run_id, shard=shard).first()
        if row is None or row.status in (ShardStatus.DONE, ShardStatus.QUARANTINED):
            return None
        if row.status == ShardStatus.RUNNING and lease.taken(row.lease_expires_at):
            return None
        if row.attempts >= RunShard.MAX_ATTEMPTS:
            row.status = ShardStatus.QUARANTINED
            row.save(update_fields=["status"])
            _fail(
                run_id,
                f"Shard {shard} was quarantined: it was started {row.attempts} times and its worker "
                "never finished it (killed, out of memory or over the time limit).",
            )
            return None
        row.attempts += 1
        row.status = ShardStatus.RUNNING
        row.started_at = timezone.now()
        row.heartbeat_at, row.lease_expires_at = lease.start(row.attempts)
        row.save(update_fields=["attempts", "status", "started_at", "heartbeat_at", "lease_expires_at"])
    return row.attempts


def _shard_compute(run_id: int, shard: int, attempt: int) -> None:
    run = ScoringRun.objects.get(pk=run_id)
    if run.status == RunStatus.FAILED:  # its files are gone
        return
    started = time.perf_counter()
    try:
        common, partition = run_files.run_partition_read(files=run.files, shard=shard)
    except run_files.RunFileError as exc:
        _fail(run_id, f"Shard {shard}: {exc}")
        return
    partial = shard_edges_from_partition(common, partition, engine_params(run.params))
    del common, partition
    buffer = io.BytesIO()
    np.savez(buffer, **partial.to_arrays())
    seconds = time.perf_counter() - started
    with transaction.atomic():
        updated = (
            RunShard.objects.filter(run_id=run_id, shard=shard, attempts=attempt)
            .exclude(status__in=[ShardStatus.DONE, ShardStatus.QUARANTINED])
            .update(status=ShardStatus.DONE, partial=buffer.getvalue(), finished_at=timezone.now(), seconds=seconds)
        )
        if updated:
            ScoringRun.objects.filter(pk=run_id).update(shards_done=F("shards_done") + 1)


def _claim_reduce(run_id: int) -> None:
    """Enqueue the reduce once, when the last shard is done (whichever task gets here first claims it)."""
    with transaction.atomic():
        if RunShard.objects.filter(run_id=run_id).exclude(status=ShardStatus.DONE).exists():
            return
        claimed = ScoringRun.objects.filter(pk=run_id, status=RunStatus.SCORING).update(
            status=RunStatus.REDUCING, attempts=0, heartbeat_at=None, lease_expires_at=None
        )
        if claimed:
            transaction.on_commit(lambda: dispatch.workers().score_reduce(run_id))


@_fails_run
def scoring_run_reduce(*, run_id: int) -> None:
    """Merge the shards' partial edges, find groups and scores, and store them with the run, all at once."""
    _run_step(run_id, leases.REDUCE, RunStatus.REDUCING, _reduce)


def _reduce(run: ScoringRun, attempt: int) -> None:
    # Here, not at the top: scikit-learn takes seconds to load, and only the reduce step needs it.
    from .learning.services import run_features_store

    run_id = run.pk
    started = time.perf_counter()
    try:
        common, held = run_files.run_finalise_read(files=run.files)
    except run_files.RunFileError as exc:
        _fail(run_id, f"Reduce: {exc}")
        return
    arrays = arrays_from_finalise(common, held)
    partials = [
        PartialEdges.from_arrays(dict(np.load(io.BytesIO(bytes(data)), allow_pickle=False)))
        for data in RunShard.objects.filter(run_id=run_id).order_by("shard").values_list("partial", flat=True)
    ]
    result = finalise(partials, arrays, engine_params(run.params))
    with transaction.atomic():
        locked = ScoringRun.objects.select_for_update().get(pk=run_id)
        if locked.status != RunStatus.REDUCING or locked.attempts != attempt:
            return
        run_results.run_results_store(run=locked, result=result, post_pk=held["post_pk"], account_pk=held["account_pk"])
        run_features_store(run=locked, result=result)
        locked.summary = result.summary
        locked.result_hash = selectors.run_result_fingerprint(run=locked)
        locked.status = RunStatus.DONE
        locked.finished_at = timezone.now()
        locked.timings = {
            **locked.timings,
            "reduce": round(time.perf_counter() - started, 3),
            "shards": round(sum(RunShard.objects.filter(run_id=run_id).values_list("seconds", flat=True)), 3),
        }
        locked.save()
        transaction.on_commit(lambda: dispatch.workers().narratives_cluster(run_id))
    RunShard.objects.filter(run_id=run_id).update(partial=None)
    run_files.run_files_delete(run_id=run_id)


def scoring_runs_resume_stalled(*, now: datetime | None = None) -> list[int]:
    """Re-enqueue the steps that no live worker holds (run by beat). Returns the ids of the runs it touched.

    A step whose lease ran out, or whose worker's database session is gone, is released and enqueued at once; the
    steps of a run that nobody has worked on for a lease (their messages lost) are enqueued again, once a lease.
    """
    now = now or timezone.now()
    touched = []
    for run in ScoringRun.objects.filter(
        status__in=[RunStatus.QUEUED, RunStatus.PREPARING, RunStatus.SCORING, RunStatus.REDUCING]
    ):
        shards = list(RunShard.objects.filter(run=run).values("shard", "status", "attempts", "lease_expires_at"))
        held = leases.held_lock_keys()
        resumed = _orphans_release(run, shards, held, now) or _idle_run_resume(run, shards, now)
        if resumed:
            touched.append(run.pk)
    return touched


def _orphaned(lease_expires_at: datetime, key: int, held: set[int] | None, now: datetime) -> bool:
    return lease_expires_at <= now or (held is not None and key not in held)


def _orphans_release(run: ScoringRun, shards: list[dict], held: set[int] | None, now: datetime) -> bool:
    """Hand back the started steps whose worker is gone, and enqueue them again."""
    step = {RunStatus.PREPARING: leases.PREPARE, RunStatus.REDUCING: leases.REDUCE}.get(run.status)
    started = step is not None and run.lease_expires_at is not None
    if started and _orphaned(run.lease_expires_at, leases.lock_key(run.pk, step), held, now):
        released = ScoringRun.objects.filter(
            pk=run.pk, status=run.status, attempts=run.attempts, lease_expires_at=run.lease_expires_at
        ).update(lease_expires_at=None, resumed_at=now)
        if released and step == leases.PREPARE:
            dispatch.workers().score_prepare(run.pk)
        elif released:
            dispatch.workers().score_reduce(run.pk)
        return bool(released)
    if run.status != RunStatus.SCORING:
        return False
    released = [
        s["shard"]
        for s in shards
        if s["status"] == ShardStatus.RUNNING
        and _orphaned(s["lease_expires_at"] or now, leases.lock_key(run.pk, s["shard"]), held, now)
        and RunShard.objects.filter(
            run=run, shard=s["shard"], status=ShardStatus.RUNNING, attempts=s["attempts"]
        ).update(status=ShardStatus.PENDING)
    ]
    if released:
        ScoringRun.objects.filter(pk=run.pk).update(resumed_at=now)
        dispatch.workers().score_shards(run.pk, released)
    return bool(released)


def _idle_run_resume(run: ScoringRun, shards: list[dict], now: datetime) -> bool:
    """Enqueue again the steps of a run that nobody has worked on for a lease (their messages were lost)."""
    quiet_since = now - leases.lease_duration()
    leases_ran = [run.lease_expires_at] + [s["lease_expires_at"] for s in shards]
    if any(expires and expires > now for expires in leases_ran) or (run.resumed_at or run.created_at) > quiet_since:
        return False
    ScoringRun.objects.filter(pk=run.pk).update(resumed_at=now)
    if run.status in (RunStatus.QUEUED, RunStatus.PREPARING):
        dispatch.workers().score_prepare(run.pk)
    elif run.status == RunStatus.REDUCING:
        dispatch.workers().score_reduce(run.pk)
    else:
        pending = [s["shard"] for s in shards if s["status"] == ShardStatus.PENDING]
        if not pending:
            _claim_reduce(run.pk)
        dispatch.workers().score_shards(run.pk, pending)
    return True
