import json
import time
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns.models import Asset, Campaign, Election, Platform
from detection.triage import group_attach_to_campaign
from reports import services
from reports.models import Report, ReportStatus, Scope
from reports.visibility import Audience

from .conftest import overflowing_boxes, pdf_text, pdf_to_pngs, read

pytestmark = pytest.mark.django_db

GREEN = Audience(clearance="GREEN")


def last_30_days() -> tuple[date, date]:
    today = timezone.localdate()
    return today - timedelta(days=29), today


def demo_period() -> tuple[date, date]:
    """From 2022 to today: the span in which the demo's campaigns, claims, takedown and scored group live."""
    return date(2022, 1, 1), timezone.localdate()


@pytest.mark.slow
def test_demo_report_as_html_and_pdf(demo_catalogue, scoring_group):
    # confirmed into a campaign a GREEN audience sees: only then may the report name the group's accounts
    group_attach_to_campaign(group=scoring_group, campaign=Campaign.objects.filter(tlp="CLEAR").order_by("pk").first())
    start, end = demo_period()
    began = time.perf_counter()
    report = services.report_build(scope=Scope.GLOBAL, object_id=None, start=start, end=end, audience=GREEN)
    seconds = time.perf_counter() - began
    print(f"demo report built and rendered in {seconds:.2f} s")

    content = report.content
    assert report.tlp == "GREEN"  # CLEAR catalogue, GREEN scoring sample: the most restrictive of the two
    assert content["figures"]["campaigns"] == Campaign.objects.count()
    assert content["figures"]["actors"] == 4
    assert content["matrix"]["cells"] and sum(map(sum, content["matrix"]["cells"])) >= 7
    assert {t["id"] for t in content["tactics"] if t["count"]} == {"TA06", "TA16", "TA17"}
    totals = {t["platform"]: t["accounts_removed"] for t in content["takedowns"]["totals"]}
    assert totals["Facebook"] == 7704 and set(totals) == {row["platform"] for row in content["takedowns"]["rows"]}
    removed = {r["surface"]: r["accounts"] for r in content["figures"]["removed"]}
    assert removed == {"Facebook": 7704, "Instagram": 15}  # apart, as Meta publishes them; never 7,719
    assert content["groups"][0]["confirmed"] and content["groups"][0]["size"] == 24
    assert [a["handle"] for a in content["groups"][0]["accounts"]] == ["member_0", "member_1"]
    listed = [(a["platform"], a["identifier"]) for a in content["indicators"]["accounts"]]
    assert {"100", "101"} <= {identifier for _, identifier in listed} and len(listed) == len(set(listed))
    assert content["narratives"][0]["name"] == "A DPP government brings economic harm to Taiwan"
    assert "Between" in report.summary and f"{Campaign.objects.count()} campaigns" in report.summary

    html = read(report.html_file)
    for heading in (
        "Summary",
        "Campaigns active in the period",
        "Actors and elections",
        "DISARM tactics and techniques",
        "Narratives",
        "Attribution claims made in the period",
        "Takedowns",
        "Coordinated groups",
        "What changed since the previous report",
        "Appendix: indicators",
        "Method",
    ):
        assert f"<h2>{heading}</h2>" in html
    assert html.count('src="data:image/png;base64,') == 3
    assert "7,704" in html
    assert "7,719" not in html
    appendix = html[html.index("<h2>Appendix: indicators</h2>") :]
    assert '<td class="ioc">100</td>' in appendix and '<td class="ioc">101</td>' in appendix  # the group, as assets

    pages = pdf_text(report.pdf_file.path)
    assert len(pages) >= 4
    assert "Global threat report" in pages[0] and "Threat report".upper() in pages[0].upper()
    for number, page in enumerate(pages, start=1):
        assert "TLP:GREEN" in page, f"page {number} has no marking banner"
        assert f"Page {number} of {len(pages)}" in page
    pngs = pdf_to_pngs(report.pdf_file.path, "demo-global")
    assert len(pngs) == len(pages)
    assert overflowing_boxes(html) == []


