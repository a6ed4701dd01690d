"""Kill test: SIGKILL a Celery worker's whole process group while a run's prepare parts run, then the next worker's
while its shards run, then the next one's while the shards find the kept edges' pairs of posts for the reduce, then
the next one's while the reduce's final step runs, on Redis and on RabbitMQ.

Everything runs on the production defaults (acks late, visibility timeout, task time limit, SCORING_LEASE_SECONDS)
with beat on its own schedule; the run has 8 prepare parts and 4 shards, so that a shard's passes (assembling,
sweeping, finding pairs) last long enough to be caught. Within three minutes of each kill the next worker has carried
the run past the killed step, only the killed steps ran twice, and the run ends with the same groups and scores as an
uninterrupted run.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from detection.models import RunPart, RunShard, ScoringRun
from tests.conftest import (
    REPO,
    celery_beat,
    celery_worker,
    isolated_amqp_broker,
    isolated_broker,
    require,
    stop,
)

from .helpers import generated_sample

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RECOVERY_SECONDS = 180


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_env(request, tmp_path) -> dict:
    """The environment of the workers and beat: this test's database, and the broker under test."""
    require(connection.vendor == "postgresql", "the kill test needs PostgreSQL (set DATABASE_URL)")
    redis = isolated_broker(request.getfixturevalue("redis_url"), 13)
    broker = redis if request.param == "redis" else isolated_amqp_broker(request.getfixturevalue("amqp_url"))
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": redis,
    }
    for name in (
        "CELERY_VISIBILITY_TIMEOUT",
        "CELERY_TASK_TIME_LIMIT",
        "CELERY_RESTORE_INTERVAL",
        "SCORING_LEASE_SECONDS",
        "SCORING_PREPARE_PARTS",
    ):
        env.pop(name, None)
    return env


