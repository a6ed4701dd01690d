import json
from datetime import timedelta

import pytest
from django.utils import timezone
from stix2validator import ValidationOptions, validate_string

from campaigns.vocabularies import TLP_STIX_IDS
from reports import services
from reports.models import Scope
from reports.visibility import Audience

from .conftest import read

pytestmark = pytest.mark.django_db


def test_stix_bundle_of_the_demo_report_validates(demo_catalogue, scoring_group, no_pdf):
    today = timezone.localdate()
    report = services.report_build(
        scope=Scope.GLOBAL,
        object_id=None,
        start=today - timedelta(days=29),
        end=today,
        audience=Audience(clearance="GREEN"),
    )
    text = read(report.stix_file)
    result = validate_string(text, ValidationOptions(strict=False))
    assert result.is_valid, [str(e) for e in result.errors]
    assert not [w for w in result.warnings or [] if "{103}" in str(w)], "ids of SDOs and SROs should be UUIDv4"

    bundle = json.loads(text)
    by_type: dict[str, list] = {}
    for obj in bundle["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    (stix_report,) = by_type["report"]
    assert stix_report["name"] == report.title
    assert stix_report["object_marking_refs"] == [TLP_STIX_IDS["GREEN"]]
    referenced = set(stix_report["object_refs"])
    assert {f"campaign--{c['stix_uuid']}" for c in report.content["campaigns"]} <= referenced
    assert {
        o["id"] for o in by_type["threat-actor"] + by_type["intrusion-set"] + by_type["attack-pattern"]
    } <= referenced
    markings = {m["id"]: m for m in by_type["marking-definition"]}
    assert set(markings) <= set(TLP_STIX_IDS.values()) and TLP_STIX_IDS["GREEN"] in markings
    for marking in markings.values():
        tlp = marking["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"]["tlp_2_0"]
        assert marking["id"] == TLP_STIX_IDS[tlp.upper()]
    for obj in bundle["objects"]:
        if obj["type"] not in ("marking-definition", "identity"):
            assert obj["object_marking_refs"][0] in markings

    again = services.report_build(
        scope=Scope.GLOBAL,
        object_id=None,
        start=today - timedelta(days=29),
        end=today,
        audience=Audience(clearance="GREEN"),
    )
    assert json.loads(read(again.stix_file))["objects"][-1]["id"] == stix_report["id"]
