import pytest

from campaigns import frameworks
from campaigns import services as campaign_services
from campaigns.models import Asset, Campaign, TechniqueUse, ThreatActor
from detection import scoring, selectors, triage
from detection.engine import EngineParams
from detection.engine import run as engine_run
from detection.engine.arrays import SEP
from detection.models import (
    AccountScore,
    CoordinatedGroup,
    CoordinationEdge,
    EdgeEvidence,
    RunArrays,
    RunShard,
    ScoringRun,
)

from .helpers import generated_sample

pytestmark = pytest.mark.django_db(transaction=True)


def test_distributed_runs_equal_the_single_process_engine(tmp_path, celery_in_process):
    sample, planted = generated_sample(tmp_path, 6_000)
    contents = selectors.sample_contents(sample_id=sample.pk)
    expected = selectors.engine_result_fingerprint(engine_run(contents.posts, contents.accounts, EngineParams()))
    hashes = set()
    for n_shards in (1, 3, 7):
        run = scoring.scoring_run_start(sample=sample, n_shards=n_shards)
        run.refresh_from_db()
        assert run.status == "done", run.error
        assert run.shards_done == n_shards
        assert set(run.timings) >= {"prepare", "shards", "reduce"}
        hashes.add(run.result_hash)
    assert hashes == {expected}
    flagged = set(AccountScore.objects.filter(run=run, flagged=True).values_list("account__account_id", flat=True))
    assert flagged and len(flagged & planted) / len(flagged) >= 0.95
    assert len(flagged & planted) / len(planted) >= 0.95
    # A finished run keeps its results and drops its working data.
    assert not RunArrays.objects.filter(run=run).exists()
    assert not RunShard.objects.filter(run=run, partial__isnull=False).exists()


def test_every_edge_is_backed_by_evidence_and_groups_by_edges(tmp_path, celery_in_process):
    sample, _ = generated_sample(tmp_path, 4_000)
    run = scoring.scoring_run_start(sample=sample, n_shards=2)
    edges = CoordinationEdge.objects.filter(run=run)
    assert edges.exists()
    assert not edges.filter(evidence__isnull=True).exists()
    assert not edges.filter(source=models_F("target")).exists()
    for group in CoordinatedGroup.objects.filter(run=run):
        assert group.members.count() == group.size
        assert group.behaviours
        assert group.first_activity <= group.last_activity
    evidence = EdgeEvidence.objects.filter(edge__run=run).select_related("edge", "post_source", "post_target").first()
    assert {evidence.post_source.account_id, evidence.post_target.account_id} == {
        evidence.edge.source_id,
        evidence.edge.target_id,
    }


def models_F(name):
    from django.db.models import F

    return F(name)


def test_repeated_and_late_deliveries_change_nothing(tmp_path, celery_in_process):
    sample, _ = generated_sample(tmp_path, 3_000)
    run = scoring.scoring_run_start(sample=sample, n_shards=3)
    run.refresh_from_db()
    before = (
        run.result_hash,
        CoordinationEdge.objects.count(),
        AccountScore.objects.count(),
        EdgeEvidence.objects.count(),
    )
    from detection import tasks

    tasks.score_prepare.delay(run.pk)
    for shard in range(3):
        tasks.score_shard.delay(run.pk, shard)
    tasks.score_reduce.delay(run.pk)
    run.refresh_from_db()
    assert run.status == "done"
    assert before == (
        selectors.run_result_fingerprint(run=run),
        CoordinationEdge.objects.count(),
        AccountScore.objects.count(),
        EdgeEvidence.objects.count(),
    )


def test_a_shard_that_keeps_killing_its_worker_is_quarantined(tmp_path, celery_in_process):
    sample, _ = generated_sample(tmp_path, 2_000)
    run = ScoringRun.objects.create(sample=sample, params={}, engine_version="test", n_shards=2, status="scoring")
    RunShard.objects.create(run=run, shard=0, status="running", attempts=RunShard.MAX_ATTEMPTS)
    RunShard.objects.create(run=run, shard=1)
    scoring.scoring_shard_run(run_id=run.pk, shard=0)
    run.refresh_from_db()
    assert run.status == "failed"
    assert "Shard 0 was quarantined" in run.error
    assert RunShard.objects.get(run=run, shard=0).status == "quarantined"


def test_the_watchdog_resumes_a_run_whose_message_was_lost(tmp_path, celery_in_process):
    from datetime import timedelta

    from django.utils import timezone

    sample, _ = generated_sample(tmp_path, 2_000)
    reference = scoring.scoring_run_start(sample=sample, n_shards=2)
    # A run recorded in the ledger whose first task never reached a worker.
    lost = ScoringRun.objects.create(
        sample=sample, params=reference.params, engine_version=reference.engine_version, n_shards=2
    )
    RunShard.objects.bulk_create([RunShard(run=lost, shard=0), RunShard(run=lost, shard=1)])
    assert scoring.scoring_runs_resume_stalled() == []  # not stale yet
    ScoringRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(hours=3))
    assert scoring.scoring_runs_resume_stalled() == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == "done", lost.error
    assert lost.result_hash == ScoringRun.objects.get(pk=reference.pk).result_hash


def test_triage_confirms_and_attaches_a_group_to_a_campaign(tmp_path, celery_in_process):
    campaign_services.technique_framework_load(release=frameworks.disarm_from_misp_galaxy())
    sample, _ = generated_sample(tmp_path, 3_000)
    run = scoring.scoring_run_start(sample=sample, n_shards=2)
    group = CoordinatedGroup.objects.filter(run=run).order_by("-score").first()
    actor = ThreatActor.objects.create(name="Actor", actor_type="state", country="CN")
    campaign = Campaign.objects.create(name="Campaign", actor=actor)
    with pytest.raises(ValueError, match="Confirm"):
        triage.group_attach_to_campaign(group=group, campaign=campaign)
    triage.group_review(group=group, status="confirmed", note="same hours, same links", reviewer=None)
    suggestions = triage.technique_suggestions(group=group)
    assert suggestions, group.behaviours
    created = triage.group_attach_to_campaign(group=group, campaign=campaign, techniques=suggestions)
    assert created == group.size == Asset.objects.filter(campaign=campaign, asset_type="account").count()
    assert TechniqueUse.objects.filter(campaign=campaign).count() == len(suggestions)
    assert triage.group_attach_to_campaign(group=group, campaign=campaign, techniques=suggestions) == 0
    members = set(group.members.values_list("account__account_id", flat=True))
    assert set(Asset.objects.filter(campaign=campaign).values_list("identifier", flat=True)) == members


def test_unknown_parameters_are_refused(tmp_path):
    sample, _ = generated_sample(tmp_path, 500)
    with pytest.raises(ValueError, match="unknown engine parameter"):
        scoring.scoring_run_start(sample=sample, params={"windw_s": 10})
    with pytest.raises(ValueError, match="unknown behaviour"):
        scoring.scoring_run_start(sample=sample, params={"behaviours": ["co-tweet"]})
    assert not ScoringRun.objects.exists()


def test_account_keys_use_the_engine_separator():
    assert SEP not in "x"


def test_a_step_that_raises_marks_the_run_failed(tmp_path, celery_in_process):
    sample, _ = generated_sample(tmp_path, 500)
    run = ScoringRun.objects.create(sample=sample, params={"window_s": -1}, engine_version="test", n_shards=1)
    RunShard.objects.create(run=run, shard=0)
    with pytest.raises(ValueError):
        scoring.scoring_run_prepare(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert "scoring_run_prepare failed: ValueError" in run.error
