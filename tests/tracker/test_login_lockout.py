"""Login lockouts: one account from one client address, that address read the way the API reads it."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
WRONG = "not the password"


@pytest.fixture
def login(settings):
    settings.AXES_FAILURE_LIMIT = 3
    for name in ("xavier", "yvonne"):
        get_user_model().objects.create_user(name, password=PASSWORD, is_staff=True)
    return reverse("admin:login")


def attempt(client, url: str, username: str, password: str = WRONG, **meta):
    client.logout()
    return client.post(url, {"username": username, "password": password}, **meta)


def test_failures_sprayed_for_one_account_do_not_lock_another_from_the_same_address(client, login):
    for _ in range(5):
        attempt(client, login, "xavier", REMOTE_ADDR="192.0.2.7")
    assert attempt(client, login, "xavier", PASSWORD, REMOTE_ADDR="192.0.2.7").status_code == 429
    assert attempt(client, login, "yvonne", PASSWORD, REMOTE_ADDR="192.0.2.7").status_code == 302


def test_without_proxies_a_forged_forwarded_for_does_not_change_the_address_locked(client, login, settings):
    settings.PROXY_COUNT = 0
    for i in range(3):
        attempt(client, login, "xavier", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.7"}
    locked = attempt(client, login, "xavier", PASSWORD, REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert locked.status_code == 429
    assert attempt(client, login, "xavier", PASSWORD, REMOTE_ADDR="198.51.100.4").status_code == 302


def test_behind_a_proxy_the_client_is_locked_not_the_proxy(client, login, settings):
    settings.PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "172.16.0.2"}
    for i in range(3):
        attempt(client, login, "xavier", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}, 192.0.2.7", **proxy)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.7"}
    assert attempt(client, login, "xavier", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.7", **proxy).status_code == 429
    assert attempt(client, login, "xavier", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.4", **proxy).status_code == 302
