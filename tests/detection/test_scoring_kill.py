"""Kill test: SIGKILL a Celery worker's whole process group mid-run; a fresh worker finishes the run, and its
groups and scores are identical to an uninterrupted run's."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from detection.models import RunShard, ScoringRun
from tests.conftest import REPO, celery_worker, isolated_broker, require, stop

from .helpers import generated_sample

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 90


def start_run(env: dict, sample_name: str) -> ScoringRun:
    before = set(ScoringRun.objects.values_list("pk", flat=True))
    subprocess.run(
        [sys.executable, "manage.py", "score_sample", sample_name, "--shards", "8", "--no-wait"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (run_id,) = set(ScoringRun.objects.values_list("pk", flat=True)) - before
    return ScoringRun.objects.get(pk=run_id)


def wait_for(run: ScoringRun, condition, timeout: float, logs: tuple[Path, ...] = ()) -> ScoringRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if condition(run):
            return run
        time.sleep(0.2)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs if log.exists())
    raise AssertionError(
        f"run {run.pk} stuck: {run.status}, {run.shards_done}/{run.n_shards} shards, {run.error}\n{tails}"
    )


def test_a_killed_worker_loses_no_shard_and_changes_no_result(tmp_path, redis_url):
    require(connection.vendor == "postgresql", "the kill test needs PostgreSQL (set DATABASE_URL)")
    sample, _ = generated_sample(tmp_path, 200_000, name="kill-sample")
    db = settings.DATABASES["default"]
    broker = isolated_broker(redis_url, 13)
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "CELERY_TASK_TIME_LIMIT": str(VISIBILITY_TIMEOUT - 5),
        "CELERY_RESTORE_INTERVAL": "2",
    }
    logs = (tmp_path / "doomed.log", tmp_path / "fresh.log")
    first = celery_worker(env, "doomed", logs[0])
    try:
        run = start_run(env, sample.name)
        run = wait_for(run, lambda r: r.shards_done >= r.n_shards // 2 or r.status in ("done", "failed"), 300, logs)
        assert run.status == "scoring", f"the run must still be scoring when the worker dies, not {run.status}"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        killed_at = run.shards_done
    finally:
        stop(first, signal.SIGKILL)

    second = celery_worker(env, "fresh", logs[1])
    try:
        run = wait_for(run, lambda r: r.status in ("done", "failed"), 4 * VISIBILITY_TIMEOUT + 120, logs)
        assert run.status == "done", run.error
        assert run.shards_done == run.n_shards
        assert 0 < killed_at < run.n_shards
        assert all(s.status == "done" for s in RunShard.objects.filter(run=run))

        reference = start_run(env, sample.name)
        reference = wait_for(reference, lambda r: r.status in ("done", "failed"), 300, logs)
        assert reference.status == "done", reference.error
    finally:
        stop(second)
    assert run.result_hash == reference.result_hash
    assert run.summary["groups"] > 0 and run.summary["flagged_accounts"] > 0
