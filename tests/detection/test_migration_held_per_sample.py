"""The migration that gives each sample its own records splits what samples used to share, results included."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("detection", "0006_sample_links_keyed_by_sample_and_post")]
AFTER = [("detection", "0008_records_held_per_sample_required")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    """Leave every app migrated to its latest state, as the tests after this one expect."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_a_post_two_samples_shared_becomes_one_copy_each_with_its_results(back_to_latest):
    apps = migrate(BEFORE)
    Sample, Post, Account = (apps.get_model("detection", m) for m in ("Sample", "Post", "SocialAccount"))
    SamplePost, Run = apps.get_model("detection", "SamplePost"), apps.get_model("detection", "ScoringRun")
    Score, Edge, Evidence = (
        apps.get_model("detection", m) for m in ("AccountScore", "CoordinationEdge", "EdgeEvidence")
    )
    first, second = Sample.objects.create(name="first"), Sample.objects.create(name="second")
    a = Account.objects.create(platform="x", account_id="a", handle="shared")
    b = Account.objects.create(platform="x", account_id="b")
    at = datetime(2024, 1, 1, tzinfo=UTC)
    shared = Post.objects.create(platform="x", post_id="1", account=a, created_at=at, text="shared text")
    own = Post.objects.create(platform="x", post_id="2", account=b, created_at=at)
    Post.objects.create(platform="x", post_id="orphan", account=b, created_at=at)
    for sample, post in ((first, shared), (second, shared), (second, own)):
        SamplePost.objects.create(sample=sample, post=post)
    run = Run.objects.create(sample=second, engine_version="t")
    Score.objects.create(run=run, account=a, score=0.5)
    edge = Edge.objects.create(run=run, source=a, target=b, behaviour="x", weight=1, expected=0, p_value=0, q_value=0)
    Evidence.objects.create(edge=edge, post_source=shared, post_target=own, dt=1)

    apps = migrate(AFTER)
    Post, Account = apps.get_model("detection", "Post"), apps.get_model("detection", "SocialAccount")
    SamplePost, Evidence = apps.get_model("detection", "SamplePost"), apps.get_model("detection", "EdgeEvidence")
    Score, Edge = apps.get_model("detection", "AccountScore"), apps.get_model("detection", "CoordinationEdge")
    assert sorted(Post.objects.values_list("sample_id", "post_id", "text")) == [
        (first.pk, "1", "shared text"),
        (second.pk, "1", "shared text"),
        (second.pk, "2", ""),
    ]
    for post in Post.objects.all():  # each post linked to its own sample only, by an account of that sample
        assert list(SamplePost.objects.filter(post_id=post.pk).values_list("sample_id", flat=True)) == [post.sample_id]
        assert Account.objects.get(pk=post.account_id).sample_id == post.sample_id
    assert Account.objects.filter(account_id="a").count() == 2
    second_a = Account.objects.get(account_id="a", sample_id=second.pk)
    assert second_a.handle == "shared"
    assert Score.objects.get().account_id == second_a.pk
    assert Edge.objects.get().source_id == second_a.pk
    evidence = Evidence.objects.get()
    assert Post.objects.get(pk=evidence.post_source_id).sample_id == second.pk
