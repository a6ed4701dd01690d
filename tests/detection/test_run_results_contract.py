"""Both writers of a run's results store the same rows for the same engine result.

The ORM writer runs on whatever database this run uses, the COPY writer only on PostgreSQL. `make test` runs this
file twice: against PostgreSQL (both writers, compared row for row) and against SQLite (the ORM writer).
"""

from dataclasses import replace

import numpy as np
import pytest
from django.db import IntegrityError, connection, transaction

from detection import run_results, selectors
from detection.engine import EngineParams
from detection.engine import run as engine_run
from detection.models import AccountScore, CoordinatedGroup, CoordinationEdge, EdgeEvidence, ScoringRun

from .helpers import generated_sample

pytestmark = pytest.mark.django_db

# What posts from influence operations carry, and so what any text the results store may carry: COPY's own
# separators and escapes, its end-of-data marker, NUL (no PostgreSQL text holds it: stripped), right-to-left
# marks and overrides, emoji with joiners and flags, JSON's quotes.
HOSTILE = [
    "tab\there\tand\tthere",
    "back\\slash \\N \\t \\\\ \\x41",
    "\\.",
    "line\nbreak\r\nand\rreturn",
    "nul\x00inside\x00",
    "\u202eevil\u202c \u200fRTL mark \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "vote \U0001f5f3\ufe0f \U0001f1fa\U0001f1f8 \U0001f469\u200d\U0001f469\u200d\U0001f467",
    "quotes \"json\" 'sql' `sh` ; DROP TABLE detection_post; --",
    "",
]
WRITERS = ["orm", "copy"] if connection.vendor == "postgresql" else ["orm"]


def _scored_sample(tmp_path):
    """A generated sample's engine result, the reasons of its groups and scored accounts made hostile, and its
    database keys."""
    sample, _ = generated_sample(tmp_path, 4_000)
    contents = selectors.sample_contents(sample_id=sample.pk)
    result = engine_run(contents.posts, contents.accounts, EngineParams())
    account_reasons = list(result.scores.account_reasons)
    for k, i in enumerate(np.flatnonzero(result.scores.account_score > 0).tolist()):
        account_reasons[i] = HOSTILE[k % len(HOSTILE)] + account_reasons[i]
    group_reasons = [reason + HOSTILE[k % len(HOSTILE)] for k, reason in enumerate(result.scores.group_reasons)]
    scores = replace(result.scores, account_reasons=account_reasons, group_reasons=group_reasons)
    result = replace(result, scores=scores)
    post_pk = np.array([contents.post_pk[key] for key in result.arrays.post_keys], dtype=np.int64)
    account_pk = np.array([contents.account_pk[key] for key in result.arrays.account_keys], dtype=np.int64)
    return sample, result, post_pk, account_pk


def _rows(run: ScoringRun) -> dict[str, list]:
    """Everything stored for the run, without its own primary keys (a group by its number, an edge by its key)."""
    groups = CoordinatedGroup.objects.filter(run=run).order_by("number")
    scores = AccountScore.objects.filter(run=run).order_by("account_id")
    edges = CoordinationEdge.objects.filter(run=run).order_by("behaviour", "source_id", "target_id")
    evidence = EdgeEvidence.objects.filter(edge__run=run)
    return {
        "groups": list(
            groups.values_list(
                "number",
                "score",
                "size",
                "behaviours",
                "first_activity",
                "last_activity",
                "reasons",
                "leader_id",
                "status",
                "review_note",
                "reviewed_by",
                "reviewed_at",
                "campaign",
            )
        ),
        "scores": list(
            scores.values_list("account_id", "group__number", "score", "flagged", "reasons", "lead", "follow")
        ),
        "edges": list(
            edges.values_list(
                "behaviour",
                "source_id",
                "target_id",
                "group__number",
                "weight",
                "weight_source_first",
                "weight_target_first",
                "expected",
                "p_value",
                "q_value",
                "median_dt",
            )
        ),
        "evidence": sorted(
            evidence.values_list(
                "edge__behaviour", "edge__source_id", "edge__target_id", "post_source_id", "post_target_id", "dt"
            )
        ),
    }


def test_both_writers_store_the_same_rows_with_hostile_text_intact(tmp_path):
    sample, result, post_pk, account_pk = _scored_sample(tmp_path)
    expected = selectors.engine_result_fingerprint(result)
    stored = {}
    for writer in WRITERS:
        run = ScoringRun.objects.create(sample=sample, engine_version=result.engine_version)
        with transaction.atomic():
            n_rows = run_results.run_results_store(
                run=run, result=result, post_pk=post_pk, account_pk=account_pk, writer=writer
            )
        assert selectors.run_result_fingerprint(run=run) == expected, writer
        stored[writer] = _rows(run)
        assert n_rows == sum(map(len, stored[writer].values()))
    assert all(stored["orm"].values())
    assert all(rows == stored["orm"] for rows in stored.values())

    reasons = {pk: result.scores.account_reasons[i].replace("\x00", "") for i, pk in enumerate(account_pk.tolist())}
    stored_reasons = {account: reason for account, _, _, _, reason, _, _ in stored["orm"]["scores"]}
    assert stored_reasons == {pk: reasons[pk] for pk in stored_reasons}
    for hostile in HOSTILE:  # each begins a stored reason
        assert any(r.startswith(hostile.replace("\x00", "")) for r in stored_reasons.values()), hostile
    groups = [(number, reason) for number, *_, reason, _, _, _, _, _, _ in stored["orm"]["groups"]]
    assert groups == [(n, r.replace("\x00", "")) for n, r in enumerate(result.scores.group_reasons, start=1)]


