"""The partner API: authentication, one error format, same 404 for hidden and missing, filters, pages,
throttling, audit log, related fields, sample submission, OpenAPI schema."""

import codecs
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from detection.models import ImportStatus, RejectedRow, Sample, SampleImport
from partners import services
from partners.api.pagination import CursorPages
from partners.models import ApiKey, AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def test_schema_builds_with_no_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_docs_page_and_schema_are_served(client):
    assert client.get("/api/v1/docs/").status_code == 200
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")


def test_anonymous_and_unknown_keys_get_401_in_the_one_error_format(world, client):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer eit_0000_nope"}, {"HTTP_AUTHORIZATION": "Basic !!"}):
        response = client.get("/api/v1/campaigns/", **headers)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"
        assert set(response.json()["error"]) >= {"status", "code", "detail"}


def test_revocation_takes_effect_on_the_next_request(world):
    key, raw = services.api_key_create(organisation=world.orgs["b"], name="temp")
    client = world.client("amber_b")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    assert client.get("/api/v1/campaigns/").status_code == 200
    services.credential_revoke(credential=key)
    assert client.get("/api/v1/campaigns/").status_code == 401
    assert AuditEvent.objects.filter(action=AuditAction.KEY_REVOKED, credential=key.prefix).exists()
    assert AuditEvent.objects.filter(action=AuditAction.KEY_REFUSED, credential=key.prefix).exists()


