"""Every figure of a built report is what the database says of its period, counted here with plain queries.

The catalogue below has campaigns first seen before, within and after the period (and undated ones recorded in and
out of it), takedowns announced before and within it on Facebook, Instagram and X, claims made in and out of it,
indicators held by several campaigns and by a confirmed group, and records the audience may not see.
"""

from collections import defaultdict
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import pytest
from django.db.models import Q

from campaigns.models import Asset, AttributionClaim, Campaign, Operation, Platform, Takedown
from detection.models import AccountScore, CoordinatedGroup, Sample, ScoringRun, SocialAccount
from detection.triage import group_attach_to_campaign
from partners.models import Clearance, Organisation
from reports import services
from reports.models import Scope
from reports.visibility import Audience

from ..campaigns.factories import CampaignFactory, ElectionFactory, OperationFactory, ThreatActorFactory
from .conftest import read

pytestmark = pytest.mark.django_db

VISIBLE = ("CLEAR", "GREEN")
WITH_DATA = (date(2023, 11, 1), date(2024, 1, 31))
EMPTY = (date(2019, 1, 1), date(2019, 3, 31))
DOMAIN_TYPES = ("domain", "website")


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def recorded_on(record, day: date) -> None:
    """Back-date when a record was entered in the catalogue (auto_now_add cannot be set on create)."""
    type(record).objects.filter(pk=record.pk).update(created_at=at(day), updated_at=at(day))


