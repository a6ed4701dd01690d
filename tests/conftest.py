import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: throttle counts (refusals per address, rates per organisation) left by
    an earlier test on the same worker would otherwise answer 429 to a later one."""
    from django.core.cache import cache

    cache.clear()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip outside CI when a service is missing; in CI (CI=true) a missing service is a failure."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this service must be running)")
    pytest.skip(reason)


def shared_data_dir() -> Path:
    return Path(settings.SHARED_DATA_DIR)


@pytest.fixture
def shared_data() -> Path:
    """The shared/ data folder beside the repository (read by path, never copied)."""
    path = shared_data_dir()
    require(path.is_dir(), f"shared data not found at {path}; set SHARED_DATA to the shared/data folder")
    return path


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    require(url.startswith("redis://"), "CELERY_BROKER_URL does not point at Redis")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        require(False, f"Redis at {url} does not answer: {exc}")
    return url


@pytest.fixture
def celery_in_process():
    """Run tasks in the test's own process (Celery's eager mode), whatever broker the environment names."""
    from tracker.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def celery_worker(env: dict, name: str, log: Path | None = None, queues: str = "celery") -> subprocess.Popen:
    """A real Celery worker process with one child, in a process group of its own so a test can kill it whole."""
    output = log.open("w") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tracker",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}-{os.getpid()}@%h",
            "-Q",
            queues,
        ],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def amqp_url() -> str:
    """RabbitMQ's address (RABBITMQ_URL, or the local server's guest account)."""
    from kombu import Connection

    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure to connect means the server is not there
        require(False, f"RabbitMQ at {url} does not answer: {exc}")
    return url


def celery_beat(env: dict, log: Path) -> subprocess.Popen:
    """Celery beat on the project's own schedule, in a process group of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tracker", "beat", "--loglevel", "INFO"],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def isolated_amqp_broker(amqp_url: str) -> str:
    """RabbitMQ with the default queue emptied, so no earlier test's task reaches this test's workers."""
    from tracker.celery import app

    with app.connection_for_write(amqp_url) as connection:
        queue = app.amqp.queues[app.conf.task_default_queue](connection.default_channel)
        queue.declare()
        queue.purge()
    return amqp_url


def isolated_broker(redis_url: str, db: int) -> str:
    """A Redis database of its own, emptied, so no other test's worker takes this test's tasks (and the reverse)."""
    from urllib.parse import urlsplit, urlunsplit

    import redis

    parts = urlsplit(redis_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))
    redis.Redis.from_url(url).flushdb()
    return url


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    """Stop a process started in a session of its own, with all its children."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