def test_expiry_allow_list_last_use_and_new_address(world, client):
    expired, raw_expired = services.api_key_create(
        organisation=world.orgs["b"], name="old", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get("/api/v1/campaigns/", HTTP_AUTHORIZATION=f"Bearer {raw_expired}").status_code == 401
    fenced, raw = services.api_key_create(organisation=world.orgs["b"], name="fenced", allowed_networks=["10.0.0.0/8"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/campaigns/", REMOTE_ADDR="192.0.2.7", **auth).status_code == 401
    assert client.get("/api/v1/campaigns/", REMOTE_ADDR="10.1.2.3", **auth).status_code == 200
    client.get("/api/v1/campaigns/", REMOTE_ADDR="10.1.2.3", **auth)
    fenced.refresh_from_db()
    assert fenced.last_used_at is not None and fenced.last_used_from == "10.1.2.3"
    new_address = AuditEvent.objects.filter(action=AuditAction.KEY_NEW_ADDRESS, credential=fenced.prefix)
    assert list(new_address.values_list("address", flat=True)) == ["10.1.2.3"]


def test_a_hidden_object_and_a_missing_one_answer_the_same_404(world):
    client = world.client("green")
    hidden = client.get(f"/api/v1/campaigns/{world.objects[('campaign', 'RED')].pk}/")
    missing = client.get("/api/v1/campaigns/99999999/")
    junk = client.get("/api/v1/campaigns/not-a-number/")
    assert hidden.status_code == missing.status_code == junk.status_code == 404
    assert hidden.content == missing.content == junk.content
    assert {k: v for k, v in hidden.items() if k != "Date"} == {k: v for k, v in missing.items() if k != "Date"}


def test_filters_on_hidden_and_missing_objects_answer_the_same(world):
    client = world.client("green")
    hidden = client.get(f"/api/v1/campaigns/?actor={world.objects[('actor', 'RED')].pk}")
    missing = client.get("/api/v1/campaigns/?actor=99999999")
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json() == missing.json()
    assert hidden.json()["error"]["fields"]["actor"]


def test_related_objects_render_only_when_visible(world):
    green_campaign = world.objects[("campaign", "GREEN")]
    as_green = world.client("green").get(f"/api/v1/campaigns/{green_campaign.pk}/").json()
    assert as_green["actor"] is None  # its actor is RED
    assert {n["name"] for n in as_green["narratives"]} == {"CNRYnarrativeGREENQ"}
    as_alice = world.client("red_person").get(f"/api/v1/campaigns/{green_campaign.pk}/").json()
    assert as_alice["actor"]["name"] == "CNRYactorREDQ"


def test_cursor_pages_at_most_500(world):
    assert CursorPages.max_page_size == 500
    client = world.client("researcher")
    first = client.get("/api/v1/sources/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    assert len(client.get("/api/v1/sources/?page_size=100000").json()["results"]) == 5
    assert "count" not in first


def test_ordering_only_on_listed_fields(world):
    client = world.client("researcher")
    names = [r["name"] for r in client.get("/api/v1/actors/?ordering=name").json()["results"]]
    assert names == sorted(names)
    default = client.get("/api/v1/actors/").json()["results"]
    assert client.get("/api/v1/actors/?ordering=description").json()["results"] == default


def test_json_only(world):
    response = world.client("amber_a").get("/api/v1/campaigns/", HTTP_ACCEPT="text/html")
    assert response.status_code == 406 and response["Content-Type"] == "application/json"


def test_throttling_is_per_organisation(world, settings):
    settings.PARTNER_API_RATE = "3/minute"
    cache.clear()
    key, raw = services.api_key_create(organisation=world.orgs["a"], name="second key of A")
    first, second = world.client("amber_a"), world.client("amber_a")
    second.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    codes = [c.get("/api/v1/sources/").status_code for c in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]
    assert world.client("amber_b").get("/api/v1/sources/").status_code == 200
    assert second.get("/api/v1/sources/").json()["error"]["code"] == "throttled"


def test_reads_of_amber_and_above_are_audited_and_the_log_is_append_only(world):
    reads = AuditEvent.objects.filter(action=AuditAction.READ)
    world.client("green").get("/api/v1/actors/")  # CLEAR and GREEN only: nothing to log
    assert not reads.exists()
    amber = world.objects[("actor", "AMBER")]
    world.client("amber_b").get(f"/api/v1/actors/{amber.pk}/")
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.object_ids, event.tlp, event.organisation) == (
        AuditAction.READ,
        [amber.pk],
        "AMBER",
        world.orgs["b"],
    )
    world.client("researcher").get(f"/api/v1/actors/{amber.pk}/")
    assert AuditEvent.objects.latest("pk") == event  # researchers' reads are not partner reads
    with pytest.raises(Exception, match="append-only"):
        event.save()
    with pytest.raises(Exception, match="append-only"):
        event.delete()
    with pytest.raises(Exception, match="append-only"):
        AuditEvent.objects.all().update(tlp="CLEAR")
    with pytest.raises(Exception, match="append-only"):
        AuditEvent.objects.all().delete()


CSV = (
    "platform,post_id,account_id,created_at,text\nx,1,a,2024-01-01T00:00:00Z,hello\nx,2,b,2024-01-01T00:00:05Z,hello\n"
)


def test_sample_submission_answers_202_with_the_job_url(world, django_capture_on_commit_callbacks, celery_in_process):
    client = world.client("amber_a")
    upload = SimpleUploadedFile("posts.csv", CSV.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        # B's sample's name: names are unique per owner, so it comes back as given, like any free name (no oracle)
        response = client.post("/api/v1/samples/", {"name": "CNRYsampleownbQ", "tlp": "AMBER", "file": upload})
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["job"]["url"]
    sample = Sample.objects.get(pk=body["sample"]["id"])
    assert sample.owner == world.orgs["a"] and sample.name == "CNRYsampleownbQ"
    # A's own sample's name is refused, naming A's own sample and how to add a file to it
    upload = SimpleUploadedFile("posts.csv", CSV.encode(), content_type="text/csv")
    own = client.post("/api/v1/samples/", {"name": "CNRYsampleownaQ", "tlp": "AMBER", "file": upload})
    assert own.status_code == 400
    own_sample = world.objects[("sample", "own_a")]
    assert f"/api/v1/samples/{own_sample.pk}/imports/" in own.json()["error"]["fields"]["name"][0]
    job = client.get(body["job"]["url"])
    assert job.status_code == 200 and job.json()["status"] == ImportStatus.DONE
    assert job.json()["inserted"] == 2
    assert world.client("amber_b").get(body["sample"]["url"]).status_code == 404
    again = SimpleUploadedFile("more.csv", CSV.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(f"/api/v1/samples/{sample.pk}/imports/", {"file": again})
    assert added.status_code == 202
    assert len(client.get(f"/api/v1/samples/{sample.pk}/imports/").json()["results"]) == 2
    assert AuditEvent.objects.filter(action=AuditAction.SUBMIT, organisation=world.orgs["a"]).count() == 2


def test_sample_submission_needs_a_submitting_role_and_ownership(world):
    upload = SimpleUploadedFile("posts.csv", CSV.encode(), content_type="text/csv")
    reader = world.client("red_colleague").post("/api/v1/samples/", {"name": "x", "file": upload})
    assert reader.status_code == 403
    shared = world.objects[("sample", "strict_a_to_s")]
    upload = SimpleUploadedFile("posts.csv", CSV.encode(), content_type="text/csv")
    not_owner = world.client("strict_recipient").post(f"/api/v1/samples/{shared.pk}/imports/", {"file": upload})
    assert not_owner.status_code == 403
    hidden = world.objects[("sample", "own_b")]
    upload = SimpleUploadedFile("posts.csv", CSV.encode(), content_type="text/csv")
    assert world.client("amber_a").post(f"/api/v1/samples/{hidden.pk}/imports/", {"file": upload}).status_code == 404
    invalid = world.client("amber_a").post("/api/v1/samples/", {"name": "no file"})
    assert invalid.status_code == 400 and "file" in invalid.json()["error"]["fields"]


def test_keys_are_stored_as_digests_only(world):
    key, raw = services.api_key_create(organisation=world.orgs["a"], name="check")
    stored = ApiKey.objects.get(pk=key.pk)
    assert raw not in {stored.digest, stored.prefix} and len(stored.digest) == 64
    assert raw.split("_", 2)[2] not in stored.digest


def test_related_records_shown_with_a_read_are_audited_too(world):
    green_campaign = world.objects[("campaign", "GREEN")]
    world.client("red_person").get(f"/api/v1/campaigns/{green_campaign.pk}/")
    event = AuditEvent.objects.filter(action=AuditAction.READ).latest("pk")
    assert event.tlp == "RED" and f"campaigns.threatactor:{world.objects[('actor', 'RED')].pk}" in event.object_ids


def test_rejected_rows_download_as_utf8_csv_with_a_bom_through_the_api_and_the_admin(world, client):
    job = SampleImport.objects.get(sample=world.objects[("sample", "own_a")])
    RejectedRow.objects.create(sample_import=job, line=7, field="text", reason="台灣: not a time", raw="x,選舉,=1+1")
    expected = ["line,field,reason,raw", '2,created_at,bad,"x,1,CNRYsampleownaQ"']
    expected.append('7,text,台灣: not a time,"x,選舉,=1+1"')

    def rows(response) -> list[str]:
        assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
        body = b"".join(response.streaming_content)
        assert body.startswith(codecs.BOM_UTF8)
        return body[len(codecs.BOM_UTF8) :].decode("utf-8").splitlines()

    assert rows(world.client("amber_a").get(f"/api/v1/imports/{job.pk}/rejected/", HTTP_ACCEPT="text/csv")) == expected
    assert rows(world.client("amber_a").get(f"/api/v1/imports/{job.pk}/rejected/")) == expected
    hidden = world.client("amber_b").get(f"/api/v1/imports/{job.pk}/rejected/", HTTP_ACCEPT="text/csv")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"

    admin = get_user_model().objects.create_superuser("admin-csv", password="x-unused-password-9")
    client.force_login(admin)
    assert rows(client.get(reverse("admin:detection_sampleimport_rejects", args=[job.pk]))) == expected