def start_run(env: dict, sample_name: str) -> ScoringRun:
    before = set(ScoringRun.objects.values_list("pk", flat=True))
    subprocess.run(
        [sys.executable, "manage.py", "score_sample", sample_name, "--shards", "4", "--parts", "8", "--no-wait"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (run_id,) = set(ScoringRun.objects.values_list("pk", flat=True)) - before
    return ScoringRun.objects.get(pk=run_id)


def wait_for(run: ScoringRun, condition, timeout: float, logs: list[Path], poll: float = 0.1) -> ScoringRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if condition(run):
            return run
        time.sleep(poll)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs if log.exists())
    raise AssertionError(
        f"run {run.pk} stuck: {run.status}, {run.shards_done}/{run.n_shards} shards, {run.error}\n{tails}"
    )


def finished(run: ScoringRun) -> bool:
    return run.status in ("done", "failed")


def running_part(run: ScoringRun) -> int | None:
    """The prepare part a worker is on once half the parts are done and while another still waits, if there is one."""
    statuses = dict(RunPart.objects.filter(run=run).values_list("part", "status"))
    running = [part for part, status in statuses.items() if status == "running"]
    done = sum(status == "done" for status in statuses.values())
    waiting = len(statuses) - done - len(running)
    return running[0] if running and waiting and done >= len(statuses) // 2 else None


def running_shard(run: ScoringRun, passes: tuple[str, ...]) -> tuple[int, str] | None:
    """The shard a worker is on, and its pass ("assemble", "sweep" or "pairs"), if it is one of `passes`.

    A shard's passes take tenths of a second on this sample, so the test looks for any of a kind."""
    if run.status not in ("scoring", "reducing"):
        return None
    running = RunShard.objects.filter(run=run, status="running").values_list("shard", "partition", "edges")
    for shard, partition, edges in running:
        found = "pairs" if edges else "sweep" if partition else "assemble"
        if found in passes:
            return shard, found
    return None


def attempt_of(entry: dict) -> int:
    """The attempt of the pass that wrote a run's file (its name ends with it: ...-a<attempt>[-<what>].npz)."""
    return int(entry["name"].rsplit("-a", 1)[1].removesuffix(".npz").split("-")[0])


def final_running(run: ScoringRun) -> bool:
    return run.status == "reducing" and "kept" in run.files and bool(run.attempts)


def kill(worker: subprocess.Popen) -> float:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    return time.monotonic()


def test_killed_workers_lose_no_step_and_change_no_result(tmp_path, broker_env):
    sample, _ = generated_sample(tmp_path, 200_000, name="kill-sample")
    logs = [tmp_path / "beat.log"]
    beat = celery_beat(broker_env, logs[0])
    workers = []

    def worker(name: str) -> subprocess.Popen:
        logs.append(tmp_path / f"{name}.log")
        workers.append(celery_worker(broker_env, name, logs[-1]))
        return workers[-1]

    try:
        worker("killed-in-parts")
        run = start_run(broker_env, sample.name)
        run = wait_for(run, lambda r: running_part(r) is not None or r.status not in ("queued", "preparing"), 300, logs)
        assert run.status == "preparing", f"the run must still be preparing when the worker dies, not {run.status}"
        killed_at = kill(workers[-1])
        killed_part = running_part(run)
        assert killed_part is not None, "a part must be running, half of them done and another waiting, at the kill"
        worker("killed-in-shards")
        run = wait_for(run, lambda r: r.status != "preparing", RECOVERY_SECONDS, logs)
        parts_recovery = time.monotonic() - killed_at
        sweeping = ("assemble", "sweep")
        run = wait_for(run, lambda r: running_shard(r, sweeping) is not None or finished(r), 300, logs, poll=0.02)
        assert run.status == "scoring", f"the run must still be scoring when the worker dies, not {run.status}"
        killed_at = kill(workers[-1])
        run.refresh_from_db()
        killed_shard = running_shard(run, sweeping)
        assert killed_shard is not None, "a shard must be running at the kill"
        worker("killed-in-pairs")
        run = wait_for(
            run, lambda r: running_shard(r, ("pairs",)) is not None or finished(r), RECOVERY_SECONDS, logs, poll=0.02
        )
        shards_recovery = time.monotonic() - killed_at
        killed_at = kill(workers[-1])
        run.refresh_from_db()
        killed_pairs = running_shard(run, ("pairs",))
        assert killed_pairs is not None, "a shard must be finding its pairs of posts at the kill"
        worker("killed-in-final")
        run = wait_for(run, lambda r: final_running(r) or finished(r), RECOVERY_SECONDS, logs)
        pairs_recovery = time.monotonic() - killed_at
        killed_at = kill(workers[-1])
        run.refresh_from_db()
        assert final_running(run), f"the reduce's final step must still run when its worker dies, not {run.status}"
        worker("fresh")
        run = wait_for(run, finished, RECOVERY_SECONDS, logs)
        final_recovery = time.monotonic() - killed_at

        reference = wait_for(start_run(broker_env, sample.name), finished, 300, logs)
    finally:
        for process in [*workers, beat]:
            stop(process, signal.SIGKILL)
    broker = broker_env["CELERY_BROKER_URL"].split(":")[0]
    print(
        f"\n{broker}: from the kill in the parts to the shards under way {parts_recovery:.0f} s, "
        f"from the kill in the shards (shard {killed_shard[0]}'s {killed_shard[1]}) to the pairs of posts under way "
        f"{shards_recovery:.0f} s, from the kill in the pairs (shard {killed_pairs[0]}) to the final under way "
        f"{pairs_recovery:.0f} s, from the kill in the final to done {final_recovery:.0f} s; "
        f"an uninterrupted run {reference.timings}"
    )

    assert run.status == "done", run.error
    assert reference.status == "done", reference.error
    parts = dict(RunPart.objects.filter(run=run).values_list("part", "attempts"))
    assert len(parts) == 8
    twice = {part: 2 if part == killed_part else 1 for part in parts}
    assert parts == twice, "the part at the kill, and only it, ran twice"
    assert run.shards_done == run.n_shards
    assert all(s.status == "done" for s in RunShard.objects.filter(run=run))
    # Per shard, the attempts of its assembling, its sweep and its pairs: the passes at the kills, and only they,
    # ran twice.
    passes = {
        shard: (attempt_of(partition), attempt_of(edges), attempt_of(evidence))
        for shard, partition, edges, evidence in RunShard.objects.filter(run=run).values_list(
            "shard", "partition", "edges", "evidence"
        )
    }
    expected = {shard: [1, 1, 1] for shard in passes}
    expected[killed_shard[0]][("assemble", "sweep").index(killed_shard[1])] = 2
    expected[killed_pairs[0]][2] = 2
    assert passes == {shard: tuple(attempts) for shard, attempts in expected.items()}
    assert attempt_of(run.files["kept"]) == 1, "the select ran once"
    assert run.attempts == 2, "the final ran twice"
    assert run.result_hash == reference.result_hash
    assert run.summary["groups"] > 0 and run.summary["flagged_accounts"] > 0
