"""The co-action pair budget and the reduce's memory budget at the database's edge: refused before a run is queued
when the sample's posts already show it is over, and failed with the same reason when the shards' exact count of
the pairs finds it over."""

import csv
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from detection import run_files, scoring, selectors
from detection.engine import BudgetExceeded, EngineParams, MemoryBudgetExceeded, build_arrays
from detection.engine.budget import REDUCE_BASE_MB, reduce_memory_mb
from detection.engine.coaction import pair_counts
from detection.ingest import jobs, services
from detection.models import RunStatus, Sample, ScoringRun

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 1, 13, tzinfo=UTC)
COLUMNS = ["platform", "post_id", "account_id", "created_at", "text", "reshare_of", "reply_to", "urls", "hashtags"]
COLUMNS += ["mentions", "media_hashes"]


def imported(tmp_path, name: str, rows: list[dict]) -> Sample:
    path = tmp_path / f"{name}.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    sample = services.sample_create(name=name, tlp="GREEN")
    job = jobs.sample_import_run(import_id=services.sample_import_create(sample=sample, source_path=path).pk)
    assert job.status == "done" and job.rejected == 0, job.error
    return sample


def one_url(n: int, spacing_s: int = 60) -> list[dict]:
    """n posts of n accounts, spacing_s apart, all linking the same story."""
    return [
        {
            "platform": "x",
            "post_id": f"p{i}",
            "account_id": f"a{i}",
            "created_at": (T0 + timedelta(seconds=spacing_s * i)).isoformat(),
            "text": f"look {i}",
            "urls": "https://news.example/story",
        }
        for i in range(n)
    ]


URLS = ["https://e.example/1", "https://E.example/1?utm_source=x", "https://f.example/"]  # two are one, normalised


@pytest.mark.parametrize("seed", range(6))
def test_the_database_floor_never_exceeds_the_pairs_the_engine_builds(tmp_path, seed):
    rnd = random.Random(seed)
    rows = []
    for i in range(rnd.randint(20, 80)):
        reshare = rnd.random() < 0.3
        rows.append(
            {
                "platform": rnd.choice(["x", "x", "telegram"]),
                "post_id": f"p{i}",
                "account_id": f"a{rnd.randrange(6)}",
                "created_at": (T0 + timedelta(seconds=rnd.choice([0, 0.5, 1, 30, 59.9995, 60, 61, 200, 3000]) * i / 5))
                .isoformat(),
                "text": "" if reshare else rnd.choice(["same words for everyone here", "other words", ""]),
                "reshare_of": f"r{rnd.randrange(3)}" if reshare else "",
                "reply_to": rnd.choice(["", "", "t1"]),
                "urls": " ".join(rnd.sample(URLS, rnd.randint(0, 2))),
                "hashtags": " ".join(rnd.choices(["#h1", "#h2"], k=rnd.randint(0, 2))),  # a tag twice is one action
                "mentions": rnd.choice(["", "@m1", "@m1 @m2"]),
                "media_hashes": rnd.choice(["", "", "abc"]),
            }
        )  # fmt: skip
    sample = imported(tmp_path, f"random-{seed}", rows)
    contents = selectors.sample_contents(sample_id=sample.pk)
    for window in (0.0, 1.0, 60.0, 1e7):
        params = EngineParams(window_s=window)
        exact = pair_counts(build_arrays(contents.posts, contents.accounts, params), params)
        floor = selectors.sample_pair_floor(sample_id=sample.pk, params=params)
        assert all(floor[b] <= exact[b] for b in params.behaviours), (window, floor, exact)
        if window == 1e7:  # a window over every object's span: the floor is the count, but for LSH buckets
            assert {b: n for b, n in floor.items() if b != "similar-text"} == {
                b: n for b, n in exact.items() if b != "similar-text"
            }
            assert sum(exact.values()) > 0


def test_a_run_over_the_budget_is_refused_before_it_is_queued(tmp_path, settings):
    sample = imported(tmp_path, "one-url", one_url(5_000))
    started = time.perf_counter()
    with pytest.raises(BudgetExceeded) as refused:
        scoring.scoring_run_start(sample=sample, params={"window_s": 604_800, "min_weight": 1})
    assert time.perf_counter() - started < 5  # it ran 126 s, grew by 7 GB and failed with a MemoryError
    assert str(refused.value) == (
        "This run would build at least 24,995,000 co-action pairs (co-domain 12,497,500, co-link 12,497,500), "
        "more than the limit of 10,000,000 (SCORING_MAX_PAIRS): shorten window_s (now 604800 s) or leave "
        "co-domain and co-link out of behaviours."
    )
    assert not ScoringRun.objects.exists()
    settings.SCORING_MAX_PAIRS = 25_000_000
    assert scoring.scoring_run_start(sample=sample, params={"window_s": 604_800, "min_weight": 1}, n_shards=1)


