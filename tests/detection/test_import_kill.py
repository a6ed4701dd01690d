"""A real import process killed with SIGKILL mid-file resumes to the same tables as an uninterrupted import."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from detection.ingest import jobs, services
from detection.models import Post, SampleImport, SamplePost, SocialAccount
from tests.conftest import REPO, celery_worker, isolated_broker, require, stop

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def write_rows(path, n):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("platform,post_id,account_id,created_at,text,reshare_of,hashtags\n")
        for i in range(n):
            handle.write(f"x,{i},acc{i % 997},2024-01-01T00:{i % 60:02d}:00Z,post {i} 台灣,{i % 500},#t{i % 13}\n")


def state():
    return (
        Post.objects.count(),
        sorted(Post.objects.values_list("post_id", "reshare_of", "hashtags", "account__account_id"))[::997],
        SocialAccount.objects.count(),
        SamplePost.objects.count(),
    )


def database_env(**more):
    """The environment of a child process that uses this test's database."""
    db = settings.DATABASES["default"]
    return {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}", **more}


def import_job(tmp_path, name, rows):
    """An import job, not yet run, for a canonical file of `rows` rows."""
    path = tmp_path / "big.csv"
    write_rows(path, rows)
    sample = services.sample_create(name=name, tlp="AMBER")
    return services.sample_import_create(sample=sample, source_path=path)


def resume_command(job):
    return [sys.executable, "manage.py", "import_sample", "--resume", str(job.pk), "--no-progress"]


def test_sigkilled_import_resumes_without_duplicates_or_losses(tmp_path):
    require(connection.vendor == "postgresql", "the kill test needs PostgreSQL (set DATABASE_URL)")
    job = import_job(tmp_path, "kill", 200_000)
    sample, path = job.sample, job.source_path
    env, command = database_env(), resume_command(job)
    process = subprocess.Popen(
        command, cwd=REPO, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.rows_done >= 40_000 or process.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    job.refresh_from_db()
    assert 0 < job.rows_done < 200_000, f"killed at {job.rows_done} rows: not mid-file"
    killed_at = job.rows_done

    finished = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    job.refresh_from_db()
    assert job.status == "done"
    assert job.rows_done == 200_000
    assert job.inserted + job.updated + job.unchanged + job.rejected == 200_000
    assert job.inserted == 200_000, f"killed after {killed_at} rows; {job.inserted} inserted"
    resumed = state()

    Post.objects.all().delete()
    SocialAccount.objects.all().delete()
    clean = services.sample_import_create(sample=sample, source_path=path)
    jobs.sample_import_run(import_id=clean.pk)
    assert SampleImport.objects.get(pk=clean.pk).inserted == 200_000
    assert state() == resumed


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def running(pid):
    """Whether the process exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_reading_process_outlives_no_killed_importer(tmp_path):
    """A worker killed alone (not its process group) leaves no reading process behind: the pipe breaks."""
    require(connection.vendor == "postgresql", "the kill test needs PostgreSQL (set DATABASE_URL)")
    require(os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"), "needs Linux's /proc children")
    job = import_job(tmp_path, "orphan", 200_000)
    process = subprocess.Popen(
        resume_command(job), cwd=REPO, env=database_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            job.refresh_from_db()
            if job.rows_done:
                break
            time.sleep(0.05)
        readers = children(process.pid)
        assert readers, "the import read its file in no child process"
        process.send_signal(signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(map(running, readers)):
            time.sleep(0.1)
        assert not any(map(running, readers)), "the reading process outlived its importer"
    finally:
        process.kill()
        process.wait()


def test_a_celery_worker_imports_a_large_file_through_its_reading_process(tmp_path, redis_url):
    """The prefork pool's children are daemonic (no multiprocessing children): the reading process still runs."""
    require(connection.vendor == "postgresql", "the worker test needs PostgreSQL (set DATABASE_URL)")
    job = import_job(tmp_path, "worker", 100_000)
    assert Path(job.source_path).stat().st_size >= settings.SAMPLE_IMPORT_CHILD_PROCESS_BYTES
    broker = isolated_broker(redis_url, 12)
    log = tmp_path / "worker.log"
    worker = celery_worker(database_env(CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=broker), "importer", log)
    try:
        from tracker.celery import app

        with app.connection_for_write(broker) as to_worker:
            app.send_task("detection.tasks.sample_import_task", args=[job.pk], connection=to_worker)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in ("done", "failed"):
                break
            time.sleep(0.2)
        assert job.status == "done", f"{job.status} {job.error}\n{log.read_text()[-3000:]}"
        assert (job.rows_done, job.inserted, job.rejected) == (100_000, 100_000, 0)
        assert SamplePost.objects.filter(sample=job.sample).count() == 100_000
    finally:
        stop(worker)
