"""Submissions through a real WSGI server (Django's live server, wsgiref as under `make run`), not the test
client: the server refuses any header value that is not a plain str."""

import pytest
import requests

from detection.models import Sample, SampleImport, ScoringRun
from partners import services
from partners.models import Organisation

CSV = b"platform,post_id,account_id,created_at,text\nx,1,a,2024-01-01T00:00:00Z,hi\nx,2,b,2024-01-01T00:00:05Z,hi\n"


@pytest.fixture
def api(transactional_db, live_server):
    """A caller of the live server with an organisation's API key."""
    organisation = Organisation.objects.create(name="Org Live", slug="org-live")
    services.clearance_set(organisation=organisation, ceiling="AMBER")
    key = services.api_key_create(organisation=organisation, name="live")[1]

    def call(method: str, url: str, **kwargs) -> requests.Response:
        absolute = url if url.startswith("http") else f"{live_server.url}/api/v1{url}"
        return requests.request(method, absolute, headers={"Authorization": f"Bearer {key}"}, timeout=60, **kwargs)

    return call


def test_every_submission_answers_202_with_a_plain_location_through_wsgiref(api, live_server, celery_in_process):
    submitted = api("POST", "/samples/", data={"name": "live", "tlp": "AMBER"}, files={"file": ("p.csv", CSV)})
    assert submitted.status_code == 202, submitted.text
    job_url = submitted.headers["Location"]
    assert job_url == submitted.json()["job"]["url"] and job_url.startswith(f"{live_server.url}/api/v1/imports/")
    assert api("GET", job_url).json()["status"] == "done"
    sample = Sample.objects.get()
    assert (sample.name, SampleImport.objects.count()) == ("live", 1)

    added = api("POST", f"/samples/{sample.pk}/imports/", files={"file": ("more.csv", CSV)})
    assert added.status_code == 202, added.text
    assert added.headers["Location"] == added.json()["job"]["url"]
    assert api("GET", added.headers["Location"]).status_code == 200
    assert SampleImport.objects.count() == 2

    started = api("POST", f"/samples/{sample.pk}/runs/", json={"window_s": 30})
    assert started.status_code == 202, started.text
    assert started.headers["Location"] == started.json()["url"]
    assert started.headers["Location"].startswith(f"{live_server.url}/api/v1/runs/")
    assert api("GET", started.headers["Location"]).status_code == 200
    assert ScoringRun.objects.count() == 1 and Sample.objects.count() == 1