def test_a_run_the_database_cannot_refuse_fails_at_prepare_with_the_same_reason(
    tmp_path, settings, celery_in_process, django_capture_on_commit_callbacks
):
    sample = imported(tmp_path, "one-url", one_url(5_000))
    settings.SCORING_MAX_PAIRS = 9_000  # each post is 60 s after the previous: the floor sees no pair at 60 s
    assert sum(selectors.sample_pair_floor(sample_id=sample.pk, params=EngineParams()).values()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        run = scoring.scoring_run_start(sample=sample, params={"window_s": 60, "min_weight": 1}, n_shards=2)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == (
        "This run would build 9,998 co-action pairs (co-domain 4,999, co-link 4,999), more than the limit of 9,000 "
        "(SCORING_MAX_PAIRS): shorten window_s (now 60 s) or leave co-domain out of behaviours."
    )
    assert not run.shards.filter(status="done").exists() and run_files.run_files_list(run_id=run.pk) == []


def test_the_admin_action_says_why_it_scores_nothing(tmp_path, admin_client):
    sample = imported(tmp_path, "one-url", one_url(5_000, spacing_s=0))
    response = admin_client.post(
        reverse("admin:detection_sample_changelist"), {"action": "score_samples", "_selected_action": [sample.pk]}
    )
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("one-url: This run would build at least 24,995,000 co-action pairs")
    assert not ScoringRun.objects.exists()


def test_a_floor_the_database_is_slow_to_find_is_left_to_the_prepare_step(tmp_path, monkeypatch):
    sample = imported(tmp_path, "one-url", one_url(5_000, spacing_s=0))
    monkeypatch.setattr(selectors, "FLOOR_TIMEOUT_MS", 1)  # the query takes tens of milliseconds
    assert selectors.sample_pair_floor(sample_id=sample.pk, params=EngineParams()) is None
    run = scoring.scoring_run_start(sample=sample, params={"window_s": 604_800})
    assert run.status == RunStatus.QUEUED  # the transaction went on after the cancelled query


def test_a_run_whose_reduce_would_not_fit_is_refused_before_it_is_queued(tmp_path, settings):
    sample = imported(tmp_path, "one-url", one_url(5_000))
    settings.SCORING_MAX_REDUCE_MB = 150  # below what a worker's child holds before it reads anything
    with pytest.raises(MemoryBudgetExceeded) as refused:
        scoring.scoring_run_start(sample=sample)
    assert str(refused.value) == (
        f"This run's reduce would need at least about {reduce_memory_mb(5_000, 0):,.0f} MB of memory (5,000 posts, "
        "0 co-action pairs), more than the 150 MB a worker may use (SCORING_MAX_REDUCE_MB): score a shorter period "
        "of the sample, or give the workers more memory and raise SCORING_MAX_REDUCE_MB."
    )
    assert not ScoringRun.objects.exists()
    settings.SCORING_MAX_REDUCE_MB = 4_000
    assert scoring.scoring_run_start(sample=sample, n_shards=1)


def test_a_run_whose_counted_pairs_would_not_fit_fails_before_its_sweeps(
    tmp_path, settings, celery_in_process, django_capture_on_commit_callbacks
):
    sample = imported(tmp_path, "one-url", one_url(5_000))
    with django_capture_on_commit_callbacks() as queued:
        run = scoring.scoring_run_start(sample=sample, params={"window_s": 60, "min_weight": 1}, n_shards=2)
    settings.SCORING_MAX_REDUCE_MB = 150  # the workers that count the pairs have less memory than the web app
    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == (
        f"This run's reduce would need about {reduce_memory_mb(5_000, 9_998):,.0f} MB of memory (5,000 posts, "
        "9,998 co-action pairs), more than the 150 MB a worker may use (SCORING_MAX_REDUCE_MB): score a shorter "
        "period of the sample, or give the workers more memory and raise SCORING_MAX_REDUCE_MB."
    )
    assert not run.shards.filter(status="done").exists() and run_files.run_files_list(run_id=run.pk) == []


def test_the_reduce_estimate_grows_with_posts_and_pairs():
    assert reduce_memory_mb(0, 0) == REDUCE_BASE_MB
    assert reduce_memory_mb(1_000_000, 0) > reduce_memory_mb(0, 0)
    assert reduce_memory_mb(1_000_000, 10_000_000) > reduce_memory_mb(1_000_000, 0)
