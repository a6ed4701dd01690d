from dataclasses import fields
from datetime import UTC, datetime, timedelta
from random import Random

import numpy as np
import pytest

from campaigns import frameworks
from campaigns import services as campaign_services
from campaigns.models import Asset, Campaign, TechniqueUse, ThreatActor
from detection import run_files, scoring, selectors, tasks, triage
from detection.engine import EngineParams
from detection.engine import run as engine_run
from detection.engine.arrays import SEP
from detection.engine.parts import PartPosts
from detection.models import (
    AccountScore,
    CoordinatedGroup,
    CoordinationEdge,
    EdgeEvidence,
    Post,
    RunPart,
    RunShard,
    Sample,
    SamplePost,
    ScoringRun,
    SocialAccount,
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
    assert run_files.run_files_list(run_id=run.pk) == []


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


def test_a_post_cited_as_evidence_cannot_be_deleted(tmp_path, celery_in_process):
    from django.db.models import ProtectedError

    from detection.models import Post

    sample, _ = generated_sample(tmp_path, 2_000)
    run = scoring.scoring_run_start(sample=sample, n_shards=2)
    evidence = EdgeEvidence.objects.filter(edge__run=run).first()
    for cited in (evidence.post_source_id, evidence.post_target_id):
        with pytest.raises(ProtectedError):
            Post.objects.filter(pk=cited).delete()
    assert Post.objects.filter(pk__in=[evidence.post_source_id, evidence.post_target_id]).count() == 2


def test_results_references_hold_without_database_constraints(tmp_path, celery_in_process):
    """Edges and evidence have no foreign-key constraints in the database (models.CoordinationEdge): Django keeps
    their references, so an account in an edge cannot be deleted, and deleting a run or a group leaves no edge or
    evidence row behind."""
    from django.db.models import ProtectedError

    from detection.models import ScoringRun, SocialAccount

    sample, _ = generated_sample(tmp_path, 2_000)
    run = scoring.scoring_run_start(sample=sample, n_shards=2)
    edge = CoordinationEdge.objects.filter(run=run).exclude(group=None).first()
    for account in (edge.source_id, edge.target_id):
        with pytest.raises(ProtectedError):
            SocialAccount.objects.filter(pk=account).delete()
    group_edges = list(CoordinationEdge.objects.filter(group=edge.group).values_list("pk", flat=True))
    others = EdgeEvidence.objects.filter(edge__run=run).exclude(edge_id__in=group_edges).count()
    edge.group.delete()
    assert not CoordinationEdge.objects.filter(pk__in=group_edges).exists()
    assert not EdgeEvidence.objects.filter(edge_id__in=group_edges).exists()
    assert EdgeEvidence.objects.filter(edge__run=run).count() == others
    ScoringRun.objects.filter(pk=run.pk).delete()
    assert not CoordinationEdge.objects.filter(run_id=run.pk).exists()
    assert not EdgeEvidence.objects.exclude(edge_id__in=CoordinationEdge.objects.values("pk")).exists()


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


def prepared_run(tmp_path, monkeypatch, n_shards: int = 3, n_parts: int = 2, assembled: bool = False) -> ScoringRun:
    """A run whose prepare parts have written their files, its shards not yet enqueued (with assembled: each shard
    has assembled its partition and the budget is checked, the sweeps not yet enqueued)."""
    sample, _ = generated_sample(tmp_path, 2_000)
    run = ScoringRun.objects.create(sample=sample, params={}, engine_version="test", n_shards=n_shards, n_parts=n_parts)
    RunShard.objects.bulk_create([RunShard(run=run, shard=i) for i in range(n_shards)])
    monkeypatch.setattr(tasks.CeleryWorkers, "score_shards", lambda self, run_id, shards: None)
    scoring.scoring_run_prepare(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "scoring", run.error
    assert RunPart.objects.filter(run=run, status="done").count() == n_parts
    if assembled:
        for shard in range(n_shards):
            scoring.scoring_shard_run(run_id=run.pk, shard=shard)
        run.refresh_from_db()
        assert "pairs" in run.files, run.error
    return run


def ledger_files(run: ScoringRun) -> list[dict]:
    """Every file entry the run's ledger names: the plan's, the parts', the shards' partitions, partial edges and
    pairs of posts, and the kept edges."""
    entries = [run.files[k] for k in ("common", "accounts", "account_pk")]
    for files in RunPart.objects.filter(run=run).order_by("part").values_list("files", flat=True):
        entries += [files["counts"], files["summary"], *files["shards"]]
    for passes in RunShard.objects.filter(run=run).values_list("partition", "edges", "evidence"):
        entries += [e for e in passes if e]
    return entries + ([run.files["kept"]] if "kept" in run.files else [])


def fragment(run: ScoringRun, part: int, shard: int) -> dict:
    return RunPart.objects.get(run=run, part=part).files["shards"][shard]


@pytest.mark.parametrize(("n_shards", "n_parts"), [(1, 1), (2, 7), (16, 2), (64, 7)])
def test_parts_and_shards_give_the_engines_fingerprint(tmp_path, celery_in_process, n_shards, n_parts):
    sample, _ = generated_sample(tmp_path, 3_000)
    contents = selectors.sample_contents(sample_id=sample.pk)
    expected = selectors.engine_result_fingerprint(engine_run(contents.posts, contents.accounts, EngineParams()))
    run = scoring.scoring_run_start(sample=sample, n_shards=n_shards, n_parts=n_parts)
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.parts.count() == n_parts and run.shards_done == n_shards
    assert run.result_hash == expected
    assert set(run.timings) >= {"plan", "parts", "prepare", "assemble", "shards", "reduce"}


def test_each_step_reads_only_its_own_files_and_nothing_is_unpickled(tmp_path, monkeypatch, celery_in_process):
    import hashlib
    import pickle

    run = prepared_run(tmp_path, monkeypatch)
    storage = run_files.run_storage()
    entries = ledger_files(run)
    assert sorted(e["name"] for e in entries) == run_files.run_files_list(run_id=run.pk)
    assert run.files["common"]["name"] == f"runs/{run.pk}/attempt-1/common.npz"
    assert fragment(run, 1, 2)["name"] == f"runs/{run.pk}/attempt-1/shard-0002/part-0001-a1.npz"
    for entry in entries:
        with storage.open(entry["name"], "rb") as stored:
            data = stored.read()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]

    def refused(*args, **kwargs):
        raise AssertionError("a scoring step unpickled something")

    monkeypatch.setattr(pickle, "loads", refused)
    monkeypatch.setattr(pickle, "load", refused)
    opened = []
    original_open = storage.open
    monkeypatch.setattr(storage, "open", lambda name, mode="rb": opened.append(name) or original_open(name, mode))
    common = run.files["common"]["name"]
    for shard in range(run.n_shards):  # assembling: the common file and this shard's fragment of each part
        opened.clear()
        scoring.scoring_shard_run(run_id=run.pk, shard=shard)
        assert opened == [common, fragment(run, 0, shard)["name"], fragment(run, 1, shard)["name"]]
    # Once every shard has its partition, the fragments and counts (no later step reads them) are gone.
    left = set(run_files.run_files_list(run_id=run.pk))
    parts = RunPart.objects.filter(run=run).values_list("files", flat=True)
    assert left and not left & {e["name"] for files in parts for e in [files["counts"], *files["shards"]]}
    for shard in range(run.n_shards):  # sweeping: the common file and this shard's partition
        opened.clear()
        scoring.scoring_shard_run(run_id=run.pk, shard=shard)
        partition = RunShard.objects.get(run=run, shard=shard).partition["name"]
        if shard < run.n_shards - 1:  # the last shard's task goes on to the reduce's select
            assert opened == [common, partition]
    selecting = opened[2:]
    for shard in range(run.n_shards):  # the evidence pass (its enqueuing is left out here); the last goes on
        opened.clear()
        scoring.scoring_shard_run(run_id=run.pk, shard=shard)
        selecting += opened
    opened = selecting
    run.refresh_from_db()
    assert run.status == "done", run.error
    # The reduce: the select reads the summaries and the partial edges; each shard's evidence pass its partition
    # and the kept edges; the final the kept edges, the shards' pairs of posts and the summaries, never a partition.
    summaries = [f["summary"]["name"] for f in RunPart.objects.filter(run=run).values_list("files", flat=True)]
    shards = RunShard.objects.filter(run=run).order_by("shard")
    kept = run.files["kept"]["name"]
    expected = [common, *summaries, *(e["name"] for e in shards.values_list("edges", flat=True))]
    for partition in shards.values_list("partition", flat=True):
        expected += [common, partition["name"], kept]
    expected += [common, run.files["accounts"]["name"], kept]
    expected += [*(e["name"] for e in shards.values_list("evidence", flat=True)), *summaries]
    assert opened == expected
    contents = selectors.sample_contents(sample_id=run.sample_id)
    expected = selectors.engine_result_fingerprint(engine_run(contents.posts, contents.accounts, EngineParams()))
    assert run.result_hash == expected
    assert run_files.run_files_list(run_id=run.pk) == []


def test_a_changed_fragment_fails_the_run_naming_it(tmp_path, monkeypatch, celery_in_process):
    run = prepared_run(tmp_path, monkeypatch)
    name = fragment(run, 1, 1)["name"]
    path = run_files.run_storage().path(name)
    with open(path, "r+b") as stored:
        stored.seek(200)
        stored.write(b"\x00\x01\x02")
    scoring.scoring_shard_run(run_id=run.pk, shard=0)
    scoring.scoring_shard_run(run_id=run.pk, shard=1)
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith(f"Shard 1: The run's file {name} is not the one the prepare step wrote (SHA-256 ")
    assert run_files.run_files_list(run_id=run.pk) == []  # a failed run's files go too
    scoring.scoring_shard_run(run_id=run.pk, shard=2)  # a late shard of a failed run does nothing
    run.refresh_from_db()
    assert run.error.startswith("Shard 1: ") and RunShard.objects.get(run=run, shard=2).status == "running"


def test_a_vanished_fragment_fails_the_run_naming_it(tmp_path, monkeypatch, celery_in_process):
    run = prepared_run(tmp_path, monkeypatch, n_shards=2)
    name = fragment(run, 0, 1)["name"]
    run_files.run_storage().delete(name)
    scoring.scoring_shard_run(run_id=run.pk, shard=1)
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith(f"Shard 1: The run's file {name} is missing from storage")


def test_a_vanished_part_summary_fails_the_reduce_naming_it(tmp_path, monkeypatch, celery_in_process):
    run = prepared_run(tmp_path, monkeypatch, n_shards=1, assembled=True)
    name = RunPart.objects.get(run=run, part=1).files["summary"]["name"]
    run_files.run_storage().delete(name)
    scoring.scoring_shard_run(run_id=run.pk, shard=0)  # the last shard: the reduce follows
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith(f"Reduce: The run's file {name} is missing from storage")


def test_a_file_that_would_need_unpickling_is_refused(tmp_path, monkeypatch, celery_in_process):
    import hashlib
    import io

    import numpy as np

    run = prepared_run(tmp_path, monkeypatch, n_shards=2, assembled=True)
    shard = RunShard.objects.get(run=run, shard=0)
    entry = shard.partition
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array([0, 2]), payload=np.array([{"a": 1}], dtype=object))  # pickled inside
    storage = run_files.run_storage()
    storage.delete(entry["name"])
    storage.save(entry["name"], io.BytesIO(buffer.getvalue()))
    entry["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()  # whoever wrote it could edit the ledger too
    RunShard.objects.filter(pk=shard.pk).update(partition=entry)
    scoring.scoring_shard_run(run_id=run.pk, shard=0)
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith(f"Shard 0: The run's file {entry['name']} cannot be read as plain arrays: ")


def test_a_plan_that_lost_its_step_records_no_files(tmp_path, monkeypatch, celery_in_process):
    sample, _ = generated_sample(tmp_path, 1_000)
    run = ScoringRun.objects.create(sample=sample, params={}, engine_version="test", n_shards=2)
    RunShard.objects.bulk_create([RunShard(run=run, shard=i) for i in range(2)])
    monkeypatch.setattr(tasks.CeleryWorkers, "score_parts", lambda self, run_id, parts: None)
    write = run_files.run_file_write

    def taken_over_meanwhile(*args):
        ScoringRun.objects.filter(pk=run.pk).update(attempts=2)
        return write(*args)

    monkeypatch.setattr(run_files, "run_file_write", taken_over_meanwhile)
    scoring.scoring_run_prepare(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.files, run.parts.count()) == ("preparing", {}, 0)
    assert run_files.run_files_list(run_id=run.pk)[0].startswith(f"runs/{run.pk}/attempt-1/")  # never named


def test_a_part_whose_range_changed_fails_the_run(tmp_path, monkeypatch, celery_in_process):
    sample, _ = generated_sample(tmp_path, 1_000)
    run = ScoringRun.objects.create(sample=sample, params={}, engine_version="test", n_shards=2, n_parts=2)
    RunShard.objects.bulk_create([RunShard(run=run, shard=i) for i in range(2)])
    monkeypatch.setattr(tasks.CeleryWorkers, "score_parts", lambda self, run_id, parts: None)
    scoring.scoring_run_prepare(run_id=run.pk)
    run.refresh_from_db()
    platform, post_id = run.files["parts"][0]["start"]
    Post.objects.get(sample=sample, platform=platform, post_id=post_id).delete()
    scoring.scoring_part_run(run_id=run.pk, part=0)
    run.refresh_from_db()
    assert run.status == "failed"
    counted = run.files["parts"][0]["posts"]
    assert run.error.startswith(f"Prepare part 0: its range holds {counted - 1:,} posts, the plan counted {counted:,}")


def test_a_part_reads_its_posts_as_the_engine_records_give_them(tmp_path):
    sample, _ = generated_sample(tmp_path, 1_500)
    records = sorted(selectors.sample_contents(sample_id=sample.pk).posts, key=lambda r: (r.platform, r.post_id))
    starts = selectors.sample_part_starts(sample_id=sample.pk, step=400)
    assert starts == [(r.platform, r.post_id) for r in records[::400]]
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else None
        read = selectors.sample_part(sample_id=sample.pk, start=start, end=end)
        expected = PartPosts.from_records(records[i * 400 : (i + 1) * 400])
        for field in fields(PartPosts):
            got, want = getattr(read.posts, field.name), getattr(expected, field.name)
            if field.name == "time":
                assert np.array_equal(got.view(np.uint64), want.view(np.uint64))
            else:
                assert list(got) == list(want), field.name
        stored = Post.objects.filter(pk__in=read.post_pk).values_list("pk", "platform", "post_id", "account_id")
        by_pk = {pk: (platform, post_id, account) for pk, platform, post_id, account in stored}
        assert [by_pk[pk][:2] for pk in read.post_pk] == list(zip(expected.platform, expected.post_id, strict=True))
        assert [by_pk[pk][2] for pk in read.post_pk] == read.account_pk


def test_a_part_reads_times_as_datetime_timestamp_gives_them_bit_for_bit():
    """The database's epoch seconds are Python's: both round the exact value once, to the nearest double."""
    sample = Sample.objects.create(name="times")
    account = SocialAccount.objects.create(sample=sample, platform="x", account_id="a")
    awkward = [
        datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2001, 9, 9, 1, 46, 40, 100_000, tzinfo=UTC),
        datetime(2020, 2, 29, 12, 0, 0, 300_003, tzinfo=UTC),
        datetime(2024, 3, 1, 12, 0, 0, 999_999, tzinfo=UTC),
        datetime(2038, 1, 19, 3, 14, 7, 999_999, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),  # 2.5e17 microseconds: past 2**53
    ]
    rng = Random(5)
    start = datetime(1900, 1, 1, tzinfo=UTC)
    awkward += [start + timedelta(microseconds=rng.randrange(200 * 365 * 86_400 * 10**6)) for _ in range(200)]
    for i, created_at in enumerate(awkward):
        post = Post.objects.create(
            sample=sample, platform="x", post_id=f"{i:04d}", account=account, created_at=created_at
        )
        SamplePost.objects.create(sample=sample, post=post)
    read = selectors.sample_part(sample_id=sample.pk, start=("", ""), end=None)
    expected = np.array([t.timestamp() for t in awkward], dtype=np.float64)
    assert np.array_equal(read.posts.time.view(np.uint64), expected.view(np.uint64))
