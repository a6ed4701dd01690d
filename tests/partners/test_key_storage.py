"""No API key or personal token appears in plaintext anywhere in a database dump."""

import os
import shutil
import subprocess

import pytest
from django.apps import apps
from django.core import serializers
from django.db import connection

from ..conftest import require
from .conftest import build_world


@pytest.fixture
def committed_world(transactional_db):
    return build_world()


def orm_dump() -> str:
    """Every row of every table the project knows, as JSON (history and through tables included)."""
    parts = []
    for model in apps.get_models(include_auto_created=True):
        parts.append(serializers.serialize("json", model._base_manager.all()))
    return "\n".join(parts)


def test_no_key_in_plaintext_in_a_dump(committed_world, client):
    raws = list(committed_world.keys.values())
    for raw in raws:  # use every key once, so last-use and audit rows exist too
        client.get("/api/v1/sources/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    secrets = [raw.split("_", 2)[2] for raw in raws]
    dump = orm_dump()
    assert all(s[:16] not in dump for s in secrets)
    assert all(raw not in dump for raw in raws)
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump checks PostgreSQL only")
    require(shutil.which("pg_dump") is not None, "pg_dump is not installed")
    settings = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    command = ["pg_dump", "--data-only", "-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432)]
    command += ["-U", settings["USER"] or "postgres", settings["NAME"]]
    pg = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=True).stdout
    assert "CNRYcampaignREDQ" in pg  # the dump holds the world
    assert all(s[:16] not in pg for s in secrets)


@pytest.mark.django_db
def test_the_admin_shows_a_new_key_once_and_keeps_only_its_digest(client, django_user_model):
    from partners.models import ApiKey, Organisation
    from partners.selectors import credential_lookup

    admin = django_user_model.objects.create_superuser("root", password="a-long-unused-password")
    client.force_login(admin)
    org = Organisation.objects.create(name="Org K", slug="org-k")
    response = client.post(
        "/admin/partners/apikey/add/",
        {"organisation": org.pk, "name": "connector", "allowed_networks": ""},
        follow=True,
    )
    assert response.status_code == 200
    (message,) = [str(m) for m in response.context["messages"] if "shown only this once" in str(m)]
    raw = message.rsplit(" ", 1)[1]
    key = ApiKey.objects.get()
    assert credential_lookup(raw) == key and raw not in (key.digest, key.prefix)
    page = client.get(f"/admin/partners/apikey/{key.pk}/change/").content.decode()
    assert raw not in page and raw.split("_", 2)[2] not in page
    client.post("/admin/partners/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert client.get("/admin/partners/auditevent/").status_code == 200
    assert client.get("/admin/partners/auditevent/add/").status_code == 403
