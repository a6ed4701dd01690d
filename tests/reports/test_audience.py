"""An audience's version of a report holds only what that audience may see, in every output."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import vocabularies as vocab
from campaigns.models import Asset, AttributionClaim, Narrative, Platform, Source, Takedown
from detection.models import CoordinatedGroup, Sample, ScoringRun
from partners.models import Clearance, Organisation
from reports import selectors, services
from reports.models import Scope
from reports.visibility import Audience

from ..campaigns.factories import CampaignFactory, ElectionFactory, OperationFactory, ThreatActorFactory
from .conftest import pdf_text, read

pytestmark = pytest.mark.django_db

AMBER, RED, STRICT = "AMBER", "RED", "AMBER+STRICT"
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def canary(level: str, what: str) -> str:
    return f"Canary{level.replace('+', '')}{what}Zq"


@pytest.fixture
def planted():
    """A GREEN catalogue with AMBER, AMBER+STRICT and RED objects planted in and around it."""
    owner = Organisation.objects.create(name="Owner lab", slug="owner-lab")
    Clearance.objects.create(organisation=owner, ceiling="GREEN")
    other = Organisation.objects.create(name="Other lab", slug="other-lab")
    Clearance.objects.create(organisation=other, ceiling="GREEN")

    actor = ThreatActorFactory(name="Visible actor", tlp="GREEN")
    amber_actor = ThreatActorFactory(name=canary(AMBER, "Actor"), tlp=AMBER)
    amber_operation = OperationFactory(name=canary(AMBER, "Operation"), actor=actor, tlp=AMBER)
    election = ElectionFactory(name="Visible election", tlp="GREEN")
    amber_election = ElectionFactory(name=canary(AMBER, "Election"), tlp=AMBER)
    red_narrative = Narrative.objects.create(name=canary(RED, "Narrative"), tlp=RED)
    green_narrative = Narrative.objects.create(name="VisibleGreenNarrative", tlp="GREEN")
    amber_source = Source.objects.create(title=canary(AMBER, "Source"), publisher="Somebody", tlp=AMBER)
    today = timezone.localdate()

    green = CampaignFactory(
        name=f"VisibleGreenCampaign {HOSTILE}",
        actor=amber_actor,
        operation=amber_operation,
        tlp="GREEN",
        first_seen=today - timedelta(days=10),
        last_seen=today,
    )
    green.elections.set([election, amber_election])
    green.narratives.set([red_narrative, green_narrative])
    green.sources.set([amber_source])
    plain = CampaignFactory(name="VisiblePlainCampaign", actor=actor, tlp="CLEAR")
    plain.elections.set([election])
    amber = CampaignFactory(name=canary(AMBER, "Campaign"), actor=actor, tlp=AMBER, summary=canary(AMBER, "Summary"))
    amber.elections.set([election])
    CampaignFactory(name=canary(RED, "Campaign"), actor=actor, tlp=RED)
    CampaignFactory(name=canary(STRICT, "Campaign"), actor=actor, tlp=STRICT, owner=owner)

    claim = dict(claimant_category="government", campaign=green, actor=actor)
    AttributionClaim.objects.create(claimant=canary(RED, "Claimant"), tlp=RED, **claim)
    AttributionClaim.objects.create(claimant=canary(AMBER, "Claimant"), tlp=AMBER, **claim)
    AttributionClaim.objects.create(
        claimant="VisibleGreenClaimant",
        tlp="GREEN",
        source=amber_source,
        claimant_category="government",
        campaign=green,
        actor=amber_actor,
    )
    facebook = Platform.objects.get(code="facebook")
    Takedown.objects.create(
        platform=facebook,
        announced_on=today,
        campaign=green,
        tlp=AMBER,
        notes=canary(AMBER, "Takedown"),
        accounts_removed=987_654,
    )
    Takedown.objects.create(platform=facebook, announced_on=today, campaign=green, tlp="GREEN", accounts_removed=12)
    Asset.objects.create(asset_type="domain", identifier=f"{canary(RED, 'Domain')}.example", campaign=green, tlp=RED)
    Asset.objects.create(
        asset_type="account",
        platform=facebook,
        identifier=canary(AMBER, "Account"),
        campaign=green,
        tlp=AMBER,
        url=f"https://{canary(AMBER, 'Url')}.example/page",
    )
    Asset.objects.create(asset_type="domain", identifier="visible-green-domain.example", campaign=green, tlp="GREEN")

    for tlp, number, size in ((AMBER, 1, 777), ("GREEN", 2, 31)):
        sample = Sample.objects.create(name=f"Sample {tlp}", tlp=tlp, platforms=["x"])
        run = ScoringRun.objects.create(sample=sample, engine_version="t", status="done", finished_at=timezone.now())
        CoordinatedGroup.objects.create(run=run, number=number, score=0.8, size=size, behaviours=["co_reshare"])
    return {"owner": owner, "other": other, "today": today}


CANARIES = {
    level: [
        canary(level, what)
        for what in (
            "Actor",
            "Operation",
            "Election",
            "Source",
            "Campaign",
            "Summary",
            "Claimant",
            "Takedown",
            "Account",
            "Url",
            "Narrative",
            "Domain",
        )
    ]
    for level in (AMBER, RED, STRICT)
}
VISIBLE = [
    "VisibleGreenCampaign",
    "VisiblePlainCampaign",
    "VisibleGreenNarrative",
    "VisibleGreenClaimant",
    "visible-green-domain",
]
VISIBLE_IN_STIX = ["VisibleGreenCampaign", "VisiblePlainCampaign", "visible-green-domain", "Visible actor"]


def _squash(text: str) -> str:
    """Lower case letters and digits only: line breaks and hyphenation in PDF text cannot hide a canary."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def outputs(report) -> dict[str, str]:
    return {
        "html": read(report.html_file),
        "pdf": "\n".join(pdf_text(report.pdf_file.path)),
        "json": read(report.json_file),
        "stix": read(report.stix_file),
    }


