"""Refused credentials and anonymous callers: throttled per client address before authentication, and each
key's refusals written to the audit log as one counted entry per address and minute."""

import time

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Sum

from partners import services
from partners.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db
CAMPAIGNS = "/api/v1/campaigns/"
LIMIT = 10


@pytest.fixture
def refusal_rate(settings):
    settings.PARTNER_API_REFUSAL_RATE = f"{LIMIT}/minute"
    settings.PROXY_COUNT = 0
    cache.clear()


@pytest.fixture
def revoked(world, refusal_rate):
    key, raw = services.api_key_create(organisation=world.orgs["a"], name="leaked and revoked")
    services.credential_revoke(credential=key)
    return key, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_revoked_key_hammering_the_api_is_throttled_and_audited_as_counted_entries(client, revoked):
    key, auth = revoked
    started = time.monotonic()
    codes = [client.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7", **auth).status_code for _ in range(150)]
    # The window is a minute: on a machine slow enough to take longer over the 150 requests, it slides past.
    windows = 1 + int((time.monotonic() - started) // 60)
    refusals = codes.count(401)
    assert 1 <= refusals <= LIMIT * windows and codes.count(429) == 150 - refusals
    entries = AuditEvent.objects.filter(action=AuditAction.KEY_REFUSED, credential=key.prefix)
    assert 1 <= entries.count() <= windows + 1  # one per minute; one more when the run straddles a minute
    assert entries.aggregate(total=Sum("count"))["total"] == refusals
    assert set(entries.values_list("address", flat=True)) == {"192.0.2.7"}


def test_the_throttled_answer_is_the_one_error_format_with_retry_after(client, revoked):
    _, auth = revoked
    for _ in range(LIMIT):
        client.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7", **auth)
    response = client.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7", **auth)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_a_throttled_address_is_answered_before_authentication(client, revoked, django_assert_num_queries):
    _, auth = revoked
    for _ in range(LIMIT):
        client.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7", **auth)
    with django_assert_num_queries(0):
        assert client.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7", **auth).status_code == 429


def test_a_wrong_key_from_one_address_does_not_throttle_a_good_key_from_another(world, client, refusal_rate):
    wrong = {"HTTP_AUTHORIZATION": "Bearer eit_000000000000_not-a-key"}
    codes = [client.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7", **wrong).status_code for _ in range(LIMIT + 5)]
    assert codes == [401] * LIMIT + [429] * 5
    good = world.client("amber_a")
    assert good.get(CAMPAIGNS, REMOTE_ADDR="198.51.100.4").status_code == 200
    assert good.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7").status_code == 429  # the address, whatever it presents


def test_anonymous_callers_are_throttled_too_and_a_forged_forwarded_for_changes_nothing(client, world, refusal_rate):
    codes = [
        client.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(LIMIT + 5)
    ]
    assert codes == [401] * LIMIT + [429] * 5


def test_granted_requests_are_not_counted_as_refusals(world, refusal_rate):
    client = world.client("amber_a")
    assert {client.get(CAMPAIGNS).status_code for _ in range(LIMIT + 5)} == {200}


def test_the_counted_entry_is_the_only_change_the_audit_log_allows(client, revoked):
    key, auth = revoked
    for _ in range(3):
        client.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7", **auth)
    entries = AuditEvent.objects.filter(action=AuditAction.KEY_REFUSED, credential=key.prefix)
    assert entries.aggregate(total=Sum("count"))["total"] == 3
    entry = entries.first()
    with pytest.raises(PermissionDenied):
        AuditEvent.objects.filter(pk=entry.pk).update(count=1)
    with pytest.raises(PermissionDenied):
        entry.save()
    assert AuditEvent.objects.filter(action=AuditAction.KEY_REVOKED).refusals_add() == 0
    assert AuditEvent.objects.get(action=AuditAction.KEY_REVOKED, credential=key.prefix).count == 1


def test_each_address_and_reason_has_its_own_counted_entry(world, client, refusal_rate):
    key, raw = services.api_key_create(organisation=world.orgs["b"], name="fenced", allowed_networks=["10.0.0.0/8"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    for address in ("192.0.2.7", "192.0.2.7", "198.51.100.4"):
        assert client.get(CAMPAIGNS, REMOTE_ADDR=address, **auth).status_code == 401
    services.credential_revoke(credential=key)
    client.get(CAMPAIGNS, REMOTE_ADDR="192.0.2.7", **auth)
    entries = AuditEvent.objects.filter(action=AuditAction.KEY_REFUSED, credential=key.prefix)
    counted = entries.values_list("address", "detail").annotate(total=Sum("count")).order_by("address", "detail")
    assert list(counted) == [
        ("192.0.2.7", "address not allowed", 2),
        ("192.0.2.7", "revoked or expired", 1),
        ("198.51.100.4", "address not allowed", 1),
    ]
