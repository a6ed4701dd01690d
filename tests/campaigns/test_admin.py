import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.demo import demo_catalogue_load
from campaigns.models import AttributionClaim, Campaign, Platform, ThreatActor

from .factories import CampaignFactory, ElectionFactory, OperationFactory, ThreatActorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher(client):
    user = get_user_model().objects.create_superuser("researcher", "r@example.org", "not-used-here-123")
    client.force_login(user)
    return client


def campaigns_bulk(n: int, offset: int = 0) -> None:
    actors = [ThreatActorFactory() for _ in range(3)]
    operations = [OperationFactory(actor=actors[0]) for _ in range(2)]
    elections = [ElectionFactory() for _ in range(3)]
    platforms = list(Platform.objects.all()[:4])
    campaigns = Campaign.objects.bulk_create(
        Campaign(name=f"Bulk campaign {offset + i}", actor=actors[i % 3], operation=operations[i % 2]) for i in range(n)
    )
    election_links = Campaign.elections.through
    platform_links = Campaign.platforms.through
    election_links.objects.bulk_create(
        election_links(campaign_id=c.pk, election_id=elections[i % 3].pk) for i, c in enumerate(campaigns)
    )
    platform_links.objects.bulk_create(
        platform_links(campaign_id=c.pk, platform_id=platforms[i % 4].pk) for i, c in enumerate(campaigns)
    )


def changelist_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.slow
def test_campaign_changelist_runs_a_constant_number_of_queries(researcher):
    url = reverse("admin:campaigns_campaign_changelist")
    campaigns_bulk(10)
    few = changelist_queries(researcher, url)
    campaigns_bulk(9_990, offset=10)
    assert Campaign.objects.count() == 10_000
    many = changelist_queries(researcher, url)
    assert many == few, f"{few} queries for 10 campaigns, {many} for 10,000"
    filtered = changelist_queries(researcher, url + "?status__exact=suspected&o=5")
    assert filtered == few


def test_every_changelist_and_add_page_opens(researcher):
    demo_catalogue_load()
    for model in admin.site._registry:
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert researcher.get(changelist).status_code == 200, changelist
        assert researcher.get(changelist + "?q=spamouflage").status_code == 200, changelist


def test_changelists_of_other_models_do_not_grow_with_rows(researcher):
    demo_catalogue_load()
    for name in ("threatactor", "operation", "attributionclaim", "takedown", "asset", "techniqueuse", "alias"):
        url = reverse(f"admin:campaigns_{name}_changelist")
        before = changelist_queries(researcher, url)
        actor = ThreatActorFactory()
        OperationFactory(actor=actor)
        CampaignFactory(actor=actor)
        assert changelist_queries(researcher, url) == before, name


def test_campaign_page_shows_its_timeline_escaped(researcher):
    demo_catalogue_load()
    campaign = Campaign.objects.get(name="PRC efforts to influence the US 2022 midterm elections")
    AttributionClaim.objects.create(
        campaign=campaign,
        claimant="<script>alert(1)</script>",
        claimant_category="media",
        claimed_on="2023-12-18",
        actor=campaign.actor,
    )
    response = researcher.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "US Intelligence Community (ODNI" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)</script>" not in body


def test_admin_edits_are_recorded_with_who_and_when(researcher):
    actor = ThreatActor.objects.create(name="Test actor", actor_type="state", country="RU")
    url = reverse("admin:campaigns_threatactor_change", args=[actor.pk])
    response = researcher.post(
        url,
        {
            "name": "Test actor renamed",
            "actor_type": "agency",
            "country": "RU",
            "tlp": "GREEN",
            "description": "",
            "aliases-TOTAL_FORMS": "0",
            "aliases-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    latest = actor.history.latest()
    assert latest.name == "Test actor renamed"
    assert latest.history_user.username == "researcher"
    assert latest.history_type == "~"
    assert researcher.get(reverse("admin:campaigns_threatactor_history", args=[actor.pk])).status_code == 200
