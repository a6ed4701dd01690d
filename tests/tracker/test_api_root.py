"""/api/v1/ lists the collections and the kernel's routes and links the docs; it names routes only, so it is public."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

COLLECTIONS = {
    "actors",
    "operations",
    "elections",
    "campaigns",
    "narratives",
    "techniques",
    "sources",
    "claims",
    "takedowns",
    "samples",
    "imports",
    "runs",
    "groups",
    "account-scores",
    "reports",
}


def test_the_root_lists_every_collection_and_the_docs_without_a_key(client):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    body = response.json()
    assert set(body["collections"]) == COLLECTIONS
    assert body["collections"]["campaigns"] == "http://testserver" + reverse("api:campaign-list")
    assert body["documentation"]["swagger"]["url"] == "http://testserver/api/v1/docs/"
    assert body["documentation"]["openapi"]["url"] == "http://testserver/api/v1/schema/"
    assert body["routes"]["taxii"]["url"] == "http://testserver/api/v1/taxii2/"


def test_every_listed_link_answers_and_collections_still_need_a_key(client):
    body = client.get("/api/v1/").json()
    for url in body["collections"].values():
        assert client.get(url).status_code == 401, url
    assert client.get(body["documentation"]["openapi"]["url"]).status_code == 200


def test_an_unknown_path_still_answers_the_json_404(client):
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404 and response.json()["error"]["status"] == 404
