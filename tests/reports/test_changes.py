"""What changed since the previous report comes from the catalogue's history, as each audience may know it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import AttributionClaim, Campaign, Narrative, Platform, Takedown
from partners.models import Clearance, Organisation
from reports import services
from reports.models import Scope
from reports.visibility import Audience

from ..campaigns.factories import CampaignFactory, ElectionFactory, ThreatActorFactory
from .conftest import AMBER, STRICT, canary, overflowing_boxes, pdf_text, pdf_to_pngs, read, squash

pytestmark = pytest.mark.django_db

GREEN_AUDIENCE, AMBER_AUDIENCE = Audience(clearance="GREEN"), Audience(clearance="AMBER")


def backdate_history(days: int) -> None:
    """Move every recorded change of the catalogue `days` back, as if the records had been entered then."""
    when = timezone.now() - timedelta(days=days)
    for model in (Campaign, Narrative, AttributionClaim, Takedown):
        model.history.update(history_date=when)


@pytest.fixture
def two_reports(no_pdf):
    """An election's GREEN and AMBER reports of last week, then changes this week, then this week's reports."""
    today = timezone.localdate()
    election = ElectionFactory(name="Visible election", tlp="GREEN")
    actor = ThreatActorFactory(name="Visible actor", tlp="GREEN")
    described = CampaignFactory(name="Described campaign", actor=actor, tlp="GREEN", summary="First words.")
    raised = CampaignFactory(name=canary(AMBER, "Raised"), actor=actor, tlp="GREEN", summary="Still green.")
    for campaign in (described, raised):
        campaign.elections.set([election])
    takedown = Takedown.objects.create(
        platform=Platform.objects.get(code="facebook"),
        announced_on=today - timedelta(days=10),
        campaign=described,
        tlp="GREEN",
        accounts_removed=40,
    )
    backdate_history(days=20)

    def build(audience: Audience, start, end):
        return services.report_build(
            scope=Scope.ELECTION, object_id=election.pk, start=start, end=end, audience=audience
        )

    last_week = today - timedelta(days=13), today - timedelta(days=7)
    first = {audience: build(audience, *last_week) for audience in (GREEN_AUDIENCE, AMBER_AUDIENCE)}

    described.summary = "Second words: the campaign now runs on LINE as well."
    described.save()
    described.narratives.add(Narrative.objects.create(name="Elections are rigged", tlp="GREEN"))
    AttributionClaim.objects.create(
        claimant="Taiwan's National Security Bureau",
        title="The network is run from abroad",
        claimant_category="government",
        campaign=described,
        actor=actor,
        tlp="GREEN",
    )
    AttributionClaim.objects.create(
        claimant=canary(AMBER, "Claimant"), claimant_category="media", campaign=described, actor=actor, tlp=AMBER
    )
    takedown.delete()
    raised.tlp = AMBER
    raised.save()

    this_week = today - timedelta(days=6), today
    second = {audience: build(audience, *this_week) for audience in (GREEN_AUDIENCE, AMBER_AUDIENCE)}
    return first, second


def changed(report) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {
        (item["record"], item["name"], item["change"], tuple(item["fields"]))
        for item in report.content["changes"]["items"]
    }


def test_first_report_of_a_scope_has_no_previous_one(two_reports):
    first, _ = two_reports
    for report in first.values():
        assert report.content["changes"]["previous"] is None
        assert report.content["changes"]["items"] == []


def test_green_audience_hears_of_what_it_may_see_and_nothing_of_a_raised_campaign(two_reports):
    first, second = two_reports
    report = second[GREEN_AUDIENCE]
    changes = report.content["changes"]
    assert changes["previous"]["id"] == first[GREEN_AUDIENCE].pk
    assert changed(report) == {
        ("campaign", "Described campaign", "updated", ("narratives", "summary")),
        ("narrative", "Elections are rigged", "created", ()),
        ("claim", "Taiwan's National Security Bureau: The network is run from abroad", "created", ()),
        ("takedown", f"Facebook takedown, {timezone.localdate() - timedelta(days=10)}", "deleted", ()),
    }
    assert "Campaigns: 1 updated." in changes["sentences"]
    assert "Narratives: 1 created." in changes["sentences"]
    assert "Takedowns: 1 deleted." in changes["sentences"]
    for text in (read(report.html_file), read(report.json_file), read(report.stix_file)):
        assert squash(canary(AMBER, "Raised")) not in squash(text)
        assert squash(canary(AMBER, "Claimant")) not in squash(text)
    html = read(report.html_file)
    assert "<h2>What changed since the previous report</h2>" in html
    assert "Described campaign" in html and "deleted" in html


def test_amber_audience_also_hears_of_the_amber_changes(two_reports):
    _, second = two_reports
    report = second[AMBER_AUDIENCE]
    items = changed(report)
    assert ("campaign", canary(AMBER, "Raised"), "updated", ("TLP",)) in items
    assert ("claim", canary(AMBER, "Claimant"), "created", ()) in items
    assert ("campaign", "Described campaign", "updated", ("narratives", "summary")) in items
    assert len(items) == 6


def test_a_record_shared_with_the_audience_since_is_listed_without_its_changes(two_reports):
    _, second = two_reports
    raised = Campaign.objects.get(name=canary(AMBER, "Raised"))
    raised.tlp = "GREEN"
    raised.summary = "Edited while it was AMBER."
    raised.save()
    Campaign.history.filter(id=raised.pk, tlp=AMBER).update(history_date=timezone.now() - timedelta(days=9))
    report = second[GREEN_AUDIENCE]
    rebuilt = services.report_build(
        scope=Scope.ELECTION,
        object_id=report.election_id,
        start=report.period_start,
        end=report.period_end,
        audience=GREEN_AUDIENCE,
    )
    assert ("campaign", canary(AMBER, "Raised"), "shared", ()) in changed(rebuilt)


def test_a_listed_change_counts_in_the_report_marking(no_pdf):
    today = timezone.localdate()
    election = ElectionFactory(name="Visible election", tlp="GREEN")
    campaign = CampaignFactory(
        name="Green campaign", tlp="GREEN", first_seen=today - timedelta(days=30), last_seen=today
    )
    campaign.elections.set([election])
    takedown = Takedown.objects.create(
        platform=Platform.objects.get(code="x"), announced_on=today - timedelta(days=10), campaign=campaign, tlp=AMBER
    )
    backdate_history(days=20)
    kwargs = dict(scope=Scope.ELECTION, object_id=election.pk, audience=AMBER_AUDIENCE)
    first = services.report_build(**kwargs, start=today - timedelta(days=13), end=today - timedelta(days=7))
    assert first.tlp == AMBER  # the AMBER takedown was announced in that week
    takedown.delete()
    second = services.report_build(**kwargs, start=today - timedelta(days=6), end=today)
    assert not second.content["takedowns"]["rows"]
    assert [(i["record"], i["change"]) for i in second.content["changes"]["items"]] == [("takedown", "deleted")]
    assert second.tlp == AMBER


def test_an_organisation_hears_of_changes_to_its_own_amber_strict_campaign_and_no_other_does(no_pdf):
    today = timezone.localdate()
    owner, other = (Organisation.objects.create(name=f"{slug} lab", slug=slug) for slug in ("owner", "other"))
    for organisation in (owner, other):
        Clearance.objects.create(organisation=organisation, ceiling="GREEN")
    election = ElectionFactory(name="Visible election", tlp="GREEN")
    strict = CampaignFactory(name=canary(STRICT, "Owned"), tlp=STRICT, owner=owner)
    strict.elections.set([election])
    backdate_history(days=20)
    audiences = (Audience(organisation=owner), Audience(organisation=other))

    def build(audience, start, end):
        return services.report_build(
            scope=Scope.ELECTION, object_id=election.pk, start=start, end=end, audience=audience
        )

    for audience in audiences:
        build(audience, today - timedelta(days=13), today - timedelta(days=7))
    strict.summary = "Edited by its owner."
    strict.save()
    own, theirs = (build(audience, today - timedelta(days=6), today) for audience in audiences)
    assert changed(own) == {("campaign", canary(STRICT, "Owned"), "updated", ("summary",))}
    assert own.tlp == STRICT
    assert changed(theirs) == set()
    for text in (read(theirs.html_file), read(theirs.json_file), read(theirs.stix_file)):
        assert squash(canary(STRICT, "Owned")) not in squash(text)


@pytest.mark.slow
def test_what_changed_section_fits_the_page(two_reports, tmp_path):
    from weasyprint import HTML

    _, second = two_reports
    html = read(second[AMBER_AUDIENCE].html_file)
    assert overflowing_boxes(html) == []
    pdf = tmp_path / "changes.pdf"
    HTML(string=html).write_pdf(pdf)
    assert any("What changed since the previous report" in page for page in pdf_text(pdf))
    pdf_to_pngs(pdf, "changes-amber")
