import json
from datetime import date, timedelta

import pytest
from django.utils import timezone
from stix2validator import ValidationOptions, validate_string

from campaigns.models import Campaign
from campaigns.stix import export_bundle
from detection.triage import group_attach_to_campaign
from partners.markings import TLP_STIX_IDS
from partners.selectors import principal_for_audience
from partners.stix import CUSTOM_SDO_EXTENSION, TRACKER_IDENTITY, ts
from reports import services
from reports.models import Scope
from reports.visibility import Audience

from .conftest import AMBER, CANARIES, RED, STRICT, VISIBLE_IN_STIX, canary, read, squash

TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
MARKING_LEVELS = {marking_id: level for level, marking_id in TLP_STIX_IDS.items()}


def validated(text: str) -> dict[str, list[dict]]:
    """The bundle's objects by type, once stix2-validator finds no error and no SDO id outside UUIDv4 form."""
    result = validate_string(text, ValidationOptions(strict=False))
    assert result.is_valid, [str(e) for e in result.errors]
    # The tracker's identity and OpenCTI's extension-definition keep the partner export's ids (UUIDv5), so that
    # both exports name them alike; every id the report bundle makes itself is in UUIDv4 form.
    shared = (TRACKER_IDENTITY, CUSTOM_SDO_EXTENSION)
    not_v4 = [str(w) for w in result.warnings or [] if "{103}" in str(w) and not any(i in str(w) for i in shared)]
    assert not not_v4, "ids of SDOs and SROs should be UUIDv4"
    by_type: dict[str, list] = {}
    for obj in json.loads(text)["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    return by_type


def report_object(by_type: dict[str, list[dict]]) -> dict:
    """The report object of the bundle (takedowns are reports too, published by their platform)."""
    (report,) = [r for r in by_type["report"] if r["object_refs"] and "scope:" in " ".join(r.get("labels", []))]
    return report


pytestmark = pytest.mark.django_db


def test_stix_bundle_of_the_demo_report_validates(demo_catalogue, scoring_group, no_pdf):
    # confirmed into a campaign a GREEN audience sees: only then may the report name the group's accounts
    campaign = Campaign.objects.filter(tlp__in=["CLEAR", "GREEN"]).order_by("pk").first()
    group_attach_to_campaign(group=scoring_group, campaign=campaign)
    today = timezone.localdate()
    report = services.report_build(
        scope=Scope.GLOBAL,
        object_id=None,
        start=date(2022, 1, 1),  # the span of the demo's campaigns, claims and takedown
        end=today,
        audience=Audience(clearance="GREEN"),
    )
    bundle = json.loads(read(report.stix_file))
    by_type = validated(read(report.stix_file))
    stix_report = report_object(by_type)
    assert stix_report["name"] == report.title
    assert stix_report["object_marking_refs"] == [TLP_STIX_IDS["GREEN"]]
    referenced = set(stix_report["object_refs"])
    assert {f"campaign--{c['stix_uuid']}" for c in report.content["campaigns"]} <= referenced
    every_object = {o["id"] for o in bundle["objects"]} - {stix_report["id"]}
    every_object -= {o["id"] for o in by_type["marking-definition"] + by_type["extension-definition"]}
    assert every_object == referenced
    for campaign in Campaign.objects.all():  # the record's own times, as the partner export gives them
        (exported,) = [c for c in by_type["campaign"] if c["id"] == f"campaign--{campaign.stix_uuid}"]
        assert (exported["created"], exported["modified"]) == (ts(campaign.created_at), ts(campaign.updated_at))
    assert {"threat-actor", "intrusion-set", "attack-pattern", "narrative", "grouping", "user-account"} <= set(by_type)
    assert {f"narrative--{n['stix_uuid']}" for n in report.content["narratives"]} <= referenced
    claims = {f"relationship--{c['stix_uuid']}" for c in report.content["claims"]}
    claims |= {f"note--{c['stix_uuid']}" for c in report.content["claims"]}
    assert len(claims & referenced) == len(report.content["claims"]) > 0
    takedowns = [r for r in by_type["report"] if r is not stix_report]
    assert len(takedowns) == len(report.content["takedowns"]["rows"]) > 0
    assert any("Removed" in t["description"] and "accounts" in t["description"] for t in takedowns)
    (group,) = by_type["grouping"]
    assert group["context"] == "suspicious-activity" and group["labels"] == ["confirmed"]
    markings = {m["id"]: m for m in by_type["marking-definition"]}
    assert set(markings) <= set(TLP_STIX_IDS.values()) and TLP_STIX_IDS["GREEN"] in markings
    for marking in markings.values():
        tlp = marking["extensions"][TLP_EXTENSION]["tlp_2_0"]
        assert marking["id"] == TLP_STIX_IDS[tlp.upper()]
    for obj in bundle["objects"]:
        if obj["type"] not in ("marking-definition", "identity"):
            assert obj["object_marking_refs"][0] in markings

    again = services.report_build(
        scope=Scope.GLOBAL,
        object_id=None,
        start=date(2022, 1, 1),
        end=today,
        audience=Audience(clearance="GREEN"),
    )
    assert report_object(validated(read(again.stix_file)))["id"] == stix_report["id"]


def week_report(planted, audience: Audience):
    """The global report of the planted world's last seven days, for an audience."""
    today = planted["today"]
    return services.report_build(
        scope=Scope.GLOBAL,
        object_id=None,
        start=today - timedelta(days=6),
        end=today,
        audience=audience,
    )


def test_green_bundle_holds_the_new_types_and_no_amber_or_red_canary(planted, no_pdf):
    report = week_report(planted, Audience(clearance="GREEN"))
    text = read(report.stix_file)
    by_type = validated(text)
    squashed = squash(text)
    for level in (AMBER, RED, STRICT):
        for planted_string in CANARIES[level]:
            assert squash(planted_string) not in squashed, f"{planted_string} leaked into the STIX bundle"
    for visible in VISIBLE_IN_STIX:
        assert squash(visible) in squashed, f"{visible} missing from the STIX bundle: the check would be vacuous"
    for obj in (o for objects in by_type.values() for o in objects):
        for marking in obj.get("object_marking_refs", []):
            assert MARKING_LEVELS[marking] in ("CLEAR", "GREEN"), f"{obj['id']} is marked {MARKING_LEVELS[marking]}"

    (named,) = [r for r in by_type["relationship"] if r.get("confidence") is not None]
    assert named["relationship_type"] == "attributed-to" and named["confidence"] == 85
    assert named["source_ref"].startswith("campaign--") and named["target_ref"].startswith("threat-actor--")
    claimants = {i["id"]: i["name"] for i in by_type["identity"]}
    assert claimants[named["created_by_ref"]] == "VisibleNamedClaimant"
    (withheld_actor,) = by_type["note"]  # the GREEN claim names an AMBER actor: a note on the campaign instead
    assert claimants[withheld_actor["created_by_ref"]] == "VisibleGreenClaimant"
    assert [o.split("--")[0] for o in withheld_actor["object_refs"]] == ["campaign"]
    (group,) = by_type["grouping"]
    (member,) = [a for a in by_type["user-account"] if a["id"] in group["object_refs"]]
    assert member["account_login"] == "VisibleMember" and member["account_type"] == "twitter"
    domains = {d["value"] for d in by_type["domain-name"]}
    assert domains == {"visible-green-domain.example", "visible-website.example"}
    assert {u["value"] for u in by_type["url"]} == {"https://Visible-Website.example/news"}
    assert (
        len(report_object(by_type)["object_refs"])
        == sum(len(v) for k, v in by_type.items() if k not in ("marking-definition", "extension-definition")) - 1
    )


def test_an_owner_organisation_bundle_marks_its_amber_strict_campaign(planted, no_pdf):
    report = week_report(planted, Audience(organisation=planted["owner"]))
    by_type = validated(read(report.stix_file))
    (strict,) = [c for c in by_type["campaign"] if c["name"] == canary(STRICT, "Campaign")]
    assert strict["object_marking_refs"] == [TLP_STIX_IDS["AMBER+STRICT"]]
    assert report_object(by_type)["object_marking_refs"] == [TLP_STIX_IDS["AMBER+STRICT"]]
    assert not [
        o for objects in by_type.values() for o in objects if TLP_STIX_IDS["RED"] in o.get("object_marking_refs", [])
    ]


def test_a_claimants_identity_carries_its_claims_marking(planted, no_pdf):
    report = week_report(planted, Audience(clearance="AMBER"))
    by_type = validated(read(report.stix_file))
    identities = {i["name"]: MARKING_LEVELS[i["object_marking_refs"][0]] for i in by_type["identity"]}
    assert identities[canary(AMBER, "Claimant")] == "AMBER"
    assert identities["VisibleNamedClaimant"] == "GREEN"
    assert identities["VisibleGreenClaimant"] == "AMBER"  # its claim cites an AMBER source
    assert canary(RED, "Claimant") not in identities


def test_a_record_has_the_same_stix_id_in_the_catalogue_export_and_in_a_report(demo_catalogue, no_pdf):
    """Both exports name a record, and what is derived from records alone (a technique's attack-pattern, a
    platform's identity, the relationships between records), alike: importing both merges them."""
    report = services.report_build(
        scope=Scope.GLOBAL,
        object_id=None,
        start=date(2022, 1, 1),
        end=timezone.localdate(),
        audience=Audience(clearance="GREEN"),
    )
    in_report = {o["id"]: o for o in json.loads(read(report.stix_file))["objects"]}
    catalogue, _ = export_bundle(principal_for_audience("GREEN"))
    in_catalogue = {o["id"]: o for o in catalogue["objects"]}

    made_from_records = ("threat-actor", "intrusion-set", "campaign", "narrative", "attack-pattern")
    shared = {i for i, o in in_report.items() if o["type"] in made_from_records}
    assert {in_report[i]["type"] for i in shared} == set(made_from_records)
    assert shared <= set(in_catalogue)
    assert all(in_catalogue[i]["name"] == in_report[i]["name"] for i in shared)
    for campaign in report.content["campaigns"]:
        assert f"campaign--{campaign['stix_uuid']}" in in_catalogue

    relationships = {i for i, o in in_report.items() if o["type"] == "relationship"}
    assert relationships and relationships <= set(in_catalogue)
    platforms = {o["name"]: i for i, o in in_report.items() if o["type"] == "identity" and o["name"] == "Facebook"}
    assert platforms and all(in_catalogue[i]["name"] == name for name, i in platforms.items())
