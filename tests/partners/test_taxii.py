"""TAXII 2.1: the taxii2-client package reads the collections of a running server and gets exactly what the
persona may see; added_after filters."""

import pytest
import requests

from campaigns.stix import stix_ids_of

from .conftest import CATALOGUE_AUDIENCE, build_world


class Bearer(requests.auth.AuthBase):
    def __init__(self, key: str):
        self.key = key

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.key}"
        return request


@pytest.fixture
def live_world(transactional_db):
    return build_world()


RECORD_TYPES = {"threat-actor", "intrusion-set", "campaign", "narrative", "report", "channel"}


def expected_ids(world, persona: str) -> tuple[set[str], set[str]]:
    """The record objects and the claim relationships the persona may see, from the world's audiences."""
    records = [o for (kind, tlp), o in world.objects.items() if kind != "sample" and persona in CATALOGUE_AUDIENCE[tlp]]
    ids = set(stix_ids_of(records))
    return {i for i in ids if i.split("--")[0] in RECORD_TYPES}, {i for i in ids if i.startswith("relationship--")}


def all_claim_relationships(world) -> set[str]:
    return {i for (kind, _), o in world.objects.items() if kind == "claim" for i in stix_ids_of([o])}


@pytest.mark.parametrize("persona", ["red_person", "strict_recipient"])
def test_taxii2_client_reads_exactly_what_the_persona_may_see(live_world, live_server, persona):
    from taxii2client.v21 import Server

    world = live_world
    server = Server(f"{live_server.url}/api/v1/taxii2/", auth=Bearer(world.keys[persona]))
    (root,) = server.api_roots
    titles = {c.title for c in root.collections}
    got, seen_by_level = set(), {}
    for collection in root.collections:
        envelope = collection.get_objects()
        objects = envelope.get("objects", [])
        level = collection.title.removeprefix("TLP:")
        seen_by_level[level] = objects
        got |= {o["id"] for o in objects}
    expected_records, expected_claims = expected_ids(world, persona)
    assert {i for i in got if i.split("--")[0] in RECORD_TYPES} == expected_records
    assert got & all_claim_relationships(world) == expected_claims
    # every relationship joins two objects the persona may see
    visible = got
    for objects in seen_by_level.values():
        for o in objects:
            if o["type"] == "relationship":
                assert o["source_ref"] in visible and o["target_ref"] in visible
    expected_titles = {
        "red_person": {"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"},
        "strict_recipient": {"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER+STRICT"},
    }[persona]
    assert titles == expected_titles
    latest = max(o.get("modified", o.get("created")) for objs in seen_by_level.values() for o in objs)
    for collection in root.collections:
        assert collection.get_objects(added_after=latest).get("objects", []) == []
