"""`manage.py workspace` (what `make run` serves) on embedded defaults: an upload answers at once and a worker of
its own imports the file in the background, on SQLite with no broker server; Ctrl-C stops every process."""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import REPO

pytestmark = pytest.mark.slow
PASSWORD = "a long workspace test password 42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def import_status(db, import_id: int) -> tuple[str, int, int]:
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute(
            "SELECT status, rows_done, inserted FROM detection_sampleimport WHERE id = ?", [import_id]
        ).fetchone()


def newest_import(db) -> tuple[int, str]:
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute("SELECT id, status FROM detection_sampleimport ORDER BY id DESC").fetchone()


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def csrf(session: requests.Session, url: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', session.get(url).text).group(1)


def test_an_upload_answers_at_once_and_the_workspace_worker_imports_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    db = tmp_path / "tracker.sqlite3"
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        MEDIA_ROOT=str(tmp_path / "media"),
        CELERY_BROKER_FOLDER=str(tmp_path / "broker"),
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )
    sample_file = tmp_path / "sample.csv"
    subprocess.run(
        [sys.executable, "benchmarks/generate_sample.py", "--posts", "40000", "--seed", "3", "--out", str(sample_file)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    rows = sum(1 for _ in sample_file.open(encoding="utf-8")) - 1
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "createsuperuser", "--noinput", "--username", "researcher", "--email", "r@example.org")
    sample_id = int(
        manage(
            env,
            "shell",
            "-c",
            "from detection.ingest.services import sample_create; "
            "print(sample_create(name='Workspace sample', tlp='GREEN', collection_method='api').pk)",
        ).split()[-1]
    )
    base = f"http://127.0.0.1:{free_port()}"
    workspace = subprocess.Popen(
        [sys.executable, "manage.py", "workspace", base.removeprefix("http://"), "--noreload"],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=(tmp_path / "workspace.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"{base}/admin/login/", 60)
        session = requests.Session()
        token = csrf(session, f"{base}/admin/login/")
        session.post(
            f"{base}/admin/login/",
            data={"username": "researcher", "password": PASSWORD, "csrfmiddlewaretoken": token},
        ).raise_for_status()
        add = f"{base}/admin/detection/sampleimport/add/"
        token = csrf(session, add)
        with sample_file.open("rb") as upload:
            answer = session.post(
                add,
                data={"sample": sample_id, "format": "", "platform": "", "csrfmiddlewaretoken": token},
                files={"upload": ("sample.csv", upload, "text/csv")},
                headers={"Referer": add},
            )
        answer.raise_for_status()
        import_id, status_when_answered = newest_import(db)
        assert status_when_answered in ("queued", "running"), "the upload waited for its import"
        assert "handed to a worker" in answer.text

        deadline = time.monotonic() + 240
        while import_status(db, import_id)[0] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
        status, rows_done, inserted = import_status(db, import_id)
        assert (status, rows_done) == ("done", rows), (tmp_path / "workspace.log").read_text()[-3000:]
        assert inserted > 0
    finally:
        os.killpg(workspace.pid, signal.SIGINT)
        workspace.wait(timeout=60)
    leftover = subprocess.run(["pgrep", "-g", str(workspace.pid)], capture_output=True, text=True).stdout.split()
    assert leftover == [], "Ctrl-C left the workspace's worker, beat or server running"