@pytest.fixture
def catalogue(db):
    prc = ThreatActorFactory(name="People's Republic of China", tlp="CLEAR")
    russia = ThreatActorFactory(name="Russian Federation", country="RU", tlp="CLEAR")
    spamouflage = OperationFactory(name="Spamouflage", actor=prc, tlp="CLEAR")
    taiwan = ElectionFactory(name="Taiwan 2024 presidential", election_day=date(2024, 1, 13), tlp="CLEAR")
    us = ElectionFactory(name="US 2024 general", country="US", election_day=date(2024, 11, 5), tlp="CLEAR")
    facebook, instagram, x = (Platform.objects.get(code=code) for code in ("facebook", "instagram", "x"))

    def campaign(name, *, actor=prc, operation=None, election=taiwan, first=None, last=None, tlp="CLEAR", on=None):
        made = CampaignFactory(name=name, actor=actor, operation=operation, first_seen=first, last_seen=last, tlp=tlp)
        made.elections.set([election])
        made.platforms.set([facebook, x] if actor == prc else [x])
        if on:
            recorded_on(made, on)
        return made

    ongoing = campaign("Began before, still going", first=date(2023, 6, 1))
    within = campaign(
        "Began within", actor=None, operation=spamouflage, first=date(2023, 12, 1), last=date(2024, 1, 13)
    )
    campaign("Began after", first=date(2024, 3, 1))
    campaign("Ended before", actor=russia, election=us, first=date(2022, 1, 1), last=date(2023, 5, 1))
    russian = campaign(
        "Russian, began within", actor=russia, election=us, first=date(2023, 11, 15), last=date(2024, 2, 1)
    )
    campaign("Undated, recorded within", on=date(2023, 12, 10))
    campaign("Undated, recorded before", on=date(2022, 3, 1))
    campaign("Amber, began within", first=date(2023, 12, 1), tlp="AMBER")
    campaign("Old activity recorded within", first=date(2022, 1, 1), last=date(2022, 6, 1), on=date(2023, 12, 5))
    campaign("Began before, recorded within", first=date(2023, 6, 1), on=date(2023, 12, 5))

    def takedown(platform, announced, tlp="CLEAR", **kwargs):
        return Takedown.objects.create(platform=platform, announced_on=announced, tlp=tlp, **kwargs)

    takedown(facebook, date(2023, 12, 14), campaign=ongoing, accounts_removed=7704, pages_removed=954,
             groups_removed=15, instagram_accounts_removed=15, followers=560_000)  # fmt: skip
    takedown(facebook, date(2024, 1, 20), operation=spamouflage, accounts_removed=100, instagram_accounts_removed=30)
    takedown(x, date(2023, 11, 20), campaign=russian, accounts_removed=500)
    takedown(facebook, date(2023, 8, 29), campaign=ongoing, accounts_removed=9999)
    takedown(instagram, date(2024, 1, 5), campaign=within, accounts_removed=40)
    takedown(facebook, date(2023, 12, 1), campaign=within, accounts_removed=123_456, tlp="AMBER")
    takedown(facebook, date(2023, 12, 2), actor=prc, pages_removed=7)

    def claim(claimed_on=None, on=None, **kwargs):
        made = AttributionClaim.objects.create(
            claimant="Somebody", claimant_category="government", claimed_on=claimed_on, tlp="CLEAR", **kwargs
        )
        if on:
            recorded_on(made, on)

    claim(date(2023, 12, 1), campaign=ongoing, actor=prc)
    claim(date(2023, 5, 1), campaign=ongoing, actor=prc)
    claim(on=date(2023, 12, 20), campaign=russian, actor=russia)
    claim(campaign=within)
    claim(date(2024, 1, 10), operation=spamouflage, actor=prc)

    def asset(asset_type, identifier, campaign, platform=None, url=""):
        Asset.objects.create(
            asset_type=asset_type, identifier=identifier, campaign=campaign, platform=platform, url=url, tlp="CLEAR"
        )

    asset("account", "fb_troll_1", ongoing, facebook)
    asset("account", "x_troll_1", ongoing, x, url="https://x.com/x_troll_1")
    asset("domain", "news-example.tw", ongoing)
    asset("website", "https://news-example.tw/article", ongoing)
    asset("account", "fb_troll_1", within, facebook)
    asset("domain", "news-example.tw", within)
    asset("account", "x_troll_1", russian, x, url="https://x.com/x_troll_1")

    owner = Organisation.objects.create(name="Owner lab", slug="owner-lab")
    Clearance.objects.create(organisation=owner, ceiling="GREEN")
    sample = Sample.objects.create(name="Taiwan sample", tlp="GREEN", platforms=["x"], owner=owner)

    def group(number, members, *, first=None, last=None, status="confirmed"):
        run = ScoringRun.objects.create(
            sample=sample, engine_version="t", status="done", finished_at=at(date(2024, 2, 2))
        )
        made = CoordinatedGroup.objects.create(
            run=run, number=number, score=0.9 - number / 10, size=len(members), behaviours=["co_reshare"],
            status=status, first_activity=first and at(first), last_activity=last and at(last),
        )  # fmt: skip
        for i, account_id in enumerate(members):
            account, _ = SocialAccount.objects.get_or_create(
                sample=sample, platform="x", account_id=account_id, defaults={"handle": f"@{account_id}"}
            )
            AccountScore.objects.create(run=run, account=account, group=made, score=0.9 - i / 100)
        return made

    attached = group(1, [f"tw_member_{i}" for i in range(15)], first=date(2023, 12, 15), last=date(2023, 12, 20))
    group_attach_to_campaign(group=attached, campaign=within)
    group(2, ["x_troll_1", "tw_member_0", "lone_member"], first=date(2024, 1, 2), last=date(2024, 1, 9))
    group(3, ["old_member"], first=date(2021, 1, 1), last=date(2021, 1, 2))
    group(4, ["waiting_member"], first=date(2023, 12, 1), last=date(2023, 12, 2), status="new")
    return {"prc": prc, "taiwan": taiwan, "owner": owner}


def within(day, start, end) -> bool:
    return day is not None and start <= day <= end


def active(record, start, end) -> bool:
    if record.first_seen is None and record.last_seen is None:
        return within(record.created_at.date(), start, end)
    return (record.first_seen or date.min) <= end and (record.last_seen or date.max) >= start