def _with_extreme_edges(result):
    """The result with edge and evidence numbers at the edges of what their columns hold: medians missing or not
    finite (stored as no median), infinite and negative-zero lags, subnormal and huge doubles, and counts at the
    top of an integer column."""
    edges = {}
    for k, (behaviour, found) in enumerate(result.edges.items()):
        d = found.details
        n, m = len(found.a), len(d.ev_dt)
        median_dt = d.median_dt.astype(float)
        median_dt[k % 3 :: 3] = [np.nan, np.inf, -np.inf][k % 3]
        expected = found.expected.astype(float)
        expected[:: max(n // 4, 1)] = [5e-324, 1.7976931348623157e308, -0.0, 0.1 + 0.2][k % 4]
        first_a = d.first_a.astype(np.int64)
        first_a[:1] = 2**31 - 1
        ev_dt = d.ev_dt.astype(float)
        ev_dt[: min(m, 2)] = [np.inf, -0.0][: min(m, 2)]  # not NaN: SQLite stores NaN as NULL
        details = replace(d, median_dt=median_dt, first_a=first_a, ev_dt=ev_dt)
        edges[behaviour] = replace(
            found, expected=expected, p_value=np.where(found.p_value > 0.5, 0.0, found.p_value), details=details
        )
    return replace(result, edges=edges)


def test_both_writers_store_extreme_numbers_alike(tmp_path):
    sample, result, post_pk, account_pk = _scored_sample(tmp_path)
    result = _with_extreme_edges(result)
    stored = {}
    for writer in WRITERS:
        run = ScoringRun.objects.create(sample=sample, engine_version=result.engine_version)
        with transaction.atomic():
            run_results.run_results_store(run=run, result=result, post_pk=post_pk, account_pk=account_pk, writer=writer)
        stored[writer] = _rows(run)
    edges, evidence = stored["orm"]["edges"], stored["orm"]["evidence"]
    assert any(median is None for *_, median in edges)
    assert any(f"{expected!r}" == "5e-324" for *_, expected, _, _, _ in edges)
    assert any(first == 2**31 - 1 for _, _, _, _, _, first, *_ in edges)
    assert any(dt == np.inf for *_, dt in evidence)
    # By their text: -0.0 == 0.0 as numbers.
    assert all(repr(rows) == repr(stored["orm"]) for rows in stored.values())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_a_count_too_large_for_its_column_is_refused(tmp_path):
    sample, result, post_pk, account_pk = _scored_sample(tmp_path)
    behaviour, found = next(iter(result.edges.items()))
    first_a = found.details.first_a.astype(np.int64)
    first_a[0] = 2**31
    result.edges[behaviour] = replace(found, details=replace(found.details, first_a=first_a))
    run = ScoringRun.objects.create(sample=sample, engine_version=result.engine_version)
    with pytest.raises(ValueError, match="out of the range"), transaction.atomic():
        run_results.run_results_store(run=run, result=result, post_pk=post_pk, account_pk=account_pk, writer="copy")
    assert not CoordinationEdge.objects.filter(run=run).exists()


def test_storing_again_replaces_a_runs_results(tmp_path):
    sample, result, post_pk, account_pk = _scored_sample(tmp_path)
    run = ScoringRun.objects.create(sample=sample, engine_version=result.engine_version)
    for writer in WRITERS + WRITERS:
        with transaction.atomic():
            run_results.run_results_store(run=run, result=result, post_pk=post_pk, account_pk=account_pk, writer=writer)
    assert selectors.run_result_fingerprint(run=run) == selectors.engine_result_fingerprint(result)
    assert CoordinatedGroup.objects.filter(run=run).count() == len(result.groups)
    n_edges = sum(len(e.a) for e in result.edges.values())
    assert CoordinationEdge.objects.filter(run=run).count() == n_edges
    assert EdgeEvidence.objects.filter(edge__run=run).count() == sum(
        len(e.details.ev_edge) for e in result.edges.values()
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_a_write_broken_off_leaves_nothing(tmp_path):
    """A reduce killed mid-write: its transaction rolls back, and with it every row COPY sent."""
    sample, result, post_pk, account_pk = _scored_sample(tmp_path)
    run = ScoringRun.objects.create(sample=sample, engine_version=result.engine_version)
    missing_account = account_pk + 10**9  # scores and edges that name no stored account: refused at the check
    with pytest.raises(IntegrityError, match="violates foreign key"), transaction.atomic():
        run_results.run_results_store(run=run, result=result, post_pk=post_pk, account_pk=missing_account)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not CoordinatedGroup.objects.filter(run=run).exists()
    assert not AccountScore.objects.filter(run=run).exists()
    assert not CoordinationEdge.objects.filter(run=run).exists()
