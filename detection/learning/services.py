"""Writes of the classifier of groups: features at reduce time, training and retraining, predictions.

A prediction is stored beside a group, naming the model version it came from; it never touches the group's
verdict. A retrained model becomes current only if it is no worse than the current one on the same held-out
folds (see classifier.CrossValidation.no_worse_than); either way its row and its figures are kept.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max

from campaigns.models import Asset
from campaigns.vocabularies import AssetType
from detection.engine.api import EngineResult
from detection.engine.arrays import SEP
from detection.models import (
    AccountScore,
    ClassifierModel,
    CoordinatedGroup,
    GroupFeatures,
    GroupPrediction,
    GroupStatus,
    SampleImport,
    ScoringRun,
)

from . import classifier
from .features import FEATURE_NAMES, FEATURES_VERSION, group_features
from .seeds import seed_training_set

VERDICT_WEIGHT = 3.0  # a researcher's verdict counts as much as this many generated groups
REVIEWED = (GroupStatus.CONFIRMED, GroupStatus.REJECTED)
_loaded: dict[tuple[str, str], object] = {}


def known_accounts(account_keys: list[str]) -> np.ndarray:
    """Per account key ("platform<SEP>id"): true when it is in an earlier confirmed group or a campaign's assets."""
    confirmed = AccountScore.objects.filter(group__status=GroupStatus.CONFIRMED).values_list(
        "account__platform", "account__account_id"
    )
    known = {f"{platform}{SEP}{aid}" for platform, aid in confirmed}
    assets = Asset.objects.filter(asset_type=AssetType.ACCOUNT).values_list("platform__code", "identifier")
    known |= {f"{platform}{SEP}{identifier}" for platform, identifier in assets if platform}
    return np.fromiter((key in known for key in account_keys), dtype=bool, count=len(account_keys))


def run_features_store(*, run: ScoringRun, result: EngineResult) -> None:
    """Store the features of a reduced run's groups, and the current model's predictions of them."""
    x = group_features(result, known_accounts(result.arrays.account_keys))
    pk_of = dict(CoordinatedGroup.objects.filter(run=run).values_list("number", "pk"))
    GroupFeatures.objects.filter(group__run=run).delete()
    GroupFeatures.objects.bulk_create(
        [
            GroupFeatures(group_id=pk_of[number], features_version=FEATURES_VERSION, values=row)
            for number, row in enumerate(x.tolist(), start=1)
        ],
        batch_size=2000,
    )
    current = ClassifierModel.objects.filter(is_current=True).first()
    if current is not None:
        groups_predict(model_row=current, group_ids=list(pk_of.values()))


def model_load(model_row: ClassifierModel):
    """The fitted pipeline of a stored version; raises classifier.ModelFileError if its file was altered."""
    key = (model_row.file_path, model_row.sha256)
    if key not in _loaded:
        _loaded[key] = classifier.load(Path(model_row.file_path), model_row.sha256)
    return _loaded[key]


def groups_predict(*, model_row: ClassifierModel, group_ids: list[int] | None = None) -> int:
    """Predict the groups that have features of the model's version (all of them, or those given); returns how many."""
    rows = GroupFeatures.objects.filter(features_version=model_row.features_version)
    if group_ids is not None:
        rows = rows.filter(group_id__in=group_ids)
    ids, values = [], []
    for group_id, row in rows.values_list("group_id", "values").iterator(chunk_size=5000):
        ids.append(group_id)
        values.append(row)
    if not ids:
        return 0
    model = model_load(model_row)
    x = np.array(values, dtype=float)
    names = tuple(model_row.feature_names)
    probability = classifier.predict_proba(model, x)
    top = classifier.top_features(model, x, names)
    GroupPrediction.objects.bulk_create(
        [
            GroupPrediction(group_id=g, model=model_row, probability=round(float(p), 4), top_features=t)
            for g, p, t in zip(ids, probability.tolist(), top, strict=True)
        ],
        batch_size=5000,
        update_conflicts=True,
        unique_fields=["group", "model"],
        update_fields=["probability", "top_features"],
    )
    return len(ids)


