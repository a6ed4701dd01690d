"""STIX 2.1 exports: valid bundles (stix2-validator), TLP 2.0 markings, derived markings, DISARM ids, MISP."""

import json

import pytest
from stix2validator import ValidationOptions, validate_string

from campaigns.vocabularies import TLP_OPENCTI_IDS, TLP_STIX_IDS
from partners.stix import sid

from ..conftest import require

pytestmark = pytest.mark.django_db


def validate(body: bytes):
    results = validate_string(body.decode(), ValidationOptions(version="2.1"))
    return results.errors or [], results.is_valid


@pytest.mark.parametrize("flavour", ["oasis", "opencti"])
def test_exported_bundles_pass_the_validator(world, flavour):
    checked = 0
    for persona in ("researcher", "amber_a", "red_person", "strict_recipient"):
        client = world.client(persona)
        urls = [f"/api/v1/stix/?markings={flavour}", f"/api/v1/campaigns/stix/?markings={flavour}"]
        urls += [f"/api/v1/campaigns/{world.objects[('campaign', t)].pk}/stix/?markings={flavour}" for t in ("CLEAR",)]
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (persona, url)
            errors, valid = validate(response.content)
            assert errors == [] and valid, (persona, url, errors)
            checked += 1
    assert checked == 12


def test_markings_are_tlp_2_with_oasis_ids_or_opencti_ids(world):
    bundle = world.client("researcher").get("/api/v1/stix/").json()
    definitions = {o["id"]: o for o in bundle["objects"] if o["type"] == "marking-definition"}
    assert set(definitions) == set(TLP_STIX_IDS.values())
    assert (
        definitions[TLP_STIX_IDS["AMBER+STRICT"]]["extensions"][
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
        ]["tlp_2_0"]
        == "amber+strict"
    )
    red_campaign = sid("campaign", world.objects[("campaign", "RED")])
    by_id = {o["id"]: o for o in bundle["objects"]}
    assert by_id[red_campaign]["object_marking_refs"] == [TLP_STIX_IDS["RED"]]
    opencti = world.client("researcher").get("/api/v1/stix/?markings=opencti").json()
    assert {o["id"] for o in opencti["objects"] if o["type"] == "marking-definition"} == set(TLP_OPENCTI_IDS.values())


def test_relationships_carry_the_most_restrictive_marking_and_need_both_ends(world):
    green_campaign = sid("campaign", world.objects[("campaign", "GREEN")])
    red_actor = sid("threat-actor", world.objects[("actor", "RED")])

    def links(persona):
        bundle = world.client(persona).get("/api/v1/stix/").json()
        return [
            o
            for o in bundle["objects"]
            if o["type"] == "relationship" and (o["source_ref"], o["target_ref"]) == (green_campaign, red_actor)
        ]

    assert links("green") == [] and links("amber_a") == []
    (link,) = links("researcher")
    assert link["object_marking_refs"] == [TLP_STIX_IDS["RED"]]
    assert len(links("red_person")) == 1


def test_disarm_techniques_are_attack_patterns_with_external_ids(world):
    campaign = world.objects[("campaign", "CLEAR")]
    bundle = world.client("clear").get(f"/api/v1/campaigns/{campaign.pk}/stix/").json()
    (pattern,) = [o for o in bundle["objects"] if o["type"] == "attack-pattern"]
    assert pattern["external_references"][0] == {"source_name": "DISARM", "external_id": "T0049"}
    types = {o["type"] for o in bundle["objects"]}
    assert {"campaign", "threat-actor", "intrusion-set", "narrative", "location", "identity", "relationship"} <= types


def test_one_object_export_of_a_hidden_object_is_a_404(world):
    red = world.objects[("campaign", "RED")]
    assert world.client("red_colleague").get(f"/api/v1/campaigns/{red.pk}/stix/").status_code == 404
    assert world.client("red_person").get(f"/api/v1/campaigns/{red.pk}/stix/").status_code == 200


def test_misp_stix_converts_a_bundle_into_an_event(world):
    try:
        import stix2
        from misp_stix_converter import ExternalSTIX2toMISPParser
    except ImportError as exc:  # installed from requirements-misp.txt (no-deps: its pycountry pin is stale)
        require(False, f"misp-stix is not installed: {exc}")
    response = world.client("amber_a").get("/api/v1/stix/?opencti_types=false")
    parser = ExternalSTIX2toMISPParser()
    parser.load_stix_bundle(stix2.parse(response.content.decode(), allow_custom=True))
    parser.parse_stix_bundle(single_event=True)
    assert not any(parser.errors.values()), dict(parser.errors)
    event = json.loads(parser.misp_event.to_json())
    text = json.dumps(event)
    assert "CNRYcampaignAMBERQ" in text and "CNRYcampaignREDQ" not in text
    assert event["Galaxy"], "the campaign, actor and attack-pattern become galaxy clusters"