def expected_figures(scope, obj, start, end, audience) -> dict:
    """The figures of a report, counted from the database by this test's own reading of the method note."""
    org = audience.organisation
    in_scope = Campaign.objects.filter(tlp__in=VISIBLE)
    if scope == Scope.ELECTION:
        in_scope = in_scope.filter(elections=obj)
    elif scope == Scope.ACTOR:
        in_scope = in_scope.filter(Q(actor=obj) | Q(operation__actor=obj))
    campaigns = [c for c in in_scope.distinct() if active(c, start, end)]
    about = Q()
    if scope != Scope.GLOBAL:
        about = Q(campaign__in=in_scope) | Q(operation__in=Operation.objects.filter(campaigns__in=in_scope))
    if scope == Scope.ACTOR:
        about |= Q(operation__actor=obj) | Q(actor=obj)

    claims = AttributionClaim.objects.filter(about, tlp__in=VISIBLE).filter(
        Q(claimed_on__range=(start, end)) | Q(claimed_on__isnull=True, created_at__date__range=(start, end))
    )
    takedowns = list(Takedown.objects.filter(about, tlp__in=VISIBLE, announced_on__range=(start, end)))
    removed = defaultdict(lambda: {"accounts": 0, "pages": 0, "groups": 0})
    for t in takedowns:
        own = removed[str(t.platform)]
        own["accounts"] += t.accounts_removed or 0
        own["pages"] += t.pages_removed or 0
        own["groups"] += t.groups_removed or 0
        removed["Instagram"]["accounts"] += t.instagram_accounts_removed or 0
    removed = [{"surface": name, **row} for name, row in sorted(removed.items()) if any(row.values())]

    groups = [
        g
        for g in CoordinatedGroup.objects.exclude(status="rejected").filter(run__sample__tlp__in=VISIBLE)
        if (
            g.first_activity.date() <= end and g.last_activity.date() >= start
            if g.first_activity
            else within(g.run.finished_at.date(), start, end)
        )
        and (g.campaign is None or g.campaign.tlp in VISIBLE)
        and (scope == Scope.GLOBAL or g.campaign in campaigns)
    ]

    operations = {c.operation_id for c in campaigns if c.operation_id}
    if scope == Scope.GLOBAL:
        operations |= set(Asset.objects.values_list("operation_id", flat=True))
    elif scope == Scope.ACTOR:
        operations |= {o.pk for o in obj.operations.all()}
    assets = [
        a
        for a in Asset.objects.filter(tlp__in=VISIBLE)
        if a.campaign in campaigns or (a.operation_id in operations and active(a, start, end))
    ]
    accounts = {
        (a.platform.code if a.platform else "", a.identifier.casefold())
        for a in assets
        if a.asset_type not in DOMAIN_TYPES
    }
    domains = {urlsplit(a.identifier if "://" in a.identifier else f"//{a.identifier}").hostname for a in assets
               if a.asset_type in DOMAIN_TYPES}  # fmt: skip
    urls = {a.url or a.identifier for a in assets if a.url or "://" in a.identifier}
    sample_seen = org is not None and Sample.objects.filter(owner=org).exists()
    named = set()
    for g in groups:
        if g.status != "confirmed":
            continue
        published = Asset.objects.filter(campaign=g.campaign_id, tlp__in=VISIBLE, asset_type="account")
        published = {
            (code, identifier.casefold()) for code, identifier in published.values_list("platform__code", "identifier")
        }
        for member in g.members.select_related("account"):
            key = (member.account.platform, member.account.account_id.casefold())
            if sample_seen or key in published:
                named.add(key)
    group_accounts = named - accounts

    def actor_of(c):
        return c.actor or (c.operation.actor if c.operation else None)

    return {
        "campaigns": len(campaigns),
        "new_campaigns": sum(1 for c in campaigns if within(c.first_seen or c.created_at.date(), start, end)),
        "actors": len({actor_of(c).pk for c in campaigns if actor_of(c) and actor_of(c).tlp in VISIBLE}),
        "elections": len({e.pk for c in campaigns for e in c.elections.filter(tlp__in=VISIBLE)}),
        "platforms": sorted({str(p) for c in campaigns for p in c.platforms.all()}),
        "techniques": 0,
        "narratives": 0,
        "claims": claims.count(),
        "takedowns": len(takedowns),
        "removed": removed,
        "groups": len(groups),
        "confirmed_groups": sum(1 for g in groups if g.status == "confirmed"),
        "indicators": len(accounts) + len(domains) + len(urls) + len(group_accounts),
        "empty": not (campaigns or claims.exists() or takedowns or groups or assets),
    }


def build(scope, obj, period, audience):
    start, end = period
    object_id = obj.pk if obj is not None else None
    return services.report_build(scope=scope, object_id=object_id, start=start, end=end, audience=audience)


SCOPES = [(Scope.GLOBAL, None), (Scope.ELECTION, "taiwan"), (Scope.ACTOR, "prc")]