def verdict_training_set() -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of the groups researchers confirmed (1) or rejected (0)."""
    rows = GroupFeatures.objects.filter(features_version=FEATURES_VERSION, group__status__in=REVIEWED).values_list(
        "values", "group__status"
    )
    x, y = [], []
    for values, status in rows.iterator(chunk_size=5000):
        x.append(values)
        y.append(int(status == GroupStatus.CONFIRMED))
    return np.array(x, dtype=float).reshape(-1, len(FEATURE_NAMES)), np.array(y, dtype=int)


ARCHIVE_FORMATS = ("twitter-io", "twitter-io-users")


def archive_training_set() -> tuple[np.ndarray, np.ndarray]:
    """Features of the groups not yet reviewed in samples imported only from X's information-operations archive,
    labelled inauthentic (1): X disclosed those accounts as state-backed operations. A verdict replaces the label
    (the group then counts among the verdicts)."""
    mixed = SampleImport.objects.exclude(format__in=ARCHIVE_FORMATS).values("sample_id")
    archived = SampleImport.objects.filter(format__in=ARCHIVE_FORMATS).values("sample_id")
    values = (
        GroupFeatures.objects.filter(features_version=FEATURES_VERSION, group__run__sample_id__in=archived)
        .exclude(group__run__sample_id__in=mixed)
        .exclude(group__status__in=REVIEWED)
        .values_list("values", flat=True)
    )
    x = np.array(list(values.iterator(chunk_size=5000)), dtype=float).reshape(-1, len(FEATURE_NAMES))
    return x, np.ones(len(x), dtype=int)


def classifier_train(*, make: classifier.PipelineFactory = classifier.make_pipeline) -> ClassifierModel:
    """Train a new version on the seeds and every verdict; it becomes current if no worse than the current one."""
    seeds = seed_training_set()
    x_archive, y_archive = archive_training_set()
    x_verdicts, y_verdicts = verdict_training_set()
    x = np.vstack([seeds.x, x_archive, x_verdicts])
    y = np.concatenate([seeds.y, y_archive, y_verdicts])
    weight = np.concatenate([np.ones(len(seeds.y) + len(y_archive)), np.full(len(y_verdicts), VERDICT_WEIGHT)])
    splits = classifier.folds(y)
    cv = classifier.cross_validate(x, y, weight, splits, make)
    current = ClassifierModel.objects.filter(is_current=True).first()
    compared = None
    if current is None:
        decision = "Current: the first model."
    elif current.features_version != FEATURES_VERSION:
        decision = f"Current: the current model reads features of version {current.features_version}."
    else:
        try:
            compared = classifier.evaluate(model_load(current), x, y, splits)
        except classifier.ModelFileError as exc:
            decision = f"Current: the current model's file was refused ({exc})."
        else:
            if cv.no_worse_than(compared):
                decision = f"Current: no worse than v{current.version} on the same held-out folds."
            else:
                decision = f"Not current: worse than v{current.version} on the same held-out folds."
    promote = decision.startswith("Current")
    model = classifier.fit(x, y, weight, make)
    with transaction.atomic():
        # Two trainings at once would pick the same version: the unique version makes the second fail, and the
        # random part of the file name keeps it from overwriting the first's file.
        version = (ClassifierModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        path = Path(settings.CLASSIFIER_MODEL_DIR) / f"classifier-v{version}-{uuid.uuid4().hex[:8]}.skops"
        digest = classifier.save(model, path)
        if promote:
            ClassifierModel.objects.filter(is_current=True).update(is_current=False)
        row = ClassifierModel.objects.create(
            version=version,
            features_version=FEATURES_VERSION,
            feature_names=list(FEATURE_NAMES),
            seeds=len(seeds.y),
            archive_groups=len(y_archive),
            verdicts=len(y_verdicts),
            fold_precision=cv.precision,
            fold_recall=cv.recall,
            mean_precision=cv.mean_precision,
            mean_recall=cv.mean_recall,
            compared_precision=compared.mean_precision if compared else None,
            compared_recall=compared.mean_recall if compared else None,
            is_current=promote,
            decision=decision,
            file_path=str(path),
            sha256=digest,
        )
    if promote:
        groups_predict(model_row=row)
    return row


def classifier_retrain_if_due(*, min_new_verdicts: int | None = None) -> ClassifierModel | None:
    """Train a new version when there is none, or when enough verdicts came in since the latest one was trained."""
    needed = settings.CLASSIFIER_RETRAIN_MIN_VERDICTS if min_new_verdicts is None else min_new_verdicts
    latest = ClassifierModel.objects.order_by("-version").first()
    if latest is not None:
        new = CoordinatedGroup.objects.filter(status__in=REVIEWED, reviewed_at__gt=latest.created_at).count()
        if new < needed:
            return None
    return classifier_train()
