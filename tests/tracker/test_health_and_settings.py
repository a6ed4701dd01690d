import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import REPO

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "x7" * 30 + "-production-test-key-with-enough-entropy",
    "DJANGO_ALLOWED_HOSTS": "tracker.example.org",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client, settings):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == ("in-process" if settings.CELERY_TASK_ALWAYS_EAGER else "ok")


@pytest.mark.django_db
def test_healthz_fails_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", env={"DJANGO_ENV": "production", "DJANGO_ALLOWED_HOSTS": "tracker.example.org"})
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2():
    user = get_user_model().objects.create_user("analyst", password="correct horse battery staple")
    assert user.password.startswith("argon2")


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_user("analyst", password="correct horse battery staple", is_staff=True)
    login = reverse("admin:login")
    for _ in range(3):
        client.post(login, {"username": "analyst", "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    response = client.post(
        login, {"username": "analyst", "password": "correct horse battery staple"}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_good_login_still_works_below_the_limit(client):
    get_user_model().objects.create_user("analyst", password="correct horse battery staple", is_staff=True)
    login = reverse("admin:login")
    client.post(login, {"username": "analyst", "password": "wrong"})
    response = client.post(login, {"username": "analyst", "password": "correct horse battery staple"})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_the_workspace_says_how_long_the_server_took_and_the_api_does_not(client):
    name, duration = client.get("/admin/login/")["Server-Timing"].split(";dur=")
    assert name == "app" and float(duration) >= 0
    assert "Server-Timing" not in client.get("/api/v1/campaigns/999999/")


def test_system_checks_pass_on_a_database_not_yet_migrated(tmp_path):
    """`manage.py check` (and makemigrations, which CI runs on its empty database) must not query any table."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
