"""Writes of scoring runs: the ledger, the shard steps, the reduce, and the watchdog that resumes them.

A run goes queued -> preparing (a plan, then prepare parts that each read a range of the sample's posts and write
per-shard fragments: see run_files) -> scoring (each shard assembles its partition from the fragments and counts
its pairs; once the budget is checked, each sweeps it and writes its partial edges) -> reducing (a select step
merges the partial edges and keeps the significant edges; each shard then finds the kept edges' pairs of posts on
its own objects; a final step describes the edges, finds groups and scores, and stores them) -> done. Every step is
idempotent and records what it did in the database before the next is enqueued after commit, so a redelivered or
repeated task does nothing twice; the ledger, not the broker, says what is done. Each next step reaches a worker
through `dispatch.workers()`, so this module never imports the tasks.
"""

from __future__ import annotations

import functools
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
    MemoryBudgetExceeded,
    PartialEdges,
    arrays_from_finalise,
    reduce_budget_check,
    shard_edges_from_partition,
)
from detection.engine.api import finalise_from_pairs, select_edges_of
from detection.engine.partition import shard_pairs_from_partition, strings_to_arrays
from detection.engine.parts import (
    PartColumns,
    part_fragments,
    part_summary,
    partition_from_fragments,
    partition_pair_counts,
    reduce_inputs,
    run_common,
    select_inputs,
)
from detection.engine.significance import SelectedEdges