@pytest.mark.slow
def test_long_hostile_and_cjk_content_stays_inside_the_page(demo_catalogue):
    campaign = Campaign.objects.get(name__startswith="PRC information campaigns")
    facebook = Platform.objects.get(code="facebook")
    for i in range(12):
        Asset.objects.create(
            asset_type="account",
            platform=facebook,
            campaign=campaign,
            followers=1234 * i,
            identifier=f"台灣真相_{i}_<b>x</b>_" + "averyveryverylonghandlewithoutanybreakpoints" * 2,
            url=f"https://www.facebook.com/profile.php?id=1000{i}&ref=" + "q" * 150,
        )
    for i in range(9):
        election = Election.objects.create(
            name=f"Municipal election number {i} of a country with a long name",
            country="FR",
            election_type="local",
            election_day=date(2024, 3, i + 1),
        )
        campaign.elections.add(election)
    narrative = campaign.narratives.order_by("pk").first()
    narrative.summary = "民進黨執政導致台灣經濟受損 <script>alert(1)</script> " + "長" * 300
    narrative.save()
    start, end = demo_period()
    report = services.report_build(scope=Scope.GLOBAL, object_id=None, start=start, end=end, audience=GREEN)
    html = read(report.html_file)
    assert "<script>alert(1)</script>" not in html and "台灣真相_0" in html
    assert overflowing_boxes(html) == []
    pages = pdf_text(report.pdf_file.path)
    assert all("TLP:CLEAR" in page for page in pages)
    pdf_to_pngs(report.pdf_file.path, "stress-global")


def test_building_twice_updates_one_report(demo_catalogue):
    start, end = last_30_days()
    first = services.report_build(
        scope=Scope.GLOBAL, object_id=None, start=start, end=end, audience=GREEN, rerender=False
    )
    Campaign.objects.filter(name__startswith="Cuban").update(status="active")
    second = services.report_build(
        scope=Scope.GLOBAL, object_id=None, start=start, end=end, audience=GREEN, rerender=False
    )
    assert second.pk == first.pk
    assert Report.objects.count() == 1
    statuses = {c["name"]: c["status"] for c in Report.objects.get().content["campaigns"]}
    assert statuses["Cuban efforts to influence the US 2022 midterm elections"] == "Active"


def test_edited_summary_survives_a_rebuild_and_a_published_report_stays(demo_catalogue, no_pdf):
    start, end = last_30_days()
    kwargs = dict(scope=Scope.GLOBAL, object_id=None, start=start, end=end, audience=GREEN)
    report = services.report_build(**kwargs, rerender=False)
    services.report_summary_update(report=report, summary="An editor's summary.")
    report = services.report_build(**kwargs)
    assert report.summary == "An editor's summary."
    assert "An editor&#x27;s summary." in read(report.html_file)
    services.report_publish(report=report)
    built_at = Report.objects.get().built_at
    services.report_build(**kwargs, rerender=False)
    assert Report.objects.get().built_at == built_at
    assert Report.objects.get().status == ReportStatus.PUBLISHED


def test_what_changed_is_read_from_the_history_between_the_two_period_ends(demo_catalogue):
    election = Campaign.objects.get(name__startswith="PRC information campaigns").elections.first()
    audience = Audience(clearance="GREEN")
    kwargs = dict(scope=Scope.ELECTION, object_id=election.pk, audience=audience, rerender=False)
    services.report_build(**kwargs, start=date(2023, 11, 1), end=date(2023, 11, 30))
    december = services.report_build(**kwargs, start=date(2023, 12, 1), end=date(2023, 12, 31))
    changes = december.content["changes"]
    assert changes["previous"]["start"] == "2023-11-01" and changes["since"] == "2023-11-30"
    # The demo catalogue was entered today: its history holds nothing between the two period ends.
    assert changes["items"] == []
    assert changes["sentences"] == ["Nothing this audience may see changed since the previous report."]


def test_build_report_command(demo_catalogue, capsys, no_pdf):
    call_command("build_report", "--scope", "global", "--period", "2024-01-01..2024-01-31", "--audience", "GREEN")
    out = capsys.readouterr().out
    assert "Global threat report, 1 January 2024 to 31 January 2024" in out
    report = Report.objects.get()
    assert json.loads(read(report.json_file))["marking"] == report.tlp
    for bad in (["--scope", "planet:1"], ["--scope", "election:99999"], ["--period", "2024-02-01..2024-01-01"]):
        args = {"--scope": "global", "--period": "2024-01-01..2024-01-31"}
        args.update(dict(zip(bad[::2], bad[1::2], strict=True)))
        with pytest.raises(CommandError):
            call_command("build_report", *[x for pair in args.items() for x in pair])
    with pytest.raises(CommandError):
        call_command("build_report", "--scope", "global", "--period", "2024-01-01..2024-01-31", "--audience", "RED")
