"""A real Celery worker process takes a task from Redis and answers through the result backend."""

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def worker(redis_url, tmp_path):
    env = {**os.environ, "CELERY_BROKER_URL": redis_url}
    log = tmp_path / "worker.log"
    process = celery_worker(env, "roundtrip", log)
    process.log = log
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def test_a_task_round_trips_through_a_worker_process(worker, settings):
    from tracker.celery import app, ping

    assert not app.conf.task_always_eager, "the broker is configured, so tasks must go through it"
    payload = f"round-trip {time.time()}"
    result = ping.apply_async(args=[payload])
    try:
        assert result.get(timeout=60) == payload
    except Exception:
        print(worker.log.read_text()[-3000:])
        raise
    assert worker.poll() is None
