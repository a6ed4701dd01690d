"""Bad input anywhere in the API is a 400 in the one error format, with plain strings only: crafted cursors
on every paginated list, malformed TAXII times and numbers, nested validation errors."""

import base64
import json

import pytest

from campaigns.api.taxii import collection_id
from tracker.api_urls import router

pytestmark = pytest.mark.django_db

INVALID_CURSOR_PREFIX = "Not a cursor of this list"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CRAFTED_CURSORS = [
    b64("p=abc"),
    b64("p=1e999"),
    b64("p=99999999999999999999999999"),
    b64("p=-99999999999999999999999999"),
    b64("p=2026-02-30T00:00:00Z"),
    b64("p=9999-12-31T23:59:59-23:59"),
    b64("p=a%00b"),
    b64("o=1e999"),
    b64("o=" + "9" * 5000),
    b64("r=abc"),
    "not base64!",
    "台灣",
    "%00",
]
BAD_TIMES = [
    "2026-02-30T00:00:00Z",
    "2026-13-45T00:00:00Z",
    "2024-01-01T00:00:00+99:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "yesterday",
    "台灣",
]
BAD_NUMBERS = ["1e999", "abc", "9" * 5000, "1.5", "台灣"]


def assert_plain_error(response, status: int, field: str | None = None) -> dict:
    """The one error format, every message a str (no repr of Python objects)."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) <= {"status", "code", "detail", "fields"} and error["status"] == status
    assert isinstance(error["detail"], str)
    for name, messages in error.get("fields", {}).items():
        assert isinstance(name, str) and isinstance(messages, list) and messages
        for message in messages:
            assert isinstance(message, str) and "ErrorDetail" not in message and "{" not in message, message
    if field is not None:
        assert field in error.get("fields", {}), error
    return error


def paginated_lists(world) -> list[tuple[str, list[str]]]:
    """Every paginated list route with the orderings it offers (a cursor's position is a value of the first)."""
    routes = [
        (f"/api/v1/{prefix}/", [""] + [f"ordering={f}" for f in getattr(viewset, "ordering_fields", None) or []])
        for prefix, viewset, _ in router.registry
    ]
    sample = world.objects[("sample", "own_a")]
    group = world.results[("group", "own_a")]
    routes += [
        (f"/api/v1/samples/{sample.pk}/imports/", [""]),
        (f"/api/v1/samples/{sample.pk}/runs/", [""]),
        (f"/api/v1/groups/{group.pk}/edges/", [""]),
    ]
    return routes


def test_crafted_cursors_are_a_400_on_every_paginated_list(world):
    """Under the default ordering (by id) every crafted cursor is refused; under another ordering a cursor whose
    position is a value of that field (`abc` for a name) is a cursor like any other, and the rest are refused."""
    client = world.client("researcher")
    refused = 0
    for url, orderings in paginated_lists(world):
        assert client.get(url).status_code == 200, url
        for ordering in orderings:
            for cursor in CRAFTED_CURSORS:
                params = {"cursor": cursor, **dict([ordering.split("=")] if ordering else [])}
                response = client.get(url, params)
                if ordering and response.status_code == 200:
                    continue
                error = assert_plain_error(response, 400, "cursor")
                assert error["fields"]["cursor"][0].startswith(INVALID_CURSOR_PREFIX), (url, ordering, cursor)
                refused += 1
    assert refused > 18 * len(CRAFTED_CURSORS)


def test_the_cursors_a_list_hands_out_still_work(world):
    client = world.client("researcher")
    for ordering in ("", "name", "-created_at"):
        seen, url = [], "/api/v1/campaigns/?page_size=2" + (f"&ordering={ordering}" if ordering else "")
        while url:
            page = client.get(url)
            assert page.status_code == 200, page.content
            seen += [c["id"] for c in page.json()["results"]]
            url = page.json()["next"]
        assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize("endpoint", ["objects", "manifest"])
def test_taxii_refuses_malformed_times_and_numbers_with_a_400(world, endpoint):
    client = world.client("red_person")
    url = f"/api/v1/taxii2/root/collections/{collection_id('CLEAR')}/{endpoint}/"
    assert client.get(url, {"added_after": "2024-01-13T00:00:00Z"}).status_code == 200
    for value in BAD_TIMES:
        assert_plain_error(client.get(url, {"added_after": value}), 400, "added_after")
    for name in ("limit", "next"):
        for value in BAD_NUMBERS:
            assert_plain_error(client.get(url, {name: value}), 400, name)


def test_nested_validation_errors_are_plain_strings_not_reprs(world):
    sample = world.objects[("sample", "own_a")]
    response = world.client("amber_a").post(
        f"/api/v1/samples/{sample.pk}/runs/", json.dumps({"behaviours": ["x"]}), content_type="application/json"
    )
    error = assert_plain_error(response, 400, "behaviours")
    assert error["fields"] == {"behaviours": ['0: "x" is not a valid choice.']}
