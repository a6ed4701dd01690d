import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from campaigns.demo import FLAGSHIP
from campaigns.models import (
    Alias,
    AttributionClaim,
    Campaign,
    Election,
    Source,
    Takedown,
    Technique,
    TechniqueUse,
    ThreatActor,
)
from detection.demo import TAIWAN_MESSAGE
from detection.models import CoordinatedGroup, GroupStatus
from detection.selectors import group_evidence
from reports.models import Report

pytestmark = pytest.mark.django_db(transaction=True)  # committed as in `make run`: scoring runs within bootstrap


def snapshot():
    """Row counts of every catalogue, detection and report table, history tables included."""
    return {
        f"{label}.{m.__name__}": m.objects.count()
        for label in ("campaigns", "detection", "reports")
        for m in apps.get_app_config(label).get_models()
    }


@pytest.fixture
def bootstrapped(capsys, shared_data, celery_in_process):
    """`make run`'s bootstrap, its tasks in this process as on the embedded defaults (whatever broker CI names)."""
    call_command("bootstrap")
    return capsys.readouterr().out


def test_bootstrap_twice_changes_nothing(bootstrapped, capsys):
    assert "Admin user 'admin' created with password:" in bootstrapped
    assert "confirmed into the campaign" in bootstrapped
    before = snapshot()
    call_command("bootstrap")
    second = capsys.readouterr().out
    assert "password:" not in second
    assert "confirmed into the campaign" not in second
    assert snapshot() == before
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_the_catalogue_tells_the_story(bootstrapped):
    assert {"CN", "RU", "IR", "CU"} <= set(ThreatActor.objects.values_list("country", flat=True))
    assert ThreatActor.objects.filter(parent__isnull=False).count() >= 6  # state organs and firms
    taiwan = Election.objects.filter(country="TW", election_day="2024-01-13")
    assert set(taiwan.values_list("election_type", flat=True)) == {"presidential", "legislative"}
    assert "40.05%" in taiwan.get(election_type="presidential").description
    assert "KMT 52" in taiwan.get(election_type="legislative").description
    assert all(e.phases.exists() and e.rounds.exists() for e in Election.objects.all())
    assert Election.objects.filter(country="US", election_type="midterm", election_day="2022-11-08").exists()
    assert Election.objects.filter(country="US", election_day="2024-11-05").exists()
    taiwan_campaigns = Campaign.objects.filter(elections__country="TW").distinct()
    assert {t.code for c in taiwan_campaigns for t in c.tools.all()} == {
        "information_manipulation",
        "economic_coercion",
    }
    assert len(set(Campaign.objects.values_list("status", flat=True))) >= 3
    assert Technique.objects.filter(framework="disarm", retired=False).count() == 391
    flagship = Campaign.objects.get(name=FLAGSHIP)
    assert flagship.summary and flagship.claims.exists() and flagship.takedowns.exists()
    assert flagship.technique_uses.filter(observed_on__isnull=False).count() >= 3
    spamouflage = flagship.operation
    assert {(a.name, a.namespace) for a in spamouflage.aliases.all()} >= {
        ("DRAGONBRIDGE", "google"),
        ("Taizi Flood", "microsoft"),
        ("Storm-1376", "microsoft"),
    }
    for operation in ("Doppelganger", "CopyCop"):
        campaign = Campaign.objects.get(operation__name=operation)
        assert campaign.claims.exists() and campaign.sources.exists()
    meta = Takedown.objects.get(platform__code="facebook", announced_on="2023-08-29")
    assert (meta.accounts_removed, meta.pages_removed, meta.groups_removed, meta.instagram_accounts_removed) == (
        7704,
        954,
        15,
        15,
    )
    assert meta.campaign is not None
    cuba = AttributionClaim.objects.get(actor__country="CU")
    assert cuba.likelihood == "almost_certain" and cuba.source.publisher
    assert set(
        AttributionClaim.objects.filter(claimant__startswith="US Intelligence Community").values_list(
            "confidence", flat=True
        )
    ) == {"high", "moderate", ""}


def test_every_demo_fact_has_a_source_with_an_address(bootstrapped):
    def sourced(source):
        return source is not None and source.url.startswith("https://") and source.reliability in "ABCDE"

    assert Source.objects.exists()
    for campaign in Campaign.objects.all():
        assert campaign.sources.exists(), campaign
        assert all(sourced(s) for s in campaign.sources.all()), campaign
    for claim in AttributionClaim.objects.all():
        assert sourced(claim.source), claim
    for takedown in Takedown.objects.all():
        assert sourced(takedown.source), takedown
    for use in TechniqueUse.objects.exclude(evidence="").exclude(campaign__coordinated_groups__isnull=False):
        assert sourced(use.source), use
    for alias in Alias.objects.all():
        assert alias.namespace and sourced(alias.source), alias
    for record in [*Election.objects.all(), *ThreatActor.objects.all()]:
        assert "Source: https://" in record.description, record


def test_one_demo_group_is_confirmed_with_a_readable_message_and_one_waits(bootstrapped):
    confirmed = CoordinatedGroup.objects.get(status=GroupStatus.CONFIRMED)
    assert confirmed.campaign.name == FLAGSHIP
    assert confirmed.campaign.assets.count() == confirmed.members.count()
    texts = [t for e in group_evidence(group=confirmed) for t in (e.post_source.text, e.post_target.text)]
    assert texts and sum(TAIWAN_MESSAGE in t for t in texts) >= 2
    assert CoordinatedGroup.objects.filter(
        status=GroupStatus.NEW, members__account__account_id__startswith="g001m"
    ).exists()


def test_the_demo_report_covers_the_period_where_the_demo_data_lives(bootstrapped):
    report = Report.objects.get()
    assert (str(report.period_start), str(report.period_end)) == ("2023-11-01", "2024-01-31")