from . import dispatch, leases, run_files, run_results, selectors
from .models import (
    RunPart,
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
    *, sample: Sample, params: dict | None = None, n_shards: int = 4, n_parts: int = 0, requested_by=None
) -> ScoringRun:
    """Record a run in the ledger and enqueue its first step once the transaction commits.

    Raises BudgetExceeded when the sample's posts alone show that the run would build more co-action pairs
    than SCORING_MAX_PAIRS (a lower bound from the database; the prepare step counts them exactly), and
    MemoryBudgetExceeded when its reduce would need more than SCORING_MAX_REDUCE_MB.
    """
    engine = engine_params(params or {})
    if not 1 <= n_shards <= 256:
        raise ValueError("n_shards must be between 1 and 256")
    n_parts = n_parts or settings.SCORING_PREPARE_PARTS
    if not 0 <= n_parts <= 256:
        raise ValueError("n_parts must be between 1 and 256 (0: one per shard)")
    floor = selectors.sample_pair_floor(sample_id=sample.pk, params=engine)
    if floor is not None and sum(floor.values()) > settings.SCORING_MAX_PAIRS:
        raise BudgetExceeded(floor, settings.SCORING_MAX_PAIRS, engine, "SCORING_MAX_PAIRS", at_least=True)
    n_posts = selectors.sample_post_count(sample_id=sample.pk)
    floor_pairs = sum(floor.values()) if floor is not None else 0
    reduce_budget_check(n_posts, floor_pairs, settings.SCORING_MAX_REDUCE_MB, "SCORING_MAX_REDUCE_MB", at_least=True)
    with transaction.atomic():
        run = ScoringRun.objects.create(
            sample=sample,
            params=_params_json(engine),
            engine_version=ENGINE_VERSION,
            n_shards=n_shards,
            n_parts=n_parts,
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
    """Plan the run's prepare: write its accounts in code order and the common file, record where each part of
    its posts starts, and enqueue every part that is not done."""
    _run_step(run_id, leases.PREPARE, RunStatus.PREPARING, _prepare)


def _prepare(run: ScoringRun, attempt: int) -> None:
    """The plan: what every part needs that no part can find alone (the accounts' codes, the parts' ranges)."""
    run_id = run.pk
    if not run.files:
        started = time.perf_counter()
        n_posts = selectors.sample_post_count(sample_id=run.sample_id)
        if not n_posts:
            _fail(run_id, "The sample holds no posts: import a file into it first.")
            return
        params = engine_params(run.params)
        accounts = selectors.sample_accounts(sample_id=run.sample_id)
        step = -(-n_posts // (run.n_parts or run.n_shards))
        starts = selectors.sample_part_starts(sample_id=run.sample_id, step=step)
        folder = run_files.run_folder(run_id, attempt)
        common = run_common(
            params,
            n_posts=n_posts,
            n_accounts=len(accounts.pk),
            busiest=max(accounts.posts),
            n_shards=run.n_shards,
            n_parts=len(starts),
        )
        dictionary = strings_to_arrays("account_keys", accounts.keys) | strings_to_arrays(
            "record_handle", accounts.handle
        )
        dictionary["record_created"] = np.array(accounts.created, dtype=np.float64)
        account_pk = {"account_pk": np.array(accounts.pk, dtype=np.int64)}
        files = {
            "folder": folder,
            "common": run_files.run_file_write(folder, "common.npz", common),
            "accounts": run_files.run_file_write(folder, "accounts.npz", {**dictionary, **account_pk}),
            "account_pk": run_files.run_file_write(folder, "account-pk.npz", account_pk),
            "parts": [
                {"start": list(start), "offset": i * step, "posts": min(step, n_posts - i * step)}
                for i, start in enumerate(starts)
            ],
        }
        with transaction.atomic():
            if not ScoringRun.objects.filter(pk=run_id, status=RunStatus.PREPARING, attempts=attempt).update(
                files=files
            ):
                return  # another worker holds the step now; the run's files all go when it ends
            RunPart.objects.bulk_create([RunPart(run_id=run_id, part=i) for i in range(len(starts))])
        _timing(run_id, "plan", time.perf_counter() - started)
    with transaction.atomic():
        # The parts hold leases of their own from now on.
        if not ScoringRun.objects.filter(pk=run_id, status=RunStatus.PREPARING, attempts=attempt).update(
            lease_expires_at=None
        ):
            return
        pending = list(
            RunPart.objects.filter(run_id=run_id).exclude(status=ShardStatus.DONE).values_list("part", flat=True)
        )
        transaction.on_commit(lambda: dispatch.workers().score_parts(run_id, pending))
    if not pending:
        _claim_scoring(run_id)


@_fails_run
def scoring_part_run(*, run_id: int, part: int) -> None:
    """Read one range of the run's posts and write its summary and per-shard fragments. A part started
    MAX_ATTEMPTS times without finishing fails the run."""
    with leases.StepLease(run_id=run_id, step=0, part=part) as lease:
        attempt = _part_claim(run_id, part, lease)
        if attempt is None:
            return
        _part_compute(run_id, part, attempt)
    _claim_scoring(run_id)


def _step_claim(rows, run_id: int, what: str, lease: leases.StepLease) -> int | None:
    """Take a part or shard (the one row of `rows`) for this worker and return its attempt; None when it is finished
    or a live worker holds it. One started MAX_ATTEMPTS times without finishing is quarantined and fails the run."""
    with transaction.atomic():
        row = rows.select_for_update().first()
        if row is None or row.status in (ShardStatus.DONE, ShardStatus.QUARANTINED):
            return None
        if row.status == ShardStatus.RUNNING and lease.taken(row.lease_expires_at):
            return None
        if row.attempts >= row.MAX_ATTEMPTS:
            row.status = ShardStatus.QUARANTINED
            row.save(update_fields=["status"])
            _fail(
                run_id,
                f"{what} was quarantined: it was started {row.attempts} times and its worker "
                "never finished it (killed, out of memory or over the time limit).",
            )
            return None
        row.attempts += 1
        row.status = ShardStatus.RUNNING
        row.started_at = timezone.now()
        row.heartbeat_at, row.lease_expires_at = lease.start(row.attempts)
        row.save(update_fields=["attempts", "status", "started_at", "heartbeat_at", "lease_expires_at"])
    return row.attempts


def _part_claim(run_id: int, part: int, lease: leases.StepLease) -> int | None:
    return _step_claim(RunPart.objects.filter(run_id=run_id, part=part), run_id, f"Prepare part {part}", lease)


def _part_compute(run_id: int, part: int, attempt: int) -> None:
    run = ScoringRun.objects.get(pk=run_id)
    if run.status == RunStatus.FAILED:  # its files are gone
        return
    started = time.perf_counter()
    params = engine_params(run.params)
    plans = run.files["parts"]
    plan = plans[part]
    end = tuple(plans[part + 1]["start"]) if part + 1 < len(plans) else None
    read = selectors.sample_part(sample_id=run.sample_id, start=tuple(plan["start"]), end=end)
    if len(read.posts) != plan["posts"]:
        _fail(
            run_id,
            f"Prepare part {part}: its range holds {len(read.posts):,} posts, the plan counted {plan['posts']:,}: "
            "the sample changed while it was scored; score it again.",
        )
        return
    try:
        common = run_files.run_file_read(run.files["common"])
        account_pk = run_files.run_file_read(run.files["account_pk"])["account_pk"]
    except run_files.RunFileError as exc:
        _fail(run_id, f"Prepare part {part}: {exc}")
        return
    n_accounts = len(account_pk)
    by_pk = np.argsort(account_pk)
    post_account_pk = np.array(read.account_pk, dtype=np.int64)
    where = np.minimum(np.searchsorted(account_pk, post_account_pk, sorter=by_pk), max(n_accounts - 1, 0))
    if n_accounts == 0 or not np.array_equal(account_pk[by_pk[where]], post_account_pk):
        _fail(run_id, f"Prepare part {part}: an account of its posts is not in the run's accounts; score it again.")
        return
    columns = PartColumns(read.posts, by_pk[where], plan["offset"], params, n_accounts)
    post_pk = np.array(read.post_pk, dtype=np.int64)
    del read
    n_shards = int(common["meta"][3])
    folder = run.files["folder"]
    name = f"part-{part:04d}-a{attempt}"
    summary = part_summary(columns, params, part)
    files = {
        "counts": run_files.run_file_write(folder, f"{name}-counts.npz", {"counts": summary.pop("counts")}),
        "summary": run_files.run_file_write(folder, f"{name}.npz", {**summary, "post_pk": post_pk}),
        "shards": [
            run_files.run_file_write(f"{folder}/shard-{shard:04d}", f"{name}.npz", fragment)
            for shard, fragment in enumerate(part_fragments(columns, params, part, n_shards))
        ],
    }
    seconds = time.perf_counter() - started
    RunPart.objects.filter(run_id=run_id, part=part, attempts=attempt).exclude(
        status__in=[ShardStatus.DONE, ShardStatus.QUARANTINED]
    ).update(status=ShardStatus.DONE, files=files, finished_at=timezone.now(), seconds=seconds)


def _claim_scoring(run_id: int) -> None:
    """Enqueue the shards once, when the last part is done (whichever task gets here first claims it)."""
    with transaction.atomic():
        if RunPart.objects.filter(run_id=run_id).exclude(status=ShardStatus.DONE).exists():
            return
        run = ScoringRun.objects.filter(pk=run_id, status=RunStatus.PREPARING).first()
        if run is None:
            return
        claimed = ScoringRun.objects.filter(pk=run_id, status=RunStatus.PREPARING).update(
            status=RunStatus.SCORING, attempts=0, heartbeat_at=None, lease_expires_at=None
        )
        if not claimed:
            return
        seconds = RunPart.objects.filter(run_id=run_id).values_list("seconds", flat=True)
        wall = (timezone.now() - run.started_at).total_seconds() if run.started_at else sum(seconds)
        _timing(run_id, "parts", sum(seconds))
        _timing(run_id, "prepare", wall)
        pending = list(
            RunShard.objects.filter(run_id=run_id).exclude(status=ShardStatus.DONE).values_list("shard", flat=True)
        )
        transaction.on_commit(lambda: dispatch.workers().score_shards(run_id, pending))


@_fails_run
def scoring_shard_run(*, run_id: int, shard: int) -> None:
    """A shard's three passes: first assemble its partition from the parts' fragments and count the pairs its sweep
    will build (the last shard to count checks the run's budget and enqueues every shard again); then compute its
    partial edges (the last shard to sweep enqueues the reduce); once the reduce has selected the kept edges, find
    their pairs of posts on its objects (the last shard to do so enqueues the reduce's final step). A shard started
    MAX_ATTEMPTS times without finishing a pass is quarantined; a run whose files are missing or changed fails,
    naming the file."""
    with leases.StepLease(run_id=run_id, step=shard) as lease:
        attempt = _shard_claim(run_id, shard, lease)
        if attempt is None:
            return
        then = _shard_compute(run_id, shard, attempt)
    then(run_id)


def _shard_claim(run_id: int, shard: int, lease: leases.StepLease) -> int | None:
    return _step_claim(RunShard.objects.filter(run_id=run_id, shard=shard), run_id, f"Shard {shard}", lease)


def _nothing_next(run_id: int) -> None:
    pass


def _shard_compute(run_id: int, shard: int, attempt: int) -> Callable[[int], None]:
    """The shard's next pass; returns what to do once its lease is let go (the step that may follow it)."""
    run = ScoringRun.objects.get(pk=run_id)
    row = RunShard.objects.get(run_id=run_id, shard=shard)
    if run.status == RunStatus.REDUCING and "kept" in run.files:
        _shard_pairs(run, row, attempt)
        return _claim_final
    if run.status != RunStatus.SCORING:  # failed (its files are gone), not yet prepared, or past its sweep
        return _nothing_next
    if not row.partition:
        _shard_assemble(run, shard, attempt)
        return _budget_check
    if "pairs" not in run.files:  # the budget is not checked yet: the last shard to count checks it
        RunShard.objects.filter(run_id=run_id, shard=shard, attempts=attempt, status=ShardStatus.RUNNING).update(
            status=ShardStatus.PENDING, lease_expires_at=None
        )
        return _budget_check
    started = time.perf_counter()
    try:
        common = run_files.run_file_read(run.files["common"])
        partition = run_files.run_file_read(row.partition)
    except run_files.RunFileError as exc:
        _fail(run_id, f"Shard {shard}: {exc}")
        return _nothing_next
    partial = shard_edges_from_partition(common, partition, engine_params(run.params))
    del common, partition
    name = f"shard-{shard:04d}-a{attempt}-edges.npz"
    edges = run_files.run_file_write(run.files["folder"], name, partial.to_arrays())
    seconds = time.perf_counter() - started
    with transaction.atomic():
        updated = (
            RunShard.objects.filter(run_id=run_id, shard=shard, attempts=attempt)
            .exclude(status__in=[ShardStatus.DONE, ShardStatus.QUARANTINED])
            .update(status=ShardStatus.DONE, edges=edges, finished_at=timezone.now(), seconds=seconds)
        )
        if updated:
            ScoringRun.objects.filter(pk=run_id).update(shards_done=F("shards_done") + 1)
    return _claim_reduce


def _shard_pairs(run: ScoringRun, row: RunShard, attempt: int) -> None:
    """The shard's evidence pass: the pairs of posts on its objects that make a kept edge."""
    started = time.perf_counter()
    params = engine_params(run.params)
    try:
        common = run_files.run_file_read(run.files["common"])
        partition = run_files.run_file_read(row.partition)
        kept = run_files.run_file_read(run.files["kept"])
    except run_files.RunFileError as exc:
        _fail(run.pk, f"Shard {row.shard}: {exc}")
        return
    selected = {behaviour: SelectedEdges.from_arrays(kept, behaviour) for behaviour in params.behaviours}
    pairs = shard_pairs_from_partition(common, partition, params, selected)
    del common, partition, kept
    entry = run_files.run_file_write(run.files["folder"], f"shard-{row.shard:04d}-a{attempt}-pairs.npz", pairs)
    entry["seconds"] = round(time.perf_counter() - started, 3)
    RunShard.objects.filter(run_id=run.pk, shard=row.shard, attempts=attempt).exclude(
        status__in=[ShardStatus.DONE, ShardStatus.QUARANTINED]
    ).update(status=ShardStatus.DONE, evidence=entry, finished_at=timezone.now())


def _shard_assemble(run: ScoringRun, shard: int, attempt: int) -> None:
    """The shard's partition from every part's fragment for it, and the pairs its sweep will build."""
    started = time.perf_counter()
    params = engine_params(run.params)
    parts = list(RunPart.objects.filter(run_id=run.pk).order_by("part").values_list("files", flat=True))
    try:
        common = run_files.run_file_read(run.files["common"])
        counts = (run_files.run_file_read(files.get("counts", {}))["counts"] for files in parts)
        fragments = (run_files.run_file_read(files["shards"][shard] if files else {}) for files in parts)
        partition = partition_from_fragments(common, fragments, params, shard, counts)
    except run_files.RunFileError as exc:
        _fail(run.pk, f"Shard {shard}: {exc}")
        return
    pairs = partition_pair_counts(partition, params)
    entry = run_files.run_file_write(run.files["folder"], f"shard-{shard:04d}-a{attempt}.npz", partition)
    entry["seconds"] = round(time.perf_counter() - started, 3)
    # The sweep is a pass of its own, with every attempt of a shard's.
    RunShard.objects.filter(run_id=run.pk, shard=shard, attempts=attempt, status=ShardStatus.RUNNING).update(
        status=ShardStatus.PENDING, partition=entry, pairs=pairs, attempts=0, lease_expires_at=None
    )


def _budget_check(run_id: int) -> None:
    """Once every shard has counted its pairs: fail the run over SCORING_MAX_PAIRS, else enqueue the sweeps."""
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().filter(pk=run_id, status=RunStatus.SCORING).first()
        if run is None or "pairs" in run.files:
            return
        counted = list(RunShard.objects.filter(run_id=run_id).values_list("pairs", flat=True))
        if any(pairs is None for pairs in counted):
            return
        params = engine_params(run.params)
        pairs = {b: sum(c.get(b, 0) for c in counted) for b in params.behaviours}
        if sum(pairs.values()) > settings.SCORING_MAX_PAIRS:
            _fail(run_id, str(BudgetExceeded(pairs, settings.SCORING_MAX_PAIRS, params, "SCORING_MAX_PAIRS")))
            return
        n_posts = sum(part["posts"] for part in run.files["parts"])
        try:
            reduce_budget_check(n_posts, sum(pairs.values()), settings.SCORING_MAX_REDUCE_MB, "SCORING_MAX_REDUCE_MB")
        except MemoryBudgetExceeded as exc:
            _fail(run_id, str(exc))
            return
        run.files = {**run.files, "pairs": pairs}
        run.save(update_fields=["files"])
        assembled = RunShard.objects.filter(run_id=run_id).values_list("partition", flat=True)
        run.timings = {**run.timings, "assemble": round(sum(p.get("seconds", 0) for p in assembled), 3)}
        run.save(update_fields=["timings"])
        pending = list(
            RunShard.objects.filter(run_id=run_id).exclude(status=ShardStatus.DONE).values_list("shard", flat=True)
        )
        transaction.on_commit(lambda: dispatch.workers().score_shards(run_id, pending))
    # Every shard has its partition now: the parts' fragments and counts (most of a run's files) are done with.
    for files in RunPart.objects.filter(run_id=run_id).values_list("files", flat=True):
        for entry in [files.get("counts"), *files.get("shards", [])]:
            run_files.run_file_delete(entry)


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


def _claim_final(run_id: int) -> None:
    """Enqueue the reduce's final step when the last shard has found its pairs of posts (more than one task may get
    here: the reduce's lease lets one of them through)."""
    if RunShard.objects.filter(run_id=run_id).exclude(status=ShardStatus.DONE).exists():
        return
    if ScoringRun.objects.filter(pk=run_id, status=RunStatus.REDUCING, lease_expires_at=None).exists():
        dispatch.workers().score_reduce(run_id)


@_fails_run
def scoring_run_reduce(*, run_id: int) -> None:
    """The reduce: select the kept edges from the shards' partial edges, let every shard find their pairs of posts
    on its own objects, then find groups and scores and store them with the run, all at once."""
    _run_step(run_id, leases.REDUCE, RunStatus.REDUCING, _reduce)


def _reduce(run: ScoringRun, attempt: int) -> None:
    """Select once; while shards have not found their pairs, enqueue them and let go of the step; then the final."""
    run_id = run.pk
    if "kept" not in run.files and not _select(run, attempt):
        return
    with transaction.atomic():
        # After the select, every shard is pending.
        pending = list(
            RunShard.objects.filter(run_id=run_id).exclude(status=ShardStatus.DONE).values_list("shard", flat=True)
        )
        if pending:
            # The shards hold leases of their own; the final step is started afresh, with attempts of its own.
            ScoringRun.objects.filter(pk=run_id, status=RunStatus.REDUCING, attempts=attempt).update(
                attempts=0, lease_expires_at=None
            )
            transaction.on_commit(lambda: dispatch.workers().score_shards(run_id, pending))
            return
    _final(run, attempt)


def _select(run: ScoringRun, attempt: int) -> bool:
    """The kept edges of every behaviour from the shards' partial edges, written to the run's files; every shard is
    handed its evidence pass. False when the run failed or another worker holds the step now."""
    run_id = run.pk
    started, started_at = time.perf_counter(), time.time()
    params = engine_params(run.params)
    parts = RunPart.objects.filter(run_id=run_id).order_by("part").values_list("files", flat=True)
    edges = list(RunShard.objects.filter(run_id=run_id).order_by("shard").values_list("edges", flat=True))
    try:
        common = run_files.run_file_read(run.files["common"])
        account, activity = select_inputs(common, (run_files.run_file_read(f.get("summary", {})) for f in parts))
        partials = [PartialEdges.from_arrays(run_files.run_file_read(entry)) for entry in edges]
    except run_files.RunFileError as exc:
        _fail(run_id, f"Reduce: {exc}")
        return False
    _, n_accounts, width, _ = (int(x) for x in common["meta"])
    selected = select_edges_of(partials, account, n_accounts, width, activity, params)
    del partials, account
    kept = {name: values for s in selected.values() for name, values in s.to_arrays().items()}
    entry = {**run_files.run_file_write(run.files["folder"], f"kept-a{attempt}.npz", kept), "started": started_at}
    with transaction.atomic():
        if not ScoringRun.objects.filter(pk=run_id, status=RunStatus.REDUCING, attempts=attempt).update(
            files={**run.files, "kept": entry}
        ):
            return False
        RunShard.objects.filter(run_id=run_id).update(
            status=ShardStatus.PENDING, attempts=0, heartbeat_at=None, lease_expires_at=None
        )
        _timing(run_id, "select", time.perf_counter() - started)
    for entry in edges:
        run_files.run_file_delete(entry)
    return True


def _final(run: ScoringRun, attempt: int) -> None:
    """Describe the kept edges from the shards' pairs of posts, find groups and scores, and store them."""
    # Here, not at the top: scikit-learn takes seconds to load, and only the reduce step needs it.
    from .learning.services import run_features_store

    run_id = run.pk
    started = time.perf_counter()
    params = engine_params(run.params)
    post_pk: list[np.ndarray] = []

    def summaries():
        for files in RunPart.objects.filter(run_id=run_id).order_by("part").values_list("files", flat=True):
            summary = run_files.run_file_read(files.get("summary", {}))
            # A copy: a view would keep the whole summary's buffer (times, texts, activity) through the final.
            post_pk.append(summary["post_pk"].copy())
            yield summary

    found = list(RunShard.objects.filter(run_id=run_id).order_by("shard").values_list("evidence", flat=True))
    try:
        common = run_files.run_file_read(run.files["common"])
        accounts = run_files.run_file_read(run.files["accounts"])
        kept = run_files.run_file_read(run.files["kept"])
        shard_pairs = [run_files.run_file_read(entry) for entry in found]
        common, held = reduce_inputs(common, accounts, summaries(), shard_pairs)
    except run_files.RunFileError as exc:
        _fail(run_id, f"Reduce: {exc}")
        return
    arrays = arrays_from_finalise(common, held)
    selected = {behaviour: SelectedEdges.from_arrays(kept, behaviour) for behaviour in params.behaviours}
    del held, kept
    gathered = time.perf_counter()
    result = finalise_from_pairs(selected, shard_pairs, arrays, params)
    del shard_pairs
    finalised = time.perf_counter()
    with transaction.atomic():
        locked = ScoringRun.objects.select_for_update().get(pk=run_id)
        if locked.status != RunStatus.REDUCING or locked.attempts != attempt:
            return
        run_results.run_results_store(
            run=locked, result=result, post_pk=np.concatenate(post_pk), account_pk=accounts["account_pk"]
        )
        run_features_store(run=locked, result=result)
        locked.summary = result.summary
        locked.result_hash = selectors.run_result_fingerprint(run=locked)
        locked.status = RunStatus.DONE
        locked.finished_at = timezone.now()
        locked.save()
        transaction.on_commit(lambda: dispatch.workers().narratives_cluster(run_id))
    # After the commit, which runs the deferred foreign-key checks of every row stored: part of the store's time.
    shards = RunShard.objects.filter(run_id=run_id)
    timings = {
        **locked.timings,
        "shards": round(sum(shards.values_list("seconds", flat=True)), 3),
        "evidence": round(sum(entry.get("seconds", 0) for entry in found), 3),
        "final": round(time.perf_counter() - started, 3),
        "final_gather": round(gathered - started, 3),
        "final_describe": round(finalised - gathered, 3),
        "final_store": round(time.perf_counter() - finalised, 3),
        # From the select's start, on its worker's clock (the README asks for clocks kept in step).
        "reduce": round(time.time() - run.files["kept"]["started"], 3),
    }
    ScoringRun.objects.filter(pk=run_id).update(finished_at=timezone.now(), timings=timings)
    run_files.run_files_delete(run_id=run_id)


def scoring_runs_resume_stalled(*, now: datetime | None = None) -> list[int]:
    """Re-enqueue the steps that no live worker holds (run by beat). Returns the ids of the runs it touched.

    A step whose lease ran out, or whose worker's database session is gone, is released and enqueued at once; the
    steps of a run that nobody has worked on for a lease (their messages lost) are enqueued again, once a lease.
    The steps are read before the locks: a worker takes a step's lock before it claims the step, so a step claimed
    after this read is not among the rows, and one claimed before it has its lock among the locks.
    """
    now = now or timezone.now()
    touched = []
    for run in ScoringRun.objects.filter(
        status__in=[RunStatus.QUEUED, RunStatus.PREPARING, RunStatus.SCORING, RunStatus.REDUCING]
    ):
        shards = list(RunShard.objects.filter(run=run).values("shard", "status", "attempts", "lease_expires_at"))
        parts = list(RunPart.objects.filter(run=run).values("part", "status", "attempts", "lease_expires_at"))
        held = leases.held_lock_keys()
        resumed = _orphans_release(run, shards, parts, held, now) or _idle_run_resume(run, shards, parts, now)
        if resumed:
            touched.append(run.pk)
    return touched


def _orphaned(lease_expires_at: datetime, key: int, held: set[int] | None, now: datetime) -> bool:
    return lease_expires_at <= now or (held is not None and key not in held)


def _orphans_release(
    run: ScoringRun, shards: list[dict], parts: list[dict], held: set[int] | None, now: datetime
) -> bool:
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
    if run.status == RunStatus.PREPARING and not started:
        return _orphan_steps_release(run, RunPart, "part", parts, leases.PART_BASE, held, now)
    # The shards run their sweeps while the run is scoring, and their evidence pass while the reduce has let go.
    if run.status == RunStatus.SCORING or (run.status == RunStatus.REDUCING and not started):
        return _orphan_steps_release(run, RunShard, "shard", shards, 0, held, now)
    return False


def _orphan_steps_release(
    run: ScoringRun, model, field: str, steps: list[dict], lock_base: int, held: set[int] | None, now: datetime
) -> bool:
    """Hand back the started parts or shards (`model`, numbered by `field`) whose worker is gone, and enqueue them
    again."""
    released = [
        step[field]
        for step in steps
        if step["status"] == ShardStatus.RUNNING
        and _orphaned(step["lease_expires_at"] or now, leases.lock_key(run.pk, lock_base + step[field]), held, now)
        and model.objects.filter(
            run=run, status=ShardStatus.RUNNING, attempts=step["attempts"], **{field: step[field]}
        ).update(status=ShardStatus.PENDING)
    ]
    if released:
        ScoringRun.objects.filter(pk=run.pk).update(resumed_at=now)
        enqueue = dispatch.workers().score_parts if model is RunPart else dispatch.workers().score_shards
        enqueue(run.pk, released)
    return bool(released)


def _idle_run_resume(run: ScoringRun, shards: list[dict], parts: list[dict], now: datetime) -> bool:
    """Enqueue again the steps of a run that nobody has worked on for a lease (their messages were lost)."""
    quiet_since = now - leases.lease_duration()
    leases_ran = [run.lease_expires_at] + [step["lease_expires_at"] for step in (*shards, *parts)]
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
