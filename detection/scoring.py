"""Writes of scoring runs: the ledger, the shard steps, the reduce, and the watchdog that resumes them.

A run goes queued -> preparing (the sample's posts become engine arrays, stored once) -> scoring (one task per
shard writes its partial edges) -> reducing (one task merges them, tests significance, finds groups and
scores) -> done. Every step is idempotent and records what it did in the database before the next is enqueued
after commit, so a redelivered or repeated task does nothing twice; the ledger, not the broker, says what is
done. Each next step reaches a worker through `dispatch.workers()`, so this module never imports the tasks.
"""

from __future__ import annotations

import functools
import io
import pickle  # noqa: S403 - arrays written by our own workers into our own database
import time
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta

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
    build_arrays,
    finalise,
    pair_budget_check,
    shard_edges,
)

from . import dispatch, selectors
from .models import (
    AccountScore,
    CoordinatedGroup,
    CoordinationEdge,
    EdgeEvidence,
    RunArrays,
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


@_fails_run
def scoring_run_prepare(*, run_id: int) -> None:
    """Read the sample once into engine arrays, store them, and enqueue every shard that is not done."""
    run = ScoringRun.objects.filter(pk=run_id).first()
    if run is None or run.status in (RunStatus.DONE, RunStatus.FAILED, RunStatus.REDUCING):
        return
    ScoringRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.PREPARING, started_at=timezone.now()
    )
    if not RunArrays.objects.filter(run_id=run_id, part=0).exists():
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
        loaded = {"arrays": arrays, "post_pk": contents.post_pk, "account_pk": contents.account_pk}
        payload = pickle.dumps(loaded, protocol=pickle.HIGHEST_PROTOCOL)
        size = RunArrays.PART_BYTES
        with transaction.atomic():
            RunArrays.objects.filter(run_id=run_id).delete()
            for start in range(0, len(payload), size):
                RunArrays.objects.create(run_id=run_id, part=start // size, data=payload[start : start + size])
        _loaded.clear()
        _loaded[run_id] = loaded
        _timing(run_id, "prepare", time.perf_counter() - started)
    with transaction.atomic():
        ScoringRun.objects.filter(pk=run_id, status=RunStatus.PREPARING).update(status=RunStatus.SCORING)
        pending = list(
            RunShard.objects.filter(run_id=run_id).exclude(status=ShardStatus.DONE).values_list("shard", flat=True)
        )
        transaction.on_commit(lambda: dispatch.workers().score_shards(run_id, pending))
    if not pending:
        _claim_reduce(run_id)


# The arrays of the last run this worker process loaded: its next shards of the same run skip the reload.
_loaded: dict[int, dict] = {}


def _load_arrays(run_id: int) -> dict:
    if run_id not in _loaded:
        parts = RunArrays.objects.filter(run_id=run_id).order_by("part").values_list("data", flat=True)
        data = pickle.loads(b"".join(bytes(part) for part in parts.iterator(chunk_size=1)))  # noqa: S301 - ours
        _loaded.clear()
        _loaded[run_id] = data
    return _loaded[run_id]


@_fails_run
def scoring_shard_run(*, run_id: int, shard: int) -> None:
    """Compute one shard's partial edges. A shard started MAX_ATTEMPTS times without finishing is quarantined."""
    with transaction.atomic():
        row = RunShard.objects.select_for_update().filter(run_id=run_id, shard=shard).first()
        if row is None or row.status in (ShardStatus.DONE, ShardStatus.QUARANTINED):
            return
        if row.attempts >= RunShard.MAX_ATTEMPTS:
            row.status = ShardStatus.QUARANTINED
            row.save(update_fields=["status"])
            _fail(
                run_id,
                f"Shard {shard} was quarantined: it was started {row.attempts} times and its worker "
                "never finished it (killed, out of memory or over the time limit).",
            )
            return
        row.attempts += 1
        row.status = ShardStatus.RUNNING
        row.started_at = timezone.now()
        row.save(update_fields=["attempts", "status", "started_at"])
    run = ScoringRun.objects.get(pk=run_id)
    started = time.perf_counter()
    loaded = _load_arrays(run_id)
    partial = shard_edges(loaded["arrays"], engine_params(run.params), shard, run.n_shards)
    buffer = io.BytesIO()
    np.savez(buffer, **partial.to_arrays())
    seconds = time.perf_counter() - started
    with transaction.atomic():
        updated = (
            RunShard.objects.filter(run_id=run_id, shard=shard)
            .exclude(status=ShardStatus.DONE)
            .update(status=ShardStatus.DONE, partial=buffer.getvalue(), finished_at=timezone.now(), seconds=seconds)
        )
        if updated:
            ScoringRun.objects.filter(pk=run_id).update(shards_done=F("shards_done") + 1)
    _claim_reduce(run_id)


def _claim_reduce(run_id: int) -> None:
    """Enqueue the reduce once, when the last shard is done (whichever task gets here first claims it)."""
    with transaction.atomic():
        if RunShard.objects.filter(run_id=run_id).exclude(status=ShardStatus.DONE).exists():
            return
        claimed = ScoringRun.objects.filter(pk=run_id, status=RunStatus.SCORING).update(status=RunStatus.REDUCING)
        if claimed:
            transaction.on_commit(lambda: dispatch.workers().score_reduce(run_id))


@_fails_run
def scoring_run_reduce(*, run_id: int) -> None:
    """Merge the shards' partial edges, find groups and scores, and store them with the run, all at once."""
    run = ScoringRun.objects.filter(pk=run_id).first()
    if run is None or run.status != RunStatus.REDUCING:
        return
    started = time.perf_counter()
    loaded = _load_arrays(run_id)
    partials = [
        PartialEdges.from_arrays(dict(np.load(io.BytesIO(bytes(data)), allow_pickle=False)))
        for data in RunShard.objects.filter(run_id=run_id).order_by("shard").values_list("partial", flat=True)
    ]
    result = finalise(partials, loaded["arrays"], engine_params(run.params))
    with transaction.atomic():
        locked = ScoringRun.objects.select_for_update().get(pk=run_id)
        if locked.status != RunStatus.REDUCING:
            return
        _results_store(locked, result, loaded["post_pk"], loaded["account_pk"])
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
    RunArrays.objects.filter(run_id=run_id).delete()
    RunShard.objects.filter(run_id=run_id).update(partial=None)
    _loaded.pop(run_id, None)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(float(epoch), tz=UTC)


def _results_store(run: ScoringRun, result, post_pk: dict[str, int], account_pk: dict[str, int]) -> None:
    arrays = result.arrays
    account_pks = [account_pk[key] for key in arrays.account_keys]
    post_pks = [post_pk[key] for key in arrays.post_keys]
    scores = result.scores
    CoordinatedGroup.objects.filter(run=run).delete()
    CoordinationEdge.objects.filter(run=run).delete()
    AccountScore.objects.filter(run=run).delete()

    member_behaviours: dict[int, set[str]] = {}
    for behaviour, edges in result.edges.items():
        for a, b in zip(edges.a.tolist(), edges.b.tolist(), strict=True):
            group = int(scores.account_group[a])
            if group and group == int(scores.account_group[b]):
                member_behaviours.setdefault(group, set()).add(behaviour)
    first = np.full(arrays.n_accounts, np.inf)
    last = np.full(arrays.n_accounts, -np.inf)
    np.minimum.at(first, arrays.account, arrays.time)
    np.maximum.at(last, arrays.account, arrays.time)
    groups = []
    for index, members in enumerate(result.groups, start=1):
        times = np.concatenate([first[members], last[members]])
        times = times[np.isfinite(times)]
        leader = scores.group_leader[index - 1]
        groups.append(
            CoordinatedGroup(
                run=run,
                number=index,
                score=float(scores.group_score[index - 1]),
                size=len(members),
                behaviours=sorted(member_behaviours.get(index, ())),
                first_activity=_utc(times.min()) if len(times) else None,
                last_activity=_utc(times.max()) if len(times) else None,
                reasons=scores.group_reasons[index - 1],
                leader_id=account_pks[leader] if leader >= 0 else None,
            )
        )
    group_pk = {g.number: g.pk for g in CoordinatedGroup.objects.bulk_create(groups, batch_size=2000)}

    flagged = result.flagged
    AccountScore.objects.bulk_create(
        [
            AccountScore(
                run=run,
                account_id=account_pks[i],
                group_id=group_pk.get(int(scores.account_group[i])),
                score=float(scores.account_score[i]),
                flagged=bool(flagged[i]),
                reasons=scores.account_reasons[i],
                lead=int(scores.lead[i]),
                follow=int(scores.follow[i]),
            )
            for i in np.flatnonzero(scores.account_score > 0).tolist()
        ],
        batch_size=5000,
    )
    for behaviour, edges in result.edges.items():
        details = edges.details
        rows = []
        for i, (a, b) in enumerate(zip(edges.a.tolist(), edges.b.tolist(), strict=True)):
            group = int(scores.account_group[a])
            rows.append(
                CoordinationEdge(
                    run=run,
                    behaviour=behaviour,
                    source_id=account_pks[a],
                    target_id=account_pks[b],
                    group_id=group_pk.get(group) if group and group == int(scores.account_group[b]) else None,
                    weight=int(max(edges.w_ab[i], edges.w_ba[i])),
                    weight_source_first=int(details.first_a[i]),
                    weight_target_first=int(details.first_b[i]),
                    expected=float(edges.expected[i]),
                    p_value=float(edges.p_value[i]),
                    q_value=float(edges.q_value[i]),
                    median_dt=float(details.median_dt[i]) if np.isfinite(details.median_dt[i]) else None,
                )
            )
        stored = CoordinationEdge.objects.bulk_create(rows, batch_size=5000)
        EdgeEvidence.objects.bulk_create(
            [
                EdgeEvidence(
                    edge_id=stored[e].pk, post_source_id=post_pks[pa], post_target_id=post_pks[pb], dt=float(dt)
                )
                for e, pa, pb, dt in zip(
                    details.ev_edge.tolist(),
                    details.ev_post_a.tolist(),
                    details.ev_post_b.tolist(),
                    details.ev_dt.tolist(),
                    strict=True,
                )
            ],
            batch_size=5000,
        )


def scoring_runs_resume_stalled(*, now: datetime | None = None) -> list[int]:
    """Re-enqueue the steps whose worker vanished (run by beat). Returns the ids of the runs it touched."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    touched = []
    for run in ScoringRun.objects.filter(
        status__in=[RunStatus.QUEUED, RunStatus.PREPARING, RunStatus.SCORING, RunStatus.REDUCING]
    ):
        if run.status in (RunStatus.QUEUED, RunStatus.PREPARING) and (run.started_at or run.created_at) < stale:
            dispatch.workers().score_prepare(run.pk)
            touched.append(run.pk)
        elif run.status == RunStatus.SCORING:
            shards = list(
                RunShard.objects.filter(run=run, status__in=[ShardStatus.PENDING, ShardStatus.RUNNING])
                .filter(started_at__lt=stale)
                .values_list("shard", flat=True)
            ) + list(
                RunShard.objects.filter(run=run, status=ShardStatus.PENDING, started_at__isnull=True)
                .filter(run__started_at__lt=stale)
                .values_list("shard", flat=True)
            )
            if shards:
                dispatch.workers().score_shards(run.pk, shards)
                touched.append(run.pk)
        elif run.status == RunStatus.REDUCING and (run.started_at or run.created_at) < stale:
            dispatch.workers().score_reduce(run.pk)
            touched.append(run.pk)
    return touched