def build(audience: Audience, today):
    return services.report_build(
        scope=Scope.GLOBAL, object_id=None, start=today - timedelta(days=6), end=today, audience=audience
    )


@pytest.mark.slow
def test_green_report_holds_no_amber_or_red_canary(planted):
    report = build(Audience(clearance="GREEN"), planted["today"])
    assert report.tlp == "GREEN"
    texts = outputs(report)
    for kind, text in texts.items():
        squashed = _squash(text)
        for level in (AMBER, RED, STRICT):
            for planted_string in CANARIES[level]:
                assert _squash(planted_string) not in squashed, f"{planted_string} leaked into the {kind}"
        for visible in VISIBLE if kind != "stix" else VISIBLE_IN_STIX:
            assert _squash(visible) in squashed, f"{visible} missing from the {kind}: the check would be vacuous"
    assert "987654" not in _squash(texts["json"]) and "777" not in json.dumps(report.content["groups"])
    assert [g["size"] for g in report.content["groups"]] == [31]
    assert HOSTILE not in texts["html"] and "&lt;script&gt;" in texts["html"]
    campaign = next(c for c in report.content["campaigns"] if c["name"].startswith("VisibleGreen"))
    assert campaign["actor"]["name"] == "(withheld)" and campaign["operation"]["name"] == "(withheld)"


@pytest.mark.slow
def test_amber_report_holds_amber_but_never_red_or_strict(planted):
    report = build(Audience(clearance="AMBER"), planted["today"])
    assert report.tlp == AMBER
    for kind, text in outputs(report).items():
        squashed = _squash(text)
        assert _squash(canary(AMBER, "Campaign")) in squashed
        for planted_string in CANARIES[RED] + CANARIES[STRICT]:
            assert _squash(planted_string) not in squashed, f"{planted_string} leaked into the {kind}"


@pytest.mark.slow
def test_organisation_report_holds_its_own_amber_strict_objects_only(planted):
    strict = _squash(canary(STRICT, "Campaign"))
    own = build(Audience(organisation=planted["owner"]), planted["today"])
    theirs = build(Audience(organisation=planted["other"]), planted["today"])
    assert own.tlp == STRICT and strict in _squash(outputs(own)["json"])
    assert theirs.tlp == "GREEN"
    for text in outputs(theirs).values():
        assert strict not in _squash(text)
        assert _squash(canary(AMBER, "Campaign")) not in _squash(text)


def test_a_scope_hidden_from_the_audience_is_refused(planted):
    hidden = ElectionFactory(name="Hidden election", tlp=AMBER)
    with pytest.raises(services.ReportError):
        services.report_build(
            scope=Scope.ELECTION,
            object_id=hidden.pk,
            start=planted["today"],
            end=planted["today"],
            audience=Audience(clearance="GREEN"),
        )


def test_reports_visible_to_partners(planted, no_pdf):
    today = planted["today"]
    green = build(Audience(clearance="GREEN"), today)
    amber = build(Audience(clearance="AMBER"), today)
    own = build(Audience(organisation=planted["owner"]), today)
    for report in (green, amber, own):
        services.report_publish(report=report)
    assert set(selectors.reports_visible_to(planted["owner"])) == {green, own}
    assert set(selectors.reports_visible_to(planted["other"])) == {green}
    assert not selectors.reports_visible_to(None).exists()
    assert vocab.Tlp(green.tlp) == vocab.Tlp.GREEN


def test_what_changed_never_names_an_object_since_marked_above_the_audience(db, no_pdf):
    from datetime import date

    from campaigns.models import Campaign

    election = ElectionFactory(name="Visible election", tlp="GREEN")
    campaign = CampaignFactory(
        name=canary(AMBER, "Later"), tlp="GREEN", first_seen=date(2024, 1, 1), last_seen=date(2024, 1, 31)
    )
    campaign.elections.set([election])
    kwargs = dict(scope=Scope.ELECTION, object_id=election.pk, audience=Audience(clearance="GREEN"))
    first = services.report_build(**kwargs, start=date(2024, 1, 1), end=date(2024, 1, 7))
    assert _squash(canary(AMBER, "Later")) in _squash(read(first.json_file))
    Campaign.objects.filter(pk=campaign.pk).update(tlp=AMBER)
    second = services.report_build(**kwargs, start=date(2024, 1, 8), end=date(2024, 1, 14))
    assert second.content["changes"]["dropped"] == 1
    for field in (second.html_file, second.json_file, second.stix_file):
        assert _squash(canary(AMBER, "Later")) not in _squash(read(field))
