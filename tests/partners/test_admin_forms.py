"""The partners admin: a credential's allowed networks as lines of text, an organisation's country from ISO 3166."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from partners.models import ApiKey, Organisation
from tests.campaigns.test_dossier import assert_no_json_literal, form_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client):
    user = get_user_model().objects.create_superuser("keeper", "k@example.org", "not-used-here-123")
    client.force_login(user)
    return client


def test_allowed_networks_are_lines_stored_as_the_same_list(admin_client_logged_in):
    client = admin_client_logged_in
    org = Organisation.objects.create(name="Org A", slug="org-a", country="TW")
    add = reverse("admin:partners_apikey_add")
    refused = client.post(add, {"organisation": org.pk, "name": "k", "allowed_networks": "192.0.2.0/24\nnot-a-net"})
    assert refused.status_code == 200 and "Not a network (CIDR block or address): not-a-net" in refused.content.decode()
    assert not ApiKey.objects.exists()

    response = client.post(
        add, {"organisation": org.pk, "name": "k", "allowed_networks": " 192.0.2.0/24\n2001:db8::/32, 198.51.100.7\n"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    key = ApiKey.objects.get()
    assert key.allowed_networks == ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]

    url = reverse("admin:partners_apikey_change", args=[key.pk])
    fields = form_fields(client, url, "apikey_form")
    assert fields.widgets["allowed_networks"] == "textarea"
    assert fields.data["allowed_networks"] == ["192.0.2.0/24\n2001:db8::/32\n198.51.100.7"]
    assert_no_json_literal(fields)
    assert client.post(url, fields.data).status_code == 302
    key.refresh_from_db()
    assert key.allowed_networks == ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]


def test_an_organisation_country_is_chosen_from_iso_3166(admin_client_logged_in):
    client = admin_client_logged_in
    org = Organisation.objects.create(name="Org B", slug="org-b", country="TW")
    url = reverse("admin:partners_organisation_change", args=[org.pk])
    fields = form_fields(client, url, "organisation_form")
    assert fields.widgets["country"] == "select"
    assert fields.data["country"] == ["TW"]
    assert {"", "TW", "DE"} <= set(fields.options["country"])
    assert client.post(url, {**fields.data, "country": "XX"}).status_code == 200
    assert client.post(url, fields.data).status_code == 302
    org.refresh_from_db()
    assert org.country == "TW"
