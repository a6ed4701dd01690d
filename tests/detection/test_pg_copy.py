"""COPY's binary format from numpy columns (pg_copy.BinaryCopy): what PostgreSQL stores is what was given."""

import numpy as np
import pytest
from django.db import connection, transaction

from detection.models import AccountScore, Sample, ScoringRun, SocialAccount
from detection.pg_copy import BinaryCopy, copy_in

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's"),
]


def test_named_columns_masked_nulls_and_the_model_defaults_of_the_rest():
    sample = Sample.objects.create(name="binary copy")
    run = ScoringRun.objects.create(sample=sample, engine_version="test")
    accounts = [SocialAccount.objects.create(sample=sample, platform="x", account_id=f"a{i}") for i in range(3)]
    scores = np.array([0.1 + 0.2, 5e-324, -0.0])
    copy = BinaryCopy(AccountScore, ("run", "account", "group", "score"))
    data = copy.rows(
        3,
        {
            "run": run.pk,
            "account": np.array([a.pk for a in accounts]),
            "group": np.ma.masked_all(3, dtype=np.int64),
            "score": scores,
        },
    )
    with transaction.atomic(), connection.cursor() as cursor:
        copy_in(cursor, copy.statement, [BinaryCopy.HEADER, data, BinaryCopy.TRAILER])
    stored = list(
        AccountScore.objects.filter(run=run)
        .order_by("account_id")
        .values_list("account_id", "group_id", "score", "flagged", "reasons", "lead", "follow")
    )
    assert stored == [(a.pk, None, s, False, "", 0, 0) for a, s in zip(accounts, scores.tolist(), strict=True)]
    assert [repr(s) for *_, s, _, _, _, _ in stored] == ["0.30000000000000004", "5e-324", "-0.0"]


def test_values_a_column_cannot_hold_are_refused_before_sending():
    copy = BinaryCopy(AccountScore, ("run", "account", "score", "lead"))
    columns = {"run": 1, "account": np.array([1]), "score": np.array([1.0])}
    with pytest.raises(ValueError, match="out of the range"):
        copy.rows(1, {**columns, "lead": np.array([2**31])})
    with pytest.raises(TypeError, match="float64 values"):
        copy.rows(1, {**columns, "lead": np.array([1.5])})
    with pytest.raises(TypeError, match="a string"):
        copy.rows(1, {**columns, "lead": "1"})