@pytest.mark.parametrize("scope,obj_key", SCOPES)
@pytest.mark.parametrize("period", [WITH_DATA, EMPTY], ids=["with-data", "empty"])
def test_every_figure_is_counted_from_the_database(catalogue, no_pdf, scope, obj_key, period):
    obj = catalogue[obj_key] if obj_key else None
    audience = Audience(clearance="GREEN")
    report = build(scope, obj, period, audience)
    content, figures = report.content, report.content["figures"]
    expected = expected_figures(scope, obj, *period, audience)
    assert figures == expected

    rows = content["takedowns"]["rows"]
    for total in content["takedowns"]["totals"]:
        mine = [r for r in rows if r["platform"] == total["platform"]]
        assert total["takedowns"] == len(mine)
        for name in ("accounts_removed", "pages_removed", "groups_removed", "instagram_accounts_removed"):
            values = [r[name] for r in mine if r[name] is not None]
            assert total[name] == (sum(values) if values else None)
    for row in content["campaigns"]:
        campaign = Campaign.objects.get(pk=row["id"])
        assert row["change"] == (
            "new" if within(campaign.first_seen or campaign.created_at.date(), *period) else "active"
        )
    assert_unique(content["indicators"])

    summary, html = report.summary, read(report.html_file)
    if period == EMPTY:
        assert expected["empty"] and figures["empty"]
        assert summary.startswith("Nothing in this scope falls between")
        assert not any(ch.isdigit() for ch in summary.replace("1 January 2019", "").replace("31 March 2019", ""))
        assert 'class="figure"' not in html and "Nothing in this scope and period" in html
        return
    assert not figures["empty"]
    assert (
        f"{expected['campaigns']:,} campaigns ({expected['new_campaigns']:,} new in the period) were active" in summary
    )
    assert f"{expected['claims']:,} attribution claim" in summary
    removed = ", ".join(
        f"{row[kind]:,} {row['surface']} {label}{'' if row[kind] == 1 else 's'}"
        for row in expected["removed"]
        for kind, label in (("accounts", "account"), ("pages", "page"), ("groups", "group"))
        if row[kind]
    )
    head, _, last = removed.rpartition(", ")
    removed = f"{head} and {last}" if head else last
    assert f"Platforms announced {expected['takedowns']:,} takedowns in the period, removing {removed}." in summary
    assert f"{expected['groups']:,} coordinated group" in summary
    assert f"The appendix lists {expected['indicators']:,} unique indicators." in summary
    for row in expected["removed"]:
        if row["accounts"]:
            assert f"<b>{row['accounts']:,}</b>{row['surface']} account" in html
    assert f"<b>{expected['campaigns']:,}</b>campaigns active, {expected['new_campaigns']:,} new" in html


def assert_unique(indicators: dict) -> None:
    accounts = [(a["platform"], a["identifier"].casefold()) for a in indicators["accounts"]]
    accounts += [(a["platform"], a["account_id"].casefold()) for a in indicators["group_accounts"]]
    assert len(accounts) == len(set(accounts))
    domains = [d["domain"] for d in indicators["domains"]]
    assert len(domains) == len(set(domains))
    urls = [u["url"] for u in indicators["urls"]]
    assert len(urls) == len(set(urls))


def test_the_demo_story_figures_in_the_period(catalogue, no_pdf):
    """The issue's four findings, in the report of the period that holds the data."""
    report = build(Scope.GLOBAL, None, WITH_DATA, Audience(clearance="GREEN"))
    content = report.content
    changes = {c["name"]: c["change"] for c in content["campaigns"]}
    assert changes["Began before, recorded within"] == "active"  # entered during the period, not new in it
    assert "Old activity recorded within" not in changes
    assert all(row["announced_on"] >= "2023-11-01" for row in content["takedowns"]["rows"])
    facebook = next(t for t in content["takedowns"]["totals"] if t["platform"] == "Facebook")
    surfaces = {row["surface"]: row["accounts"] for row in content["figures"]["removed"]}
    assert surfaces["Facebook"] == facebook["accounts_removed"] == 7704 + 100
    assert "7,804 Facebook accounts" in report.summary and "7,849" not in report.summary
    members = {a["identifier"] for a in content["indicators"]["accounts"] if a["identifier"].startswith("tw_member")}
    assert len(members) == 15 and content["indicators"]["group_accounts"] == []


def test_an_organisation_sees_each_group_member_once(catalogue, no_pdf):
    """Told of every member of its own sample's groups, it still reads each account once, assets included."""
    audience = Audience(organisation=catalogue["owner"])
    report = build(Scope.GLOBAL, None, WITH_DATA, audience)
    assert report.content["figures"] == expected_figures(Scope.GLOBAL, None, *WITH_DATA, audience)
    assert_unique(report.content["indicators"])
    assert [a["account_id"] for a in report.content["indicators"]["group_accounts"]] == ["lone_member"]
