"""The client address of a request: REMOTE_ADDR unless PROXY_COUNT proxies stand in front, then the address
the outermost of them saw; never an entry the client could write itself."""

import pytest
import yaml
from django.test import RequestFactory

from partners import services
from partners.addresses import client_address
from partners.models import AuditAction, AuditEvent
from tests.conftest import REPO

pytestmark = pytest.mark.django_db
CAMPAIGNS = "/api/v1/campaigns/"


@pytest.fixture
def fenced(world):
    """A key of organisation B that may only be used from 10.0.0.0/8."""
    key, raw = services.api_key_create(organisation=world.orgs["b"], name="fenced", allowed_networks=["10.0.0.0/8"])
    return key, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_without_proxies_a_forged_forwarded_for_does_not_pass_an_address_restricted_key(settings, client, fenced):
    settings.PROXY_COUNT = 0
    key, auth = fenced
    response = client.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.1.2.3", **auth)
    assert response.status_code == 401
    refused = AuditEvent.objects.get(action=AuditAction.KEY_REFUSED, credential=key.prefix)
    assert refused.address == "192.0.2.7"


def test_without_proxies_the_audit_log_records_the_connecting_address(settings, world):
    settings.PROXY_COUNT = 0
    client = world.client("amber_b")
    amber = world.objects[("actor", "AMBER")]
    forged = {"REMOTE_ADDR": "198.51.100.4", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client.get(f"/api/v1/actors/{amber.pk}/", **forged).status_code == 200
    read = AuditEvent.objects.filter(action=AuditAction.READ).latest("pk")
    new_address = AuditEvent.objects.filter(action=AuditAction.KEY_NEW_ADDRESS).latest("pk")
    assert read.address == new_address.address == "198.51.100.4"


def test_behind_one_proxy_the_right_most_address_is_used(settings, client, fenced):
    settings.PROXY_COUNT = 1
    key, auth = fenced
    through = {"REMOTE_ADDR": "172.16.0.2"}  # the proxy
    assert client.get(CAMPAIGNS, HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.7", **through, **auth).status_code == 401
    assert client.get(CAMPAIGNS, HTTP_X_FORWARDED_FOR="192.0.2.7, 10.1.2.3", **through, **auth).status_code == 200
    refused = AuditEvent.objects.get(action=AuditAction.KEY_REFUSED, credential=key.prefix)
    used = AuditEvent.objects.get(action=AuditAction.KEY_NEW_ADDRESS, credential=key.prefix)
    assert (refused.address, used.address) == ("192.0.2.7", "10.1.2.3")


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "198.51.100.4"),
        (1, "203.0.113.9, 192.0.2.1", "192.0.2.1"),
        (2, "203.0.113.9, 192.0.2.1, 172.16.0.9", "192.0.2.1"),
        (2, "192.0.2.1", "198.51.100.4"),  # fewer hops than proxies: the connecting address
        (1, "", "198.51.100.4"),
        (1, "not-an-address", None),
    ],
)
def test_client_address(settings, proxies, forwarded, expected):
    settings.PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_a_garbage_forwarded_for_behind_a_proxy_is_refused_not_a_server_error(settings, client, fenced):
    settings.PROXY_COUNT = 1
    _, auth = fenced
    response = client.get(CAMPAIGNS, REMOTE_ADDR="172.16.0.2", HTTP_X_FORWARDED_FOR="<script>", **auth)
    assert response.status_code == 401


def test_compose_trusts_no_forwarded_header_by_default():
    """gunicorn is published directly by docker-compose: no proxy stands in front unless one is added."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert compose["x-app"]["environment"]["PROXY_COUNT"] == "${PROXY_COUNT:-0}"
