"""STIX 2.1 exports: valid bundles (stix2-validator), TLP 2.0 markings, derived markings, DISARM ids, MISP."""

import json

import pytest
from stix2validator import ValidationOptions, validate_string

from campaigns.api.taxii import collection_id
from partners.markings import TLP_OPENCTI_IDS, TLP_STIX_IDS
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


LEVEL_OF = {marking_id: level for level, marking_id in TLP_STIX_IDS.items()}


def level(obj: dict) -> str:
    (marking,) = obj["object_marking_refs"]
    return LEVEL_OF[marking]


@pytest.fixture
def secret_claim(world):
    """A RED claim, named to Alice, by a claimant no other claim names, on a CLEAR campaign and a CLEAR actor:
    only the claim itself makes what is derived from it RED."""
    from campaigns.models import AttributionClaim
    from partners import services

    claim = AttributionClaim.objects.create(
        claimant="CNRYclaimantREDQ",
        claimant_category="government",
        actor=world.objects[("actor", "CLEAR")],
        campaign=world.objects[("campaign", "CLEAR")],
        title="secret",
        tlp="RED",
    )
    services.share_create(target=claim, user=world.users["alice"])
    return claim


def identities_named(bundle: dict, name: str) -> list[dict]:
    return [o for o in bundle["objects"] if o["type"] == "identity" and o["name"] == name]


def test_a_red_claims_claimant_is_red_and_absent_where_the_claim_is_not_seen(world, secret_claim):
    for persona in ("red_person", "researcher"):
        client = world.client(persona)
        one = client.get(f"/api/v1/claims/{secret_claim.pk}/stix/").json()
        (claimant,) = identities_named(one, secret_claim.claimant)
        assert level(claimant) == "RED"
        everything = client.get("/api/v1/stix/").json()
        assert [level(i) for i in identities_named(everything, secret_claim.claimant)] == ["RED"]
        (relationship,) = [o for o in everything["objects"] if o["id"] == sid("relationship", secret_claim)]
        assert relationship["created_by_ref"] == claimant["id"] and level(relationship) == "RED"
        red = client.get(f"/api/v1/taxii2/root/collections/{collection_id('RED')}/objects/").json()["objects"]
        assert claimant["id"] in {o["id"] for o in red}
        for tlp in ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT"):
            collection = client.get(f"/api/v1/taxii2/root/collections/{collection_id(tlp)}/objects/")
            assert secret_claim.claimant not in collection.content.decode(), tlp
    for persona in ("clear", "green", "amber_a", "strict_recipient", "red_colleague"):
        client = world.client(persona)
        assert client.get(f"/api/v1/claims/{secret_claim.pk}/stix/").status_code == 404
        assert secret_claim.claimant not in client.get("/api/v1/stix/").content.decode(), persona
        for tlp in ("CLEAR", "GREEN", "AMBER"):
            collection = client.get(f"/api/v1/taxii2/root/collections/{collection_id(tlp)}/objects/")
            assert secret_claim.claimant not in collection.content.decode(), (persona, tlp)


def test_a_claimant_named_at_several_markings_has_an_identity_per_marking(world):
    """Every claim of the world is Meta's, once per marking: each claim is authored by the identity of its
    marking, so that the CLEAR claim's author stays CLEAR and the RED claim's is RED."""
    bundle = world.client("researcher").get("/api/v1/stix/").json()
    by_id = {o["id"]: o for o in bundle["objects"]}
    metas = identities_named(bundle, "Meta")
    assert sorted(level(m) for m in metas) == sorted(TLP_STIX_IDS)
    for tlp in TLP_STIX_IDS:
        claim = world.objects[("claim", tlp)]
        made = [by_id[i] for i in (sid("relationship", claim), sid("note", claim)) if i in by_id]
        assert made and all(level(by_id[o["created_by_ref"]]) == tlp for o in made), tlp


@pytest.mark.parametrize("persona", ["researcher", "red_person", "amber_a", "green"])
def test_no_object_cites_lists_or_joins_anything_more_restrictive_than_itself(world, persona):
    order = list(TLP_STIX_IDS)
    bundle = world.client(persona).get("/api/v1/stix/").json()
    by_id = {o["id"]: o for o in bundle["objects"]}
    sources = {s.title: s.tlp for (kind, _), s in world.objects.items() if kind == "source"}
    checked = 0
    for obj in bundle["objects"]:
        if obj["type"] in ("marking-definition", "extension-definition"):
            continue
        refs = [*obj.get("object_refs", []), obj.get("source_ref"), obj.get("target_ref"), obj.get("created_by_ref")]
        for ref in filter(None, refs):
            assert order.index(level(by_id[ref])) <= order.index(level(obj)), (obj["id"], ref)
            checked += 1
        for cited in obj.get("external_references", []):
            if cited.get("description") in sources:
                assert order.index(sources[cited["description"]]) <= order.index(level(obj)), (obj["id"], cited)
    assert checked > 20
    green_campaign = by_id.get(sid("campaign", world.objects[("campaign", "GREEN")]))
    if green_campaign:  # it cites the RED source, which must not be shown inside a GREEN object
        assert "CNRYsourceREDQ" not in json.dumps(green_campaign)


def test_a_takedown_lists_no_more_restrictive_record_and_links_it_by_a_relationship_of_its_marking(world):
    from campaigns.models import Takedown

    red_campaign = world.objects[("campaign", "RED")]
    takedown = Takedown.objects.create(
        platform=world.objects[("takedown", "CLEAR")].platform,
        announced_on="2024-03-01",
        actor=world.objects[("actor", "CLEAR")],
        campaign=red_campaign,
        tlp="CLEAR",
    )
    report_id, campaign_id = sid("report", takedown), sid("campaign", red_campaign)
    for persona in ("red_person", "clear"):
        bundle = world.client(persona).get(f"/api/v1/takedowns/{takedown.pk}/stix/").json()
        by_id = {o["id"]: o for o in bundle["objects"]}
        assert level(by_id[report_id]) == "CLEAR"
        assert by_id[report_id]["object_refs"] == [sid("threat-actor", world.objects[("actor", "CLEAR")])]
        links = [o for o in bundle["objects"] if o.get("source_ref") == report_id and o["target_ref"] == campaign_id]
        assert [level(link) for link in links] == (["RED"] if persona == "red_person" else [])
