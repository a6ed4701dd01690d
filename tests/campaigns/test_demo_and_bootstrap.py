import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from campaigns.models import Campaign, Election, Source, Technique, ThreatActor

pytestmark = pytest.mark.django_db


def snapshot():
    """Row counts of every catalogue table, history tables included."""
    return {m.__name__: m.objects.count() for m in apps.get_app_config("campaigns").get_models()}


def test_bootstrap_loads_the_seed_and_a_second_run_changes_nothing(capsys, shared_data):
    call_command("bootstrap")
    first = capsys.readouterr().out
    assert "Admin user 'admin' created with password:" in first
    before = snapshot()
    call_command("bootstrap")
    second = capsys.readouterr().out
    assert "password:" not in second
    assert snapshot() == before
    assert get_user_model().objects.filter(is_superuser=True).count() == 1

    assert {"CN", "RU", "IR", "CU"} <= set(ThreatActor.objects.values_list("country", flat=True))
    taiwan = Election.objects.filter(country="TW", election_day="2024-01-13")
    assert set(taiwan.values_list("election_type", flat=True)) == {"presidential", "legislative"}
    assert Election.objects.filter(country="US", election_type="midterm", election_day="2022-11-08").exists()
    assert Election.objects.filter(country="US", election_day="2024-11-05").exists()
    taiwan_campaigns = Campaign.objects.filter(elections__country="TW").distinct()
    assert {t.code for c in taiwan_campaigns for t in c.tools.all()} == {
        "information_manipulation",
        "economic_coercion",
    }
    assert Source.objects.filter(publisher="The Diplomat", author="Joseph Webster").exists()
    assert Technique.objects.filter(framework="disarm", retired=False).count() == 391
    assert Technique.objects.filter(framework="meta_ooc").exists()
    spamouflage = Campaign.objects.get(name__startswith="PRC information campaigns").operation
    assert {a.name for a in spamouflage.aliases.all()} >= {"Dragonbridge", "Taizi Flood", "Storm-1376"}
